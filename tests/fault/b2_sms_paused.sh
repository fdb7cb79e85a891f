#!/usr/bin/env bash
# B2: PostgreSQL paused (SIGSTOP of every process of the cluster) for 20 s
# while SMS gateway callbacks arrive. Every callback must be answered, and
# answered non-2xx, within 14 s (a Twilio-style gateway waits 15 s), so the
# gateway retries; no callback hangs. After SIGCONT the gateway's retries
# are stored once each: N messages, N rows, N keys.
. "$(dirname "$0")/lib.sh"
N=${B2_MESSAGES:-40}
PAUSE=${B2_PAUSE_S:-20}
export TIPD_SMS_KANNEL_KEY=b2-secret
pg_init
tipd_start

# callback I: one Kannel get-url call; prints "I STATUS SECONDS".
callback() {
    local out
    out=$(curl -s -o /dev/null -m 30 -w '%{http_code} %{time_total}' \
        "http://127.0.0.1:$TIPD_PORT/sms/kannel?key=b2-secret&from=%2B86135$(printf %08d "$1")&to=12388&text=B2%E6%9A%82%E5%81%9C$1&id=b2p-$1&smsc=fake&charset=UTF-8" ||
        true)
    echo "$1 ${out:-000 30}"
}

# Four gateway connections sending the N messages over about 8 s.
streams=""
for s in 0 1 2 3; do
    (
        for i in $(seq "$s" 4 $((N - 1))); do
            callback "$i"
            sleep 0.8
        done
    ) >"$WORK/stream$s" &
    streams="$streams $!"
done
sleep 1
pm=$(head -1 "$WORK/pg/postmaster.pid")
procs="$pm $(pgrep -P "$pm" | tr '\n' ' ')"
# shellcheck disable=SC2086 # a list of pids
kill -STOP $procs
echo "paused PostgreSQL ($(echo $procs | wc -w) processes) for $PAUSE s"
sleep "$PAUSE"
# shellcheck disable=SC2086
kill -CONT $procs
# shellcheck disable=SC2086 # a list of pids (not tipd's)
wait $streams
cat "$WORK"/stream* >"$WORK/answers"
answered=$(wc -l <"$WORK/answers")
[ "$answered" -eq "$N" ] || fail "$answered answers for $N callbacks"
slowest=$(awk '{ if ($3 > m) m = $3 } END { printf "%.2f", m }' "$WORK/answers")
refused=$(awk '$2 != 200' "$WORK/answers" | wc -l)
bad=$(awk '$2 != 200 && $2 != 503' "$WORK/answers" | head -3)
echo "answers: $((N - refused)) x 200 (before the pause), $refused x 503; slowest ${slowest} s"
[ -z "$bad" ] || fail "answers other than 200/503: $bad"
awk '$3 >= 14 { exit 1 }' "$WORK/answers" || fail "an answer took 14 s or more (slowest ${slowest} s)"
[ "$refused" -gt 0 ] || fail "no callback met the paused database (nothing tested)"

# The gateway retries every message until it gets 200.
for round in $(seq 20); do
    todo=$(awk '$2 != 200 { print $1 }' "$WORK/answers" | sort -un)
    [ -n "$todo" ] || break
    : >"$WORK/answers.new"
    for i in $todo; do callback "$i" >>"$WORK/answers.new"; done
    awk '$2 == 200' "$WORK/answers" >"$WORK/answers.ok"
    cat "$WORK/answers.ok" "$WORK/answers.new" >"$WORK/answers"
    [ "$round" -eq 20 ] || sleep 0.5
done
left=$(awk '$2 != 200' "$WORK/answers" | wc -l)
[ "$left" -eq 0 ] || fail "$left messages never answered 200 after the database came back"
rows=$(sql "SELECT count(*) FROM reports WHERE content LIKE 'B2暂停%'")
keys=$(sql "SELECT count(*) FROM idempotency_keys WHERE scope = 'kannel:fake' AND key LIKE 'b2p-%'")
dup=$(sql "SELECT count(*) - count(DISTINCT content) FROM reports WHERE content LIKE 'B2暂停%'")
echo "rows=$rows keys=$keys duplicates=$dup expected=$N"
[ "$rows" -eq "$N" ] || fail "$rows rows for $N messages"
[ "$keys" -eq "$N" ] || fail "$keys keys for $N messages"
[ "$dup" -eq 0 ] || fail "$dup messages stored twice"
echo "B2 ok"
