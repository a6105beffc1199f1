-- webhooks: 273 real GitHub webhook deliveries (../shared/data/
-- github-webhooks.ndjson, in the event envelope) go in through ingest() and
-- through copy_in(..., 'ndjson') and come back out of events() and
-- get_event() equal to the input (jsonb equality), with the counts per
-- tenant of the file.
--
-- The file is read by the server (pg_read_file, as superuser), so its path
-- must be absolute: the directory comes from the environment variable
-- EVENTLOG_DATA_DIR, else it is ../shared/data next to the directory that
-- make installcheck runs in (the repository's root).
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
SET intervalstyle = 'postgres';
\set sqlstate '\\echo SQLSTATE: :LAST_ERROR_SQLSTATE'
\getenv data_dir EVENTLOG_DATA_DIR
\if :{?data_dir}
\else
\set data_dir `pwd` '/../shared/data'
\endif
\set webhooks :data_dir '/github-webhooks.ndjson'

-- The file, one event per line.
CREATE TEMP TABLE wh AS
SELECT n AS line, l::jsonb AS ev
  FROM regexp_split_to_table(pg_read_file(:'webhooks'), E'\n') WITH ORDINALITY AS t(l, n)
 WHERE l <> '';
SELECT count(*) AS events, count(DISTINCT ev->>'event_id') AS ids, count(DISTINCT ev->>'tenant_id') AS tenants,
	   count(*) FILTER (WHERE ev->'subject' = 'null') AS without_subject,
	   max(octet_length((ev->'payload')::text)) > 20000 AS has_payloads_over_20kb
  FROM wh;

SELECT eventlog.create_log('wh_ingest', '1 day', 4, NULL, 1);
SELECT eventlog.create_log('wh_copy', '1 day', 4, NULL, 1);

-- In through ingest(), as one batch in file order, and through copy_in().
SELECT eventlog.ingest('wh_ingest', (SELECT jsonb_agg(ev ORDER BY line) FROM wh)) AS ingested;
SELECT eventlog.copy_in('wh_copy', pg_read_binary_file(:'webhooks'), 'ndjson') AS copied;

-- Counts per tenant equal the file's.
SELECT f.tenant_id, f.events AS in_file, i.events AS via_ingest, c.events AS via_copy_in
  FROM (SELECT ev->>'tenant_id' AS tenant_id, count(*) AS events FROM wh GROUP BY 1) f
  LEFT JOIN (SELECT tenant_id, count(*) AS events FROM wh_ingest GROUP BY 1) i USING (tenant_id)
  LEFT JOIN (SELECT tenant_id, count(*) AS events FROM wh_copy GROUP BY 1) c USING (tenant_id)
 ORDER BY f.tenant_id;

-- Out through get_event(): every event, every field equal to the input.
SELECT l.log, count(*) AS found,
	   count(*) FILTER (WHERE g.payload = w.ev->'payload') AS payload_equal,
	   count(*) FILTER (WHERE g.tenant_id = w.ev->>'tenant_id' AND g.event_type = w.ev->>'event_type'
						AND g.subject IS NOT DISTINCT FROM w.ev->>'subject') AS envelope_equal,
	   count(*) FILTER (WHERE g.schema_version = 1 AND g.metadata IS NULL AND g.occurred_at IS NULL) AS defaults
  FROM (VALUES ('wh_ingest'::regclass), ('wh_copy'::regclass)) AS l(log)
 CROSS JOIN wh w
 CROSS JOIN LATERAL eventlog.get_event(l.log, (w.ev->>'event_id')::uuid) g
 GROUP BY l.log ORDER BY l.log::text;

-- Out through events(), tenant by tenant: the same set, nothing more.
CREATE TEMP TABLE out_events AS
SELECT l.log, e.*
  FROM (VALUES ('wh_ingest'::regclass), ('wh_copy'::regclass)) AS l(log)
 CROSS JOIN (SELECT DISTINCT ev->>'tenant_id' AS tenant_id FROM wh) t
 CROSS JOIN LATERAL eventlog.events(l.log, t.tenant_id, '-infinity', 'infinity', max_rows => 100000) e;
SELECT l.log,
	   (SELECT count(*) FROM out_events o WHERE o.log = l.log) AS returned,
	   (SELECT count(*) FROM out_events o JOIN wh w ON (w.ev->>'event_id')::uuid = o.event_id
		 WHERE o.log = l.log AND o.payload = w.ev->'payload' AND o.tenant_id = w.ev->>'tenant_id') AS equal_to_file,
	   (SELECT count(*) FROM wh w WHERE NOT EXISTS (
			SELECT FROM out_events o WHERE o.log = l.log AND o.event_id = (w.ev->>'event_id')::uuid)) AS missing
  FROM (VALUES ('wh_ingest'::regclass), ('wh_copy'::regclass)) AS l(log) ORDER BY l.log::text;
-- Loading the file again writes nothing: the event_ids are stored.
SELECT eventlog.ingest('wh_ingest', (SELECT jsonb_agg(ev ORDER BY line) FROM wh)) AS ingested_again;
SELECT eventlog.copy_in('wh_copy', pg_read_binary_file(:'webhooks'), 'ndjson') AS copied_again;
SELECT (SELECT count(*) FROM wh_ingest) AS wh_ingest_rows, (SELECT count(*) FROM wh_copy) AS wh_copy_rows;

SELECT eventlog.drop_log('wh_ingest');
SELECT eventlog.drop_log('wh_copy');
