-- queries: events() with keyset pagination and filters, get_event() for
-- UUIDv7 and other ids, history(), and their errors.
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
SET intervalstyle = 'postgres';
\set sqlstate '\\echo SQLSTATE: :LAST_ERROR_SQLSTATE'

SELECT eventlog.create_log('qry', '1 hour', 2, NULL, 1);
-- A UUIDv7 with a given time and a given counter in its random bits, so that
-- the expected output can name it.
CREATE FUNCTION pg_temp.v7(ts timestamptz, n int) RETURNS uuid
LANGUAGE sql IMMUTABLE AS $$
	SELECT (lpad(to_hex((extract(epoch FROM ts) * 1000)::bigint), 12, '0') || '7000' || '8000' || lpad(to_hex(n), 12, '0'))::uuid
$$;
-- 60 events from 10:00 to 12:25 on 2024-01-01: acme has 40, globex 20; two
-- events share each received_at, so (received_at, event_id) decides their
-- order; subjects user0 .. user3; types a.even / a.odd.
SELECT eventlog.ingest('qry', jsonb_agg(jsonb_build_object(
		'event_id', pg_temp.v7(t, 100 - i), 'tenant_id', CASE WHEN i % 3 = 0 THEN 'globex' ELSE 'acme' END,
		'event_type', CASE WHEN i % 2 = 0 THEN 'a.even' ELSE 'a.odd' END, 'subject', 'user' || (i % 4),
		'payload', jsonb_build_object('i', i), 'received_at', t) ORDER BY i)) AS written
  FROM (SELECT i, timestamptz '2024-01-01 10:00:00+00' + (i / 2) * interval '5 minutes' AS t
		  FROM generate_series(1, 60) i) s;
-- One event with a random (version 4) id, and one whose UUIDv7 time is far
-- from its received_at (a producer's id for an event loaded a month later).
SELECT eventlog.ingest('qry', '[
 {"event_id": "6f1c2f3e-1d2b-4c5a-9e8f-0a1b2c3d4e5f", "tenant_id": "acme", "event_type": "v4.event", "payload": {"v": 4},
  "received_at": "2024-01-01 11:11:00+00"},
 {"event_id": "018bd9fc-1c00-7000-8000-0000000000ff", "tenant_id": "acme", "event_type": "late.event", "payload": {"late": true},
  "received_at": "2024-01-01 12:45:00+00"}]') AS written;
SELECT tenant_id, count(*) FROM qry GROUP BY 1 ORDER BY 1;

-- The first page: acme's events in [10:00, 11:00), oldest first; ties on
-- received_at ordered by event_id.
SELECT event_id, tenant_id, event_type, subject, received_at, payload
  FROM eventlog.events('qry', 'acme', '2024-01-01 10:00+00', '2024-01-01 11:00+00', max_rows => 5);
-- The next page starts after the last event_id of the previous one.
SELECT event_id, received_at, payload
  FROM eventlog.events('qry', 'acme', '2024-01-01 10:00+00', '2024-01-01 11:00+00',
					   after_event => pg_temp.v7('2024-01-01 10:15+00', 93), max_rows => 5);

-- Paging through everything, 7 rows a page, returns every row of the range
-- exactly once, in (received_at, event_id) order.
CREATE FUNCTION pg_temp.pages(p_tenant text, p_from timestamptz, p_to timestamptz, p_size int,
							  p_type text DEFAULT NULL, p_subject text DEFAULT NULL)
RETURNS TABLE (page int, n int, event_id uuid, received_at timestamptz)
LANGUAGE plpgsql AS $$
DECLARE
	v_after uuid;
	v_page int := 0;
	v_n int := 0;
	v_rows int;
	r record;
BEGIN
	LOOP
		v_page := v_page + 1;
		v_rows := 0;
		FOR r IN SELECT e.event_id, e.received_at
				   FROM eventlog.events('qry', p_tenant, p_from, p_to, p_type, p_subject, v_after, p_size) e LOOP
			v_rows := v_rows + 1;
			v_n := v_n + 1;
			page := v_page; n := v_n; event_id := r.event_id; received_at := r.received_at;
			RETURN NEXT;
			v_after := r.event_id;
		END LOOP;
		EXIT WHEN v_rows < p_size;
	END LOOP;
END
$$;
WITH paged AS (SELECT * FROM pg_temp.pages('acme', '-infinity', 'infinity', 7)),
	 direct AS (SELECT row_number() OVER (ORDER BY received_at, event_id) AS n, event_id
				  FROM qry WHERE tenant_id = 'acme')
SELECT (SELECT max(page) FROM paged) AS pages,
	   (SELECT count(*) FROM paged) AS rows,
	   (SELECT count(DISTINCT event_id) FROM paged) AS distinct_rows,
	   (SELECT count(*) FROM direct) AS rows_of_acme,
	   NOT EXISTS (SELECT FROM paged p FULL JOIN direct d ON d.n = p.n
				   WHERE p.event_id IS DISTINCT FROM d.event_id) AS same_rows_same_order;
-- A page size that divides the count: the last page is empty, nothing repeats.
SELECT max(page) AS pages, count(*) AS rows, count(DISTINCT event_id) AS distinct_rows
  FROM pg_temp.pages('globex', '-infinity', 'infinity', 5);
-- Pages with filters: only matching rows, each once.
SELECT count(*) AS rows, count(DISTINCT p.event_id) AS distinct_rows,
	   bool_and(q.event_type = 'a.even' AND q.subject = 'user2') AS all_match,
	   (SELECT count(*) FROM qry WHERE tenant_id = 'acme' AND event_type = 'a.even' AND subject = 'user2') AS expected
  FROM pg_temp.pages('acme', '-infinity', 'infinity', 3, 'a.even', 'user2') p JOIN qry q USING (event_id);

-- Filters, and the range [from_ts, to_ts): from is included, to is not.
SELECT count(*) AS events, min(received_at), max(received_at)
  FROM eventlog.events('qry', 'acme', '2024-01-01 10:05+00', '2024-01-01 10:30+00');
SELECT event_type, count(*) FROM eventlog.events('qry', 'acme', '-infinity', 'infinity', event_type => 'a.odd') GROUP BY 1;
SELECT subject, count(*) FROM eventlog.events('qry', 'globex', '-infinity', 'infinity', subject => 'user1') GROUP BY 1;
SELECT count(*) AS none FROM eventlog.events('qry', 'acme', '-infinity', 'infinity', event_type => 'no.such.type');
SELECT count(*) AS none FROM eventlog.events('qry', 'initech', '-infinity', 'infinity');
SELECT count(*) AS none FROM eventlog.events('qry', 'acme', '2024-01-01 11:00+00', '2024-01-01 11:00+00');
SELECT count(*) AS rows FROM eventlog.events('qry', 'acme', '-infinity', 'infinity', max_rows => 100000);
SELECT count(*) AS rows FROM eventlog.events('qry', 'acme', '-infinity', 'infinity', max_rows => 1);

-- get_event: a UUIDv7 is looked up around its time; a v4 id, and a v7 id
-- far from its received_at, are found by the search of every partition.
SELECT event_id, tenant_id, event_type, received_at, payload FROM eventlog.get_event('qry', pg_temp.v7('2024-01-01 11:00+00', 76));
SELECT event_id, event_type, received_at, payload FROM eventlog.get_event('qry', '6f1c2f3e-1d2b-4c5a-9e8f-0a1b2c3d4e5f');
SELECT event_id, event_type, received_at, payload FROM eventlog.get_event('qry', '018bd9fc-1c00-7000-8000-0000000000ff');
SELECT count(*) AS unknown_v7 FROM eventlog.get_event('qry', pg_temp.v7('2024-01-01 11:30+00', 4242));
SELECT count(*) AS unknown_v4 FROM eventlog.get_event('qry', gen_random_uuid());
SELECT count(*) AS null_id FROM eventlog.get_event('qry', NULL);

-- history: one subject of one tenant, oldest first; max_rows limits it.
SELECT event_id, event_type, received_at, payload->>'i' AS i FROM eventlog.history('qry', 'globex', 'user3');
SELECT payload->>'i' AS i FROM eventlog.history('qry', 'acme', 'user1', 3);
SELECT count(*) AS other_tenants_subject FROM eventlog.history('qry', 'initech', 'user1');

-- Errors.
SELECT * FROM eventlog.events('qry', 'acme', '2024-01-01 10:00+00', '2024-01-01 11:00+00',
							  after_event => '00000000-0000-4000-8000-000000000000');
:sqlstate
-- an event of another tenant (globex), or outside the range, is not a page boundary
SELECT * FROM eventlog.events('qry', 'acme', '2024-01-01 10:00+00', '2024-01-01 11:00+00',
							  after_event => pg_temp.v7('2024-01-01 10:05+00', 97));
:sqlstate
SELECT * FROM eventlog.events('qry', 'acme', '2024-01-01 10:00+00', '2024-01-01 11:00+00',
							  after_event => pg_temp.v7('2024-01-01 11:30+00', 63));
:sqlstate
SELECT * FROM eventlog.events('qry', 'acme', '-infinity', 'infinity', max_rows => 0);
:sqlstate
SELECT * FROM eventlog.events('qry', 'acme', '-infinity', 'infinity', max_rows => 100001);
:sqlstate
SELECT * FROM eventlog.events('qry', 'acme', '-infinity', 'infinity', max_rows => NULL);
:sqlstate
SELECT * FROM eventlog.events('qry', NULL, '-infinity', 'infinity');
:sqlstate
SELECT * FROM eventlog.events('qry', 'acme', NULL, 'infinity');
:sqlstate
SELECT * FROM eventlog.history('qry', 'acme', NULL);
:sqlstate
SELECT * FROM eventlog.history('qry', NULL, 'user1');
:sqlstate

SELECT eventlog.drop_log('qry');
