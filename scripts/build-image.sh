#!/usr/bin/env bash
# make image: artifacts/polymur-gateway-<version>.oci.tar, an OCI archive of the distroless image.
# With a Docker engine: docker build -f Dockerfile.distroless. Without one (as on these machines): buildah
# builds the equivalent image FROM scratch: the published binary plus the few files distroless/base-debian12
# provides that it uses (glibc's loader, libc, libm, OpenSSL's libssl/libcrypto, CA certificates, passwd and
# group with nonroot = 65532, /tmp), copied from this Debian 12 machine.
set -euo pipefail
cd "$(dirname "$0")/.."
version=$(sed -n 's:.*<Version>\(.*\)</Version>.*:\1:p' Directory.Build.props)
archive=artifacts/polymur-gateway-$version.oci.tar
tag=polymur-gateway:$version
mkdir -p artifacts
rm -f "$archive"

if command -v docker >/dev/null && docker info >/dev/null 2>&1; then
  docker build -f Dockerfile.distroless -t "$tag" .
  skopeo copy "docker-daemon:$tag" "oci-archive:$archive:$tag"
  echo "$archive"
  exit 0
fi

bin=artifacts/publish/polymur-gateway
[ -x "$bin" ] || { echo "build-image: $bin is missing (make publish)" >&2; exit 1; }
command -v buildah >/dev/null || { echo "build-image: no docker engine and no buildah (apt-get install buildah)" >&2; exit 1; }

stage=$(mktemp -d)
spool=$(mktemp -d)/polymur-gateway
trap 'rm -rf "$stage" "$(dirname "$spool")"' EXIT
install -d -m0755 "$stage/lib/x86_64-linux-gnu" "$stage/lib64" "$stage/etc/ssl/certs" "$stage/usr/share/doc"
install -d -m1777 "$stage/tmp"
install -d -m0755 "$stage/var/lib"
install -m0755 "$bin" "$stage/polymur-gateway"
for lib in ld-linux-x86-64.so.2 libc.so.6 libm.so.6 libssl.so.3 libcrypto.so.3; do
  cp -L "/lib/x86_64-linux-gnu/$lib" "$stage/lib/x86_64-linux-gnu/$lib"
done
ln -s ../lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 "$stage/lib64/ld-linux-x86-64.so.2"
cp -L /etc/ssl/certs/ca-certificates.crt "$stage/etc/ssl/certs/ca-certificates.crt"
printf 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' > "$stage/etc/passwd"
printf 'root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n' > "$stage/etc/group"
cp /etc/os-release "$stage/etc/os-release"
for pkg in libc6 libssl3 ca-certificates; do
  mkdir -p "$stage/usr/share/doc/$pkg" && cp "/usr/share/doc/$pkg/copyright" "$stage/usr/share/doc/$pkg/"
done

b() { buildah --storage-driver vfs "$@"; }
ctr=$(b from scratch)
b copy "$ctr" "$stage/" / >/dev/null
# buildah copy makes everything root's and --chmod does not reach a directory itself, so the spool volume
# (the non-root user's, mode 0700) goes in as a tar entry, whose owner and mode buildah add keeps.
install -d -m0700 "$spool"
tar --numeric-owner --owner=65532 --group=65532 -C "$(dirname "$spool")" -cf "$spool.tar" polymur-gateway
b add "$ctr" "$spool.tar" /var/lib/ >/dev/null
b config --user 65532:65532 --workingdir / \
  --env POLYMUR_GW_LISTEN_HTTP_PORT=8080 --env POLYMUR_GW_LISTEN_HTTPS_PORT=8443 \
  --env POLYMUR_GW_STAT_ADDR=0.0.0.0:2020 --env POLYMUR_GW_API_ADDR=127.0.0.1:2030 \
  --env POLYMUR_GW_SPOOL_DIR=/var/lib/polymur-gateway --volume /var/lib/polymur-gateway \
  --port 8080 --port 8443 --port 2020 --entrypoint '["/polymur-gateway"]' --cmd '' \
  --label org.opencontainers.image.title=polymur-gateway --label "org.opencontainers.image.version=$version" "$ctr"
b commit --quiet "$ctr" "$tag" >/dev/null
b rm "$ctr" >/dev/null
b push --quiet "$tag" "oci-archive:$archive:$tag"
b rmi "$tag" >/dev/null
echo "$archive"
