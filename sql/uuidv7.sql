-- uuidv7: eventlog.uuidv7(ts) and eventlog.uuidv7_time(uuid) (RFC 9562).
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
SET intervalstyle = 'postgres';
\set sqlstate '\\echo SQLSTATE: :LAST_ERROR_SQLSTATE'

-- Version 7 in the 13th hex digit, variant 10 (8, 9, a or b) in the 17th.
SELECT substr(u::text, 15, 1) AS version, substr(u::text, 20, 1) IN ('8', '9', 'a', 'b') AS rfc_variant
  FROM (SELECT eventlog.uuidv7() AS u) s;
SELECT count(*) AS ids,
	   count(DISTINCT u) AS distinct_ids,
	   bool_and(substr(u::text, 15, 1) = '7') AS all_version_7,
	   bool_and(substr(u::text, 20, 1) IN ('8', '9', 'a', 'b')) AS all_rfc_variant
  FROM (SELECT eventlog.uuidv7() AS u FROM generate_series(1, 2000)) s;

-- Consecutive ids of one backend sort in call order, even within one millisecond.
WITH ids AS (SELECT n, eventlog.uuidv7() AS u FROM generate_series(1, 5000) n)
SELECT count(*) AS pairs, bool_and(u > prev) AS strictly_increasing
  FROM (SELECT u, lag(u) OVER (ORDER BY n) AS prev FROM ids) s
 WHERE prev IS NOT NULL;

-- The default is clock_timestamp(): the id carries the time of the call.
SELECT eventlog.uuidv7_time(eventlog.uuidv7()) BETWEEN date_trunc('milliseconds', clock_timestamp()) - interval '1 second'
													AND clock_timestamp() AS carries_call_time;

-- An explicit time: the 48-bit prefix is its Unix time in milliseconds ...
SELECT replace(left(eventlog.uuidv7('2024-01-01 10:30:00.123456+00')::text, 13), '-', '') AS unix_ms_hex,
	   lpad(to_hex((extract(epoch FROM timestamptz '2024-01-01 10:30:00.123+00') * 1000)::bigint), 12, '0') AS expected;
-- ... and uuidv7_time() gives it back at millisecond precision.
SELECT eventlog.uuidv7_time(eventlog.uuidv7('2024-01-01 10:30:00.123456+00')) AS round_trip;
SELECT count(*) AS times,
	   bool_and(eventlog.uuidv7_time(eventlog.uuidv7(t)) = date_trunc('milliseconds', t)) AS all_round_trip
  FROM (SELECT timestamptz '2021-03-04 05:06:07.891+00' + i * interval '1 day 7 hours 3.217891 seconds' AS t
		  FROM generate_series(0, 499) i) s;
-- Later times give larger ids.
SELECT eventlog.uuidv7('2024-01-01 00:00:00+00') < eventlog.uuidv7('2024-01-01 00:00:00.001+00') AS ms_later_sorts_after,
	   eventlog.uuidv7('2030-06-01+00') > eventlog.uuidv7('2024-01-01+00') AS years_later_sorts_after;

-- Other versions and variants carry no time: NULL.
SELECT eventlog.uuidv7_time(gen_random_uuid()) IS NULL AS v4_is_null,
	   eventlog.uuidv7_time('8798f30c-66c3-574d-a953-f4cfa7e01c45') IS NULL AS v5_is_null,
	   eventlog.uuidv7_time('018cc492-bc5b-7000-0000-000000000000') IS NULL AS v7_with_wrong_variant_is_null,
	   eventlog.uuidv7_time('018cc492-bc5b-7000-8000-000000000000') AS v7_hand_made,
	   eventlog.uuidv7_time(NULL) IS NULL AS null_is_null;

-- Errors: infinite times have no UUIDv7.
SELECT eventlog.uuidv7('infinity');
:sqlstate
SELECT eventlog.uuidv7('-infinity');
:sqlstate
