#!/usr/bin/env bash
# D2 and D3. 200 clients send a report's body a byte a second: each is
# closed by the minimum body rate (1,024 bytes per 5 s here), no database
# transaction is open on their account meanwhile, and normal reports keep
# flowing (p99 < 200 ms). Then 50 clients ask for the form page 5,000 times
# each and never read: each is closed at the send deadline (3 s here) and
# tipd's memory stays bounded.
. "$(dirname "$0")/lib.sh"
SLOWLORIS=${SLOWLORIS:?SLOWLORIS must name the slowloris binary}
pg_init
tipd_start --set send_timeout_ms=3000 --set body_min_rate_bytes=1024 \
    --set body_rate_window_ms=5000
rss() { awk '/^VmRSS/ { print $2 }' "/proc/$TIPD_PID/status"; }

# D2
"$SLOWLORIS" --port "$TIPD_PORT" --conns 200 --mode body --interval 1000 \
    --seconds 30 >"$WORK/slow" &
S=$!
sleep 1
burst --prefix d2 --count 2000 --conns 4 >"$WORK/log" &
B=$!
open_tx=0
for _ in $(seq 8); do
    n=$(sql "SELECT count(*) FROM pg_stat_activity WHERE datname = 'tipd'
             AND state LIKE 'idle in transaction%'")
    open_tx=$((open_tx + n))
    sleep 0.5
done
wait "$B"
wait "$S"
closed=$(awk '$4 != -1' "$WORK/slow" | wc -l)
slowest=$(sort -k2 -n "$WORK/slow" | tail -n1 | cut -d' ' -f2)
p99=$(awk '{ print $4 }' "$WORK/log" | sort -n | awk '{ v[NR] = $1 } END { print v[int(NR * 0.99)] }')
answered=$(awk '$2 == 201' "$WORK/log" | wc -l)
echo "D2: 200 slow bodies: $closed closed by tipd, slowest after ${slowest} s;" \
    "transactions seen open meanwhile: $open_tx; normal: $answered of 2000 answered 201, p99 ${p99} ms"
[ "$closed" -eq 200 ] || fail "$((200 - closed)) slow bodies were never closed"
awk '$2 > 12 { bad = 1 } END { exit bad }' "$WORK/slow" || fail "a slow body outlived the rate window"
[ "$open_tx" -eq 0 ] || fail "a transaction was open while bodies arrived"
[ "$answered" -eq 2000 ] || fail "normal traffic: $answered of 2000 answered 201"
[ "$p99" -lt 200 ] || fail "normal traffic p99 ${p99} ms (need < 200)"
check_log d2 2000 "$WORK/log"

# D3
before=$(rss)
"$SLOWLORIS" --port "$TIPD_PORT" --conns 50 --mode noread --seconds 30 >"$WORK/greedy"
after=$(rss)
closed=$(awk '$4 != -1' "$WORK/greedy" | wc -l)
slowest=$(sort -k2 -n "$WORK/greedy" | tail -n1 | cut -d' ' -f2)
echo "D3: 50 clients that never read: $closed closed by tipd, slowest after ${slowest} s;" \
    "tipd RSS ${before} KiB before, ${after} KiB after"
[ "$closed" -eq 50 ] || fail "$((50 - closed)) greedy clients were never closed"
awk '$2 > 10 { bad = 1 } END { exit bad }' "$WORK/greedy" || fail "a greedy client outlived the send deadline"
[ $((after - before)) -lt 102400 ] || fail "tipd grew by $((after - before)) KiB"
curl -sf "http://127.0.0.1:$TIPD_PORT/healthz" >/dev/null || fail "tipd stopped answering"
echo "D2 D3 ok"
