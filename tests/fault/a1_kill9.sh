#!/usr/bin/env bash
# A1 (spec/reliability.md): kill -9 tipd during a 20,000-report burst with
# unique idempotency keys, restart it, retry what went unanswered:
# acknowledged-but-missing = 0, stored twice = 0, finally 20,000/20,000.
. "$(dirname "$0")/lib.sh"
N=${A1_REPORTS:-20000}
pg_init
tipd_start
burst --prefix a1 --count "$N" --conns 16 >"$WORK/log" &
B=$!
sleep 1.5
kill -9 "$TIPD_PID"
TIPD_PID=""
wait "$B" || true
echo "before the kill: $(awk '$2 == 201' "$WORK/log" | wc -l) answered 201"
tipd_start
retry_until_done a1 "$WORK/log"
check_log a1 "$N" "$WORK/log"
echo "A1 ok"
