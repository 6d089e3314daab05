#!/usr/bin/env bash
# make fuzz: coverage-guided fuzzing (AFL++ with SharpFuzz) of the line parser ("lines") and the gzip-to-lines
# path ("gzip"), side by side for FUZZ_SECONDS (default 60). The inputs AFL finds that add coverage are copied into
# fuzz/corpus/<target>/ to be committed; a crash (a broken invariant or an exception) fails the run and is kept
# in .cache/fuzz/out-<target>/default/crashes for a regression test.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-60}
tools=.cache/tools
out=.cache/fuzz
command -v afl-fuzz >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq afl++; }
[ -x "$tools/sharpfuzz" ] || dotnet tool install SharpFuzz.CommandLine --version 2.3.0 --tool-path "$tools" >/dev/null
dotnet build fuzz/Gateway.Fuzz -c Release -o "$out/bin" -v quiet --nologo >/dev/null
"$tools/sharpfuzz" "$out/bin/polymur-gateway.dll" >/dev/null

# The two targets run side by side, one per core (afl-fuzz picks a free core for each).
for target in lines gzip; do
  rm -rf "$out/out-$target"
  AFL_SKIP_BIN_CHECK=1 AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 \
    afl-fuzz -i "fuzz/corpus/$target" -o "$out/out-$target" -t 5000 -m none -V "$seconds" \
    -- dotnet "$out/bin/Gateway.Fuzz.dll" "$target" >"$out/afl-$target.log" 2>&1 &
done
wait

status=0
for target in lines gzip; do
  stats=$out/out-$target/default/fuzzer_stats
  [ -f "$stats" ] || { echo "fuzz $target: afl-fuzz did not run:"; tail -20 "$out/afl-$target.log"; status=1; continue; }
  execs=$(awk -F' *: *' '$1=="execs_done"{print $2}' "$stats")
  edges=$(awk -F' *: *' '$1=="edges_found"{print $2}' "$stats")
  crashes=$(find "$out/out-$target/default/crashes" -type f -name 'id:*' 2>/dev/null | wc -l)
  added=0
  for f in "$out/out-$target/default/queue"/id:*; do
    [ -f "$f" ] || continue
    name=$(sha1sum "$f" | cut -c1-16)
    [ -e "fuzz/corpus/$target/$name" ] || { cp "$f" "fuzz/corpus/$target/$name"; added=$((added + 1)); }
  done
  echo "fuzz $target: ${seconds}s, $execs runs, $edges edges, $crashes crashes, $added new corpus inputs (fuzz/corpus/$target: $(ls fuzz/corpus/$target | wc -l))"
  [ "$crashes" = 0 ] || status=1
done
exit $status
