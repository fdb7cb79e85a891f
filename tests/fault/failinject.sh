#!/usr/bin/env bash
# Failure injection (issue 8): a tipd built with TIPD_FAILINJECT (ASan,
# server/failinject.h; CTest gives its path as TIPD_BIN) fails the Nth
# allocation, client write or libpq call made while serving. For each kind
# the sweep first counts the calls one fixed request script makes, then
# runs the script once per chosen N with that call failing, and requires:
#
#   no crash     tipd exits 0 on SIGTERM, or, for an allocation the code
#                cannot do without, stops at once with its "out of memory"
#                message (fail-stop by design, as Redis and h2o do); never a
#                sanitizer report, another signal or a hang;
#   no leak      LeakSanitizer reports nothing at exit;
#   no false ack every report answered 201 has its row, and no report is
#                stored twice, after a fresh tipd takes the retries;
#   recovery     when tipd survived the failure, the same process answers
#                the retries (a failed libpq call or write costs one request
#                or one batch, not the session).
#
# The script: 40 JSON reports with idempotency keys on 4 connections, the
# form page, a web-form report, a receipt lookup, and a staff member's
# queue listing and claim (the staff session's own libpq calls).
# FI_POINTS (default 6) values of N per kind, spread over the count;
# ./dev test --long sets FI_POINTS=120.
. "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd -P)
POINTS=${FI_POINTS:-6}
trap 'echo "FAIL: failinject.sh line $LINENO: a command failed" >&2' ERR

pg_init
"$TIPD_BIN" units import "$ROOT/deploy/rules.json" >/dev/null 2>&1 || fail "tipd units import"
TOKEN=$("$TIPD_BIN" token create --unit 410000 --role staff --name 故障注入 2>/dev/null |
    grep -o 'tipd_[0-9a-f]\{64\}' | head -n1) || true
[ -n "$TOKEN" ] || fail "tipd token create printed no token"

# serve: one tipd with TIPD_FAILINJECT=$1, its log in $WORK/run.log.
serve() {
    TIPD_PORT=${TIPD_PORT:-$(free_port)}
    TIPD_FAILINJECT=$1 ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
        "$TIPD_BIN" serve --set listen_port="$TIPD_PORT" --set workers=2 \
        --set rate_limit_per_minute=0 --set rules_file="$ROOT/deploy/rules.json" \
        --set holidays_file="$ROOT/deploy/holidays.txt" \
        --set triage_poll_interval_ms=50 --set db_job_timeout_ms=3000 \
        >"$WORK/run.log" 2>&1 &
    TIPD_PID=$!
    for _ in $(seq 100); do
        curl -sf "http://127.0.0.1:$TIPD_PORT/readyz" >/dev/null 2>&1 && return 0
        kill -0 "$TIPD_PID" 2>/dev/null || return 0 # judged by stop_tipd
        sleep 0.1
    done
}

# stop_tipd: SIGTERM, then the exit status (124 when it would not stop).
stop_tipd() {
    kill -TERM "$TIPD_PID" 2>/dev/null || true
    local rc=124
    for _ in $(seq 200); do
        if ! kill -0 "$TIPD_PID" 2>/dev/null; then
            rc=0
            wait "$TIPD_PID" 2>/dev/null || rc=$? # no "Aborted" line from bash
            break
        fi
        sleep 0.1
    done
    if [ $rc = 124 ]; then kill -9 "$TIPD_PID" 2>/dev/null || true; fi
    TIPD_PID=""
    return $rc
}

# script PREFIX: the fixed requests; the reports' answers go to $WORK/PREFIX.log.
script() {
    local url="http://127.0.0.1:$TIPD_PORT" prefix=$1
    burst --prefix "$prefix" --count 40 --conns 4 >"$WORK/$prefix.log" 2>/dev/null || true
    curl -s -m 10 -o /dev/null "$url/" || true
    curl -s -m 10 -o /dev/null -X POST --data-urlencode "content=网页举报 $prefix" \
        "$url/report" || true
    local receipt
    receipt=$(awk '$2 == 201 { print $3; exit }' "$WORK/$prefix.log")
    curl -s -m 10 -o /dev/null -X POST -H 'Content-Type: application/json' \
        -d "{\"receipt\":\"${receipt:-none}\"}" "$url/api/v1/status" || true
    curl -s -m 10 -o /dev/null -H "Authorization: Bearer $TOKEN" "$url/api/v1/staff/queues" || true
    curl -s -m 10 -o /dev/null -X POST -H "Authorization: Bearer $TOKEN" \
        -H 'Content-Type: application/json' -d '{"max":2}' \
        "$url/api/v1/staff/queues/default/claim" || true
}

# The count: the script once with nothing failing.
serve count
script calibrate
stop_tipd || fail "tipd exited $? after the counting run"
counts=$(grep -o 'failinject: alloc=[0-9]* write=[0-9]* pq=[0-9]*' "$WORK/run.log") ||
    fail "tipd printed no failinject counts (is TIPD_BIN a TIPD_FAILINJECT build?)"
echo "calls made by one script: ${counts#failinject: }"

runs=0 reached=0 survived=0 failstops=0 acked=0
for kind in alloc write pq; do
    total=$(printf '%s\n' "$counts" | grep -o "$kind=[0-9]*" | cut -d= -f2)
    [ "$total" -gt 0 ] || fail "the script made no $kind calls"
    # N = 1, then POINTS values spread evenly up to the count.
    ns=$( (echo 1; for i in $(seq "$POINTS"); do echo $(((total * i + POINTS - 1) / POINTS)); done) | sort -un)
    for n in $ns; do
        prefix="fi-$kind-$n"
        runs=$((runs + 1))
        serve "$kind:$n"
        script "$prefix"
        # A tipd still running took its failure: the same process must take
        # the retries of what it did not answer.
        # (In a subshell: a late fail-stop during the retries is judged
        # below, not by retry_until_done's own failure.)
        if kill -0 "$TIPD_PID" 2>/dev/null; then
            (retry_until_done "$prefix" "$WORK/$prefix.log") >/dev/null 2>&1 || true
        fi
        rc=0
        stop_tipd || rc=$?
        log="$WORK/$prefix.tipd.log"
        mv "$WORK/run.log" "$log"
        if grep -qE 'Sanitizer|runtime error' "$log"; then
            grep -E -A12 'Sanitizer|runtime error' "$log" | head -n 40 >&2
            fail "$kind:$n: a sanitizer report"
        fi
        if [ $rc = 0 ]; then
            survived=$((survived + 1))
            [ -z "$(unanswered "$WORK/$prefix.log")" ] ||
                fail "$kind:$n: tipd survived its failure but did not take every retry"
        elif [ $rc = 134 ] && [ "$kind" = alloc ] && grep -q 'out of memory' "$log"; then
            # Fail-stop: a fresh tipd takes the retries, as after kill -9 (A1).
            failstops=$((failstops + 1))
            serve count
            retry_until_done "$prefix" "$WORK/$prefix.log" >/dev/null
            stop_tipd || fail "$kind:$n: the restarted tipd exited $?"
        else
            tail -n 30 "$log" >&2
            fail "$kind:$n: tipd exited $rc"
        fi
        if grep -q "failinject: failing $kind call $n " "$log"; then
            reached=$((reached + 1))
        else
            echo "note: $kind:$n was not reached (the count varies with timing)"
        fi
        out=$(check_log "$prefix" 40 "$WORK/$prefix.log") || { echo "$out"; fail "$kind:$n: the join"; }
        acked=$((acked + $(awk '$2 == 201' "$WORK/$prefix.log" | wc -l)))
        answers=$(awk '{ print $2 }' "$WORK/$prefix.log" | sort | uniq -c | awk '{ printf "%s%sx%s", sep, $1, $2; sep = "," }')
        # The failed call's caller: the first frame past the wrapper.
        site=$(grep -A8 "failinject: failing" "$log" | grep -v -E 'failinject|__sanitizer|fail_now|__wrap_' |
            grep -m1 -o ' in [A-Za-z_0-9]* [^ ]*' | sed 's|^ in ||; s| .*/| |') || true
        echo "$kind:$n exit=$rc at ${site:-?} answers=$answers $out"
    done
done
echo "failinject ok: $runs runs ($reached reached their failure), $survived survived their failure, $failstops fail-stops (allocation), 0 sanitizer reports, 0 leaks, $acked answers 201, acked-but-missing 0, duplicates 0"
