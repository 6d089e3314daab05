#!/usr/bin/env bash
# make test-image: unpacks the OCI archive with umoci, checks its size, and runs the binary inside the
# image's rootfs as the image's non-root user (chroot, /dev bound in), with the image's own environment,
# until /ping answers. Needs root (chroot, bind mount).
set -uo pipefail
cd "$(dirname "$0")/.."
version=$(sed -n 's:.*<Version>\(.*\)</Version>.*:\1:p' Directory.Build.props)
archive=artifacts/polymur-gateway-$version.oci.tar
limit=$((30 * 1024 * 1024))
pass=0; fail=0
check() { local what=$1; shift; if "$@" >/tmp/pgw-img-check.log 2>&1; then pass=$((pass + 1)); echo "ok   - $what"; else fail=$((fail + 1)); echo "FAIL - $what"; sed 's/^/       /' /tmp/pgw-img-check.log | head -20; fi; }
[ -f "$archive" ] || { echo "test-image: $archive is missing (make image)" >&2; exit 1; }

work=$(mktemp -d)
cleanup() { [ -n "${gw:-}" ] && kill -TERM "$gw" 2>/dev/null; wait 2>/dev/null; umount "$work/bundle/rootfs/dev" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
mkdir -p "$work/layout"
tar -xf "$archive" -C "$work/layout"
check "umoci unpacks the image" umoci unpack --image "$work/layout:polymur-gateway:$version" "$work/bundle"
rootfs=$work/bundle/rootfs
size=$(du -sb "$rootfs" | cut -f1)
echo "     image: $(stat -c %s "$archive") bytes as an OCI archive, $size bytes unpacked"
check "unpacked image is at most 30 MB" test "$size" -le "$limit"
config=$(find "$work/layout/blobs" -type f -size -20k -exec grep -l '"Entrypoint"' {} + | sed -n 1p)
check "the spool volume is declared, set, and the non-root user's" sh -c "grep -q '\"/var/lib/polymur-gateway\":{}' '$config' && grep -q 'POLYMUR_GW_SPOOL_DIR=/var/lib/polymur-gateway' '$config' && [ \"\$(stat -c %u:%a '$rootfs/var/lib/polymur-gateway')\" = 65532:700 ]"
check "runs as non-root 65532 with an exec-form entrypoint" sh -c "grep -q '\"User\":\"65532:65532\"' '$config' && grep -q '\"Entrypoint\":\[\"/polymur-gateway\"\]' '$config'"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$rootfs/dev" && mount --bind /dev "$rootfs/dev"
# The image's own environment, then what this test needs (dev mode, stdout, a free loopback port).
mapfile -t imageenv < <(python3 -c 'import json,sys; print("\n".join(json.load(open(sys.argv[1]))["process"]["env"]))' "$work/bundle/config.json")
env -i "${imageenv[@]}" POLYMUR_GW_DEV_MODE=true POLYMUR_GW_CONSOLE_OUT=true POLYMUR_GW_LISTEN_ADDR=127.0.0.1 \
  POLYMUR_GW_LISTEN_HTTP_PORT="$port" POLYMUR_GW_STAT_ADDR=127.0.0.1:0 POLYMUR_GW_API_ADDR=127.0.0.1:0 \
  chroot --userspec=65532:65532 "$rootfs" /polymur-gateway >"$work/run.log" 2>&1 &
gw=$!
for _ in $(seq 1 100); do curl -sf -o /dev/null -X POST -H 'X-Polymur-Key: 123' "http://127.0.0.1:$port/ping" && break; sleep 0.1; done
check "the binary in the image answers /ping as uid 65532" sh -c "curl -sf -X POST -H 'X-Polymur-Key: 123' http://127.0.0.1:$port/ping | grep -q 'key is valid' && [ \"\$(ps -o uid= -p \$(pgrep -f '^/polymur-gateway' | head -n1) | tr -d ' ')\" = 65532 ]"
check "and ingests a batch" sh -c "printf 'image.ok 1 1\n' | gzip | curl -sf --data-binary @- -H 'X-Polymur-Key: 123' http://127.0.0.1:$port/ingest | grep -q 'Batch Received'"
echo "image checks: $pass ok, $fail failed"
[ "$fail" = 0 ]
