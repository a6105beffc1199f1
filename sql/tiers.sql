-- tiers: set_tiering(); maintenance compacts partitions past warm_after (in
-- tenant order, values unchanged, seals still verify) and moves those past
-- cold_after to the cold tablespace with their indexes; partitions() shows
-- the tier; the append-only rule holds on every tier; then each error.
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
\set sqlstate '\\echo SQLSTATE: :LAST_ERROR_SQLSTATE'

SET allow_in_place_tablespaces = on;
CREATE TABLESPACE regress_eventlog_cold LOCATION '';
GRANT CREATE ON TABLESPACE regress_eventlog_cold TO eventlog_admin;

SELECT eventlog.create_log('tr', '1 day', 2, NULL, 1);
-- Three old days (cold), and three days ago (warm only), tenants interleaved.
SELECT eventlog.ingest('tr', jsonb_agg(jsonb_build_object(
		'tenant_id', 't' || (i % 5), 'event_type', 'e', 'subject', 's' || (i % 7),
		'payload', jsonb_build_object('i', i, 'big', repeat(md5(i::text), 100)),
		'metadata', jsonb_build_object('ip', i),
		'received_at', CASE WHEN i <= 60 THEN timestamptz '2024-01-01 00:00:00+00' + i * interval '1 hour'
							ELSE date_trunc('day', now()) - interval '3 days' + (i - 60) * interval '10 minutes' END)
		ORDER BY i)) AS written
  FROM generate_series(1, 80) i;
-- Whether a partition's rows lie on disk in (tenant_id, received_at) order.
CREATE FUNCTION pg_temp.tenant_ordered(p regclass) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
	r boolean;
BEGIN
	EXECUTE format('SELECT array_agg(tenant_id || received_at ORDER BY ctid)'
				   ' = array_agg(tenant_id || received_at ORDER BY tenant_id, received_at) FROM %s', p) INTO r;
	RETURN r;
END
$$;
SELECT bool_or(pg_temp.tenant_ordered(partition)) AS any_tenant_ordered_before
  FROM eventlog.partitions('tr') WHERE rows > 1;
CREATE TEMP TABLE before AS
SELECT count(*) AS n, md5(string_agg(t::text, ',' ORDER BY event_id)) AS digest FROM tr t;
-- Ingest compressed the big payloads with the log's method (lz4).
SELECT pg_column_compression(payload) AS compression, count(*) FROM tr GROUP BY 1 ORDER BY 1;

SELECT eventlog.set_tiering('tr', warm_after => '2 days', cold_after => '30 days',
							cold_tablespace => 'regress_eventlog_cold');
SELECT warm_after, cold_after, cold_tablespace, archive_dir FROM eventlog.log_config WHERE log = 'tr'::regclass;
SELECT count(*) FROM eventlog.run_maintenance('tr');
SELECT count(*) FROM eventlog.run_maintenance('tr');
SELECT details - 'redacted' - 'sealed' AS details FROM eventlog.maintenance_runs
 WHERE log = 'tr'::regclass ORDER BY id;

-- Each partition's tier: the old days cold, three days ago warm, the rest hot.
SELECT tier, count(*) AS partitions, sum(rows) AS rows
  FROM eventlog.partitions('tr') WHERE rows > 0 GROUP BY tier ORDER BY tier;
-- Cold partitions and all their indexes are in the cold tablespace.
SELECT p.tier, count(*) FILTER (WHERE ts.spcname = 'regress_eventlog_cold') AS in_cold,
	   count(*) AS relations
  FROM eventlog.partitions('tr') p
  JOIN LATERAL (SELECT p.partition::oid AS oid UNION ALL
				SELECT indexrelid FROM pg_index WHERE indrelid = p.partition) r ON true
  JOIN pg_class c ON c.oid = r.oid
  LEFT JOIN pg_tablespace ts ON ts.oid = c.reltablespace
 WHERE p.tier <> 'hot' GROUP BY p.tier ORDER BY p.tier;
-- Compacted: rows in tenant order on disk; values unchanged; seals verify.
SELECT bool_and(pg_temp.tenant_ordered(partition)) AS tenant_ordered
  FROM eventlog.partitions('tr') WHERE tier <> 'hot' AND rows > 0;
SELECT b.n = a.n AS same_count, b.digest = a.digest AS same_rows
  FROM before b, (SELECT count(*) AS n, md5(string_agg(t::text, ',' ORDER BY event_id)) AS digest FROM tr t) a;
SELECT count(*) AS sealed, bool_and(ok) AS all_ok FROM eventlog.verify('tr');
-- Compaction kept them lz4 (test/pgtap/tiers.sql recompresses a pglz log's).
SELECT p.tier, pg_column_compression(t.payload) AS compression, count(*)
  FROM tr t JOIN eventlog.partitions('tr') p ON p.partition = t.tableoid
 GROUP BY 1, 2 ORDER BY 1, 2;
-- A third run has nothing to do.
SELECT count(*) FROM eventlog.run_maintenance('tr');
SELECT details - 'redacted' - 'sealed' AS details FROM eventlog.maintenance_runs
 WHERE log = 'tr'::regclass ORDER BY id DESC LIMIT 1;

-- forget() reaches warm and cold partitions: redacted there, re-sealed, verified.
SELECT eventlog.forget('tr', 't1', 's1', 'erasure of tiered events') AS erased;
SELECT p.tier, count(*) AS events, count(*) FILTER (WHERE t.payload ? 'redacted' AND t.metadata IS NULL) AS redacted
  FROM tr t JOIN eventlog.partitions('tr') p ON p.partition = t.tableoid::regclass
 WHERE t.tenant_id = 't1' AND t.subject = 's1' AND t.event_type = 'e'
 GROUP BY p.tier ORDER BY p.tier;
SELECT count(*) FILTER (WHERE cause = 'forget') > 0 AS resealed FROM eventlog.seals WHERE log = 'tr'::regclass;
SELECT count(*) AS sealed, bool_and(ok) AS all_ok FROM eventlog.verify('tr');

-- The append-only rule holds on warm and cold partitions.
SELECT format('UPDATE %s SET payload = ''{}''', partition) AS upd FROM eventlog.partitions('tr')
 WHERE tier = 'cold' ORDER BY partition::text LIMIT 1 \gset
:upd;
:sqlstate
DELETE FROM tr WHERE received_at < '2024-02-01';
:sqlstate

-- Errors.
SELECT eventlog.set_tiering('tr', '2 days', '1 day', 'regress_eventlog_cold');
:sqlstate
SELECT eventlog.set_tiering('tr', '2 days', '30 days');
:sqlstate
SELECT eventlog.set_tiering('tr', '2 days', '30 days', 'regress_eventlog_cold', '/tmp/archive');
:sqlstate
SELECT eventlog.set_tiering('tr', NULL, '30 days', 'regress_eventlog_cold');
:sqlstate
SELECT eventlog.set_tiering('tr', '0 days');
:sqlstate
SELECT eventlog.set_tiering('tr', '2 days', '30 days', 'no_such_tablespace');
:sqlstate
SELECT eventlog.set_tiering('tr', '2 days', '30 days', archive_dir => '/tmp/archive');
:sqlstate
SELECT eventlog.set_tiering('pg_class', '2 days');
:sqlstate
SET ROLE regress_eventlog_writer;
SELECT eventlog.set_tiering('tr', '2 days');
:sqlstate
RESET ROLE;
-- NULL turns tiering off; partitions keep the tier they reached.
SELECT eventlog.set_tiering('tr', NULL);
SELECT count(*) FILTER (WHERE tier = 'cold') AS still_cold FROM eventlog.partitions('tr');

SELECT eventlog.drop_log('tr');
SELECT count(*) AS tiers_left FROM eventlog.tiers;
DROP TABLESPACE regress_eventlog_cold;
