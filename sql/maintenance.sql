-- maintenance: run_maintenance() (one row per log, recorded in
-- maintenance_runs; premake; rows that plain INSERT/COPY left in default
-- partitions moved out), set_retention() (whole partitions dropped, never a
-- DELETE), set_dedup_window(), and their errors.
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
SET intervalstyle = 'postgres';
\set sqlstate '\\echo SQLSTATE: :LAST_ERROR_SQLSTATE'

SELECT eventlog.create_log('mnt', '1 day', 2, NULL, 2);
CREATE SCHEMA ev_mnt;
GRANT CREATE, USAGE ON SCHEMA ev_mnt TO eventlog_admin;
SELECT eventlog.create_log('ev_mnt.other', '1 hour', 2, NULL, 1);
SELECT eventlog.ingest('mnt', '[
 {"event_id": "00000000-0000-4000-8000-0000000000f1", "tenant_id": "acme", "event_type": "now", "payload": {"n": 1}},
 {"event_id": "00000000-0000-4000-8000-0000000000f2", "tenant_id": "globex", "event_type": "now", "payload": {"n": 2}}]') AS written;

-- One row per log, each run recorded.
SELECT log, rows_moved, partitions_after >= partitions_before AS none_lost, duration >= interval '0' AS timed
  FROM eventlog.run_maintenance() ORDER BY log::text;
SELECT log, rows_moved, finished_at >= started_at AS timed, partitions_after >= partitions_before AS none_lost
  FROM eventlog.maintenance_runs WHERE log IN ('mnt'::regclass, 'ev_mnt.other'::regclass) ORDER BY id;
SELECT log, rows_moved FROM eventlog.run_maintenance('ev_mnt.other');
SELECT log, count(*) AS runs FROM eventlog.maintenance_runs
 WHERE log IN ('mnt'::regclass, 'ev_mnt.other'::regclass) GROUP BY log ORDER BY log::text;
-- Premake: every bucket has a partition for the time of the last run +
-- premake intervals.
SELECT bucket, bool_or(r.t + interval '2 days' >= range_from AND r.t + interval '2 days' < range_to) AS has_premade
  FROM eventlog.partitions('mnt'),
	   (SELECT max(started_at) AS t FROM eventlog.maintenance_runs WHERE log = 'mnt'::regclass) r
 GROUP BY bucket ORDER BY bucket;
SELECT bucket, bool_or(r.t + interval '1 hour' >= range_from AND r.t + interval '1 hour' < range_to) AS has_premade
  FROM eventlog.partitions('ev_mnt.other'),
	   (SELECT max(started_at) AS t FROM eventlog.maintenance_runs WHERE log = 'ev_mnt.other'::regclass) r
 GROUP BY bucket ORDER BY bucket;

-- Plain INSERT and COPY do not move rows themselves: history and a time far
-- ahead land in the default partitions, and partitions() shows them.
INSERT INTO mnt (event_id, tenant_id, event_type, payload, received_at) VALUES
 ('00000000-0000-4000-8000-000000000101', 'acme', 'old', '{"n": 101}', '2024-02-10 08:00:00+00'),
 ('00000000-0000-4000-8000-000000000102', 'globex', 'old', '{"n": 102}', '2024-02-10 09:00:00+00'),
 ('00000000-0000-4000-8000-000000000103', 'acme', 'old', '{"n": 103}', '2024-02-11 10:00:00+00');
COPY mnt (event_id, tenant_id, event_type, payload, received_at) FROM STDIN;
00000000-0000-4000-8000-000000000104	globex	old	{"n": 104}	2024-02-11 11:00:00+00
00000000-0000-4000-8000-000000000105	acme	old	{"n": 105}	2024-02-12 12:00:00+00
\.
INSERT INTO mnt (event_id, tenant_id, event_type, payload, received_at)
VALUES ('00000000-0000-4000-8000-000000000106', 'globex', 'ahead', '{"n": 106}', now() + interval '20 days');
SELECT bucket, rows AS rows_in_default FROM eventlog.partitions('mnt') WHERE is_default ORDER BY bucket;
CREATE TEMP TABLE content_before AS
SELECT md5(string_agg(event_id::text || tenant_id || event_type || payload::text || received_at::text, ',' ORDER BY event_id)) AS digest,
	   count(*) AS n
  FROM mnt;
-- run_maintenance (as a member of eventlog_admin, not a superuser) moves
-- them into partitions made for them, and does not fail on the row ahead
-- (pg_partman's "updated partition constraint for default partition would
-- be violated").
SET ROLE regress_eventlog_admin;
SELECT log, rows_moved FROM eventlog.run_maintenance('mnt');
RESET ROLE;
SELECT log, rows_moved FROM eventlog.maintenance_runs WHERE log = 'mnt'::regclass ORDER BY id DESC LIMIT 1;
SELECT bucket, rows AS rows_in_default FROM eventlog.partitions('mnt') WHERE is_default ORDER BY bucket;
SELECT partition, rows FROM eventlog.partitions('mnt') WHERE range_from < '2025-01-01' ORDER BY partition::text;
SELECT count(*) AS partitions_ahead, sum(rows) AS rows
  FROM eventlog.partitions('mnt') WHERE range_from > now() + interval '19 days';
-- The same rows, unchanged.
SELECT b.n = count(*) AS same_count,
	   b.digest = md5(string_agg(event_id::text || tenant_id || event_type || payload::text || received_at::text, ',' ORDER BY event_id)) AS same_rows
  FROM mnt, content_before b GROUP BY b.n, b.digest;
-- The subject index (history, forget) is built on each leaf whose range has
-- passed, and on no open leaf, where it would slow ingest.
SELECT count(*) FILTER (WHERE p.range_to <= now()) > 0 AS some_closed,
	   count(*) FILTER (WHERE p.range_to > now()) > 0 AS some_open,
	   bool_and((p.range_to <= now()) = EXISTS (SELECT FROM pg_index i WHERE i.indrelid = p.partition
												 AND i.indpred IS NOT NULL)) AS subject_index_iff_closed
  FROM eventlog.partitions('mnt') p WHERE NOT p.is_default;
-- Nothing left to do on the next run.
SELECT log, rows_moved FROM eventlog.run_maintenance('mnt');

-- Retention: set_retention then run_maintenance drops the partitions past
-- it, whole; the rows of the partitions it keeps stay, none deleted.
SELECT eventlog.set_retention('mnt', '30 days');
SELECT name, retention FROM eventlog.logs WHERE log = 'mnt'::regclass;
SELECT parent_table, retention, retention_keep_table FROM partman.part_config WHERE parent_table LIKE 'public.mnt\_%' ORDER BY 1;
CREATE TEMP TABLE kept_before AS
SELECT md5(string_agg(event_id::text || payload::text, ',' ORDER BY event_id)) AS digest, count(*) AS n
  FROM mnt WHERE received_at >= now() - interval '30 days';
SELECT log, rows_moved, partitions_after < partitions_before AS dropped_some FROM eventlog.run_maintenance('mnt');
SELECT count(*) AS partitions_older_than_retention FROM eventlog.partitions('mnt') WHERE range_to < now() - interval '30 days';
SELECT to_regclass('mnt_b1_p2024_02_10') AS dropped_partition;
SELECT count(*) AS old_rows FROM mnt WHERE received_at < now() - interval '30 days';
SELECT k.n = count(*) AS kept_count,
	   k.digest = md5(string_agg(event_id::text || payload::text, ',' ORDER BY event_id)) AS kept_rows
  FROM mnt, kept_before k GROUP BY k.n, k.digest;
-- No DELETE ran on any time partition: only the defaults lost rows (the
-- rows moved out of them above).
SELECT pg_stat_force_next_flush();
SELECT p.is_default, sum(s.n_tup_del) AS rows_deleted
  FROM eventlog.partitions('mnt') p JOIN pg_stat_user_tables s ON s.relid = p.partition
 GROUP BY p.is_default ORDER BY p.is_default;
-- NULL: keep forever.
SELECT eventlog.set_retention('mnt', NULL);
SELECT name, retention FROM eventlog.logs WHERE log = 'mnt'::regclass;
SELECT count(*) AS buckets_without_retention FROM partman.part_config WHERE parent_table LIKE 'public.mnt\_%' AND retention IS NULL;

-- The dedup window: a setting of the log, used by the next call (in this
-- session too, which has used the log already).
SELECT eventlog.ingest('mnt', '[{"event_id": "00000000-0000-4000-8000-0000000000f1", "tenant_id": "acme", "event_type": "now", "payload": {}}]') AS written_24h_window;
SELECT eventlog.set_dedup_window('mnt', '0');
SELECT name, dedup_window FROM eventlog.logs WHERE log = 'mnt'::regclass;
SELECT eventlog.ingest('mnt', '[{"event_id": "00000000-0000-4000-8000-0000000000f1", "tenant_id": "acme", "event_type": "now", "payload": {}}]') AS written_no_window;
SELECT eventlog.append('mnt', 'globex', 'now', '{}', event_id => '00000000-0000-4000-8000-0000000000f2') IS NOT NULL AS appended;
SELECT tenant_id, count(*) AS copies FROM mnt
 WHERE event_id IN ('00000000-0000-4000-8000-0000000000f1', '00000000-0000-4000-8000-0000000000f2') GROUP BY 1 ORDER BY 1;
SELECT eventlog.set_dedup_window('mnt', '1 hour');
SELECT eventlog.ingest('mnt', '[{"event_id": "00000000-0000-4000-8000-0000000000f1", "tenant_id": "acme", "event_type": "now", "payload": {}}]') AS written_1h_window;
-- A new session reads the setting as well.
\c
SET intervalstyle = 'postgres';
\set sqlstate '\\echo SQLSTATE: :LAST_ERROR_SQLSTATE'
SELECT eventlog.set_dedup_window('mnt', '0');
SELECT eventlog.ingest('mnt', '[{"event_id": "00000000-0000-4000-8000-0000000000f1", "tenant_id": "acme", "event_type": "now", "payload": {}}]') AS written_no_window;
SELECT eventlog.set_dedup_window('mnt', '24 hours');

-- Errors.
SELECT eventlog.set_retention('mnt', '-1 day');
:sqlstate
SELECT eventlog.set_retention('mnt', '0');
:sqlstate
SELECT eventlog.set_dedup_window('mnt', '-1 second');
:sqlstate
SELECT eventlog.set_dedup_window('mnt', NULL);
:sqlstate
CREATE TABLE not_a_log (id int);
SELECT eventlog.set_retention('not_a_log', '1 day');
:sqlstate
SELECT eventlog.set_dedup_window('not_a_log', '1 day');
:sqlstate
SELECT * FROM eventlog.run_maintenance('not_a_log');
:sqlstate
DROP TABLE not_a_log;
SET ROLE regress_eventlog_writer;
SELECT * FROM eventlog.run_maintenance();
:sqlstate
SELECT eventlog.set_retention('mnt', '1 day');
:sqlstate
SELECT eventlog.set_dedup_window('mnt', '1 day');
:sqlstate
RESET ROLE;
-- ... and the C entry point checks again when EXECUTE is granted by mistake.
BEGIN;
GRANT EXECUTE ON FUNCTION eventlog.run_maintenance(regclass) TO eventlog_writer;
SET ROLE regress_eventlog_writer;
SELECT * FROM eventlog.run_maintenance();
:sqlstate
ROLLBACK;
SELECT name, retention, dedup_window FROM eventlog.logs ORDER BY name;

SELECT eventlog.drop_log('mnt');
SELECT eventlog.drop_log('ev_mnt.other');
DROP SCHEMA ev_mnt;
