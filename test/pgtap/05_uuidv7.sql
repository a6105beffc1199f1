-- UUIDv7 as a property: 10,000 ids made in a row by one backend are
-- distinct, version 7 with the RFC 9562 variant, strictly increasing in call
-- order, and carry the time of their call (to the millisecond).
BEGIN;
SELECT plan(9);

CREATE TEMP TABLE ids AS
SELECT n, clock_timestamp() AS before, eventlog.uuidv7() AS id, clock_timestamp() AS after
  FROM generate_series(1, 10000) n;

SELECT is((SELECT count(*)::int FROM ids), 10000, '10,000 ids');
SELECT is((SELECT count(DISTINCT id)::int FROM ids), 10000, 'all distinct');
SELECT is_empty($$SELECT id FROM ids WHERE substr(id::text, 15, 1) <> '7'$$, 'all version 7');
SELECT is_empty($$SELECT id FROM ids WHERE substr(id::text, 20, 1) NOT IN ('8', '9', 'a', 'b')$$, 'all with variant 10');
SELECT is_empty($$SELECT n FROM (SELECT n, id, lag(id) OVER (ORDER BY n) AS prev FROM ids) s WHERE id <= prev$$,
				'strictly increasing in call order');
SELECT is_empty($$SELECT n FROM (SELECT n, eventlog.uuidv7_time(id) AS t, lag(eventlog.uuidv7_time(id)) OVER (ORDER BY n) AS prev FROM ids) s
				  WHERE t < prev$$, 'their times never go back');
SELECT is_empty($$SELECT n FROM ids WHERE eventlog.uuidv7_time(id) < date_trunc('milliseconds', before)
							 OR eventlog.uuidv7_time(id) > after + interval '1 millisecond'$$,
				'each carries the time of its call');
SELECT cmp_ok((SELECT count(DISTINCT eventlog.uuidv7_time(id))::int FROM ids), '<', 10000,
			  'many ids share a millisecond (and still sort in call order)');
-- Ids for given times sort by those times, whatever the call order.
CREATE TEMP TABLE given AS
SELECT t, eventlog.uuidv7(t) AS id
  FROM (SELECT DISTINCT date_trunc('milliseconds', timestamptz '2020-01-01+00' + (random() * 1e11) * interval '1 ms') AS t
		  FROM generate_series(1, 1000)) r;
SELECT is_empty($$SELECT 1 FROM (SELECT t, lag(t) OVER (ORDER BY id) AS prev_t FROM given) q WHERE t <= prev_t$$,
				'ids for given times, made in random order, sort by those times');
SELECT * FROM finish();
ROLLBACK;
