#!/usr/bin/env bash
# A4: PostgreSQL paused (SIGSTOP to every process of the cluster) for 30 s
# during a burst. Every request ends within its deadline (503 with
# Retry-After, or a connection error; never a hang: the slowest is bounded
# by intake_queue_timeout_ms and db_job_timeout_ms), tipd's open descriptors
# stay within bounds, and after SIGCONT acknowledged-but-missing = 0.
. "$(dirname "$0")/lib.sh"
N=${A4_REPORTS:-20000}
PAUSE=${A4_PAUSE_SECONDS:-30}
pg_init
tipd_start --set max_connections=256
burst --prefix a4 --count "$N" --conns 16 >"$WORK/log" &
B=$!
sleep 1
postmaster=$(head -n1 "$WORK/pg/postmaster.pid")
pids="$postmaster $(pgrep -d ' ' -P "$postmaster" || true)"
# shellcheck disable=SC2086 # a list of pids
kill -STOP $pids
paused=$(date +%s.%N)
# The burst meets the pause and ends; a new request each second shows
# that the answers keep coming, as 503s, all the while.
max_fds=0
: >"$WORK/probes"
until_s=$((SECONDS + PAUSE))
while [ "$SECONDS" -lt "$until_s" ]; do
    curl -s -o /dev/null -w '%{http_code} %{time_total}\n' --max-time 20 -X POST \
        -H 'Content-Type: application/json' -d '{"content":"暂停探测"}' \
        "http://127.0.0.1:$TIPD_PORT/api/v1/reports" >>"$WORK/probes" || true
    fds=$(find "/proc/$TIPD_PID/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
    [ "$fds" -gt "$max_fds" ] && max_fds=$fds
    sleep 0.5
done
# shellcheck disable=SC2086
kill -CONT $pids
resumed=$(date +%s.%N)
wait "$B" || true
# Answers given while the database was paused: status and time taken.
during=$(awk '$2 != 201' "$WORK/log" | wc -l)
slowest=$(awk 'BEGIN { m = 0 } $4 > m { m = $4 } END { print m }' "$WORK/log")
errors=$(awk '$2 == 0' "$WORK/log" | wc -l)
echo "paused $(echo "$resumed - $paused" | bc) s: $during answers other than 201" \
    "($errors connection errors), slowest answer or error ${slowest} ms," \
    "at most $max_fds descriptors open"
# A connection error is allowed (as in A2); waiting is not: each request
# ends, one way or the other, within the deadline.
[ "$slowest" -le 10000 ] || fail "a request took ${slowest} ms (deadline 10 s)"
bad=$(awk '$2 != 201 && $2 != 503 && $2 != 0' "$WORK/log" | head -3)
[ -z "$bad" ] || fail "answers other than 201/503: $bad"
[ "$during" -gt 0 ] || fail "no request met the paused database (503s expected)"
probes=$(wc -l <"$WORK/probes")
probe_bad=$(awk '$1 != 503 || $2 > 10' "$WORK/probes" | head -3)
echo "$probes requests during the pause: $(awk '$1 == 503' "$WORK/probes" | wc -l) answered 503," \
    "slowest $(sort -k2 -n "$WORK/probes" | tail -n1 | cut -d' ' -f2) s"
[ -z "$probe_bad" ] || fail "during the pause, not a 503 within 10 s: $probe_bad"
[ "$max_fds" -le 300 ] || fail "$max_fds descriptors open"
retry_until_done a4 "$WORK/log"
expected=$(awk '{ print $1 }' "$WORK/log" | sort -u | wc -l)
check_log a4 "$expected" "$WORK/log"
echo "A4 ok"
