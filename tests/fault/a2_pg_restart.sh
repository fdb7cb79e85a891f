#!/usr/bin/env bash
# A2: PostgreSQL stopped (-m immediate) mid-burst and restarted. During the
# outage tipd answers only 503 (or the connection fails), never a 201 it
# cannot prove; acknowledged-but-missing = 0; tipd serves 201s again within
# 10 s of the database accepting connections, by itself.
. "$(dirname "$0")/lib.sh"
N=${A2_REPORTS:-20000}
pg_init
tipd_start --set db_reconnect_max_ms=500
burst --prefix a2 --count "$N" --conns 16 >"$WORK/log" &
B=$!
sleep 1
pg_stop_immediate
sleep 2
pg_start
up=$(date +%s.%N)
# The first 201 after the restart, by a fresh probe request.
ok=""
for _ in $(seq 100); do
    code=$(curl -s -o /dev/null -w '%{http_code}' -X POST \
        -H 'Content-Type: application/json' -d '{"content":"恢复探测"}' \
        "http://127.0.0.1:$TIPD_PORT/api/v1/reports" || true)
    if [ "$code" = 201 ]; then
        ok=$(date +%s.%N)
        break
    fi
    sleep 0.1
done
[ -n "$ok" ] || fail "no 201 within 10 s of the database coming back"
echo "first 201 after restart: $(echo "$ok - $up" | bc) s"
wait "$B" || true
retry_until_done a2 "$WORK/log"
check_log a2 "$N" "$WORK/log"
echo "A2 ok"
