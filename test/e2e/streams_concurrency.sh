#!/usr/bin/env bash
# Stream logs under concurrency, end to end, in a database of its own:
#  1. 8 writer sessions append to shared streams with random delays inside
#     their transactions; some transactions roll back on purpose, some lose a
#     version race (LG002) or a serialization race (40001) and retry. A
#     subscriber meanwhile polls eventlog.read_all() and commits what it sees.
#     It must see every committed event exactly once, in position order, and
#     nothing rolled back: its list equals the committed events sorted by
#     position (so no gap ever filled in behind it). A naive reader that polls
#     "position > last" without the horizon runs alongside, for contrast.
#  2. Every stream's versions are 1..n without gaps, in position order.
#  3. A projection runner is terminated (pg_terminate_backend) in the middle
#     of a batch; the checkpoint and the handler's rows stay consistent, and a
#     second runner finishes with every event applied exactly once.
# Environment: PGHOST/PGPORT/PGUSER of a running cluster (scripts/test.sh
# exports them); without PGHOST, a throwaway cluster is started via PGCLUSTER.
# STREAMS_WRITERS, STREAMS_TXNS (per writer) scale the run.
set -euo pipefail
cd "$(dirname "$0")/../.."
PGCLUSTER=${PGCLUSTER:-scripts/pgcluster.sh}
WRITERS=${STREAMS_WRITERS:-8}
TXNS=${STREAMS_TXNS:-40}
tmp=$(mktemp -d "${E2E_TMPDIR:-/tmp}/streams.XXXXXX")
own_cluster=""
db=eventlog_streams_e2e
pids=()

cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	if [ -n "$own_cluster" ]; then
		"$PGCLUSTER" stop "$own_cluster" >/dev/null 2>&1 || true
	else
		psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

fail=0
ok() { echo "ok - $*"; }
notok() { echo "not ok - $*"; fail=1; }

if [ -z "${PGHOST:-}" ]; then
	own_cluster=$tmp/pg
	eval "$("$PGCLUSTER" start "$own_cluster")"
fi
q() { psql -X -v ON_ERROR_STOP=1 -qAt -d "$db" "$@"; }

psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1
psql -X -q -d postgres -c "CREATE DATABASE $db"
q <<'SQL'
SET client_min_messages = warning;
CREATE SCHEMA partman;
CREATE EXTENSION pg_partman SCHEMA partman;
CREATE EXTENSION pg_eventlog;
GRANT CREATE, USAGE ON SCHEMA public TO eventlog_admin;
SELECT eventlog.create_stream_log('ledger', '1 month', 4, NULL, 1) \g /dev/null

-- What the subscribers saw, in the order they saw it.
CREATE TABLE seen (seq bigserial PRIMARY KEY, position bigint NOT NULL, payload jsonb NOT NULL);
CREATE TABLE seen_naive (seq bigserial PRIMARY KEY, position bigint NOT NULL);
CREATE TABLE control (stop boolean NOT NULL);
INSERT INTO control VALUES (false);

-- The subscriber: read_all after the last position seen, one transaction per poll.
CREATE PROCEDURE subscribe() LANGUAGE plpgsql AS $$
DECLARE
	v_last bigint := 0;
	v_n int;
	v_stop boolean;
	v_deadline timestamptz := clock_timestamp() + interval '5 minutes';
BEGIN
	LOOP
		SELECT stop INTO v_stop FROM control;
		WITH r AS (SELECT position, payload FROM eventlog.read_all('ledger', v_last, 500)),
			 i AS (INSERT INTO seen (position, payload) SELECT position, payload FROM r ORDER BY position RETURNING position)
		SELECT count(*), coalesce(max(position), v_last) INTO v_n, v_last FROM i;
		COMMIT;
		-- the writers are done and everything they committed was seen
		EXIT WHEN v_stop AND v_n = 0 AND v_last >= (SELECT coalesce(max(position), 0) FROM ledger);
		IF clock_timestamp() > v_deadline THEN
			RAISE EXCEPTION 'subscriber did not catch up within 5 minutes';
		END IF;
		PERFORM pg_sleep(0.005);
	END LOOP;
END
$$;

-- The naive reader: the same, without the snapshot horizon.
CREATE PROCEDURE subscribe_naive() LANGUAGE plpgsql AS $$
DECLARE
	v_last bigint := 0;
	v_n int;
	v_stop boolean;
	v_deadline timestamptz := clock_timestamp() + interval '5 minutes';
BEGIN
	LOOP
		SELECT stop INTO v_stop FROM control;
		WITH r AS (SELECT position FROM ledger WHERE position > v_last ORDER BY position LIMIT 500),
			 i AS (INSERT INTO seen_naive (position) SELECT position FROM r ORDER BY position RETURNING position)
		SELECT count(*), coalesce(max(position), v_last) INTO v_n, v_last FROM i;
		COMMIT;
		EXIT WHEN v_stop AND v_n = 0 AND v_last >= (SELECT coalesce(max(position), 0) FROM ledger);
		IF clock_timestamp() > v_deadline THEN
			RAISE EXCEPTION 'naive subscriber did not catch up within 5 minutes';
		END IF;
		PERFORM pg_sleep(0.005);
	END LOOP;
END
$$;
SQL

# One writer: TXNS transactions, each appends 1-3 events to one of 12 shared
# streams (expected version read first, or NULL), sleeping before and after
# the append; every 7th transaction rolls back on purpose. LG002 and 40001
# are retried with a new transaction.
cat >"$tmp/writer.sql" <<'SQL'
CREATE OR REPLACE PROCEDURE pg_temp.write(p_writer int, p_txns int) LANGUAGE plpgsql AS $$
DECLARE
	v_stream text;
	v_expected bigint;
	v_events jsonb;
	v_try int;
	v_retry boolean;
	v_rollback boolean;
BEGIN
	PERFORM setseed(p_writer / 100.0);
	FOR t IN 1 .. p_txns LOOP
		v_rollback := t % 7 = 0;
		v_stream := 'account-' || (floor(random() * 12))::int;
		v_events := (SELECT jsonb_agg(jsonb_build_object('event_type', 'e',
					   'payload', jsonb_build_object('writer', p_writer, 'txn', t, 'i', i, 'rollback', v_rollback)))
					   FROM generate_series(1, 1 + (floor(random() * 3))::int) i);
		v_try := 0;
		LOOP
			v_try := v_try + 1;
			v_retry := false;
			BEGIN
				PERFORM pg_sleep(random() * 0.02);
				-- half of the appends check the version they read, half accept any
				v_expected := CASE WHEN random() < 0.5 THEN eventlog.stream_version('ledger', 'acme', v_stream) END;
				PERFORM pg_sleep(random() * 0.01);
				PERFORM eventlog.append_to_stream('ledger', 'acme', v_stream, v_events, v_expected);
				-- the events are in flight while this transaction sleeps
				PERFORM pg_sleep(random() * 0.03);
				IF v_rollback THEN
					RAISE EXCEPTION USING ERRCODE = 'P0001', MESSAGE = 'planned rollback';
				END IF;
			EXCEPTION
				WHEN SQLSTATE 'LG002' OR serialization_failure THEN
					v_retry := true;
					INSERT INTO pg_temp.retries VALUES (SQLSTATE);
				WHEN SQLSTATE 'P0001' THEN
					NULL;	-- the block's subtransaction, with the events, is rolled back
			END;
			-- a retry runs in a new transaction (a new xid)
			COMMIT;
			EXIT WHEN NOT v_retry OR v_try >= 20;
		END LOOP;
	END LOOP;
END
$$;
CREATE TEMP TABLE retries (sqlstate text);
SQL

q -c "CALL subscribe()" >"$tmp/sub.log" 2>&1 &
pids+=($!)
q -c "CALL subscribe_naive()" >"$tmp/naive.log" 2>&1 &
pids+=($!)
writer_pids=()
for w in $(seq 1 "$WRITERS"); do
	{
		cat "$tmp/writer.sql"
		echo "CALL pg_temp.write($w, $TXNS);"
		echo "SELECT 'retries', sqlstate, count(*) FROM pg_temp.retries GROUP BY 2;"
	} | q >"$tmp/writer$w.log" 2>&1 &
	writer_pids+=($!)
done
wfail=0
for p in "${writer_pids[@]}"; do wait "$p" || wfail=1; done
[ $wfail = 0 ] && ok "$WRITERS writers finished $TXNS transactions each" ||
	notok "a writer failed: $(cat "$tmp"/writer*.log | grep -v '^retries' | head -5)"
q -c "UPDATE control SET stop = true"
sfail=0
for p in "${pids[@]}"; do wait "$p" || sfail=1; done
pids=()
[ $sfail = 0 ] && ok "subscribers ended cleanly" || notok "a subscriber failed: $(cat "$tmp/sub.log" "$tmp/naive.log")"
echo "# retries by sqlstate: $(cat "$tmp"/writer*.log | awk -F'|' '/^retries/ {n[$2] += $3} END {for (s in n) printf "%s=%d ", s, n[s]}')"

committed=$(q -c "SELECT count(*) FROM ledger")
[ "$committed" -gt 0 ] && ok "$committed events committed" || notok "no events committed"
n=$(q -c "SELECT count(*) FROM ledger WHERE (payload->>'rollback')::boolean")
[ "$n" = 0 ] && ok "no event of a rolled-back transaction is stored" || notok "$n events of rolled-back transactions stored"
n=$(q -c "SELECT count(*) FROM seen WHERE (payload->>'rollback')::boolean")
[ "$n" = 0 ] && ok "the subscriber saw no rolled-back event" || notok "the subscriber saw $n rolled-back events"

# The subscriber's list, in the order seen, equals every committed position in order.
read -r same seen_n dup out_of_order <<<"$(q -F ' ' -c "
	WITH s AS (SELECT row_number() OVER (ORDER BY seq) AS i, position FROM seen),
		 c AS (SELECT row_number() OVER (ORDER BY position) AS i, position FROM ledger)
	SELECT NOT EXISTS (SELECT FROM s FULL JOIN c USING (i) WHERE s.position IS DISTINCT FROM c.position),
		   (SELECT count(*) FROM seen),
		   (SELECT count(*) - count(DISTINCT position) FROM seen),
		   (SELECT count(*) FROM (SELECT position < lag(position) OVER (ORDER BY seq) AS back FROM seen) x WHERE back)")"
[ "$same" = t ] && ok "the subscriber saw all $committed committed events exactly once, in position order" ||
	notok "subscriber list differs from the committed events: seen $seen_n of $committed, $dup repeated, $out_of_order out of order"
missed=$(q -c "SELECT count(*) FROM ledger l WHERE NOT EXISTS (SELECT FROM seen_naive s WHERE s.position = l.position)")
echo "# a naive reader (position > last, no horizon) missed $missed of $committed events"

# Every stream: versions 1..n, gap-free, growing with position; heads agree.
bad=$(q -c "
	SELECT count(*) FROM (
		SELECT stream, count(*) AS n, max(version) AS maxv, count(DISTINCT version) AS distinct_v,
			   bool_and(version = rn) AS in_position_order
		  FROM (SELECT stream, version, row_number() OVER (PARTITION BY stream ORDER BY position) AS rn FROM ledger) x
		 GROUP BY stream) s
	  JOIN eventlog.stream_heads h ON h.log = 'ledger'::regclass AND h.tenant_id = 'acme' AND h.stream = s.stream
	 WHERE NOT (s.n = s.maxv AND s.distinct_v = s.n AND s.in_position_order AND h.version = s.n)")
streams=$(q -c "SELECT count(DISTINCT stream) FROM ledger")
[ "$bad" = 0 ] && ok "each of $streams streams has versions 1..n in position order, matching its head" ||
	notok "$bad streams have gaps, repeats or disorder in their versions"

# Projection killed in the middle of a batch.
q <<'SQL'
CREATE TABLE applied (position bigint NOT NULL, stream text, version bigint);
CREATE FUNCTION public.apply_slowly(e eventlog.stream_event) RETURNS void LANGUAGE sql
BEGIN ATOMIC
	SELECT pg_catalog.pg_sleep(0.002);
	INSERT INTO public.applied VALUES (e.position, e.stream, e.version);
END;
SELECT eventlog.create_projection('balances', 'ledger', 'public.apply_slowly(eventlog.stream_event)') \g /dev/null
CREATE PROCEDURE project_all(p_batch int) LANGUAGE plpgsql AS $$
BEGIN
	WHILE eventlog.run_projection('balances', p_batch) > 0 LOOP
		COMMIT;
	END LOOP;
END
$$;
SQL
PGAPPNAME=streams_projector q -c "CALL project_all(50)" >"$tmp/projector.log" 2>&1 &
projector=$!
# terminate it once it has committed a few batches and is inside the next one
killed=""
for _ in $(seq 1 200); do
	n=$(q -c "SELECT events_applied FROM eventlog.projections WHERE name = 'balances'")
	if [ "$n" -ge 100 ]; then
		killed=$(q -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'streams_projector' AND state = 'active'")
		break
	fi
	sleep 0.05
done
wait "$projector" 2>/dev/null || true
[ "$killed" = t ] && ok "projector terminated mid-run" || notok "could not terminate the projector (killed=$killed)"
grep -q 'terminating connection due to administrator command\|server closed the connection' "$tmp/projector.log" &&
	ok "the projector's session saw the termination" || notok "projector log: $(cat "$tmp/projector.log")"

read -r applied checkpoint_ok distinct <<<"$(q -F ' ' -c "
	SELECT (SELECT count(*) FROM applied),
		   (SELECT count(*) FROM applied) = (SELECT count(*) FROM ledger WHERE position <= p.position)
		   AND (SELECT count(*) FROM applied) = p.events_applied,
		   (SELECT count(DISTINCT position) FROM applied)
	  FROM eventlog.projections p WHERE p.name = 'balances'")"
[ "$checkpoint_ok" = t ] && [ "$applied" = "$distinct" ] && [ "$applied" -lt "$committed" ] &&
	ok "after the kill: $applied events applied, exactly those up to the checkpoint" ||
	notok "after the kill: applied=$applied distinct=$distinct checkpoint_consistent=$checkpoint_ok committed=$committed"

q -c "CALL project_all(500)"
read -r applied distinct same <<<"$(q -F ' ' -c "
	SELECT count(*), count(DISTINCT position),
		   NOT EXISTS (SELECT position FROM ledger EXCEPT SELECT position FROM applied)
	  FROM applied")"
[ "$applied" = "$committed" ] && [ "$distinct" = "$committed" ] && [ "$same" = t ] &&
	ok "the resumed projection applied each of the $committed events exactly once" ||
	notok "resumed projection: applied=$applied distinct=$distinct committed=$committed all_present=$same"
n=$(q -c "SELECT count(*) FROM (SELECT position < lag(position) OVER (ORDER BY ctid) AS back FROM applied) x WHERE back")
[ "$n" = 0 ] && ok "the projection applied events in position order" || notok "$n events applied out of position order"

exit $fail
