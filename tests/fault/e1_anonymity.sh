#!/usr/bin/env bash
# E1 (and E5): nothing of a reporter's address reaches disk. Reports, web
# form posts, status lookups and bad requests are sent from a marked
# loopback address (127.0.0.77) with a marked User-Agent and a marked
# X-Forwarded-For; afterwards the address (dotted, hex, decimal integer),
# the User-Agent and the
# X-Forwarded-For value are searched for in tipd's log, PostgreSQL's log,
# a pg_dump of the database and every file of the cluster (tables, WAL),
# and in temporary files. Every hit fails. The error answers are checked
# for what E5 forbids: versions, paths, SQL or database text. (An address
# kept in a binary column, inet say, would show as text in the dump; its
# four raw bytes are not searched in the cluster's files, where they turn
# up by chance.)
. "$(dirname "$0")/lib.sh"
pg_init
tipd_start --set log_level=debug
URL="http://127.0.0.1:$TIPD_PORT"
ADDR=127.0.0.77 UA="MarkedAgent/77" XFF="203.0.113.77"
mark() { curl -s --interface "$ADDR" -A "$UA" -H "X-Forwarded-For: $XFF" "$@"; }
: >"$WORK/answers"
for i in $(seq 1 20); do
    mark -o /dev/null -w '%{http_code}\n' "$URL/api/v1/reports" \
        -H 'Content-Type: application/json' \
        -d "{\"content\":\"匿名性测试 $i：某局长收受礼金\",\"region\":\"410105\"}" >>"$WORK/answers"
    mark -o /dev/null -w '%{http_code}\n' "$URL/report" \
        --data-urlencode "content=网页表单匿名性测试 $i" --data-urlencode "region=410105" >>"$WORK/answers"
done
sent=$(grep -c '^201$' "$WORK/answers" || true)
[ "$sent" -eq 40 ] || fail "expected 40 reports stored, got $sent (answers: $(sort "$WORK/answers" | uniq -c | tr '\n' ' '))"
# Error paths log too: an unknown receipt, a malformed body, a missing
# route, a bad method, a smuggling attempt.
mark "$URL/api/v1/status" -H 'Content-Type: application/json' -d '{"receipt":"AAAAA-AAAAA-AAAAA-AAAAA"}' >"$WORK/e1.txt"
mark "$URL/api/v1/reports" -H 'Content-Type: application/json' -d '{"content":' >>"$WORK/e1.txt"
mark "$URL/no/such/route" >>"$WORK/e1.txt"
mark -X DELETE "$URL/api/v1/reports" >>"$WORK/e1.txt"
mark "$URL/api/v1/reports" -H 'Transfer-Encoding: chunked' -H 'Content-Length: 4' -d 'abcd' >>"$WORK/e1.txt"
# E5: no version, path, SQL or database text in any error answer.
if grep -a -i -E 'postgres|sqlstate|select |insert |syntax|/work|/usr/|\.c:[0-9]|tipd/[0-9]|version|stack' "$WORK/e1.txt"; then
    fail "an error answer names internals"
fi
sleep 1
# E2: the rate-limit key lives only in memory (getrandom at start-up), and
# tipd holds no file open but its log: nothing it could write a key or an
# address to. (unit.ratelimit_clients_and_buckets: a new key renames every
# address.)
# (Files this script itself holds, such as ctest's log, were inherited.)
find "/proc/$$/fd" -mindepth 1 -maxdepth 1 -printf '%l\n' 2>/dev/null | sort -u >"$WORK/inherited"
files=$(find "/proc/$TIPD_PID/fd" -mindepth 1 -maxdepth 1 -printf '%l\n' 2>/dev/null |
    grep '^/' | grep -v -x -F "$WORK/tipd.log" | grep -v '^/dev/' | sort -u |
    comm -23 - "$WORK/inherited" || true)
[ -z "$files" ] || fail "tipd holds files open besides its log: $files"
echo "E2: tipd's open files: its log only ($(find "/proc/$TIPD_PID/fd" -mindepth 1 -maxdepth 1 | wc -l) descriptors)"
kill -TERM "$TIPD_PID" && wait "$TIPD_PID" 2>/dev/null || true
TIPD_PID=""
sql "CHECKPOINT" >/dev/null
pg_dump -h "$WORK" -p "$PG_PORT" -U postgres tipd >"$WORK/dump.sql"
as_pg "$PG_BIN/pg_ctl" -D "$WORK/pg" -m fast stop >/dev/null
# Every place the address could have been written to.
places=("$WORK/tipd.log" "$WORK/pg.log" "$WORK/dump.sql" "$WORK/pg")
mapfile -t temps < <(find /tmp /var/tmp -xdev -type f -newer "$WORK/answers" \
    ! -path "$WORK/*" 2>/dev/null | head -n 200)
places+=("${temps[@]}")
hits=0
check() { # check NAME PATTERN [grep options]
    local name=$1 pattern=$2
    shift 2
    local found
    found=$(grep -r -a -l "$@" -e "$pattern" "${places[@]}" 2>/dev/null | head -n 5 || true)
    if [ -n "$found" ]; then
        echo "HIT $name in: $found"
        hits=$((hits + 1))
    fi
}
check "dotted address" "127.0.0.77" -F
check "hex address" "7f00004d" -i -F
check "decimal address" "2130706509" -F
check "User-Agent" "$UA" -F
check "X-Forwarded-For" "$XFF" -F
# The search can find things: the reports' own text is there.
grep -r -a -q -F "匿名性测试" "$WORK/dump.sql" || fail "the search found not even the reports"
echo "searched tipd's log ($(wc -l <"$WORK/tipd.log") lines), PostgreSQL's log, a dump ($(wc -c <"$WORK/dump.sql") bytes)," \
    "the cluster's files ($(du -sk "$WORK/pg" | cut -f1) KiB, WAL included) and ${#temps[@]} temporary files: $hits hits"
[ "$hits" -eq 0 ] || fail "the marked client was written down"
echo "E1 ok"
