#!/usr/bin/env bash
# D1: 2,000 slowloris connections (a request head sent a byte a second,
# never finished) while normal traffic runs. Each slow connection is closed
# at the total header deadline (header_timeout_ms, 5 s here), not kept
# alive by its trickle; the normal reports keep flowing: p99 under 200 ms,
# every one answered 201.
. "$(dirname "$0")/lib.sh"
SLOW=${D1_CONNECTIONS:-2000}
SLOWLORIS=${SLOWLORIS:?SLOWLORIS must name the slowloris binary}
pg_init
tipd_start --set header_timeout_ms=5000 --set max_connections=4096
"$SLOWLORIS" --port "$TIPD_PORT" --conns "$SLOW" --interval 1000 --seconds 30 \
    >"$WORK/slow" &
S=$!
sleep 1
burst --prefix d1 --count 4000 --conns 4 >"$WORK/log"
wait "$S"
answered=$(awk '$2 == 201' "$WORK/log" | wc -l)
p99=$(awk '{ print $4 }' "$WORK/log" | sort -n | awk '{ v[NR] = $1 } END { print v[int(NR * 0.99)] }')
p50=$(awk '{ print $4 }' "$WORK/log" | sort -n | awk '{ v[NR] = $1 } END { print v[int(NR * 0.5)] }')
closed=$(awk '$4 != -1' "$WORK/slow" | wc -l)
open_long=$(awk '$4 == -1 || $2 > 7' "$WORK/slow" | wc -l)
slowest=$(sort -k2 -n "$WORK/slow" | tail -n1 | cut -d' ' -f2)
echo "$SLOW slow connections: $closed closed by tipd, slowest after ${slowest} s, $open_long open past 7 s;" \
    "normal traffic during them: $answered of 4000 answered 201, p50 ${p50} ms, p99 ${p99} ms"
[ "$closed" -eq "$SLOW" ] || fail "$((SLOW - closed)) slow connections were never closed"
[ "$open_long" -eq 0 ] || fail "$open_long slow connections outlived the header deadline"
[ "$answered" -eq 4000 ] || fail "normal traffic: $answered of 4000 answered 201"
[ "$p99" -lt 200 ] || fail "normal traffic p99 ${p99} ms (need < 200)"
check_log d1 4000 "$WORK/log"
echo "D1 ok"
