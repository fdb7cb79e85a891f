#!/usr/bin/env bash
# A3: tipd's database connections killed every 200 ms during a burst:
# acknowledged-but-missing = 0, duplicates = 0, no answer other than
# 201/503, memory flat.
. "$(dirname "$0")/lib.sh"
N=${A3_REPORTS:-10000}
pg_init
tipd_start --set db_reconnect_max_ms=200
rss_before=$(awk '/VmRSS/ {print $2}' "/proc/$TIPD_PID/status")
burst --prefix a3 --count "$N" --conns 16 >"$WORK/log" &
B=$!
kills=0
while kill -0 "$B" 2>/dev/null; do
    sql "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
         WHERE usename = 'tipd_app' AND pid <> pg_backend_pid()" >/dev/null || true
    kills=$((kills + 1))
    sleep 0.2
done
wait "$B" || true
rss_after=$(awk '/VmRSS/ {print $2}' "/proc/$TIPD_PID/status")
echo "terminations: $kills; RSS ${rss_before} kB -> ${rss_after} kB"
[ "$rss_after" -lt $((rss_before * 3 + 65536)) ] || fail "memory grew"
retry_until_done a3 "$WORK/log"
check_log a3 "$N" "$WORK/log"
echo "A3 ok"
