#!/usr/bin/env bash
# Start-up figures of the published binary: file size, time from exec to the first /ping 200, idle RSS.
# Usage: bench/startup.sh [binary]   (default artifacts/publish/polymur-gateway; `make publish` first)
set -euo pipefail
bin=${1:-artifacts/publish/polymur-gateway}
port=${PORT:-18081}
runs=${RUNS:-10}
echo "binary: $bin ($(stat -c %s "$bin") bytes)"
total=0
for i in $(seq 1 "$runs"); do
  start=$(date +%s%N)
  "$bin" -dev-mode -console-out -listen-addr 127.0.0.1 -listen-http-port "$port" 2>/dev/null >/dev/null &
  pid=$!
  until curl -sf -o /dev/null -X POST -H 'X-Polymur-Key: 123' "http://127.0.0.1:$port/ping"; do sleep 0.001; done
  end=$(date +%s%N)
  ms=$(( (end - start) / 1000000 ))
  total=$((total + ms))
  if [ "$i" -eq "$runs" ]; then
    sleep 2
    rss=$(awk '/VmRSS/ {print $2}' /proc/$pid/status)
    echo "idle RSS after 2 s: $((rss / 1024)) MiB"
  fi
  kill -TERM $pid; wait $pid || true
done
echo "start to first /ping 200: $((total / runs)) ms (mean of $runs)"
