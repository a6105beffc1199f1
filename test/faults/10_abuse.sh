# HTTP abuse against the running eventlogd (the SQL side is sql/abuse.sql, with
# sql/append_only.sql, sql/privileges.sql and sql/rls.sql): request smuggling, oversized
# headers and bodies (413 as JSON), slowloris, invalid UTF-8 and \u0000, deep nesting, huge
# numbers, tenant tokens, and SQL injection through the log name, tenant id and event type.
# Each attempt must be refused with its status and a JSON error, or (injection text inside
# data) stored as the very text sent; nothing of a refused request is written.
RAW="python3 $ROOT/test/faults/rawhttp.py $HTTP"
EP=/v1/logs/audit/events
B='{"tenant_id":"smuggled","event_type":"t","payload":{}}'
# the raw request in $WORK/raw.in (written first: no pipe, so the counters stay in this
# shell) gets status $2 and a JSON error body
raw_expect() {
	local name=$1 want=$2 file=$WORK/raw.out
	$RAW <"$WORK/raw.in" >"$file"
	if [ "$(head -1 "$file" | awk '{print $2}')" = "$want" ] && tail -1 "$file" | grep -q '^{"error":'; then
		ok "abuse: $name: $want with a JSON error"
	else
		not_ok "abuse: $name: $want with a JSON error" "$(head -c 300 "$file" | tr '\r\n' '  ')"
	fi
}

# 1. smuggling: Content-Length with chunked; two Content-Lengths (either order); a request
# inside a body
printf 'POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n' \
	"$EP" ${#B} "$B" >"$WORK/raw.in"
raw_expect "Content-Length with Transfer-Encoding: chunked" 400
printf 'POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\nContent-Length: 5\r\n\r\n%s' "$EP" ${#B} "$B" >"$WORK/raw.in"
raw_expect "two Content-Lengths (long first)" 400
printf 'POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: %d\r\n\r\n%s' "$EP" ${#B} "$B" >"$WORK/raw.in"
raw_expect "two Content-Lengths (short first)" 400
expect_eq "abuse: one response to the short-first request (the rest is not read as a request)" \
	"$(grep -c '^HTTP/1.1' "$WORK/raw.out")" 1
inner=$(printf 'POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s' "$EP" ${#B} "$B")
printf 'POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s' "$EP" ${#inner} "$inner" >"$WORK/raw.in"
raw_expect "a request inside a body" 400
expect_eq "abuse: one response to the request with a request inside" "$(grep -c '^HTTP/1.1' "$WORK/raw.out")" 1

# 2. oversized headers and bodies; methods
{ printf 'GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: '; head -c 70000 /dev/zero | tr '\0' a; printf '\r\n\r\n'; } >"$WORK/raw.in"
raw_expect "a 70 kB header" 431
printf 'PUT /v1/flush HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n' >"$WORK/raw.in"
raw_expect "PUT" 501
printf 'POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\n{' "$EP" >"$WORK/raw.in"
raw_expect "Content-Length 99999999999" 413
head -c 17000000 /dev/zero | tr '\0' ' ' >"$WORK/big"
for te in "" chunked; do
	code=$(curl -s -o "$WORK/resp" -w '%{http_code}' -X POST ${te:+-H "Transfer-Encoding: $te"} --data-binary @"$WORK/big" "$U$EP")
	if [ "$code" = 413 ] && grep -q '^{"error":' "$WORK/resp"; then ok "abuse: 17 MB ${te:-plain} body: 413 with a JSON error"
	else not_ok "abuse: 17 MB ${te:-plain} body: 413 JSON" "$code $(head -c 200 "$WORK/resp")"; fi
done
rm -f "$WORK/big"

# 3. slowloris: 300 connections trickling a header that never ends; others are still served
$RAW --slowloris 300 8 >"$WORK/slow.out" 2>&1 &
SL=$!
sleep 2
t0=$(date +%s%N)
code=$(post '{"tenant_id":"slowloris","event_type":"t","payload":{}}' -m 5 "$U$EP")
ms=$((($(date +%s%N) - t0) / 1000000))
expect_eq "abuse: served during slowloris (300 slow connections)" "$code" 202
[ "$ms" -lt 2000 ] && ok "abuse: answered within 2 s during slowloris ($ms ms)" || not_ok "abuse: answered within 2 s during slowloris" "$ms ms"
wait $SL
echo "# slowloris: $(cat "$WORK/slow.out") (slow connections get 408 and are closed after 60 s without a complete request)"
kill -0 "$EVPID" && ok "abuse: eventlogd alive after slowloris" || not_ok "abuse: alive after slowloris" "exited"

# 4. invalid data: each request refused with 400 naming the line; nothing written
bad() {
	code=$(post "$2" "$U$EP")
	if [ "$code" = 400 ] && grep -q '"errors":\[{"line":1' "$WORK/resp"; then ok "abuse: $1: 400 naming the line"
	else not_ok "abuse: $1: 400" "$code $(head -c 200 "$WORK/resp")"; fi
}
bad "invalid UTF-8" $'{"tenant_id":"abuse-utf8","event_type":"t","payload":{"s":"\xff\xfe"}}'
bad "overlong UTF-8" $'{"tenant_id":"abuse-utf8","event_type":"t","payload":{"s":"\xc0\xaf"}}'
bad "\\u0000 in a string" '{"tenant_id":"abuse-nul","event_type":"t","payload":{"s":"a\u0000b"}}'
bad "\\u0000 in a key" '{"tenant_id":"abuse-nul","event_type":"t","payload":{"a\u0000":1}}'
bad "a lone surrogate" '{"tenant_id":"abuse-nul","event_type":"t","payload":{"s":"\ud800"}}'
printf '{"tenant_id":"abuse-deep","event_type":"t","payload":%s%s}' "$(head -c 100000 /dev/zero | tr '\0' '[')" \
	"$(head -c 100000 /dev/zero | tr '\0' ']')" >"$WORK/deep.json"
bad "100000 nested arrays" "@$WORK/deep.json"
bad "a tenant of 129 bytes" "{\"tenant_id\":\"$(head -c 129 /dev/zero | tr '\0' t)\",\"event_type\":\"t\",\"payload\":{}}"
# numbers beyond double precision are kept exactly (jsonb numeric), not rounded
code=$(post '{"event_id":"00000000-0000-4000-8000-0000000abc01","tenant_id":"abuse-num","event_type":"t","payload":{"big":1e400,"precise":123456789012345678901234567890.000000000000000000001}}' "$U$EP?ack=committed")
expect_eq "abuse: numbers beyond double: 202" "$code" 202
expect_eq "abuse: numbers beyond double: stored exactly" \
	"$(sql "SELECT (payload->>'precise') || ' ' || (payload->'big' = '1e400'::jsonb) FROM audit WHERE event_id = '00000000-0000-4000-8000-0000000abc01'")" \
	"123456789012345678901234567890.000000000000000000001 true"

# 5. SQL injection through the log name (404), tenant id, event type, subject (stored as text)
for name in "audit;DROP%20TABLE%20audit" "audit%27--" "audit%22%3B%20DROP%20TABLE%20audit%3B--" "..%2F..%2Fflush"; do
	expect_eq "abuse: log name $name: 404" "$(post '{"tenant_id":"inj","event_type":"t","payload":{}}' "$U/v1/logs/$name/events")" 404
done
cat >"$WORK/inj.json" <<'JSON'
{"event_id":"00000000-0000-4000-8000-0000000abc02","tenant_id":"x'); DROP TABLE audit; --","event_type":"t' || pg_sleep(10) || '","subject":"\\\"; DELETE FROM audit; --","payload":{"q":"'); TRUNCATE audit; --"}}
JSON
expect_eq "abuse: injection text in fields: 202" "$(post @"$WORK/inj.json" "$U$EP?ack=committed")" 202
expect_eq "abuse: injection text stored as sent" \
	"$(sql "SELECT tenant_id || '|' || event_type || '|' || subject FROM audit WHERE event_id = '00000000-0000-4000-8000-0000000abc02'")" \
	"x'); DROP TABLE audit; --|t' || pg_sleep(10) || '|\\\"; DELETE FROM audit; --"

# 6. tokens: none 401, unknown 401, A's token writing as B 403 (also one B among A's), A as A 202
printf '[tokens]\ntok-a = tenant-a\n' >>"$WORK/eventlogd.conf"
kill -HUP "$EVPID"
sleep 0.5
ev='{"tenant_id":"tenant-a","event_type":"x","payload":{}}'
evb='{"tenant_id":"tenant-b","event_type":"x","payload":{}}'
expect_eq "abuse: no token: 401" "$(post "$ev" "$U$EP")" 401
expect_eq "abuse: unknown token: 401" "$(post "$ev" -H 'Authorization: Bearer tok-b' "$U$EP")" 401
expect_eq "abuse: A's token writing as B: 403" "$(post "$evb" -H 'Authorization: Bearer tok-a' "$U$EP")" 403
expect_eq "abuse: A's token, one event of B among A's: 403" "$(post "$ev"$'\n'"$evb" -H 'Authorization: Bearer tok-a' "$U$EP")" 403
expect_eq "abuse: A's token writing as A: 202" "$(post "$ev" -H 'Authorization: Bearer tok-a' "$U$EP")" 202
sed -i '/^\[tokens\]/,$d' "$WORK/eventlogd.conf"
kill -HUP "$EVPID"
sleep 0.5
flush >/dev/null
expect_eq "abuse: nothing of the refused requests written" \
	"$(sql "SELECT count(*) FROM audit WHERE tenant_id IN ('abuse-utf8', 'abuse-nul', 'abuse-deep', 'smuggled', 'inj', 'tenant-b')")" 0
expect_eq "abuse: the log is still there, with its rows" "$(sql "SELECT count(*) > 0 FROM audit")" t
fault_check_row abuse "smuggling x4, oversized x5, slowloris x300, bad data x7, injection x5, tokens x5 (status and JSON error each)" 0
