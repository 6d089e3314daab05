#!/usr/bin/env bash
# make bench: the published NativeAOT gateway pinned to CPU 0; wrk and a line-counting sink on CPU 1.
# Each scenario posts one pre-built 5000-line gzip batch (level 6, ~58-byte lines) over 4 connections for
# a fixed time, waits for the sinks to drain, and prints throughput and the gateway's CPU cost per metric.
# Usage: bench/run.sh [seconds]   BENCH_SCENARIOS="broadcast:1 hash-route:3 hash-route+spool:3 spool:3" chooses
# scenarios (options after + are listed at run_scenario; spool:N spools to a destination that is down);
# BENCH_QUEUE_CAP=N sets -outgoing-queue-cap (default: the gateway's own default, 4096 points).
# outage:2 is issue 22's outage: hash-route to 2 with -spool-dir at BENCH_OUTAGE_RATE lines/s (100000), one sink
# stopped for BENCH_OUTAGE_SECONDS (15), every line counted: lost and duplicates. broadcast+baseline:1 runs
# broadcast:1 with the binary BENCH_BASELINE (say, main's) in the same rounds, for the ratio of the two.
# BENCH_ROUNDS=N (default 3) runs the whole list N times, interleaved: this machine's speed drifts by 20% within
# minutes, so each ratio is taken within a round and the median of the rounds is reported.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
scenarios=${BENCH_SCENARIOS:-"broadcast:1 broadcast:3 hash-route:3 hash-route+spool:3 spool:3 outage:2 broadcast+prefix:1 broadcast+tls:1 broadcast+tls+fresh:1 broadcast+tls+reload+fresh:1 broadcast+tlsdest:1 tcp:1 tcp+stall:1 relay:1 broadcast+h2:1 broadcast+lines100:1 broadcast+empty:1 broadcast+ping:1 broadcast+idle:1"}
bin=${BENCH_BINARY:-artifacts/publish/polymur-gateway}
tools=bench/BenchTools/bin/Release/net10.0/BenchTools
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; cp "$work/gw.log" /tmp/last-gw.log 2>/dev/null; rm -rf "$work"' EXIT
hz=$(getconf CLK_TCK)

command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }
command -v h2load >/dev/null || { echo "h2load is missing: apt-get install nghttp2-client" >&2; exit 1; }
[ -x "$bin" ] || { echo "$bin is missing: make publish" >&2; exit 1; }
dotnet build bench/BenchTools -c Release -v quiet --nologo >/dev/null
"$tools" makebatch "$work/batch.gz" 5000
"$tools" makebatch "$work/batch100.gz" 100 > /dev/null
"$tools" makeempty "$work/empty.gz"
export BENCH_BATCH="$work/batch.gz"
# A throwaway certificate for the HTTPS scenarios.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=127.0.0.1 \
  -addext subjectAltName=IP:127.0.0.1 -keyout "$work/key.pem" -out "$work/cert.pem" 2> /dev/null
# A second pair, for +reload: the serving pair is swapped between the two under load.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=127.0.0.1 \
  -addext subjectAltName=IP:127.0.0.1 -keyout "$work/key2.pem" -out "$work/cert2.pem" 2> /dev/null
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $(date -u +%Y-%m-%d)"
zlib_line=$(taskset -c 0 "$tools" inflate "$work/batch.gz" 3)
libdeflate_line=$(taskset -c 0 "$tools" inflate-libdeflate "$work/batch.gz" 3)
echo "zlib alone (.NET GZipStream, same batch, one core): $zlib_line"
echo "libdeflate alone (whole-buffer gzip, same batch):    $libdeflate_line"
zlib_ns=${zlib_line#*=}; libdeflate_ns=${libdeflate_line#*=}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
cpu1_busy_idle() { awk '/^cpu1 /{print $2+$3+$4+$7+$8, $5+$6}' /proc/stat; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# wait_until WHAT COMMAND...: polls for up to 30 s, then stops the run with the gateway's log, rather than hang.
wait_until() {
  local what=$1; shift
  local end=$((SECONDS + 30))
  until "$@" >/dev/null 2>&1; do
    if [ $SECONDS -ge $end ]; then echo "bench: gave up waiting for $what; gateway log:" >&2; tail -20 "$work/gw.log" >&2; exit 1; fi
    sleep 0.05
  done
}

metric() { curl -sf "http://$1/metrics" | awk -v m="$2" '$1 ~ "^"m"(\\{|$)" {s += $2} END {printf "%.0f", s}'; }

# spool:N: hash-route to N destinations with the last one down and -spool-dir on. Reports the CPU per metric
# while spooling, the disk per spooled point, and the replay rate once the destination comes back.
spool_scenario() {
  local n=$1 ports=() dests=() spooldir="$work/spool"
  mkdir -p "$spooldir"
  for i in $(seq 1 "$n"); do p=$(free_port); ports+=("$p"); dests+=("127.0.0.1:$p:d$i"); done
  local down=${ports[$((n - 1))]}
  rm -f "$work/count" "$work/count2"
  taskset -c 1 "$tools" sink "$work/count" "${ports[@]:0:$((n - 1))}" > "$work/sink.log" &
  local sink=$!
  wait_until "the sink" test -s "$work/count"
  local port stat; port=$(free_port); stat=$(free_port)
  taskset -c 0 "$bin" -dev-mode -listen-addr 127.0.0.1 -listen-http-port "$port" -api-addr 127.0.0.1:0 -stat-addr "127.0.0.1:$stat" \
    -destinations "$(IFS=,; echo "${dests[*]}")" -distribution hash-route -spool-dir "$spooldir" \
    -spool-replay-rate "${BENCH_REPLAY_RATE:-1000000}" 2> "$work/gw.log" &
  local gw=$!
  wait_until "the gateway" curl -sf -o /dev/null -X POST -H 'X-Polymur-Key: 123' "http://127.0.0.1:$port/ping"
  local before after; before=$(cpu_ticks $gw)
  taskset -c 1 wrk -t1 -c4 -d"${secs}s" -s bench/post.lua "http://127.0.0.1:$port/ingest" > "$work/wrk.txt"
  after=$(cpu_ticks $gw)
  local accepted metrics cpu_ns spooled bytes
  accepted=$(awk -F= '/^accepted_batches=/{print $2}' "$work/wrk.txt"); metrics=$((accepted * 5000))
  cpu_ns=$(( (after - before) * 1000000000 / hz ))
  spooled=$(metric "127.0.0.1:$stat" polymur_gateway_spool_pending_points)
  bytes=$(metric "127.0.0.1:$stat" polymur_gateway_spool_bytes)
  taskset -c 1 "$tools" sink "$work/count2" "$down" > /dev/null &
  local sink2=$! t0; t0=$(date +%s.%N)
  local deadline=$((SECONDS + 300))
  while [ "$(metric "127.0.0.1:$stat" polymur_gateway_spool_pending_points)" != 0 ] && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
  local t1; t1=$(date +%s.%N)
  kill -TERM $gw; wait $gw || true
  sleep 0.3
  local delivered=$(( $(cat "$work/count") + $(cat "$work/count2") ))
  kill $sink $sink2; wait $sink $sink2 2>/dev/null || true
  local accepted_lines; accepted_lines=$(grep -oE 'Stopped: [0-9]+ lines accepted' "$work/gw.log" | grep -oE '[0-9]+')
  echo
  echo "== hash-route to $n destination(s), the last one down (spooling), ${secs}s, 4 connections (round $round of $rounds)"
  echo "accepted metrics:        $metrics by wrk's count, $accepted_lines by the gateway's"
  echo "delivered lines:         $delivered after the replay (expected $accepted_lines; duplicates from resends count here)"
  local this; this=$(awk -v c="$cpu_ns" -v m="$metrics" 'BEGIN{printf "%.1f", c/m}')
  cost[spool:$n]="${cost[spool:$n]:-} $this"
  echo "gateway CPU ns/metric:   $this while spooling"
  echo "spooled:                 $spooled points in $bytes bytes: $(awk -v b="$bytes" -v p="$spooled" 'BEGIN{printf "%.2f", b/p}') bytes per point"
  echo "replay:                  $(awk -v p="$spooled" -v a="$t0" -v b="$t1" 'BEGIN{printf "%.0f", p/(b-a)}') points/s once the destination was back (limit ${BENCH_REPLAY_RATE:-1000000})"
  rm -rf "$spooldir"
}

# One scenario: DIST[+OPTION...]:N. Options: spool (-spool-dir on, every destination up), prefix (-key-prefix),
# tls (HTTPS, HTTP/1.1, wrk), h2 (HTTPS, h2 by ALPN, h2load), lines100 (100-line batches), empty (a proxy's
# 23-byte idle flush: no metrics, so the cost is per request), idle (2000 idle keep-alive connections held
# open throughout: RSS, and what each costs), ping (/ping with no body: the floor of any request here),
# reload (with tls: the serving pair is renamed over by another every 2.5 s, as renewal tools do; the
# gateway takes a change that held for a second, so faster swaps would not all be taken), fresh (with tls:
# besides the load, a curl makes a new handshake for /ping every 50 ms), tlsdest
# (the destinations are tls://, verified against -destination-ca; the sink speaks TLS).
run_scenario() {
  local scenario=$1 spec=${1%%:*} n=${1##*:}
  local dist=${spec%%+*} opts="+${spec#*+}+" flags=() batch=$work/batch.gz lines=5000 scheme=http client=wrk path=ingest
  [ "$spec" = "$dist" ] && opts=""
  local gwbin=$bin
  case $opts in *+baseline+*) gwbin=${BENCH_BASELINE:?broadcast+baseline needs BENCH_BASELINE=path to the other binary};; esac
  case $opts in *+spool+*) rm -rf "$work/spool"; mkdir -p "$work/spool"; flags+=(-spool-dir "$work/spool");; esac
  case $opts in *+prefix+*) flags+=(-key-prefix);; esac
  case $opts in *+tls+*|*+h2+*) scheme=https;; esac
  case $opts in *+h2+*) client=h2load;; esac
  case $opts in *+lines100+*) batch=$work/batch100.gz; lines=100;; esac
  case $opts in *+empty+*) batch=$work/empty.gz; lines=0;; esac
  case $opts in *+ping+*) batch=$work/empty.gz; lines=0; path=ping;; esac
  case $opts in *+idle+*) flags+=(-max-connections 4096);; esac
  local sinkmode=(sink) scheme_dest=""
  case $opts in *+tlsdest+*) sinkmode=(tls-sink "$work/cert.pem" "$work/key.pem"); scheme_dest="tls://"; flags+=(-destination-ca "$work/cert.pem");; esac
  local ports=() dests=() p i
  for i in $(seq 1 "$n"); do p=$(free_port); ports+=("$p"); dests+=("${scheme_dest}127.0.0.1:$p:d$i"); done
  rm -f "$work/count"
  taskset -c 1 "$tools" "${sinkmode[@]}" "$work/count" "${ports[@]}" > "$work/sink.log" &
  local sink=$!
  wait_until "the sink" test -s "$work/count"
  local port stat url
  port=$(free_port); stat=$(free_port)
  if [ "$scheme" = https ]; then
    cp "$work/cert.pem" "$work/serving-cert.pem"; cp "$work/key.pem" "$work/serving-key.pem"
    local plain; plain=$(free_port); while [ "$plain" = "$port" ] || [ "$plain" = "$stat" ]; do plain=$(free_port); done
    flags+=(-cert "$work/serving-cert.pem" -key "$work/serving-key.pem" -listen-https-port "$port" -listen-http-port "$plain")
  else
    flags+=(-listen-http-port "$port")
  fi
  url="$scheme://127.0.0.1:$port"
  # -dev-mode's key is 123; with -key-prefix its lines go out as 123.<path>.
  taskset -c 0 "$gwbin" -dev-mode -listen-addr 127.0.0.1 -api-addr 127.0.0.1:0 -stat-addr "127.0.0.1:$stat" \
    -destinations "$(IFS=,; echo "${dests[*]}")" -distribution "$dist" \
    ${BENCH_QUEUE_CAP:+-outgoing-queue-cap $BENCH_QUEUE_CAP} "${flags[@]}" 2> "$work/gw.log" &
  local gw=$!
  wait_until "the gateway" curl -skf -o /dev/null -X POST -H 'X-Polymur-Key: 123' "$url/ping"
  local idle="" rss_before_idle=0 rss_idle=0
  case $opts in *+idle+*)
    rss_before_idle=$(awk '/VmRSS/ {print $2}' "/proc/$gw/status")
    taskset -c 1 "$tools" idle "$port" 2000 > "$work/idle.out" &
    idle=$!
    wait_until "2000 idle connections" grep -q ready "$work/idle.out"
    sleep 0.5
    rss_idle=$(awk '/VmRSS/ {print $2}' "/proc/$gw/status");;
  esac
  local reloader="" fresh=""
  case $opts in *+reload+*)
    ( k=2; while true; do
        sleep 2.5
        cp "$work/key$k.pem" "$work/serving-key.pem.new"; cp "$work/cert$k.pem" "$work/serving-cert.pem.new"
        mv "$work/serving-key.pem.new" "$work/serving-key.pem"; mv "$work/serving-cert.pem.new" "$work/serving-cert.pem"
        k=$([ "$k" = 2 ] && echo "" || echo 2)
      done ) &
    reloader=$!
    taskset -cp 1 $reloader > /dev/null;;   # with the load, off the gateway's core
  esac
  case $opts in *+fresh+*)
    rm -f "$work/handshakes"
    ( while true; do curl -sk -o /dev/null -w '%{http_code}\n' -X POST -H 'X-Polymur-Key: 123' "$url/ping" >> "$work/handshakes" || echo failed >> "$work/handshakes"; sleep 0.05; done ) &
    fresh=$!
    taskset -cp 1 $fresh > /dev/null;;
  esac
  local before after b1 i1 b2 i2
  before=$(cpu_ticks $gw)
  read -r b1 i1 < <(cpu1_busy_idle)
  local accepted refused errors latency
  if [ "$client" = h2load ]; then
    taskset -c 1 h2load -D "$secs" -c4 -m1 -t1 -d "$batch" -H 'X-Polymur-Key: 123' -H 'User-Agent: Go-http-client/2.0' "$url/$path" > "$work/h2load.txt"
    accepted=$(awk '/^status codes:/ {print $3}' "$work/h2load.txt")
    refused=$(awk '/^requests:/ {print $10}' "$work/h2load.txt")
    errors=$(awk '/^requests:/ {print $12}' "$work/h2load.txt")
    latency="mean $(awk '/^time for request:/ {print $6}' "$work/h2load.txt") (h2load)"
  else
    BENCH_BATCH=$batch taskset -c 1 wrk -t1 -c4 -d"${secs}s" -s bench/post.lua "$url/$path" > "$work/wrk.txt"
    accepted=$(awk -F= '/^accepted_batches=/{print $2}' "$work/wrk.txt")
    refused=$(awk -F= '/^refused_batches=/{print $2}' "$work/wrk.txt")
    errors=$(awk -F= '/^errors=/{print $2}' "$work/wrk.txt")
    latency="p50 $(awk -F= '/^p50_us=/{print $2}' "$work/wrk.txt") us, p99 $(awk -F= '/^p99_us=/{print $2}' "$work/wrk.txt") us"
  fi
  local fanout expected deadline
  fanout=$([ "$dist" = broadcast ] && echo "$n" || echo 1)
  expected=$((accepted * lines * fanout))
  deadline=$((SECONDS + 60))
  while [ "$(cat "$work/count")" -lt "$expected" ] && [ $SECONDS -lt $deadline ]; do sleep 0.1; done
  after=$(cpu_ticks $gw)
  read -r b2 i2 < <(cpu1_busy_idle)
  local peak spooled open
  peak=$(awk '/VmHWM/ {print $2}' "/proc/$gw/status")
  spooled=$(metric "127.0.0.1:$stat" polymur_gateway_points_spooled_total)
  open=$(metric "127.0.0.1:$stat" polymur_gateway_connections)
  [ -z "$idle" ] || { kill $idle; wait $idle 2>/dev/null || true; }
  local reloads=""
  [ -z "$fresh" ] || { kill $fresh; wait $fresh 2>/dev/null || true
    reloads="fresh handshakes: $(grep -c '^200$' "$work/handshakes" || true) answered 200, $(grep -vc '^200$' "$work/handshakes" || true) not; "; }
  [ -z "$reloader" ] || { kill $reloader; wait $reloader 2>/dev/null || true
    reloads="$reloads$(curl -sf "http://127.0.0.1:$stat/metrics" | awk '/^polymur_gateway_tls_certificate_reloads_total/ {printf "%s ", $0}')"; }
  local tls_failures=""
  case $opts in *+tlsdest+*) tls_failures=$(metric "127.0.0.1:$stat" polymur_gateway_destination_tls_failures_total);; esac
  kill -TERM $gw; wait $gw || true   # exits only once its queues are drained
  sleep 0.3
  local delivered accepted_lines cpu_ns metrics this
  delivered=$(cat "$work/count")
  kill $sink; wait $sink 2>/dev/null || true
  # What the gateway itself accepted (a client does not count answers still in flight when it stops).
  accepted_lines=$(grep -oE 'Stopped: [0-9]+ lines accepted' "$work/gw.log" | grep -oE '[0-9]+')
  expected=$((accepted_lines * fanout))
  cpu_ns=$(( (after - before) * 1000000000 / hz ))
  metrics=$((accepted * lines))
  echo
  echo "== $dist to $n destination(s)${opts:+, ${opts//+/ }}, $scheme, $client, ${secs}s, 4 connections (round $round of $rounds)"
  echo "accepted batches:        $accepted (refused $refused, errors $errors); $metrics metrics by the client's count, $accepted_lines by the gateway's"
  echo "delivered lines:         $delivered (expected $expected, lost $((expected - delivered)))"
  if [ "$lines" = 0 ]; then
    this=$(awk -v c="$cpu_ns" -v r="$accepted" 'BEGIN{printf "%.1f", c/r/1000}')
    echo "requests/s:              $((accepted / secs))"
    echo "gateway CPU us/request:  $this"
  else
    this=$(awk -v c="$cpu_ns" -v m="$metrics" 'BEGIN{printf "%.1f", c/m}')
    echo "accepted metrics/s:      $((metrics / secs))"
    echo "gateway CPU ns/metric:   $this (per accepted metric; $(awk -v c="$cpu_ns" -v d="$delivered" 'BEGIN{printf "%.1f", c/d}') per delivered line)"
  fi
  cost[$scenario]="${cost[$scenario]:-} $this"
  peaks[$scenario]="${peaks[$scenario]:-} $((peak / 1024))"
  echo "gateway CPU:             $(awk -v c="$cpu_ns" -v s="$secs" 'BEGIN{printf "%.0f%%", c/s/1e7}') of one core"
  echo "load side (CPU 1):       $(awk -v b=$((b2 - b1)) -v i=$((i2 - i1)) 'BEGIN{printf "%.0f%%", 100*b/(b+i)}') busy (client + sink)"
  echo "request latency:         $latency"
  echo "peak RSS:                $((peak / 1024)) MiB"
  [ -z "$idle" ] || echo "idle connections:        $((open - 4)) held besides the load's 4; RSS $((rss_before_idle / 1024)) -> $((rss_idle / 1024)) MiB opening them: $(( (rss_idle - rss_before_idle) * 1024 / 2000 )) bytes each"
  [ -z "$reloads" ] || echo "handshakes, reloads:     $reloads(failed requests are the errors above)"
  [ -z "$tls_failures" ] || echo "destination TLS:         $tls_failures handshake or verification failures"
  case $opts in *+spool+*) echo "went through the spool:  $spooled points (every destination up: a queue full past the grace)";; esac
}

# tcp[+stall]:1: the plaintext listener (-listen-tcp-port), broadcast to one sink, 4 sender connections each
# writing makebatch's 5000 lines, uncompressed, over and over. With +stall the sink is stopped (SIGSTOP) for 3 s
# in the middle: the gateway's queue fills, its connections stop reading, and the senders are held by TCP.
plaintext_scenario() {
  local spec=${1%%:*} p tcpport port stat
  p=$(free_port); tcpport=$(free_port); port=$(free_port); stat=$(free_port)
  rm -f "$work/count"
  taskset -c 1 "$tools" sink "$work/count" "$p" > "$work/sink.log" &
  local sink=$!
  wait_until "the sink" test -s "$work/count"
  taskset -c 0 "$bin" -dev-mode -listen-addr 127.0.0.1 -listen-http-port "$port" -api-addr 127.0.0.1:0 -stat-addr "127.0.0.1:$stat" \
    -destinations "127.0.0.1:$p:d1" -listen-tcp-port "$tcpport" -tcp-tenant bench 2> "$work/gw.log" &
  local gw=$!
  wait_until "the gateway" curl -sf -o /dev/null "http://127.0.0.1:$stat/metrics"
  local before after stopper=""
  before=$(cpu_ticks $gw)
  if [ "$spec" = tcp+stall ]; then
    ( sleep "$(awk -v s="$secs" 'BEGIN{print s/2 - 1.5}')"; kill -STOP $sink; sleep 3; kill -CONT $sink ) &
    stopper=$!
  fi
  taskset -c 1 "$tools" tcpsend "$tcpport" 4 "$secs" > "$work/tcpsend.txt"
  [ -z "$stopper" ] || wait $stopper
  local sent; sent=$(awk -F= '/^sent_lines=/{print $2}' "$work/tcpsend.txt")
  local deadline=$((SECONDS + 60))
  while [ "$(cat "$work/count")" -lt "$sent" ] && [ $SECONDS -lt $deadline ]; do sleep 0.1; done
  after=$(cpu_ticks $gw)
  local stalls stalled dropped
  stalls=$(metric "127.0.0.1:$stat" polymur_gateway_tcp_stalls_total)
  stalled=$(curl -sf "http://127.0.0.1:$stat/metrics" | awk '/^polymur_gateway_tcp_stalled_seconds_total/ {print $2}')
  dropped=$(metric "127.0.0.1:$stat" polymur_gateway_points_dropped_total)
  kill -TERM $gw; wait $gw || true
  sleep 0.3
  local delivered; delivered=$(cat "$work/count")
  kill $sink; wait $sink 2>/dev/null || true
  local cpu_ns=$(( (after - before) * 1000000000 / hz )) this
  this=$(awk -v c="$cpu_ns" -v m="$sent" 'BEGIN{printf "%.1f", c/m}')
  echo
  echo "== plaintext listener${stopper:+, the sink stopped for 3 s midway}, broadcast to 1, ${secs}s, 4 sender connections (round $round of $rounds)"
  echo "lines sent:              $sent; delivered $delivered (lost $((sent - delivered))); dropped by the gateway: $dropped"
  echo "lines/s:                 $((sent / secs))"
  echo "gateway CPU ns/metric:   $this"
  echo "stalls:                  $stalls, $stalled s not reading (summed over connections)"
  echo "sent per 0.5 s:          $(awk -F= '/^timeline=/{print $2}' "$work/tcpsend.txt")"
  cost[$1]="${cost[$1]:-} $this"
}

# relay:1: the same senders and sink with Debian's carbon-c-relay (one worker, a 200,000-line queue) in the
# gateway's place, pinned to CPU 0: its CPU per line read, and how many of those lines reached the sink.
relay_scenario() {
  command -v carbon-c-relay >/dev/null || { echo "(relay: carbon-c-relay is not installed; apt-get install carbon-c-relay)"; return; }
  local p listen; p=$(free_port); listen=$(free_port)
  rm -f "$work/count"
  taskset -c 1 "$tools" sink "$work/count" "$p" > "$work/sink.log" &
  local sink=$!
  wait_until "the sink" test -s "$work/count"
  printf 'listen type linemode 127.0.0.1:%s proto tcp;\ncluster out forward 127.0.0.1:%s;\nmatch * send to out stop;\n' "$listen" "$p" > "$work/relay.conf"
  local other; other=$(free_port); while [ "$other" = "$listen" ] || [ "$other" = "$p" ]; do other=$(free_port); done
  taskset -c 0 carbon-c-relay -f "$work/relay.conf" -p "$other" -w 1 -q 200000 > "$work/relay.log" 2>&1 &
  local relay=$!
  wait_until "carbon-c-relay" bash -c "exec 3<>/dev/tcp/127.0.0.1/$listen"
  local before after; before=$(cpu_ticks $relay)
  taskset -c 1 "$tools" tcpsend "$listen" 4 "$secs" > "$work/tcpsend.txt"
  local sent; sent=$(awk -F= '/^sent_lines=/{print $2}' "$work/tcpsend.txt")
  local last=-1; while [ "$(cat "$work/count")" != "$last" ]; do last=$(cat "$work/count"); sleep 1; done
  after=$(cpu_ticks $relay)
  kill $relay $sink; wait $relay $sink 2>/dev/null || true
  local cpu_ns=$(( (after - before) * 1000000000 / hz ))
  echo
  echo "== carbon-c-relay $(carbon-c-relay -v 2>&1 | grep -oE 'v[0-9.]+' | head -1), one worker, forward to 1, ${secs}s, 4 sender connections (round $round of $rounds)"
  echo "lines read:              $sent; delivered $last ($(awk -v d="$last" -v s="$sent" 'BEGIN{printf "%.0f%%", 100*d/s}'))"
  echo "relay CPU ns/line read:  $(awk -v c="$cpu_ns" -v m="$sent" 'BEGIN{printf "%.1f", c/m}')"
}

# outage:2: see OutageBench.cs. Prints the lines accepted, lost and duplicated, each counted line by line.
outage_scenario() {
  local spooldir="$work/outage-spool"
  rm -rf "$spooldir"; mkdir -p "$spooldir"
  echo
  echo "== outage: hash-route to 2 with -spool-dir at ${BENCH_OUTAGE_RATE:-100000} lines/s, one sink stopped for ${BENCH_OUTAGE_SECONDS:-15} s (round $round of $rounds)"
  taskset -c 1 "$tools" outage "$bin" "${BENCH_OUTAGE_SECONDS:-15}" "${BENCH_OUTAGE_RATE:-100000}" "$spooldir"
  rm -rf "$spooldir"
}

declare -A cost peaks   # scenario -> CPU cost and peak RSS (MiB) in each round, for the ratios at the end
rounds=${BENCH_ROUNDS:-3}
for round in $(seq 1 "$rounds"); do
for scenario in $scenarios; do
  if [ "${scenario%%:*}" = spool ]; then
    spool_scenario "${scenario##*:}"
  elif [ "${scenario%%:*}" = outage ]; then
    outage_scenario
  elif [ "${scenario%%:*}" = relay ]; then
    relay_scenario
  elif [ "${scenario%%[+:]*}" = tcp ]; then
    plaintext_scenario "$scenario"
  else
    run_scenario "$scenario"
  fi
done
done

# The spool's targets are ratios within this run: spooling at most 1.5x all-up, and the spool on with every
# destination up within 3% of it off.
# ratio A B LABEL: A's cost over B's in each round and their median; and the ratio of each one's cheapest round
# (a noisy neighbour only ever adds CPU time, so the minimum is the least disturbed figure).
ratio() {
  [ -n "${cost[$1]:-}" ] && [ -n "${cost[$2]:-}" ] || return 1
  echo "$3 $(awk -v a="${cost[$1]}" -v b="${cost[$2]}" 'BEGIN{
    n = split(a, x, " "); split(b, y, " ")
    for (i = 1; i <= n; i++) { r[i] = x[i] / y[i]; s = s sprintf(" %.3f", r[i]) }
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (r[j] < r[i]) { t = r[i]; r[i] = r[j]; r[j] = t }
    m = n % 2 ? r[(n + 1) / 2] : (r[n / 2] + r[n / 2 + 1]) / 2
    lo = x[1]; hi = y[1]; for (i = 2; i <= n; i++) { if (x[i] < lo) lo = x[i]; if (y[i] < hi) hi = y[i] }
    printf "%.3fx median of %d rounds (each:%s); %.3fx of the best rounds (%.1f / %.1f)", m, n, s, lo / hi, lo, hi }')"
}
echo
for n in 1 2 3 4; do
  ratio "spool:$n" "hash-route:$n" "ratio spooling / all up, hash-route to $n:        " || true
  ratio "hash-route+spool:$n" "hash-route:$n" "ratio spool on / off, all up, hash-route to $n:  " || true
done
echo
ratio "hash-route:3" "broadcast:1" "ratio hash-route to 3 / broadcast to 1:        " || true
ratio "broadcast:1" "broadcast+baseline:1" "ratio this binary / BENCH_BASELINE, broadcast 1:" || true
ratio "hash-route:3" "hash-route+baseline:3" "ratio this binary / BENCH_BASELINE, hash-route 3:" || true
ratio "broadcast+prefix:1" "broadcast:1" "ratio -key-prefix / without, broadcast to 1:   " || true
ratio "broadcast+tls:1" "broadcast:1" "ratio HTTPS h1 / HTTP, broadcast to 1:         " || true
ratio "broadcast+tls+fresh:1" "broadcast+tls:1" "ratio HTTPS + 20 handshakes/s / without:       " || true
ratio "broadcast+tls+reload+fresh:1" "broadcast+tls+fresh:1" "ratio + reloading every 2.5 s / not reloading:" || true
ratio "broadcast+tlsdest:1" "broadcast:1" "ratio tls:// destination / plain, broadcast:   " || true
ratio "tcp:1" "broadcast:1" "ratio plaintext TCP / HTTP gzip, per metric:   " || true
ratio "broadcast+h2:1" "broadcast:1" "ratio HTTPS h2 / HTTP, broadcast to 1:         " || true
ratio "broadcast+lines100:1" "broadcast:1" "ratio 100-line / 5000-line batches, per metric:" || true
ratio "broadcast+empty:1" "broadcast+ping:1" "ratio empty batch / bare /ping, per request:     " || true
ratio "broadcast+idle:1" "broadcast:1" "ratio with 2000 idle connections / without:    " || true
[ -z "${cost[broadcast:1]:-}" ] || echo "broadcast to 1 / inflate floors:                 $(awk -v a="${cost[broadcast:1]}" -v z="$zlib_ns" -v l="$libdeflate_ns" 'BEGIN{n = split(a, x, " "); lo = x[1]; for (i = 2; i <= n; i++) if (x[i] < lo) lo = x[i]; printf "%.2fx .NET GZipStream (%.1f ns), %.2fx libdeflate (%.1f ns), best round %.1f ns", lo / z, z, lo / l, l, lo}')"
for s in "${!peaks[@]}"; do echo "peak RSS, $s: ${peaks[$s]} MiB"; done | sort
