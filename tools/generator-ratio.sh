#!/bin/sh
# tools/generator-ratio.sh - how much of a server's rate the lab's generator
# sees under Wine, against a native Linux generator, back to back.
#
#   tools/generator-ratio.sh [ROUNDS] [SECONDS] [CONNECTIONS] [STEP]
#   (defaults 3 rounds, 4 s, 64 connections, 09_iocp)
#
# Each round measures the same server four times, one right after the other:
#   compare  `client.exe compare --steps STEP --counts CONNECTIONS`, exactly
#            as `make compare` runs (the server in its own Wine prefix, the
#            load from build/native_bench);
#   native   the server started the same way (tools/compare-serve.sh, the
#            servers' prefix), driven by build/native_bench (tools/native_bench.c)
#            alone, outside compare;
#   wine-gen compare --wine-generator: the load from client.exe bench under Wine;
#   shared   compare --same-prefix, the old way (one wineserver for the server
#            and the generator, client.exe bench), for the record.
# and prints both rates and their ratio; then the median ratio. Linux only;
# needs `make all` first (build/native_bench). docs/comparison.md reports it.
set -u
rounds=${1:-3}
secs=${2:-4}
conns=${3:-64}
step=${4:-09_iocp}
root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/build
[ -x "$build/native_bench" ] && [ -f "$build/$step.exe" ] || {
  echo "generator-ratio: needs build/native_bench and build/$step.exe (make all)" >&2
  exit 2
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ratios=
r=1
while [ "$r" -le "$rounds" ]; do
  # the lab's generator, through compare
  "$root/tools/wine-run.sh" --keep "$build/client.exe" compare --steps "$step" --counts "$conns" \
    -d "$secs" --no-native -o "$tmp" >"$tmp/compare.txt" 2>&1
  lab=$(awk -F, -v s="$step" '$1 == s { print $8 }' "$tmp/comparison.csv")
  # the native generator against the same server, started the same way
  port=$((41000 + $$ % 8000 + r)) # a port per round, apart from other runs
  "$root/tools/compare-serve.sh" warm "$tmp/warm.log"
  "$root/tools/compare-serve.sh" run "$tmp/srv.log" "$tmp/srv.stop" \
    "$build/$step.exe" -q -p "$port" &
  n=0
  until grep -q "listening on" "$tmp/srv.log" 2>/dev/null || [ $n -ge 150 ]; do
    sleep 0.1
    n=$((n + 1))
  done
  nat=$("$build/native_bench" -p "$port" -c "$conns" -d "$secs" |
    sed -n 's/^native_bench: [0-9].*= \([0-9]*\) msgs.*/\1/p')
  touch "$tmp/srv.stop"
  wait
  rm -f "$tmp/srv.stop" "$tmp/srv.log"
  # the generator under Wine, then the old way: all in the generator's prefix
  "$root/tools/wine-run.sh" --keep "$build/client.exe" compare --steps "$step" --counts "$conns" \
    -d "$secs" --no-native --wine-generator -o "$tmp" >"$tmp/compare.txt" 2>&1
  winegen=$(awk -F, -v s="$step" '$1 == s { print $8 }' "$tmp/comparison.csv")
  "$root/tools/wine-run.sh" --keep "$build/client.exe" compare --steps "$step" --counts "$conns" \
    -d "$secs" --same-prefix -o "$tmp" >"$tmp/compare.txt" 2>&1
  same=$(awk -F, -v s="$step" '$1 == s { print $8 }' "$tmp/comparison.csv")
  ratio=$(awk -v a="${lab:-0}" -v b="${nat:-0}" 'BEGIN { printf("%.2f", (b > 0) ? a / b : 0) }')
  echo "round $r: $step, $conns connections, $secs s: compare $lab msgs/s," \
    "native generator $nat msgs/s, ratio $ratio" \
    "(generator under Wine: $winegen msgs/s; one shared prefix: $same msgs/s)"
  ratios="$ratios $ratio"
  r=$((r + 1))
done
"$root/tools/compare-serve.sh" end "$tmp/end.log"
WINEPREFIX=$root/.wine wineserver -k >/dev/null 2>&1
echo "$ratios" | tr ' ' '\n' | sed '/^$/d' | sort -n |
  awk '{ v[NR] = $1 }
       END { printf("median ratio %.2f (min %.2f, max %.2f, %d rounds)\n",
                    (v[int((NR + 1) / 2)] + v[int(NR / 2) + 1]) / 2, v[1], v[NR], NR) }'
