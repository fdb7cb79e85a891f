#!/usr/bin/env bash
# A5: the outcome of a COMMIT unknown. tipd reaches PostgreSQL through
# cutproxy, which closes every 25th connection that passes a COMMIT on,
# after the server committed and before its answer arrives. tipd must not
# guess: a keyed report of such a batch is answered 201 only once it is
# found by its idempotency key (it was committed), otherwise 503. The
# checker: acknowledged-but-missing 0, stored twice 0, all keys stored.
. "$(dirname "$0")/lib.sh"
N=${A5_REPORTS:-10000}
CUTPROXY=${CUTPROXY:?CUTPROXY must name the cutproxy binary}
pg_init
mkdir -p "$WORK/proxy"
"$CUTPROXY" "$WORK/proxy/.s.PGSQL.$PG_PORT" "$WORK/.s.PGSQL.$PG_PORT" 25 \
    >"$WORK/cuts" 2>&1 &
PROXY_PID=$!
trap 'kill "$PROXY_PID" 2>/dev/null || true; cleanup' EXIT
export TIPD_DATABASE="host=$WORK/proxy port=$PG_PORT dbname=tipd user=tipd_app"
tipd_start --set db_reconnect_max_ms=200
burst --prefix a5 --count "$N" --conns 16 >"$WORK/log"
retry_until_done a5 "$WORK/log"
cuts=$(grep -c '^cut' "$WORK/cuts" || true)
unknown=$(grep -c 'event=batch_not_committed' "$WORK/tipd.log" || true)
echo "connections cut after a COMMIT: $cuts; batches whose outcome tipd did not know: $unknown"
[ "$cuts" -ge 1 ] || fail "no connection was cut after a COMMIT"
check_log a5 "$N" "$WORK/log"
echo "A5 ok"
