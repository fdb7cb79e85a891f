#!/usr/bin/env bash
# A6: a transaction that fails at COMMIT is never acknowledged. A deferred
# constraint trigger (installed for this test) makes COMMIT fail for any
# batch holding a report marked FAIL-AT-COMMIT: its requests, and the
# innocent ones batched with it, get 503, never 201; nothing of the batch
# is stored; retried alone, the innocent ones are stored.
. "$(dirname "$0")/lib.sh"
pg_init
psql_su <<'SQL'
CREATE FUNCTION fail_at_commit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.content LIKE '%FAIL-AT-COMMIT%' THEN
        RAISE EXCEPTION 'refused at commit';
    END IF;
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER fail_at_commit AFTER INSERT ON reports
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION fail_at_commit();
SQL
tipd_start --set workers=1
post() {
    curl -s -o "$WORK/body.$1" -w '%{http_code}' -X POST \
        -H 'Content-Type: application/json' -H "Idempotency-Key: a6-$1" \
        -d "{\"content\":\"$2 a6-$1\"}" "http://127.0.0.1:$TIPD_PORT/api/v1/reports"
}
# The poisoned report, alone and then amid a crowd.
[ "$(post poison 'FAIL-AT-COMMIT')" = 503 ] || fail "a failed COMMIT was not 503"
pids=()
for i in $(seq 40); do
    post "n$i" '正常举报' >"$WORK/code.n$i" &
    pids+=($!)
done
post poison2 'FAIL-AT-COMMIT' >"$WORK/code.poison2" &
pids+=($!)
wait "${pids[@]}"
[ "$(cat "$WORK/code.poison2")" = 503 ] || fail "a failed COMMIT was not 503"
[ "$(sql "SELECT count(*) FROM reports WHERE content LIKE '%FAIL-AT-COMMIT%'")" = 0 ] ||
    fail "a report of a failed transaction is stored"
for i in $(seq 40); do
    code=$(cat "$WORK/code.n$i")
    if [ "$code" = 503 ]; then code=$(post "n$i" '正常举报'); fi
    [ "$code" = 201 ] || fail "report n$i: $code"
    [ "$(sql "SELECT count(*) FROM idempotency_keys WHERE key = 'a6-n$i'")" = 1 ] ||
        fail "report n$i answered 201 but not stored"
done
grep -q 'event=batch_not_committed' "$WORK/tipd.log" || fail "no batch_not_committed log line"
echo "A6 ok"
