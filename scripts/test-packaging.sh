#!/usr/bin/env bash
# make test-packaging: builds the .deb and checks it as an operator would, on this machine, as root:
# lintian, the unit's exposure score, install, the user, running as that user with the env file,
# W^X (MemoryDenyWriteExecute) for the NativeAOT binary, then remove and purge leaving nothing behind.
set -uo pipefail
cd "$(dirname "$0")/.."
pass=0; fail=0
check() { # check "what" command...
  local what=$1; shift
  if "$@" >/tmp/pgw-pkg-check.log 2>&1; then pass=$((pass + 1)); echo "ok   - $what"
  else fail=$((fail + 1)); echo "FAIL - $what"; sed 's/^/       /' /tmp/pgw-pkg-check.log | head -20; fi
}
[ "$(id -u)" = 0 ] || { echo "test-packaging needs root (dpkg -i, users)" >&2; exit 1; }
for tool in lintian systemd-analyze dpkg-deb curl; do
  command -v $tool >/dev/null || { echo "missing $tool: apt-get install lintian systemd curl" >&2; exit 1; }
done

deb=$(scripts/build-deb.sh) || exit 1
unit=packaging/deb/polymur-gateway.service
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
dpkg -P polymur-gateway >/dev/null 2>&1 || true

check "lintian reports no errors" lintian --fail-on error "$deb"
check "lintian finds no missing man page" sh -c "! lintian '$deb' 2>&1 | grep -E 'no-manual-page|binary-without-manpage'"
score() { systemd-analyze security --offline=yes "$unit" 2>/dev/null | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p'; }
echo "     exposure score: $(score)"
check "systemd-analyze security exposure <= 2.0" awk -v s="$(score)" 'BEGIN{exit !(s != "" && s <= 2.0)}'
check "dpkg -i installs" dpkg -i "$deb"
check "systemd-analyze verify accepts the installed unit" systemd-analyze verify /lib/systemd/system/polymur-gateway.service
check "system user polymur exists, no shell, no home" sh -c 'getent passwd polymur | grep -q ":/nonexistent:/usr/sbin/nologin$" && [ ! -e /nonexistent ] && getent group polymur'
check "env file is a conffile, root:polymur 0640" sh -c 'dpkg-query -W -f="\${Conffiles}" polymur-gateway | grep -q /etc/default/polymur-gateway && [ "$(stat -c %U:%G:%a /etc/default/polymur-gateway)" = root:polymur:640 ]'
check "env file documents every variable -h lists" sh -c 'for v in $(/usr/bin/polymur-gateway -h | grep -oE "POLYMUR_GW_[A-Z_]+" | sort -u) CONSUL_HTTP_ADDR CONSUL_HTTP_TOKEN; do grep -qE "^#?$v=" /etc/default/polymur-gateway || { echo "missing $v"; exit 1; }; done'
check "the spool is on: /var/lib/polymur-gateway, polymur's, 0700, set in the env file" sh -c '[ "$(stat -c %U:%G:%a /var/lib/polymur-gateway)" = polymur:polymur:700 ] && grep -q "^POLYMUR_GW_SPOOL_DIR=/var/lib/polymur-gateway$" /etc/default/polymur-gateway && grep -q "^StateDirectory=polymur-gateway$" /lib/systemd/system/polymur-gateway.service'
check "man pages for both commands, as the installed binary writes them" sh -c 'man -w polymur-gateway >/dev/null && man -w pgw-key >/dev/null && [ "$(zcat /usr/share/man/man8/polymur-gateway.8.gz | md5sum)" = "$(/usr/bin/polymur-gateway --man | md5sum)" ]'
check "bash completion offers flags and key-tool commands" bash -c 'source /usr/share/bash-completion/completions/polymur-gateway; COMP_WORDS=(polymur-gateway -listen-t); COMP_CWORD=1; _polymur_gateway; [ "${COMPREPLY[*]}" = "-listen-tcp-addr -listen-tcp-port" ] && COMP_WORDS=(pgw-key re); COMP_CWORD=1; _pgw_key; [ "${COMPREPLY[*]}" = regen ]'
check "pgw-key dispatches to the key tool" sh -c '/usr/bin/pgw-key 2>&1 | grep -q "^Usage: pgw-key <command>"'

# An operator's settings in the env file; run as the polymur user, as the unit does.
cat >> /etc/default/polymur-gateway <<ENV
POLYMUR_GW_DEV_MODE=true
POLYMUR_GW_CONSOLE_OUT=true
POLYMUR_GW_LISTEN_ADDR=127.0.0.1
POLYMUR_GW_LISTEN_HTTP_PORT=$port
POLYMUR_GW_API_ADDR=127.0.0.1:0
POLYMUR_GW_STAT_ADDR=127.0.0.1:0
ENV
runuser -u polymur -- sh -c 'set -a; . /etc/default/polymur-gateway; exec /usr/bin/polymur-gateway' >/tmp/pgw-pkg-run.log 2>&1 &
gw=$!
for _ in $(seq 1 100); do curl -sf -o /dev/null -X POST -H 'X-Polymur-Key: 123' "http://127.0.0.1:$port/ping" && break; sleep 0.1; done
check "runs as polymur with the env file and answers /ping" sh -c "curl -sf -X POST -H 'X-Polymur-Key: 123' http://127.0.0.1:$port/ping | grep -q 'key is valid' && pgrep -u polymur -x polymur-gateway"
kill -TERM $gw; wait $gw

# MemoryDenyWriteExecute=yes: the kernel refuses W+X mappings (prctl PR_SET_MDWE, what systemd uses).
python3 - "$port" >/tmp/pgw-mdwe.log 2>&1 <<'PY' &
import ctypes, mmap, os, sys
libc = ctypes.CDLL(None, use_errno=True)
if libc.prctl(65, 1, 0, 0, 0) != 0 or libc.prctl(66, 0, 0, 0, 0) != 1:   # PR_SET_MDWE / PR_GET_MDWE
    sys.exit("PR_SET_MDWE unsupported: errno %d" % ctypes.get_errno())
try:  # proof that the kernel now enforces it: a writable and executable mapping is refused
    mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
    sys.exit("MDWE set but a W+X mapping was allowed")
except PermissionError:
    print("mdwe=enforced", flush=True)
os.execv("/usr/bin/polymur-gateway", ["polymur-gateway", "-dev-mode", "-console-out", "-listen-addr", "127.0.0.1",
         "-listen-http-port", sys.argv[1], "-api-addr", "127.0.0.1:0", "-stat-addr", "127.0.0.1:0"])
PY
mdwe=$!
for _ in $(seq 1 100); do curl -sf -o /dev/null -X POST -H 'X-Polymur-Key: 123' "http://127.0.0.1:$port/ping" && break; sleep 0.1; done
check "runs under MemoryDenyWriteExecute (PR_SET_MDWE) and ingests" sh -c "printf 'mdwe.ok 1 1\n' | gzip | curl -sf --data-binary @- -H 'X-Polymur-Key: 123' http://127.0.0.1:$port/ingest | grep -q 'Batch Received' && grep -q '^mdwe=enforced' /tmp/pgw-mdwe.log && kill -0 $mdwe"
kill -TERM $mdwe 2>/dev/null; wait $mdwe

check "dpkg -r removes the binary and unit, keeps the conffile" dpkg -r polymur-gateway
check "after remove: no binary, no unit, env file kept" sh -c '[ ! -e /usr/bin/polymur-gateway ] && [ ! -e /usr/bin/pgw-key ] && [ ! -e /lib/systemd/system/polymur-gateway.service ] && [ -e /etc/default/polymur-gateway ]'
check "dpkg -P purges" dpkg -P polymur-gateway
check "after purge: nothing left (files, user, group, conffile)" sh -c '! getent passwd polymur && ! getent group polymur && [ ! -e /etc/default/polymur-gateway ] && [ ! -e /var/lib/polymur-gateway ] && [ ! -e /usr/share/doc/polymur-gateway ] && ! dpkg-query -W polymur-gateway 2>/dev/null | grep -q .'

echo "packaging checks: $pass ok, $fail failed"
[ "$fail" = 0 ]
