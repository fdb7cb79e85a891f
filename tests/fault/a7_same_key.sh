#!/usr/bin/env bash
# A7: the same idempotency key on 10 connections at once, 1,000 keys: one
# row per key, and the same receipt in all 10 answers.
. "$(dirname "$0")/lib.sh"
N=${A7_KEYS:-1000}
pg_init
tipd_start
burst --prefix a7 --count "$N" --copies 10 >"$WORK/log"
answers=$(wc -l <"$WORK/log")
[ "$answers" -eq $((N * 10)) ] || fail "$answers answers for $((N * 10)) requests"
retry_until_done a7 "$WORK/log"
check_log a7 "$N" "$WORK/log"
[ "$(awk '$2 == 201' "$WORK/log" | wc -l)" -ge $((N * 10)) ] ||
    echo "note: some copies were answered 503 and retried"
echo "A7 ok"
