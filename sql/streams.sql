-- streams: stream logs for event sourcing. create_stream_log's layout,
-- append_to_stream and its optimistic concurrency (LG002), reads by stream,
-- by position (read_all) and by category, consumer groups, snapshots, folds,
-- upcasters, projections, privileges, and each documented error.
-- Positions, event ids and times differ from run to run: the queries below
-- print what is fixed about them (order, counts, equalities) instead.
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
SET intervalstyle = 'postgres';
\set sqlstate '\\echo SQLSTATE: :LAST_ERROR_SQLSTATE'
\set SHOW_CONTEXT never

-------------------------------------------------------------------------------
-- Layout
-------------------------------------------------------------------------------
SELECT eventlog.create_stream_log('ledger', '1 month', 2, NULL, 1);
SELECT name, kind, partition_interval, tenant_buckets, premake, partitions
  FROM eventlog.logs WHERE log = 'ledger'::regclass;
-- The envelope plus stream, version and position.
SELECT attname, format_type(atttypid, atttypmod) AS type, attnotnull
  FROM pg_attribute WHERE attrelid = 'ledger'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum;
SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint
 WHERE conrelid = 'ledger'::regclass AND conname IN ('stream_length', 'version_positive', 'stream_has_version')
 ORDER BY 1;
SELECT regexp_replace(pg_get_indexdef(indexrelid), 'INDEX \S+ ON', 'INDEX ON') AS index
  FROM pg_index WHERE indrelid = 'ledger'::regclass ORDER BY 1;
-- The guard trigger on the root and, cloned, on every leaf; the append-only rule as on any log.
SELECT count(*) AS leaves,
	   count(*) FILTER (WHERE EXISTS (SELECT FROM pg_trigger g WHERE g.tgrelid = t.relid
									  AND g.tgname = 'eventlog_stream_guard')) AS guarded,
	   count(*) FILTER (WHERE EXISTS (SELECT FROM pg_trigger g WHERE g.tgrelid = t.relid
									  AND g.tgname = 'eventlog_append_only_row' AND g.tgenabled = 'A')) AS append_only
  FROM pg_partition_tree('ledger') t WHERE t.isleaf;

-------------------------------------------------------------------------------
-- append_to_stream
-------------------------------------------------------------------------------
-- A new stream (expected_version -1): versions 1 and 2, two positions
-- written by this transaction, in order, and two new UUIDv7 event ids.
BEGIN;
SELECT * FROM eventlog.append_to_stream('ledger', 'acme', 'account-1',
	'[{"event_type": "account.opened", "payload": {"owner": "ann"}},
	  {"event_type": "account.credited", "payload": {"amount": 100}}]', -1) \gset a_
SELECT :a_version AS version,
	   cardinality(:'a_positions'::bigint[]) AS positions,
	   (:'a_positions'::bigint[])[1] < (:'a_positions'::bigint[])[2] AS increasing,
	   eventlog.position_xid((:'a_positions'::bigint[])[1]) = pg_current_xact_id() AS written_by_this_transaction,
	   cardinality(:'a_event_ids'::uuid[]) AS event_ids,
	   substr((:'a_event_ids'::uuid[])[1]::text, 15, 1) AS uuid_version;
COMMIT;
-- The expected version, then any version (NULL).
SELECT version, cardinality(positions) AS n FROM eventlog.append_to_stream('ledger', 'acme', 'account-1',
	'[{"event_type": "account.debited", "payload": {"amount": 30}}]', 2);
SELECT version FROM eventlog.append_to_stream('ledger', 'acme', 'account-1',
	'[{"event_type": "account.credited", "payload": {"amount": 5}}]');
-- Every field of a stream event.
SELECT version FROM eventlog.append_to_stream('ledger', 'acme', 'account-1',
	'[{"event_id": "00000000-0000-4000-8000-00000000a001", "event_type": "account.debited",
	   "subject": "ann", "occurred_at": "2024-05-01 08:00:00+00", "schema_version": 1,
	   "payload": {"amount": 25}, "metadata": {"trace_id": "t-1"}}]', 4);
-- 0 also means "no events yet".
SELECT version FROM eventlog.append_to_stream('ledger', 'acme', 'account-2',
	'[{"event_type": "account.opened", "payload": {"owner": "bob"}}]', 0);
-- A stream name is per tenant.
SELECT version FROM eventlog.append_to_stream('ledger', 'globex', 'account-1',
	'[{"event_type": "account.opened", "payload": {"owner": "gus"}}]', -1);
SELECT eventlog.stream_version('ledger', 'acme', 'account-1') AS acme_1,
	   eventlog.stream_version('ledger', 'acme', 'account-2') AS acme_2,
	   eventlog.stream_version('ledger', 'globex', 'account-1') AS globex_1,
	   eventlog.stream_version('ledger', 'acme', 'account-9') AS no_such_stream;

-- Conflicts: LG002 with the actual version; nothing is written.
SELECT * FROM eventlog.append_to_stream('ledger', 'acme', 'account-1',
	'[{"event_type": "account.debited", "payload": {"amount": 1}}]', 2);
:sqlstate
SELECT * FROM eventlog.append_to_stream('ledger', 'acme', 'account-1',
	'[{"event_type": "account.opened", "payload": {}}]', -1);
:sqlstate
SELECT * FROM eventlog.append_to_stream('ledger', 'acme', 'account-9',
	'[{"event_type": "account.debited", "payload": {"amount": 1}}]', 3);
:sqlstate
SELECT eventlog.stream_version('ledger', 'acme', 'account-1') AS still_5,
	   eventlog.stream_version('ledger', 'acme', 'account-9') AS still_0,
	   (SELECT count(*) FROM ledger WHERE stream = 'account-9') AS no_rows;

-- A head restored from a dump of another cluster whose transaction ids ran
-- ahead of this one's: appending would put new positions before old ones.
SELECT position AS saved_position FROM eventlog.stream_heads WHERE stream = 'account-2' \gset
UPDATE eventlog.stream_heads SET position = (pg_current_xact_id()::text::bigint + 1000000) << 20 WHERE stream = 'account-2';
\set VERBOSITY terse
SELECT * FROM eventlog.append_to_stream('ledger', 'acme', 'account-2', '[{"event_type": "x", "payload": {}}]');
:sqlstate
\set VERBOSITY default
UPDATE eventlog.stream_heads SET position = :saved_position WHERE stream = 'account-2';

-- The whole array or nothing: the third event is invalid.
SELECT * FROM eventlog.append_to_stream('ledger', 'acme', 'account-1',
	'[{"event_type": "a", "payload": {}}, {"event_type": "b", "payload": {}}, {"event_type": "c", "payload": 7}]', 5);
:sqlstate
-- A rolled-back append leaves no gap: the next one gets the next version.
BEGIN;
SELECT version FROM eventlog.append_to_stream('ledger', 'acme', 'account-1', '[{"event_type": "x", "payload": {}}]', 5);
ROLLBACK;
SELECT version FROM eventlog.append_to_stream('ledger', 'acme', 'account-1',
	'[{"event_type": "account.credited", "payload": {"amount": 7}}]', 5);

-- Each argument error.
SELECT * FROM eventlog.append_to_stream(NULL, 'acme', 's', '[]');
:sqlstate
SELECT * FROM eventlog.append_to_stream('ledger', NULL, 's', '[]');
:sqlstate
SELECT * FROM eventlog.append_to_stream('ledger', 'acme', '', '[{"event_type": "x", "payload": {}}]');
:sqlstate
SELECT * FROM eventlog.append_to_stream('ledger', repeat('t', 129), 's', '[{"event_type": "x", "payload": {}}]');
:sqlstate
SELECT * FROM eventlog.append_to_stream('ledger', 'acme', 's', '[{"event_type": "x", "payload": {}}]', -2);
:sqlstate
SELECT * FROM eventlog.append_to_stream('ledger', 'acme', 's', '{"event_type": "x", "payload": {}}');
:sqlstate
SELECT * FROM eventlog.append_to_stream('ledger', 'acme', 's', '[]');
:sqlstate
SELECT * FROM eventlog.append_to_stream('ledger', 'acme', 's', '[1]');
:sqlstate
SELECT * FROM eventlog.append_to_stream('ledger', 'acme', 's', '[{"payload": {}}]');
:sqlstate
SELECT * FROM eventlog.append_to_stream('ledger', 'acme', 's', '[{"event_type": "x"}]');
:sqlstate
SELECT * FROM eventlog.append_to_stream('ledger', 'acme', 's', '[{"event_type": "x", "payload": null}]');
:sqlstate
SELECT * FROM eventlog.append_to_stream('ledger', 'acme', 's', '[{"event_type": "", "payload": {}}]');
:sqlstate
SELECT * FROM eventlog.append_to_stream('ledger', 'acme', 's', '[{"event_type": "x", "payload": {}, "colour": "red"}]');
:sqlstate
SELECT * FROM eventlog.append_to_stream('ledger', 'acme', 's', '[{"event_type": "x", "payload": {}, "tenant_id": "acme"}]');
:sqlstate
SELECT * FROM eventlog.append_to_stream('ledger', 'acme', 's', '[{"event_type": "x", "payload": {}, "version": 3}]');
:sqlstate
-- PostgreSQL's own input functions refuse these; the context names the event and field.
\set SHOW_CONTEXT errors
SELECT * FROM eventlog.append_to_stream('ledger', 'acme', 's', '[{"event_type": "x", "payload": {}, "event_id": "nope"}]');
:sqlstate
SELECT * FROM eventlog.append_to_stream('ledger', 'acme', 's', '[{"event_type": "x", "payload": {}, "occurred_at": "yesterday-ish"}]');
:sqlstate
\set SHOW_CONTEXT never
SELECT * FROM eventlog.append_to_stream('ledger', 'acme', 's', '[{"event_type": "x", "payload": {}, "schema_version": 0}]');
:sqlstate
SELECT * FROM eventlog.append_to_stream('ledger', 'acme', 's', '[{"event_type": "x", "payload": {}, "metadata": [1]}]');
:sqlstate
SELECT eventlog.create_log('es_plain', '1 day', 1, NULL, 1);
SELECT * FROM eventlog.append_to_stream('es_plain', 'acme', 's', '[{"event_type": "x", "payload": {}}]');
:sqlstate
SELECT * FROM eventlog.read_all('es_plain');
:sqlstate

-- Other inserts add events without a stream (they get a position too); only
-- append_to_stream sets stream and version, and nobody chooses a position.
SELECT eventlog.append('ledger', 'acme', 'audit.note', '{"note": "plain append"}') IS NOT NULL AS appended;
SELECT eventlog.ingest('ledger', '[{"tenant_id": "acme", "event_type": "audit.note", "payload": {"note": "ingest"}}]') AS ingested;
INSERT INTO ledger (tenant_id, event_type, payload, position) VALUES ('acme', 'audit.note', '{"note": "insert"}', 42)
RETURNING stream, version, position <> 42 AS position_stamped;
-- History loaded with an old received_at lands in a default partition and is
-- moved into a partition made for it, keeping the position it got.
BEGIN;
SELECT eventlog.ingest('ledger', '[{"tenant_id": "acme", "event_type": "audit.history", "payload": {},
								   "received_at": "2020-01-15 12:00:00+00"}]') AS ingested;
SELECT tableoid::regclass::text ~ '_p2020_01$' AS in_its_month, eventlog.position_xid(position) = pg_current_xact_id() AS position_kept
  FROM ledger WHERE event_type = 'audit.history';
COMMIT;
INSERT INTO ledger (tenant_id, event_type, payload, stream, version) VALUES ('acme', 'forged', '{}', 'account-1', 7);
:sqlstate
INSERT INTO ledger (tenant_id, event_type, payload, version) VALUES ('acme', 'forged', '{}', 7);
:sqlstate
UPDATE ledger SET version = 1 WHERE stream = 'account-2';
:sqlstate

-------------------------------------------------------------------------------
-- read_stream
-------------------------------------------------------------------------------
SELECT version, event_type, payload, subject, occurred_at, schema_version, metadata
  FROM eventlog.read_stream('ledger', 'acme', 'account-1');
SELECT version FROM eventlog.read_stream('ledger', 'acme', 'account-1', 3, 2);
SELECT count(*) FROM eventlog.read_stream('ledger', 'acme', 'account-9');
SELECT count(*) FROM eventlog.read_stream('ledger', 'acme', 'account-1', 1, NULL) AS all_rows;
SELECT * FROM eventlog.read_stream('ledger', 'acme', NULL);
:sqlstate
SELECT * FROM eventlog.read_stream('ledger', 'acme', 'account-1', 1, 0);
:sqlstate

-------------------------------------------------------------------------------
-- read_all: every event once, in position order, only below the horizon
-------------------------------------------------------------------------------
SELECT count(*) AS events,
	   count(*) = (SELECT count(*) FROM ledger) AS all_of_them,
	   count(*) FILTER (WHERE stream IS NULL) AS without_stream
  FROM eventlog.read_all('ledger');
SELECT bool_and(position > prev) AS strictly_increasing
  FROM (SELECT position, lag(position) OVER () AS prev FROM eventlog.read_all('ledger')) s;
-- Pages of 4 from position 0 see the same events as one read.
WITH RECURSIVE pages(n, last, events) AS (
	SELECT 0, 0::bigint, 0::bigint
	UNION ALL
	SELECT p.n + 1, r.last, p.events + r.cnt
	  FROM pages p, LATERAL (SELECT max(position) AS last, count(*) AS cnt
							   FROM eventlog.read_all('ledger', p.last, 4)) r
	 WHERE r.cnt > 0)
SELECT max(n) AS pages, max(events) AS events FROM pages;
-- A stream's positions grow with its versions.
SELECT stream, bool_and(version = prev + 1) AS versions_in_position_order
  FROM (SELECT stream, version, lag(version) OVER (PARTITION BY tenant_id, stream ORDER BY position) AS prev
		  FROM eventlog.read_all('ledger') WHERE stream IS NOT NULL) s
 WHERE prev IS NOT NULL GROUP BY stream ORDER BY stream;
-- Every stored position is below the horizon once its transaction is over;
-- a transaction's own events are above it while it runs (it may still roll back).
SELECT max(position) < eventlog.position_horizon() AS all_final FROM ledger;
BEGIN;
SELECT version FROM eventlog.append_to_stream('ledger', 'acme', 'account-3', '[{"event_type": "account.opened", "payload": {}}]');
SELECT (SELECT count(*) FROM eventlog.read_stream('ledger', 'acme', 'account-3')) AS read_stream_sees_own,
	   (SELECT count(*) FROM eventlog.read_all('ledger') WHERE stream = 'account-3') AS read_all_waits,
	   (SELECT position FROM ledger WHERE stream = 'account-3') >= eventlog.position_horizon() AS above_horizon;
COMMIT;
SELECT count(*) AS now_visible FROM eventlog.read_all('ledger') WHERE stream = 'account-3';
SELECT * FROM eventlog.read_all('ledger', 0, 0);
:sqlstate
SELECT * FROM eventlog.read_all('ledger', NULL);
:sqlstate

-------------------------------------------------------------------------------
-- read_category and consumer groups
-------------------------------------------------------------------------------
SELECT version FROM eventlog.append_to_stream('ledger', 'acme', 'order-1', '[{"event_type": "order.placed", "payload": {}}]', -1);
SELECT version FROM eventlog.append_to_stream('ledger', 'acme', 'order', '[{"event_type": "order.note", "payload": {}}]', -1);
SELECT stream, count(*) FROM eventlog.read_category('ledger', 'account') GROUP BY stream ORDER BY stream;
SELECT stream, count(*) FROM eventlog.read_category('ledger', 'order') GROUP BY stream ORDER BY stream;
SELECT * FROM eventlog.read_category('ledger', 'order-1');
:sqlstate
-- group_member() is a stable hash of the stream name.
SELECT s, eventlog.group_member(s, 3) AS of_3, eventlog.group_member(s, 2) AS of_2
  FROM unnest(ARRAY['account-1', 'account-2', 'account-3', 'order-1', 'order', NULL]) s;
-- Members of a group of 3 share the streams: each event to exactly one member,
-- and each stream wholly to one member.
WITH m AS (SELECT i AS member, e.* FROM generate_series(0, 2) i,
		   LATERAL eventlog.read_all('ledger', 0, 1000, i, 3) e)
SELECT count(*) AS events, count(DISTINCT position) AS distinct_events,
	   (SELECT count(*) FROM ledger) AS stored,
	   (SELECT count(*) FROM (SELECT stream FROM m GROUP BY tenant_id, stream HAVING count(DISTINCT member) > 1) x) AS split_streams
  FROM m;
SELECT i AS member, count(e.*) AS account_events
  FROM generate_series(0, 2) i LEFT JOIN LATERAL eventlog.read_category('ledger', 'account', 0, 1000, i, 3) e ON true
 GROUP BY i ORDER BY i;
SELECT * FROM eventlog.read_all('ledger', 0, 10, 3, 3);
:sqlstate
SELECT * FROM eventlog.read_all('ledger', 0, 10, 1);
:sqlstate
-- Stored positions of consumer group members.
SELECT eventlog.consumer_position('ledger', 'billing') AS before;
SELECT eventlog.commit_position('ledger', 'billing', max(position), 1, 3) FROM eventlog.read_all('ledger', 0, 1000, 1, 3);
SELECT eventlog.consumer_position('ledger', 'billing', 1) = (SELECT max(position) FROM eventlog.read_all('ledger', 0, 1000, 1, 3)) AS committed,
	   eventlog.consumer_position('ledger', 'billing', 0) AS member_0;
SELECT consumer_group, member, group_size FROM eventlog.consumer_positions;
SELECT eventlog.commit_position('ledger', 'billing', 10, 3, 3);
:sqlstate
SELECT eventlog.commit_position('ledger', 'billing', -1);
:sqlstate

-------------------------------------------------------------------------------
-- Snapshots and folds
-------------------------------------------------------------------------------
-- A reducer: the balance of an account. Callbacks run with search_path =
-- pg_catalog, pg_temp, so they qualify names (or set their own search_path).
CREATE FUNCTION public.balance(state jsonb, e eventlog.stream_event) RETURNS jsonb
LANGUAGE sql IMMUTABLE
RETURN jsonb_build_object(
	'balance', coalesce((state->>'balance')::int, 0)
			   + CASE e.event_type WHEN 'account.credited' THEN (e.payload->>'amount')::int
								   WHEN 'account.debited' THEN -(e.payload->>'amount')::int ELSE 0 END,
	'events', coalesce((state->>'events')::int, 0) + 1,
	'version', e.version);
SELECT eventlog.fold_stream('ledger', 'acme', 'account-1', 'public.balance(jsonb, eventlog.stream_event)') AS full_replay;
SELECT eventlog.fold_stream('ledger', 'acme', 'account-1', 'public.balance(jsonb, eventlog.stream_event)', '{}', 3) AS as_of_version_3;
SELECT eventlog.fold_stream('ledger', 'acme', 'account-1', 'public.balance(jsonb, eventlog.stream_event)',
							'{"balance": 1000}', as_of_time => '-infinity') AS before_the_first_event;
SELECT eventlog.fold_stream('ledger', 'acme', 'account-1', 'public.balance(jsonb, eventlog.stream_event)',
							as_of_time => clock_timestamp()) AS as_of_now;
-- A snapshot at version 3 (the fold's state there); from it, the same state as a full replay.
SELECT eventlog.save_snapshot('ledger', 'acme', 'account-1', 3,
	eventlog.fold_stream('ledger', 'acme', 'account-1', 'public.balance(jsonb, eventlog.stream_event)', '{}', 3));
SELECT eventlog.fold_stream('ledger', 'acme', 'account-1', 'public.balance(jsonb, eventlog.stream_event)', use_snapshot => true)
	 = eventlog.fold_stream('ledger', 'acme', 'account-1', 'public.balance(jsonb, eventlog.stream_event)') AS snapshot_equals_replay;
-- load_stream: the latest snapshot, as an eventlog.snapshot event, then the events after it.
SELECT event_type, version, payload, position IS NULL AS no_position, metadata
  FROM eventlog.load_stream('ledger', 'acme', 'account-1');
SELECT event_type, version FROM eventlog.load_stream('ledger', 'acme', 'account-2');
-- A snapshot beyond the stream's version, or of a stream that has none.
SELECT eventlog.save_snapshot('ledger', 'acme', 'account-1', 99, '{}');
:sqlstate
SELECT eventlog.save_snapshot('ledger', 'acme', 'account-9', 1, '{}');
:sqlstate
SELECT eventlog.fold_stream('ledger', 'acme', 'account-1', 'jsonb_concat(jsonb, jsonb)');
:sqlstate
SELECT eventlog.fold_stream('ledger', 'acme', 'account-1', 'public.balance(jsonb, eventlog.stream_event)', '{}', -1);
:sqlstate

-------------------------------------------------------------------------------
-- Upcasters: old payloads come out in the new shape; history is not rewritten
-------------------------------------------------------------------------------
CREATE FUNCTION public.credited_v1_to_v2(p jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE RETURN p || jsonb_build_object('currency', 'EUR');
CREATE FUNCTION public.credited_v2_to_v3(p jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE RETURN (p - 'amount') || jsonb_build_object('cents', (p->>'amount')::int * 100);
SELECT eventlog.register_upcaster('ledger', 'account.credited', 1, 'public.credited_v1_to_v2(jsonb)');
SELECT eventlog.register_upcaster('ledger', 'account.credited', 2, 'public.credited_v2_to_v3(jsonb)');
SELECT version, event_type, schema_version, payload FROM eventlog.read_stream('ledger', 'acme', 'account-1');
SELECT count(*) FILTER (WHERE schema_version = 3) AS upcast_in_read_all FROM eventlog.read_all('ledger') WHERE event_type = 'account.credited';
SELECT version, schema_version, payload FROM eventlog.load_stream('ledger', 'acme', 'account-1') WHERE event_type = 'account.credited';
SELECT schema_version, payload FROM ledger WHERE stream = 'account-1' AND version = 2;
-- A v2 event appended today is upcast once, to v3.
SELECT version FROM eventlog.append_to_stream('ledger', 'acme', 'account-1',
	'[{"event_type": "account.credited", "schema_version": 2, "payload": {"amount": 1, "currency": "USD"}}]', 6);
SELECT schema_version, payload FROM eventlog.read_stream('ledger', 'acme', 'account-1', 7);
SELECT eventlog.drop_upcaster('ledger', 'account.credited', 2) AS dropped, eventlog.drop_upcaster('ledger', 'account.credited', 2) AS again;
SELECT schema_version, payload FROM eventlog.read_stream('ledger', 'acme', 'account-1', 2, 1);
SELECT eventlog.register_upcaster('ledger', 'x', 1, 'public.balance(jsonb, eventlog.stream_event)');
:sqlstate
SELECT eventlog.register_upcaster('ledger', 'x', 0, 'public.credited_v1_to_v2(jsonb)');
:sqlstate
SELECT eventlog.drop_upcaster('ledger', 'account.credited', 1);

-------------------------------------------------------------------------------
-- Projections
-------------------------------------------------------------------------------
CREATE TABLE public.event_counts (stream text PRIMARY KEY, events int NOT NULL);
GRANT ALL ON public.event_counts TO eventlog_admin;
CREATE FUNCTION public.count_event(e eventlog.stream_event) RETURNS void
LANGUAGE sql
BEGIN ATOMIC
	INSERT INTO public.event_counts AS c VALUES (coalesce(e.stream, '(' || e.event_type || ')'), 1)
	ON CONFLICT (stream) DO UPDATE SET events = c.events + 1;
END;
CREATE FUNCTION public.reset_counts() RETURNS void LANGUAGE sql BEGIN ATOMIC DELETE FROM public.event_counts; END;
SELECT eventlog.create_projection('counts', 'ledger', 'public.count_event(eventlog.stream_event)', 'public.reset_counts()');
SELECT eventlog.run_projection('counts', 5) AS first_batch, eventlog.run_projection('counts', 100000) AS the_rest,
	   eventlog.run_projection('counts') AS nothing_left;
SELECT * FROM public.event_counts ORDER BY stream;
SELECT name, handler, reset_handler, events_applied, position = (SELECT max(position) FROM ledger) AS at_the_end
  FROM eventlog.projections;
-- forget()'s tombstone is an event of the log: the handler sees it.
SELECT eventlog.append('ledger', 'acme', 'eventlog.forgotten', '{"subject": "ann", "events": 1}') IS NOT NULL AS tombstone;
SELECT eventlog.run_projection('counts') AS applied;
SELECT events FROM public.event_counts WHERE stream = '(eventlog.forgotten)';
-- rebuild: reset, then a replay from position 0 gives the same table.
CREATE TEMP TABLE counts_before AS SELECT * FROM public.event_counts;
SELECT eventlog.rebuild_projection('counts') = (SELECT count(*) FROM ledger) AS replayed_all;
SELECT count(*) AS differences FROM (
	(TABLE public.event_counts EXCEPT TABLE counts_before) UNION ALL (TABLE counts_before EXCEPT TABLE public.event_counts)) d;
SELECT eventlog.create_projection('counts', 'ledger', 'public.count_event(eventlog.stream_event)');
:sqlstate
SELECT eventlog.create_projection('bad', 'ledger', 'public.reset_counts()');
:sqlstate
SELECT eventlog.create_projection('bad', 'es_plain', 'public.count_event(eventlog.stream_event)');
:sqlstate
SELECT eventlog.run_projection('nope');
:sqlstate
SELECT eventlog.run_projection('counts', 0);
:sqlstate

-------------------------------------------------------------------------------
-- Privileges: writers append, readers read, admin creates
-------------------------------------------------------------------------------
-- EXECUTE per role on the stream functions (privileges.sql covers the core's);
-- "public" is any role at all (a trigger function cannot be called directly).
SELECT p.oid::regprocedure AS function,
	   has_function_privilege('eventlog_admin', p.oid, 'EXECUTE') AS admin,
	   has_function_privilege('eventlog_writer', p.oid, 'EXECUTE') AS writer,
	   has_function_privilege('eventlog_reader', p.oid, 'EXECUTE') AS reader,
	   has_function_privilege('public', p.oid, 'EXECUTE') AS public,
	   p.prosecdef AS definer,
	   coalesce(p.proconfig @> ARRAY['search_path=pg_catalog, pg_temp'], false) AS pinned
  FROM pg_proc p
 WHERE p.pronamespace = 'eventlog'::regnamespace
   AND p.proname IN ('create_stream_log', '_make_stream_log', '_stream_guard', '_streams_dropped', 'position_horizon',
					 'position_xid', 'append_to_stream', 'stream_version', 'read_stream', 'read_all', 'read_category',
					 'group_member', '_check_group', '_require_stream_log', '_upcast', '_apply',
					 'commit_position', 'consumer_position', 'save_snapshot', 'load_stream', 'fold_stream',
					 'register_upcaster', 'drop_upcaster', 'create_projection', 'drop_projection', 'run_projection',
					 '_run_projection', 'rebuild_projection')
 ORDER BY p.proname, 1::text;
-- The stream tables: owned by eventlog_admin, as the logs are.
SELECT c.relname, pg_get_userbyid(c.relowner) AS owner, c.relrowsecurity AS rls, r.role,
	   has_table_privilege(r.role, c.oid, 'SELECT') AS "select",
	   has_table_privilege(r.role, c.oid, 'INSERT') AS "insert",
	   has_table_privilege(r.role, c.oid, 'UPDATE') AS "update",
	   has_table_privilege(r.role, c.oid, 'DELETE') AS "delete"
  FROM pg_class c
 CROSS JOIN (VALUES ('eventlog_writer'), ('eventlog_reader'), ('public')) AS r(role)
 WHERE c.oid IN ('eventlog.stream_heads'::regclass, 'eventlog.snapshots'::regclass, 'eventlog.projections'::regclass,
				 'eventlog.consumer_positions'::regclass, 'eventlog.upcasters'::regclass)
 ORDER BY c.relname, r.role;

\c - regress_eventlog_writer
\set sqlstate '\\echo SQLSTATE: :LAST_ERROR_SQLSTATE'
\set SHOW_CONTEXT never
SELECT version FROM eventlog.append_to_stream('ledger', 'acme', 'account-2', '[{"event_type": "account.credited", "payload": {"amount": 1}}]', 1);
SELECT eventlog.stream_version('ledger', 'acme', 'account-2');
SELECT eventlog.save_snapshot('ledger', 'acme', 'account-2', 2, '{"balance": 1}');
SELECT count(*) FROM eventlog.read_stream('ledger', 'acme', 'account-2');
:sqlstate
SELECT count(*) FROM eventlog.read_all('ledger');
:sqlstate
SELECT eventlog.create_stream_log('writer_log');
:sqlstate
-- A session bound to a tenant writes only that tenant.
SET eventlog.tenant = 'acme';
SELECT version FROM eventlog.append_to_stream('ledger', 'globex', 'account-1', '[{"event_type": "x", "payload": {}}]');
:sqlstate
RESET eventlog.tenant;

\c - regress_eventlog_reader
\set sqlstate '\\echo SQLSTATE: :LAST_ERROR_SQLSTATE'
\set SHOW_CONTEXT never
SELECT count(*) AS events FROM eventlog.read_stream('ledger', 'acme', 'account-2');
SELECT count(*) > 0 AS reads_all FROM eventlog.read_all('ledger');
SELECT event_type, version FROM eventlog.load_stream('ledger', 'acme', 'account-2');
SELECT eventlog.fold_stream('ledger', 'acme', 'account-2', 'public.balance(jsonb, eventlog.stream_event)');
SELECT eventlog.commit_position('ledger', 'reader-group', 1);
SELECT eventlog.consumer_position('ledger', 'reader-group');
SELECT * FROM eventlog.append_to_stream('ledger', 'acme', 'account-2', '[{"event_type": "x", "payload": {}}]');
:sqlstate
SELECT eventlog.save_snapshot('ledger', 'acme', 'account-2', 1, '{}');
:sqlstate
SELECT eventlog.run_projection('counts');
:sqlstate
UPDATE eventlog.stream_heads SET version = 1;
:sqlstate
-- A session bound to a tenant sees only that tenant's events and streams.
SET eventlog.tenant = 'globex';
SELECT DISTINCT tenant_id FROM eventlog.read_all('ledger');
SELECT eventlog.stream_version('ledger', 'acme', 'account-1') AS other_tenant, eventlog.stream_version('ledger', 'globex', 'account-1') AS own;
SELECT count(*) FROM eventlog.read_stream('ledger', 'acme', 'account-1');
SELECT count(*) FROM eventlog.load_stream('ledger', 'acme', 'account-2');
RESET eventlog.tenant;

\c - regress_eventlog_nobody
\set sqlstate '\\echo SQLSTATE: :LAST_ERROR_SQLSTATE'
\set SHOW_CONTEXT never
SELECT * FROM eventlog.read_all('ledger');
:sqlstate

\c - regress_eventlog_admin
\set sqlstate '\\echo SQLSTATE: :LAST_ERROR_SQLSTATE'
\set SHOW_CONTEXT never
SELECT eventlog.create_stream_log('admin_streams', '1 month', 1, NULL, 1);
SELECT version FROM eventlog.append_to_stream('admin_streams', 'acme', 'a-1', '[{"event_type": "x", "payload": {}}]');
SELECT eventlog.drop_projection('counts') AS dropped;
SELECT eventlog.drop_log('admin_streams');

-------------------------------------------------------------------------------
-- drop_log forgets the log's streams, snapshots, positions, projections and upcasters
-------------------------------------------------------------------------------
\c - postgres
\set SHOW_CONTEXT never
SELECT eventlog.create_projection('counts', 'ledger', 'public.count_event(eventlog.stream_event)');
SELECT eventlog.register_upcaster('ledger', 'account.credited', 1, 'public.credited_v1_to_v2(jsonb)');
SELECT (SELECT count(*) FROM eventlog.stream_heads) > 0 AS heads, (SELECT count(*) FROM eventlog.snapshots) > 0 AS snapshots;
SELECT eventlog.drop_log('ledger');
SELECT eventlog.drop_log('es_plain');
SELECT (SELECT count(*) FROM eventlog.stream_heads) AS heads, (SELECT count(*) FROM eventlog.snapshots) AS snapshots,
	   (SELECT count(*) FROM eventlog.projections) AS projections, (SELECT count(*) FROM eventlog.consumer_positions) AS positions,
	   (SELECT count(*) FROM eventlog.upcasters) AS upcasters;
DROP FUNCTION public.balance(jsonb, eventlog.stream_event), public.credited_v1_to_v2(jsonb), public.credited_v2_to_v3(jsonb),
	public.count_event(eventlog.stream_event), public.reset_counts();
DROP TABLE public.event_counts;
