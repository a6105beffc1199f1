-------------------------------------------------------------------------------
-- Storage tiers (doc/tiers.md)
--
-- hot:  the partition's range ended less than warm_after ago (or is open);
-- warm: compacted for reading: rewritten in (tenant_id, received_at) order
--       (CLUSTER on the tenant index), payloads over PostgreSQL's TOAST
--       threshold compressed with lz4, statistics refreshed; sealed;
-- cold: past cold_after, moved with its indexes to cold_tablespace.
-- A tier change rewrites or moves a partition without changing any value, so
-- its seal still verifies. Tiers are kept by (log, bucket, range), like seals.
-------------------------------------------------------------------------------
CREATE TABLE @extschema@.tiers (
	log regclass NOT NULL REFERENCES @extschema@.log_config (log) ON DELETE CASCADE,
	bucket int NOT NULL,
	range_from timestamptz NOT NULL,
	range_to timestamptz NOT NULL,
	tier text NOT NULL CHECK (tier IN ('warm', 'cold')),
	changed_at timestamptz NOT NULL,
	PRIMARY KEY (log, bucket, range_from)
);
COMMENT ON TABLE @extschema@.tiers IS 'The tier of each partition past the hot tier.';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.tiers', '');
GRANT SELECT ON @extschema@.tiers TO eventlog_reader;
GRANT SELECT, INSERT, UPDATE, DELETE ON @extschema@.tiers TO eventlog_admin;

CREATE FUNCTION @extschema@.set_tiering(log regclass, warm_after interval, cold_after interval DEFAULT NULL,
										cold_tablespace name DEFAULT NULL, archive_dir text DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	PERFORM @extschema@._require_log(set_tiering.log);
	IF warm_after IS NULL AND cold_after IS NOT NULL THEN
		RAISE EXCEPTION 'cold_after needs warm_after' USING ERRCODE = '22023';
	END IF;
	IF warm_after IS NOT NULL AND warm_after <= interval '0' THEN
		RAISE EXCEPTION 'warm_after must be positive: %', warm_after USING ERRCODE = '22023';
	END IF;
	IF cold_after IS NOT NULL AND cold_after <= warm_after THEN
		RAISE EXCEPTION 'cold_after (%) must be longer than warm_after (%)', cold_after, warm_after
			USING ERRCODE = '22023';
	END IF;
	IF cold_after IS NOT NULL AND (cold_tablespace IS NULL) = (archive_dir IS NULL) THEN
		RAISE EXCEPTION 'cold_after needs exactly one of cold_tablespace and archive_dir' USING ERRCODE = '22023';
	END IF;
	IF cold_after IS NULL AND (cold_tablespace IS NOT NULL OR archive_dir IS NOT NULL) THEN
		RAISE EXCEPTION 'cold_tablespace and archive_dir need cold_after' USING ERRCODE = '22023';
	END IF;
	IF cold_tablespace IS NOT NULL THEN
		IF NOT EXISTS (SELECT FROM pg_catalog.pg_tablespace t WHERE t.spcname = cold_tablespace) THEN
			RAISE EXCEPTION 'tablespace "%" does not exist', cold_tablespace USING ERRCODE = '42704';
		END IF;
		IF NOT pg_catalog.has_tablespace_privilege('eventlog_admin', cold_tablespace, 'CREATE') THEN
			RAISE EXCEPTION 'eventlog_admin may not create relations in tablespace "%"', cold_tablespace
				USING ERRCODE = '42501',
					  HINT = format('GRANT CREATE ON TABLESPACE %I TO eventlog_admin;', cold_tablespace);
		END IF;
	END IF;
	IF archive_dir IS NOT NULL THEN
		RAISE EXCEPTION 'archive_dir is not supported yet' USING ERRCODE = '0A000',
			HINT = 'Use cold_tablespace for the cold tier.';
	END IF;
	UPDATE @extschema@.log_config c
	   SET warm_after = set_tiering.warm_after, cold_after = set_tiering.cold_after,
		   cold_tablespace = set_tiering.cold_tablespace, archive_dir = set_tiering.archive_dir
	 WHERE c.log = set_tiering.log;
END
$$;
COMMENT ON FUNCTION @extschema@.set_tiering(regclass, interval, interval, name, text) IS
'Sets when partitions become warm (compacted, sealed) and cold (moved to a cheaper tablespace); NULL turns a tier off.';

-- Maintenance step: moves each partition to the tier its age calls for;
-- returns {"compacted": n, "moved": n}. One partition at a time, each under
-- its own ACCESS EXCLUSIVE lock (a closed partition: late rows and readers of
-- that range wait for its rewrite; ingest of current events does not).
CREATE FUNCTION @extschema@._maintain_tiers(p_log regclass)
RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	v_c record;
	v record;
	v_idx regclass;
	v_compacted int := 0;
	v_moved int := 0;
BEGIN
	SELECT * INTO v_c FROM @extschema@.log_config c WHERE c.log = p_log;
	IF v_c.warm_after IS NULL THEN
		RETURN jsonb_build_object('compacted', 0, 'moved', 0);
	END IF;
	FOR v IN
		SELECT l.leaf, l.bucket, l.range_from, l.range_to, t.tier
		  FROM @extschema@._leaves(p_log) l
		  LEFT JOIN @extschema@.tiers t ON t.log = p_log AND t.bucket = l.bucket AND t.range_from = l.range_from
		 WHERE NOT l.is_default AND l.range_to <= now() - v_c.warm_after
		 ORDER BY l.range_from, l.bucket
	LOOP
		IF v.tier IS NULL THEN
			SELECT i.indexrelid::regclass INTO v_idx
			  FROM pg_catalog.pg_index i
			 WHERE i.indrelid = v.leaf AND i.indpred IS NULL
			   AND i.indnkeyatts = 2
			   AND i.indkey[0] = (SELECT a.attnum FROM pg_catalog.pg_attribute a
								   WHERE a.attrelid = v.leaf AND a.attname = 'tenant_id')
			   AND i.indkey[1] = (SELECT a.attnum FROM pg_catalog.pg_attribute a
								   WHERE a.attrelid = v.leaf AND a.attname = 'received_at');
			EXECUTE format('ALTER TABLE %s ALTER COLUMN payload SET COMPRESSION lz4,'
						   ' ALTER COLUMN metadata SET COMPRESSION lz4', v.leaf);
			IF v_idx IS NOT NULL THEN
				EXECUTE format('CLUSTER %s USING %I', v.leaf, (SELECT relname FROM pg_catalog.pg_class WHERE oid = v_idx));
			END IF;
			EXECUTE format('ANALYZE %s', v.leaf);
			INSERT INTO @extschema@.tiers (log, bucket, range_from, range_to, tier, changed_at)
			VALUES (p_log, v.bucket, v.range_from, v.range_to, 'warm', clock_timestamp());
			v_compacted := v_compacted + 1;
			v.tier := 'warm';
		END IF;
		IF v.tier = 'warm' AND v_c.cold_after IS NOT NULL AND v_c.cold_tablespace IS NOT NULL
		   AND v.range_to <= now() - v_c.cold_after THEN
			EXECUTE format('ALTER TABLE %s SET TABLESPACE %I', v.leaf, v_c.cold_tablespace);
			FOR v_idx IN SELECT i.indexrelid::regclass FROM pg_catalog.pg_index i WHERE i.indrelid = v.leaf LOOP
				EXECUTE format('ALTER INDEX %s SET TABLESPACE %I', v_idx, v_c.cold_tablespace);
			END LOOP;
			UPDATE @extschema@.tiers t SET tier = 'cold', changed_at = clock_timestamp()
			 WHERE t.log = p_log AND t.bucket = v.bucket AND t.range_from = v.range_from;
			v_moved := v_moved + 1;
		END IF;
	END LOOP;
	RETURN jsonb_build_object('compacted', v_compacted, 'moved', v_moved);
END
$$;

-- Setting tiers is an admin's act: eventlog_admin only.
REVOKE ALL ON FUNCTION @extschema@.set_tiering(regclass, interval, interval, name, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.set_tiering(regclass, interval, interval, name, text) TO eventlog_admin;
REVOKE ALL ON FUNCTION @extschema@._maintain_tiers(regclass) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@._maintain_tiers(regclass) TO eventlog_admin;
