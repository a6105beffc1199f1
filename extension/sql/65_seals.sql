-------------------------------------------------------------------------------
-- Seals: tamper evidence for partitions that left the hot tier (doc/forget.md)
--
-- A sealed leaf has a row in eventlog.seals with its row count and a content
-- hash over every column of every event in (received_at, event_id) order;
-- each seal is chained to the previous seal of the same log. verify()
-- recomputes both, so a change made behind the extension's back (a superuser
-- with session_replication_role = replica skips the append-only triggers) is
-- named. The extension's own writers re-seal: forget() after redaction (cause
-- 'forget', with the tombstone), maintenance after rows inserted into a sealed
-- leaf through an ingest path (cause 'late rows', noted by a trigger).
-------------------------------------------------------------------------------
CREATE TABLE @extschema@.seals (
	id bigserial PRIMARY KEY,
	log regclass NOT NULL REFERENCES @extschema@.log_config (log) ON DELETE CASCADE,
	bucket int NOT NULL,
	range_from timestamptz NOT NULL,
	range_to timestamptz NOT NULL,
	row_count bigint NOT NULL,
	content_hash bytea NOT NULL,
	prev_chain bytea,			-- chain_hash of the log's previous seal
	chain_hash bytea NOT NULL,
	cause text NOT NULL CHECK (cause IN ('seal', 'forget', 'late rows')),
	tombstone uuid,
	sealed_at timestamptz NOT NULL,
	sealed_by name NOT NULL
);
CREATE INDEX ON @extschema@.seals (log, bucket, range_from, id);
COMMENT ON TABLE @extschema@.seals IS
'Hash-chained seals of partitions that left the hot tier; the newest of a (log, bucket, range) is current.';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.seals', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.seals_id_seq', '');
GRANT SELECT ON @extschema@.seals TO eventlog_admin, eventlog_reader;
GRANT INSERT ON @extschema@.seals TO eventlog_admin;
GRANT USAGE ON SEQUENCE @extschema@.seals_id_seq TO eventlog_admin;

-- Sealed leaves that took rows through an ingest path since their seal.
CREATE TABLE @extschema@.seal_amendments (
	leaf regclass PRIMARY KEY,
	first_at timestamptz NOT NULL
);
GRANT SELECT, INSERT, DELETE ON @extschema@.seal_amendments TO eventlog_admin;

-- Every leaf of a log with its bucket and time range (NULL for defaults).
CREATE FUNCTION @extschema@._leaves(p_log regclass)
RETURNS TABLE (leaf regclass, bucket int, range_from timestamptz, range_to timestamptz, is_default boolean)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT t.relid::regclass,
		   substring(pg_catalog.pg_get_expr(p.relpartbound, p.oid) FROM 'remainder ([0-9]+)')::int,
		   substring(pg_catalog.pg_get_expr(c.relpartbound, c.oid) FROM 'FROM \(''([^'']+)''\)')::timestamptz,
		   substring(pg_catalog.pg_get_expr(c.relpartbound, c.oid) FROM 'TO \(''([^'']+)''\)')::timestamptz,
		   pg_catalog.pg_get_expr(c.relpartbound, c.oid) = 'DEFAULT'
	  FROM pg_catalog.pg_partition_tree(p_log) t
	  JOIN pg_catalog.pg_class c ON c.oid = t.relid
	  JOIN pg_catalog.pg_class p ON p.oid = t.parentrelid
	 WHERE t.isleaf
$$;

-- Row count and content hash of a leaf: sha256 over the sha256 of chunks of
-- 10,000 rows, each the sha256 of the rows' text forms (every column), in
-- (received_at, event_id) order. Memory stays bounded by the chunk.
CREATE FUNCTION @extschema@._content_hash(p_leaf regclass, OUT row_count bigint, OUT content_hash bytea)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	EXECUTE format('SELECT coalesce(sum(n), 0)::bigint, sha256(coalesce(string_agg(h, ''''::bytea ORDER BY g), ''''::bytea))'
				   '  FROM (SELECT g, count(*) AS n, sha256(string_agg(rh, ''''::bytea ORDER BY rn)) AS h'
				   '          FROM (SELECT (row_number() OVER w - 1) / 10000 AS g, row_number() OVER w AS rn,'
				   '                       sha256(convert_to(x::text, ''UTF8'')) AS rh'
				   '                  FROM %s x WINDOW w AS (ORDER BY x.received_at, x.event_id)) r'
				   '         GROUP BY g) c', p_leaf)
		INTO row_count, content_hash;
END
$$;

-- The chain hash of a seal: its content and place, and the previous chain hash.
CREATE FUNCTION @extschema@._chain_hash(p_prev bytea, p_log regclass, p_bucket int, p_from timestamptz,
										p_to timestamptz, p_rows bigint, p_hash bytea, p_cause text,
										p_tombstone uuid)
RETURNS bytea
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT sha256(coalesce(p_prev, ''::bytea) || p_hash
				  || convert_to(format('|%s|%s|%s|%s|%s|%s|%s', p_log::oid, p_bucket,
									   extract(epoch FROM p_from), extract(epoch FROM p_to),
									   p_rows, p_cause, p_tombstone), 'UTF8'))
$$;

-- Notes rows inserted into a sealed leaf through an ingest path, so that
-- maintenance re-seals it. SECURITY DEFINER: writers may not write the note
-- table themselves.
CREATE FUNCTION @extschema@._note_sealed_insert()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	INSERT INTO @extschema@.seal_amendments (leaf, first_at) VALUES (TG_RELID, now())
	ON CONFLICT (leaf) DO NOTHING;
	RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION @extschema@._note_sealed_insert() FROM PUBLIC;
-- Sealing (as eventlog_admin) creates the trigger: that needs EXECUTE.
GRANT EXECUTE ON FUNCTION @extschema@._note_sealed_insert() TO eventlog_admin;

-- Seals (or re-seals) one leaf; runs as eventlog_admin with the append-only
-- bypass. SHARE lock: waits for inserts in flight, so that none commits into
-- the leaf after its rows were hashed, and holds new ones until commit.
CREATE FUNCTION @extschema@._seal_partition(p_log regclass, p_leaf regclass, p_cause text DEFAULT 'seal',
											p_tombstone uuid DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	v_leaf record;
	v_hash record;
	v_prev bytea;
BEGIN
	SELECT * INTO v_leaf FROM @extschema@._leaves(p_log) l WHERE l.leaf = p_leaf AND NOT l.is_default;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'relation "%" is not a time partition of log %', p_leaf, p_log USING ERRCODE = '42809';
	END IF;
	EXECUTE format('LOCK TABLE %s IN SHARE MODE', p_leaf);
	-- One sealer per log at a time keeps the chain a chain.
	PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended('eventlog.seals/' || p_log::oid, 11));
	v_hash := @extschema@._content_hash(p_leaf);
	SELECT s.chain_hash INTO v_prev FROM @extschema@.seals s WHERE s.log = p_log ORDER BY s.id DESC LIMIT 1;
	INSERT INTO @extschema@.seals (log, bucket, range_from, range_to, row_count, content_hash, prev_chain,
								   chain_hash, cause, tombstone, sealed_at, sealed_by)
	VALUES (p_log, v_leaf.bucket, v_leaf.range_from, v_leaf.range_to, v_hash.row_count, v_hash.content_hash,
			v_prev,
			@extschema@._chain_hash(v_prev, p_log, v_leaf.bucket, v_leaf.range_from, v_leaf.range_to,
									v_hash.row_count, v_hash.content_hash, p_cause, p_tombstone),
			p_cause, p_tombstone, clock_timestamp(), session_user);
	IF NOT EXISTS (SELECT FROM pg_catalog.pg_trigger
					WHERE tgrelid = p_leaf AND tgname = 'eventlog_sealed_insert') THEN
		EXECUTE format('CREATE TRIGGER eventlog_sealed_insert AFTER INSERT ON %s'
					   ' FOR EACH ROW EXECUTE FUNCTION @extschema@._note_sealed_insert()', p_leaf);
	END IF;
	DELETE FROM @extschema@.seal_amendments a WHERE a.leaf = p_leaf;
END
$$;

-- Whether a leaf of a log has a seal.
CREATE FUNCTION @extschema@._is_sealed(p_log regclass, p_leaf regclass)
RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT EXISTS (SELECT FROM @extschema@._leaves(p_log) l
					 JOIN @extschema@.seals s ON s.log = p_log AND s.bucket = l.bucket
											 AND s.range_from = l.range_from AND s.range_to = l.range_to
					WHERE l.leaf = p_leaf)
$$;

-- Maintenance step: seals the leaves that left the hot tier (their range
-- ended more than warm_after ago, or one partition interval when no tiering
-- is set) and re-seals those that took rows since; returns how many.
CREATE FUNCTION @extschema@._seal_due(p_log regclass)
RETURNS int
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	v record;
	v_n int := 0;
BEGIN
	FOR v IN
		SELECT l.leaf, a.leaf IS NOT NULL AS amended,
			   EXISTS (SELECT FROM @extschema@.seals s
						WHERE s.log = p_log AND s.bucket = l.bucket
						  AND s.range_from = l.range_from AND s.range_to = l.range_to) AS sealed
		  FROM @extschema@._leaves(p_log) l
		  JOIN @extschema@.log_config c ON c.log = p_log
		  LEFT JOIN @extschema@.seal_amendments a ON a.leaf = l.leaf
		 WHERE NOT l.is_default
		   AND l.range_to <= now() - coalesce(c.warm_after, c.partition_interval)
		 ORDER BY l.range_from, l.bucket
	LOOP
		IF NOT v.sealed THEN
			PERFORM @extschema@._seal_partition(p_log, v.leaf, 'seal');
			v_n := v_n + 1;
		ELSIF v.amended THEN
			PERFORM @extschema@._seal_partition(p_log, v.leaf, 'late rows');
			v_n := v_n + 1;
		END IF;
	END LOOP;
	RETURN v_n;
END
$$;

CREATE FUNCTION @extschema@.verify(log regclass, from_ts timestamptz DEFAULT '-infinity',
								   to_ts timestamptz DEFAULT 'infinity')
RETURNS TABLE (partition regclass, ok boolean, detail text)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	v record;
	v_hash record;
	v_prev bytea;
	v_broken bigint;
BEGIN
	PERFORM @extschema@._require_log(verify.log);
	IF from_ts IS NULL OR to_ts IS NULL THEN
		RAISE EXCEPTION 'from_ts and to_ts must not be null' USING ERRCODE = '22004';
	END IF;
	-- The chain: each seal's chain hash from its content and the one before.
	FOR v IN SELECT s.* FROM @extschema@.seals s WHERE s.log = verify.log ORDER BY s.id LOOP
		IF v.prev_chain IS DISTINCT FROM v_prev
		   OR v.chain_hash <> @extschema@._chain_hash(v_prev, v.log, v.bucket, v.range_from, v.range_to,
													  v.row_count, v.content_hash, v.cause, v.tombstone) THEN
			v_broken := v.id;
			EXIT;
		END IF;
		v_prev := v.chain_hash;
	END LOOP;
	IF v_broken IS NOT NULL THEN
		partition := NULL;
		ok := false;
		detail := format('the chain of seals is broken at seal %s: eventlog.seals was changed', v_broken);
		RETURN NEXT;
	END IF;
	-- Each sealed leaf in the range against its newest seal.
	FOR v IN
		SELECT DISTINCT ON (l.leaf) l.leaf, l.range_from, l.range_to, s.row_count, s.content_hash, s.cause,
			   s.sealed_at, s.tombstone, a.leaf IS NOT NULL AS amended
		  FROM @extschema@._leaves(verify.log) l
		  JOIN @extschema@.seals s ON s.log = verify.log AND s.bucket = l.bucket
								  AND s.range_from = l.range_from AND s.range_to = l.range_to
		  LEFT JOIN @extschema@.seal_amendments a ON a.leaf = l.leaf
		 WHERE l.range_to > from_ts AND l.range_from < to_ts
		 ORDER BY l.leaf, s.id DESC
	LOOP
		v_hash := @extschema@._content_hash(v.leaf);
		partition := v.leaf;
		ok := v_hash.row_count = v.row_count AND v_hash.content_hash = v.content_hash;
		IF ok THEN
			detail := format('%s events as sealed at %s (%s%s)', v.row_count, v.sealed_at, v.cause,
							 CASE WHEN v.tombstone IS NOT NULL THEN ', tombstone ' || v.tombstone ELSE '' END);
		ELSIF v.amended THEN
			detail := format('%s events, %s when sealed; rows were added through an ingest path since:'
							 ' run eventlog.run_maintenance() to re-seal, then verify again',
							 v_hash.row_count, v.row_count);
		ELSE
			detail := format('changed behind the extension''s back: %s events, %s when sealed at %s;'
							 ' the content differs from the seal', v_hash.row_count, v.row_count, v.sealed_at);
		END IF;
		RETURN NEXT;
	END LOOP;
END
$$;
COMMENT ON FUNCTION @extschema@.verify(regclass, timestamptz, timestamptz) IS
'Recomputes the seals of the sealed partitions in [from_ts, to_ts) and their chain; names any that changed behind the extension''s back.';

-- verify() reads every sealed row: readers of all tenants' rows and admins.
REVOKE ALL ON FUNCTION @extschema@.verify(regclass, timestamptz, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.verify(regclass, timestamptz, timestamptz) TO eventlog_admin;
-- Internal bodies: run as eventlog_admin by maintenance and forget().
REVOKE ALL ON FUNCTION @extschema@._seal_partition(regclass, regclass, text, uuid) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@._seal_due(regclass) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@._seal_partition(regclass, regclass, text, uuid) TO eventlog_admin;
GRANT EXECUTE ON FUNCTION @extschema@._seal_due(regclass) TO eventlog_admin;
