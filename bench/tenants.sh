#!/usr/bin/env bash
# make bench, tenants: 10,000 keys and limits in a real Consul agent (sync and change times, /metrics size and
# render time, memory per tenant), then a polite tenant's latency beside one flooding from 8 connections, with
# the default share, with -tenant-max-inflight 1, and with a quota of 1 M points/s on both; and (quota_flood) a
# tenant flooding past its quota beside a polite one: what the flood has inflated, and the polite p99 alone and
# beside it. The gateway is pinned to CPU 0, the tools to CPU 1.
# Usage: bench/tenants.sh [tenants] [fairness seconds]; BENCH_BINARY and BENCH_ROUNDS (default 3) as in run.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
tenants=${1:-10000}
secs=${2:-10}
bin=${BENCH_BINARY:-artifacts/publish/polymur-gateway}
consul=.cache/consul/usr/bin/consul
tools=bench/BenchTools/bin/Release/net10.0/BenchTools
[ -x "$bin" ] || { echo "$bin is missing: make publish" >&2; exit 1; }
[ -x "$consul" ] || { echo "$consul is missing: make consul" >&2; exit 1; }
dotnet build bench/BenchTools -c Release -v quiet --nologo >/dev/null
echo
echo "== tenants at scale"
taskset -c 1 "$tools" tenants-scale "$bin" "$consul" "$tenants"
# Issue 23, F13: a flood past its quota is refused before it is read, so it costs next to nothing in inflation.
quota_flood() {
  command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }
  taskset -c 1 "$tools" quota-flood "$bin" "$consul" "$secs"
}

for round in $(seq 1 "${BENCH_ROUNDS:-3}"); do
  echo
  echo "== fairness, round $round"
  taskset -c 1 "$tools" fairness "$bin" "$consul" "$secs"
  taskset -c 1 "$tools" fairness "$bin" "$consul" "$secs" -tenant-max-inflight 1
  taskset -c 1 "$tools" fairness "$bin" "$consul" "$secs" -tenant-rate-limit 1000000
  echo
  echo "== quota flood, round $round"
  quota_flood
done

# Fair share at a slow destination (issue 23, F14): a sink reading BENCH_FAIR_SINK_RATE bytes/s (3 MB/s), a flood
# with no quota (50 connections of 50,000-line batches), a polite tenant offering 10 x 1000 lines/s on 2
# connections: what the polite tenant offered and got, and the flood's rate.
queue_fairness() {
  echo
  echo "== fair share at a slow destination"
  taskset -c 1 "$tools" fair-queue "$bin" "$consul" "$secs" "${BENCH_FAIR_SINK_RATE:-3000000}"
}
queue_fairness
