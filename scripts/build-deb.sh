#!/usr/bin/env bash
# make deb: artifacts/polymur-gateway_<version>_amd64.deb from the published binary and packaging/deb/.
# The version is Directory.Build.props' <Version>, the one place it is kept.
set -euo pipefail
cd "$(dirname "$0")/.."
version=$(sed -n 's:.*<Version>\(.*\)</Version>.*:\1:p' Directory.Build.props)
bin=artifacts/publish/polymur-gateway
src=packaging/deb
root=artifacts/deb/root
[ -x "$bin" ] || { echo "build-deb: $bin is missing (make publish)" >&2; exit 1; }

rm -rf "$root"
install -d -m0755 "$root/DEBIAN" "$root/usr/bin" "$root/lib/systemd/system" "$root/etc/default" \
    "$root/usr/share/doc/polymur-gateway" "$root/usr/share/lintian/overrides" \
    "$root/usr/share/man/man8" "$root/usr/share/bash-completion/completions"
install -m0755 "$bin" "$root/usr/bin/polymur-gateway"
ln -s polymur-gateway "$root/usr/bin/pgw-key"          # the binary runs the key tool when called pgw-key
install -m0644 "$src/polymur-gateway.service" "$root/lib/systemd/system/polymur-gateway.service"
"$bin" --env-file > "$root/etc/default/polymur-gateway"  # generated from the flag table: cannot drift from -h
# The spool is on where the package gives it a place: the unit's StateDirectory.
sed -i 's|^#POLYMUR_GW_SPOOL_DIR=$|POLYMUR_GW_SPOOL_DIR=/var/lib/polymur-gateway|' "$root/etc/default/polymur-gateway"
grep -q '^POLYMUR_GW_SPOOL_DIR=/var/lib/polymur-gateway$' "$root/etc/default/polymur-gateway"
chmod 0644 "$root/etc/default/polymur-gateway"
# Man pages and completion, written from the same flag and command tables as -h: they cannot drift either.
"$bin" --man | gzip -9n > "$root/usr/share/man/man8/polymur-gateway.8.gz"
"$bin" --man=pgw-key | gzip -9n > "$root/usr/share/man/man8/pgw-key.8.gz"
chmod 0644 "$root/usr/share/man/man8/"*.gz
"$bin" --completion > "$root/usr/share/bash-completion/completions/polymur-gateway"
chmod 0644 "$root/usr/share/bash-completion/completions/polymur-gateway"
ln -s polymur-gateway "$root/usr/share/bash-completion/completions/pgw-key"
install -m0644 "$src/copyright" "$root/usr/share/doc/polymur-gateway/copyright"
sed "s/@VERSION@/$version/" "$src/changelog" | gzip -9n > "$root/usr/share/doc/polymur-gateway/changelog.gz"
chmod 0644 "$root/usr/share/doc/polymur-gateway/changelog.gz"
install -m0644 "$src/lintian-overrides" "$root/usr/share/lintian/overrides/polymur-gateway"

size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
sed -e "s/@VERSION@/$version/" -e "s/@SIZE@/$size/" "$src/control.in" > "$root/DEBIAN/control"
install -m0644 "$src/conffiles" "$root/DEBIAN/conffiles"
install -m0755 "$src/postinst" "$src/prerm" "$src/postrm" "$root/DEBIAN/"
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z | xargs -0 md5sum) > "$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/md5sums"

deb="artifacts/polymur-gateway_${version}_amd64.deb"
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
echo "$deb"
