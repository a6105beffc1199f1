#!/bin/bash
# End-to-end tests of eventlogd: a throwaway PostgreSQL cluster with pg_eventlog, a real
# eventlogd process, and the faults of issue 3 (kill -9, PostgreSQL stopped, poison event,
# spool full, client retries, foreign tenant token, SIGTERM). Needs eventlogd built
# (make -C sidecar) and the extension installed. Ends with "N passed, N failed".
#
#   test/e2e/eventlogd_e2e.sh            # everything (about 2-3 minutes)
#   PGSTOP_SECONDS=10 test/e2e/eventlogd_e2e.sh
#
# Traffic goes to 127.0.0.1 and a Unix socket only; every load loop is bounded in time.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PGPORT=${E2E_PGPORT:-55439}
HTTP=${E2E_HTTP_PORT:-18699}
PGSTOP_SECONDS=${PGSTOP_SECONDS:-30}
DATA=${E2E_DATA:-$ROOT/../shared/data/github-webhooks.ndjson}
WORK=$(mktemp -d /tmp/eventlogd-e2e.XXXXXX)
# shellcheck source=../lib/e2e.sh
. "$ROOT/test/lib/e2e.sh"

cleanup() {
	[ -n "$EVPID" ] && kill -9 "$EVPID" 2>/dev/null
	pg_stop immediate
	[ -z "${E2E_KEEP:-}" ] && rm -rf "$WORK"
}
trap cleanup EXIT

echo "# work dir $WORK"
[ -x "$EVENTLOGD" ] || { echo "# build eventlogd first: make -C sidecar"; echo "0 passed, 1 failed"; exit 1; }
e2e_build_evload || exit 1
e2e_setup_db || exit 1
e2e_write_conf
ev_start || { echo "# eventlogd did not start"; cat "$WORK/eventlogd.log"; exit 1; }
for _ in $(seq 1 50); do log_contains "1 logs known" && break; sleep 0.1; done

# 1. round trip of real webhook payloads, over the Unix socket, read-your-writes
code=$(curl -s -o "$WORK/resp" -w '%{http_code}' --unix-socket "$WORK/eventlogd.sock" -X POST \
	-H 'Content-Type: application/x-ndjson' --data-binary @"$DATA" "http://localhost/v1/logs/audit/events?ack=committed")
n=$(grep -c . "$DATA")
expect_eq "webhooks: 202 with ack=committed" "$code" 202
expect_eq "webhooks: all accepted" "$(grep -o '"accepted":[0-9]*' "$WORK/resp")" "\"accepted\":$n"
$PSQL -c "CREATE TABLE src(line text)" -c "\\copy src FROM '$DATA' WITH (FORMAT csv, QUOTE e'\\x01', DELIMITER e'\\x02')"
same=$(sql "SELECT count(*) FROM src s JOIN audit a ON a.event_id = (s.line::jsonb->>'event_id')::uuid
            WHERE a.payload = s.line::jsonb->'payload' AND a.tenant_id = s.line::jsonb->>'tenant_id'
              AND a.event_type = s.line::jsonb->>'event_type'
              AND a.subject IS NOT DISTINCT FROM s.line::jsonb->>'subject'")
expect_eq "webhooks: every payload round-trips" "$same" "$n"

# 2. a client retry of the same request stores nothing twice
code=$(post @"$DATA" "$U/v1/logs/audit/events")
expect_eq "retry: 202" "$code" 202
expect_eq "retry: reported as duplicates" "$(grep -o '"duplicates":[0-9]*' "$WORK/resp")" "\"duplicates\":$n"
flush >/dev/null
expect_eq "retry: still one row per event" "$(sql "SELECT count(*) FROM audit")" "$n"

# 3. a bad event rejects the whole request, naming line and field
code=$(post $'{"tenant_id":"r400","event_type":"ok","payload":{}}\n{"tenant_id":"r400","event_type":"bad","payload":{},"colour":1}' "$U/v1/logs/audit/events")
expect_eq "400: status" "$code" 400
grep -q '"line":2,"index":2,"field":"colour"' "$WORK/resp" && ok "400: names line 2 and field colour" || not_ok "400: names line and field" "$(cat "$WORK/resp")"
flush >/dev/null
expect_eq "400: nothing written" "$(sql "SELECT count(*) FROM audit WHERE tenant_id = 'r400'")" 0
expect_eq "404: unknown log" "$(post '{}' "$U/v1/logs/nosuchlog/events")" 404

# 4. tokens: tenant A's token cannot write as tenant B (reload with SIGHUP)
printf '[tokens]\ntok-a = tenant-a\n' >>"$WORK/eventlogd.conf"
kill -HUP "$EVPID"
sleep 0.5
expect_eq "tokens: no token is 401" "$(post '{"tenant_id":"tenant-a","event_type":"x","payload":{}}' "$U/v1/logs/audit/events")" 401
expect_eq "tokens: A writing as B is 403" "$(post '{"tenant_id":"tenant-b","event_type":"x","payload":{}}' -H 'Authorization: Bearer tok-a' "$U/v1/logs/audit/events")" 403
expect_eq "tokens: A writing as A is 202" "$(post '{"tenant_id":"tenant-a","event_type":"x","payload":{}}' -H 'Authorization: Bearer tok-a' "$U/v1/logs/audit/events")" 202
sed -i '/^\[tokens\]/,$d' "$WORK/eventlogd.conf"
kill -HUP "$EVPID"
sleep 0.5

# 5. a poison event in a batch of 1000: 999 committed, 1 dead-lettered with its error.
# The poison is valid to eventlogd but refused by a constraint the user added to
# the log, which eventlogd cannot know about.
sql "ALTER TABLE audit ADD CONSTRAINT no_poison CHECK (NOT payload ? 'poison')" >/dev/null
for i in $(seq 0 999); do
	if [ "$i" = 537 ]; then extra=',"poison":true'; else extra=''; fi
	printf '{"event_id":"00000000-0000-4000-9000-%012x","tenant_id":"poison","event_type":"p","subject":"u%d","payload":{"i":%d%s}}\n' "$i" "$i" "$i" "$extra"
done >"$WORK/poison.ndjson"
expect_eq "poison: 202 with ack=committed" "$(post @"$WORK/poison.ndjson" "$U/v1/logs/audit/events?ack=committed")" 202
expect_eq "poison: 999 committed" "$(sql "SELECT count(*) FROM audit WHERE tenant_id = 'poison'")" 999
expect_eq "poison: 1 dead letter with its SQLSTATE" "$(sql "SELECT count(*) || ' ' || min(sqlstate) FROM eventlog.dead_letters WHERE event LIKE '%00000000-0000-4000-9000-000000000219%'")" "1 23514"
grep -q '"event":{"event_id":"00000000-0000-4000-9000-000000000219"' "$WORK/spool/deadletter.ndjson" && ok "poison: in deadletter.ndjson" || not_ok "poison: in deadletter.ndjson" "missing"

# 6. kill -9 of eventlogd under load, twice; every acknowledged event exactly once
"$WORK/evload" -a "127.0.0.1:$HTTP" -l audit -c 8 -b 50 -d 12 -s 250 -r 6a -o "$WORK/acked.6a" >"$WORK/load.6a" &
LP=$!
sleep 3; ev_kill9; sleep 0.5; ev_start
sleep 4; ev_kill9; sleep 0.5; ev_start
wait $LP
echo "# $(cat "$WORK/load.6a")"
expect_eq "kill -9: flush after restart" "$(flush)" 200
check_run "kill -9 under load" 6a

# 7. PostgreSQL stopped under load, then started again
"$WORK/evload" -a "127.0.0.1:$HTTP" -l audit -c 8 -b 50 -d $((PGSTOP_SECONDS + 10)) -s 250 -r 7b -o "$WORK/acked.7b" >"$WORK/load.7b" &
LP=$!
sleep 3; pg_stop immediate; sleep "$PGSTOP_SECONDS"; pg_start
wait $LP
echo "# $(cat "$WORK/load.7b")"
expect_eq "postgres down ${PGSTOP_SECONDS}s: flush" "$(flush)" 200
check_run "postgres down ${PGSTOP_SECONDS}s under load" 7b
log_contains "connected to PostgreSQL again" && ok "postgres down: recovery logged" || not_ok "postgres down: recovery logged" "no line"

# 8. spool full: 503 with Retry-After, nothing acknowledged is lost
ev_term
ev_start --spool_max_bytes=1M --spool_segment_bytes=256k
sleep 2
pg_stop fast
got503=0
for i in $(seq 1 200); do
	code=$(curl -s -D "$WORK/hdr" -o /dev/null -w '%{http_code}' -X POST --data-binary @"$WORK/poison.ndjson" "$U/v1/logs/audit/events?dedup=off")
	if [ "$code" = 503 ]; then got503=1; break; fi
done
expect_eq "spool full: 503" "$got503" 1
grep -qi '^Retry-After: [0-9]' "$WORK/hdr" && ok "spool full: Retry-After" || not_ok "spool full: Retry-After" "$(cat "$WORK/hdr")"
expect_eq "spool full: /readyz is 503" "$(curl -s -o /dev/null -w '%{http_code}' "$U/readyz")" 503
accepted=$((i - 1))
pg_start
expect_eq "spool full: flush once PostgreSQL is back" "$(flush)" 200
expect_eq "spool full: all $accepted accepted requests committed" "$(sql "SELECT count(*) FROM audit WHERE tenant_id = 'poison'")" "$((999 * (accepted + 1)))"
sleep 1.5
expect_eq "spool full: /readyz back to 200" "$(curl -s -o /dev/null -w '%{http_code}' "$U/readyz")" 200

# 9. SIGTERM: stop accepting, drain, exit 0
"$WORK/evload" -a "127.0.0.1:$HTTP" -l audit -c 4 -b 100 -n 20000 -r 9c -o "$WORK/acked.9c" >/dev/null
kill -TERM "$EVPID"
wait "$EVPID"
expect_eq "SIGTERM: exit code 0" "$?" 0
EVPID=
log_contains "drained: every accepted event is committed" && ok "SIGTERM: drained before exit" || not_ok "SIGTERM: drained" "no drain line"
check_run "SIGTERM drain" 9c

# 10. a second eventlogd on the same spool refuses to start
ev_start
"$EVENTLOGD" -c "$WORK/eventlogd.conf" --listen=127.0.0.1:$((HTTP + 1)) --unix_socket= >"$WORK/second.log" 2>&1
rc=$?
if [ $rc != 0 ] && grep -q "in use by another eventlogd" "$WORK/second.log"; then ok "lock: second eventlogd refused"; else not_ok "lock: second eventlogd refused" "rc $rc"; fi
ev_term

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
