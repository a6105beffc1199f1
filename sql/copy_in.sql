-- copy_in: PostgreSQL's COPY FROM over a bytea, formats text, csv (with and
-- without a header), binary and ndjson; plain COPY into the log; and the
-- errors, each naming the line.
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
SET intervalstyle = 'postgres';
\set sqlstate '\\echo SQLSTATE: :LAST_ERROR_SQLSTATE'

SELECT eventlog.create_log('cp', '1 day', 2, NULL, 1);

-- text (the default format): the nine envelope columns, \N for NULL. History
-- (received_at set) gets its partitions on demand.
SELECT eventlog.copy_in('cp', convert_to(
	E'00000000-0000-4000-8000-0000000000c1\tacme\tuser.login\talice\t2024-06-01 07:59:59+00\t2024-06-01 08:00:00+00\t2\t{"ip": "10.0.0.1", "tags": ["a", "b"]}\t{"trace_id": "t-1"}\n'
	'00000000-0000-4000-8000-0000000000c2\tglobex\tuser.logout\t\\N\t\\N\t2024-06-02 09:00:00+00\t1\t[1, 2, 3]\t\\N\n',
	'UTF8')) AS copied;
SELECT event_id, tenant_id, event_type, subject, occurred_at, received_at, schema_version, payload, metadata,
	   tableoid::regclass AS stored_in
  FROM cp WHERE event_id IN ('00000000-0000-4000-8000-0000000000c1', '00000000-0000-4000-8000-0000000000c2')
 ORDER BY event_id;

-- csv without a header: the nine columns; an empty unquoted field is NULL.
SELECT eventlog.copy_in('cp', convert_to(
	E'00000000-0000-4000-8000-0000000000c3,acme,csv.plain,bob,,2024-06-01 10:00:00+00,1,"{""quoted"": ""yes, with a comma""}",\n',
	'UTF8'), 'csv') AS copied;
SELECT event_id, subject, occurred_at, received_at, payload, metadata FROM cp WHERE event_id = '00000000-0000-4000-8000-0000000000c3';

-- csv whose first line names envelope columns: a header; the columns it
-- leaves out take their defaults (UUIDv7 id, received_at now, version 1).
BEGIN;
SELECT eventlog.copy_in('cp', convert_to(E'tenant_id,event_type,subject,payload\nacme,csv.header,carol,"{""n"": 1}"\nglobex,csv.header,,[]\n', 'UTF8'), 'csv') AS copied;
SELECT tenant_id, subject, payload, substr(event_id::text, 15, 1) AS id_version, received_at = now() AS received_now, schema_version
  FROM cp WHERE event_type = 'csv.header' ORDER BY tenant_id;
COMMIT;
-- ... with CRLF line ends and quoted, spaced column names.
SELECT eventlog.copy_in('cp', convert_to(E'"event_id", tenant_id ,event_type,payload,received_at\r\n00000000-0000-4000-8000-0000000000c4,acme,csv.crlf,{},2024-06-01 11:00:00+00\r\n', 'UTF8'), 'csv') AS copied;
SELECT event_id, event_type, payload, received_at FROM cp WHERE event_type = 'csv.crlf';

-- binary, byte for byte what COPY ... TO (FORMAT binary) writes (built by
-- regress.copy_binary from envelope rows).
SELECT eventlog.copy_in('cp', regress.copy_binary(ARRAY[
	ROW('00000000-0000-4000-8000-0000000000c5', 'acme', 'bin.event', 'dave', '2024-06-01 11:59:00.123456+00',
		'2024-06-01 12:00:00+00', 3, '{"unicode": "ü€𝄞", "n": 1.50}', '{"m": true}')::eventlog.event,
	ROW('00000000-0000-4000-8000-0000000000c6', 'globex', 'bin.event', NULL, NULL,
		'2024-06-02 12:00:00+00', 1, '[]', NULL)::eventlog.event]), 'binary') AS copied;
SELECT event_id, tenant_id, subject, occurred_at, received_at, schema_version, payload, metadata
  FROM cp WHERE event_type = 'bin.event' ORDER BY event_id;
-- No rows at all is fine in every format.
SELECT eventlog.copy_in('cp', regress.copy_binary('{}'), 'binary') AS binary_none,
	   eventlog.copy_in('cp', '', 'text') AS text_none,
	   eventlog.copy_in('cp', '', 'csv') AS csv_none,
	   eventlog.copy_in('cp', '', 'ndjson') AS ndjson_none;

-- ndjson: one envelope per line, validated like ingest(); blank and
-- whitespace-only lines are skipped, CRLF and a missing last newline are fine.
SELECT eventlog.copy_in('cp', convert_to(
	E'\n{"event_id": "00000000-0000-4000-8000-0000000000c7", "tenant_id": "acme", "event_type": "nd.event", "payload": {"line": 2}, "received_at": "2024-06-01 13:00:00+00"}\r\n'
	'   \n'
	'\t\n'
	'{"event_id": "00000000-0000-4000-8000-0000000000c8", "tenant_id": "globex", "event_type": "nd.event", "subject": "erin", "payload": [{"line": 5}], "received_at": "2024-06-02 13:00:00+00"}',
	'UTF8'), 'ndjson') AS copied;
SELECT event_id, tenant_id, subject, received_at, payload FROM cp WHERE event_type = 'nd.event' ORDER BY event_id;
-- ndjson goes through ingest's insert: an id already stored in the dedup
-- window is skipped.
SELECT eventlog.copy_in('cp', convert_to(
	E'{"event_id": "00000000-0000-4000-8000-0000000000ca", "tenant_id": "acme", "event_type": "nd.retry", "payload": {"try": 1}}\n',
	'UTF8'), 'ndjson') AS copied;
SELECT eventlog.copy_in('cp', convert_to(
	E'{"event_id": "00000000-0000-4000-8000-0000000000ca", "tenant_id": "acme", "event_type": "nd.retry", "payload": {"try": 2}}\n',
	'UTF8'), 'ndjson') AS copied_again;
SELECT count(*) AS stored, min(payload::text) AS payload FROM cp WHERE event_type = 'nd.retry';

-- Where everything went: time partitions made for history, defaults empty.
SELECT partition, rows FROM eventlog.partitions('cp') WHERE range_from < '2025-01-01' ORDER BY partition::text;
SELECT sum(rows) AS rows_in_defaults FROM eventlog.partitions('cp') WHERE is_default;
SELECT count(*) AS events FROM cp;

-- Plain COPY into the log works too (here as superuser; writers are refused
-- COPY FROM by row-level security and use copy_in).
COPY cp (event_id, tenant_id, event_type, payload) FROM STDIN;
00000000-0000-4000-8000-0000000000c9	acme	plain.copy	{"plain": true}
\.
SELECT event_id, tenant_id, payload FROM cp WHERE event_type = 'plain.copy';

-- A writer (not a superuser, not the owner) uses copy_in.
SET ROLE regress_eventlog_writer;
SELECT eventlog.copy_in('cp', convert_to(E'tenant_id,event_type,payload\nacme,by.writer,{}\n', 'UTF8'), 'csv') AS copied;
RESET ROLE;

-- Errors. Nothing of a failing call is written.
CREATE TEMP TABLE before_errors AS SELECT count(*) AS n FROM cp;
SELECT eventlog.copy_in('cp', '\x', 'xml');
:sqlstate
SELECT eventlog.copy_in('cp', '\x', NULL);
:sqlstate
SELECT eventlog.copy_in('cp', NULL);
:sqlstate
CREATE TABLE not_a_log (id int);
SELECT eventlog.copy_in('not_a_log', '\x', 'text');
:sqlstate
DROP TABLE not_a_log;
SET ROLE regress_eventlog_reader;
SELECT eventlog.copy_in('cp', '\x', 'text');
:sqlstate
RESET ROLE;
-- text: the line and column of a bad value; invalid UTF-8; a NUL byte.
SELECT eventlog.copy_in('cp', convert_to(
	E'00000000-0000-4000-8000-0000000000d1\tacme\tok\t\\N\t\\N\t2024-06-01 08:00:00+00\t1\t{}\t\\N\n'
	'00000000-0000-4000-8000-0000000000d2\tacme\tbad\t\\N\t\\N\tnot a time\t1\t{}\t\\N\n', 'UTF8'));
:sqlstate
SELECT eventlog.copy_in('cp', convert_to(E'00000000-0000-4000-8000-0000000000d3\tacme\n', 'UTF8'));
:sqlstate
SELECT eventlog.copy_in('cp', '\x30303030ff0a'::bytea);
:sqlstate
SELECT eventlog.copy_in('cp', '\x610062'::bytea);
:sqlstate
-- csv: the database's constraints name the row (history goes to the
-- default partition until then).
SELECT eventlog.copy_in('cp', convert_to(E'event_id,tenant_id,event_type,payload,received_at\n'
	'00000000-0000-4000-8000-0000000000d4,acme,ok,{},2024-06-03 08:00:00+00\n'
	'00000000-0000-4000-8000-0000000000d5,acme,,{},2024-06-03 08:00:00+00\n', 'UTF8'), 'csv');
:sqlstate
SELECT eventlog.copy_in('cp', convert_to(E'event_id,tenant_id,event_type,payload,received_at\n'
	'00000000-0000-4000-8000-0000000000d6,acme,scalar,"""just a string""",2024-06-03 08:00:00+00\n', 'UTF8'), 'csv');
:sqlstate
SELECT eventlog.copy_in('cp', convert_to(E'event_id,tenant_id,event_type,payload,received_at\n'
	'00000000-0000-4000-8000-0000000000d7,' || repeat('t', 129) || E',long,{},2024-06-03 08:00:00+00\n', 'UTF8'), 'csv');
:sqlstate
-- binary: not COPY's signature; a row with too few fields.
SELECT eventlog.copy_in('cp', '\x0102030405'::bytea, 'binary');
:sqlstate
SELECT eventlog.copy_in('cp', '\x5047434f50590aff0d0a00'::bytea || int4send(0) || int4send(0) || int2send(3::int2)
						|| regress.copy_field(uuid_send('00000000-0000-4000-8000-0000000000d8')), 'binary');
:sqlstate
-- ndjson: each error names its line (blank lines count).
SELECT eventlog.copy_in('cp', convert_to(E'{"tenant_id": "acme", "event_type": "ok", "payload": {}}\n\n{"tenant_id": "acme", "event_type": "bad", "payload": {}\n', 'UTF8'), 'ndjson');
:sqlstate
SELECT eventlog.copy_in('cp', convert_to(E'{"tenant_id": "acme", "event_type": "ok", "payload": {}}\n{"tenant_id": "acme", "event_type": "bad", "payload": {"s": "a\\u0000b"}}\n', 'UTF8'), 'ndjson');
:sqlstate
SELECT eventlog.copy_in('cp', convert_to(E'{"tenant_id": "acme", "event_type": "ok", "payload": {}}\n', 'UTF8')
						|| '\x7b22746522ff7d0a'::bytea, 'ndjson');
:sqlstate
SELECT eventlog.copy_in('cp', convert_to(E'{"tenant_id": "acme", "event_type": "ok", "payload": {}}\n', 'UTF8')
						|| '\x7b00'::bytea, 'ndjson');
:sqlstate
SELECT eventlog.copy_in('cp', convert_to(E'{"tenant_id": "acme", "event_type": "ok", "payload": {}}\n{"tenant_id": "acme", "event_type": "ok", "payload": {}}\n{"tenant_id": "acme", "event_type": "bad", "payload": {}, "extra": 1}\n', 'UTF8'), 'ndjson');
:sqlstate
SELECT eventlog.copy_in('cp', convert_to(E'{"tenant_id": "acme", "event_type": "ok", "payload": {}}\n[{"tenant_id": "acme"}]\n', 'UTF8'), 'ndjson');
:sqlstate
SELECT eventlog.copy_in('cp', convert_to(E'{"tenant_id": "acme", "event_type": "bad", "payload": 7}\n', 'UTF8'), 'ndjson');
:sqlstate
SELECT eventlog.copy_in('cp', convert_to(E'{"tenant_id": "acme", "event_type": "bad", "payload": {}, "occurred_at": "soon"}\n', 'UTF8'), 'ndjson');
:sqlstate
SET eventlog.max_batch_events = 1;
SELECT eventlog.copy_in('cp', convert_to(E'{"tenant_id": "acme", "event_type": "ok", "payload": {}}\n{"tenant_id": "acme", "event_type": "ok", "payload": {}}\n', 'UTF8'), 'ndjson');
:sqlstate
RESET eventlog.max_batch_events;
SELECT (SELECT count(*) FROM cp) - n AS rows_added_by_failed_calls FROM before_errors;
SELECT count(*) AS bad_rows FROM cp WHERE event_type IN ('ok', 'bad', 'scalar', 'long') OR event_id::text LIKE '%0000000000d_';
SELECT sum(rows) AS rows_in_defaults FROM eventlog.partitions('cp') WHERE is_default;

SELECT eventlog.drop_log('cp');
