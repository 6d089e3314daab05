#!/usr/bin/env bash
# Puts a real Consul agent (Debian bullseye's consul package, 1.8.7, MPL-2.0) under .cache/consul for the tests.
# apt downloads it with a private sources file whose URI is copied from this machine's own Debian sources, so
# the system's apt configuration is not changed and no mirror is named here. Idempotent; prints the binary.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=.cache/consul
bin=$dest/usr/bin/consul
if [ -x "$bin" ]; then echo "$bin"; exit 0; fi

sources=/etc/apt/sources.list.d/debian.sources
uri=""
if [ -f "$sources" ]; then
  # The first URIs line of the stanza for the main archive (not -security).
  uri=$(awk '/^URIs:/ && $2 !~ /security/ {print $2; exit}' "$sources")
fi
if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
  uri=$(awk '$1 == "deb" && $2 !~ /security/ {for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) {print $i; exit}}' /etc/apt/sources.list)
fi
[ -n "$uri" ] || { echo "fetch-consul: no Debian archive URI found in $sources or /etc/apt/sources.list" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/parts" "$work/lists/partial" "$work/cache/archives/partial"
cat > "$work/parts/bullseye.sources" <<SRC
Types: deb
URIs: $uri
Suites: bullseye
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
apt_opts=(-o "Dir::Etc::SourceList=/dev/null" -o "Dir::Etc::SourceParts=$work/parts"
          -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache" -o "Debug::NoLocking=1" -o "APT::Sandbox::User=root" -qq)
start=$(date +%s)
apt-get "${apt_opts[@]}" update
(cd "$work" && apt-get "${apt_opts[@]}" download consul)
mkdir -p "$dest"
dpkg-deb -x "$work"/consul_*.deb "$dest"
"$bin" version | sed -n 1p >&2 # sed reads it all: head would leave consul a SIGPIPE, fatal under pipefail
echo "fetch-consul: took $(( $(date +%s) - start ))s" >&2
echo "$bin"
