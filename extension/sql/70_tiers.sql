-------------------------------------------------------------------------------
-- Storage tiers (doc/tiers.md)
--
-- hot:  the partition's range ended less than warm_after ago (or is open);
-- warm: compacted for reading: rewritten in (tenant_id, received_at) order
--       (CLUSTER on the tenant index), payloads over PostgreSQL's TOAST
--       threshold recompressed with lz4 (pglz on a server without it),
--       statistics refreshed; sealed;
-- cold: past cold_after, moved with its indexes to cold_tablespace, or
--       exported to a compressed file in archive_dir and dropped (archived;
--       restore() brings it back, as a partition in the tier 'restored' that
--       maintenance leaves alone).
-- A tier change rewrites or moves a partition without changing any value, so
-- its seal still verifies. Tiers are kept by (log, bucket, range), like seals.
-------------------------------------------------------------------------------
CREATE TABLE @extschema@.tiers (
	log regclass NOT NULL REFERENCES @extschema@.log_config (log) ON DELETE CASCADE,
	bucket int NOT NULL,
	range_from timestamptz NOT NULL,
	range_to timestamptz NOT NULL,
	tier text NOT NULL CHECK (tier IN ('warm', 'cold', 'archived', 'restored')),
	changed_at timestamptz NOT NULL,
	PRIMARY KEY (log, bucket, range_from)
);
COMMENT ON TABLE @extschema@.tiers IS 'The tier of each partition past the hot tier.';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.tiers', '');
GRANT SELECT ON @extschema@.tiers TO eventlog_reader;
GRANT SELECT, INSERT, UPDATE, DELETE ON @extschema@.tiers TO eventlog_admin;

-- Every partition exported to an archive file (archive.c).
CREATE TABLE @extschema@.archives (
	log regclass NOT NULL REFERENCES @extschema@.log_config (log) ON DELETE CASCADE,
	bucket int NOT NULL,
	range_from timestamptz NOT NULL,
	range_to timestamptz NOT NULL,
	file text NOT NULL,
	rows bigint NOT NULL,
	file_sha256 text NOT NULL,
	content_sha256 bytea NOT NULL,	-- the partition's seal hash when it was exported
	leaf_oid oid NOT NULL,			-- the partition it was (dropped in the same transaction)
	archived_at timestamptz NOT NULL,
	restored_at timestamptz,
	PRIMARY KEY (log, bucket, range_from)
);
COMMENT ON TABLE @extschema@.archives IS 'Partitions exported to archive files: file, rows, checksums.';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.archives', '');
GRANT SELECT, INSERT, UPDATE, DELETE ON @extschema@.archives TO eventlog_admin;
-- Readers learn which ranges are archived (archived_ranges), not file paths.
GRANT SELECT (log, bucket, range_from, range_to, rows, archived_at, restored_at) ON @extschema@.archives
	TO eventlog_reader;

CREATE FUNCTION @extschema@._archive_partition(log regclass, leaf regclass, archive_dir text, stem text, meta text)
RETURNS TABLE (file text, rows bigint, file_sha256 text)
AS 'MODULE_PATHNAME', 'ev_archive_partition'
LANGUAGE c VOLATILE STRICT;
CREATE FUNCTION @extschema@._restore_file(log regclass, file text, file_sha256 text, rows bigint)
RETURNS bigint
AS 'MODULE_PATHNAME', 'ev_restore_file'
LANGUAGE c VOLATILE STRICT;
CREATE FUNCTION @extschema@._remove_archive_file(file text)
RETURNS boolean
AS 'MODULE_PATHNAME', 'ev_remove_archive_file'
LANGUAGE c VOLATILE STRICT;
CREATE FUNCTION @extschema@._check_archive_dir(dir text)
RETURNS text
AS 'MODULE_PATHNAME', 'ev_check_archive_dir'
LANGUAGE c VOLATILE STRICT;

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
		-- inside eventlog.archive_root, which a superuser sets (archive.c)
		PERFORM @extschema@._check_archive_dir(archive_dir);
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
-- returns {"compacted": n, "moved": n, "archived": n}. One partition at a time, each under
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
	v_archived int := 0;
	v_hash record;
	v_file record;
	-- lz4 when the server was built with it, else PostgreSQL's own pglz.
	v_method text := @extschema@._toast_method();
BEGIN
	SELECT * INTO v_c FROM @extschema@.log_config c WHERE c.log = p_log;
	IF v_c.warm_after IS NULL THEN
		RETURN jsonb_build_object('compacted', 0, 'moved', 0, 'archived', 0);
	END IF;
	FOR v IN
		SELECT l.leaf, l.bucket, l.range_from, l.range_to, t.tier
		  FROM @extschema@._leaves(p_log) l
		  LEFT JOIN @extschema@.tiers t ON t.log = p_log AND t.bucket = l.bucket AND t.range_from = l.range_from
		 WHERE NOT l.is_default AND l.range_to <= now() - v_c.warm_after
		   AND (t.tier IS NULL OR t.tier IN ('warm', 'cold'))
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
			-- The whole rewrite under one lock: readers never see the leaf half done.
			EXECUTE format('LOCK TABLE %s IN ACCESS EXCLUSIVE MODE', v.leaf);
			EXECUTE format('ALTER TABLE %s ALTER COLUMN payload SET COMPRESSION %s,'
						   ' ALTER COLUMN metadata SET COMPRESSION %s', v.leaf, v_method, v_method);
			-- SET COMPRESSION applies to new values only, and CLUSTER copies
			-- compressed values as they are: give the compressed values of
			-- the old method a fresh copy (jsonb through text is the same
			-- canonical value, so the seal still verifies; the append-only
			-- bypass of maintenance lets this UPDATE through). CLUSTER then
			-- leaves the old row versions behind.
			EXECUTE format('UPDATE %s SET payload = payload::text::jsonb, metadata = metadata::text::jsonb'
						   ' WHERE pg_catalog.pg_column_compression(payload) <> %L'
						   ' OR pg_catalog.pg_column_compression(metadata) <> %L', v.leaf, v_method, v_method);
			IF v_idx IS NOT NULL THEN
				EXECUTE format('CLUSTER %s USING %I', v.leaf, (SELECT relname FROM pg_catalog.pg_class WHERE oid = v_idx));
			END IF;
			EXECUTE format('ANALYZE %s', v.leaf);
			INSERT INTO @extschema@.tiers (log, bucket, range_from, range_to, tier, changed_at)
			VALUES (p_log, v.bucket, v.range_from, v.range_to, 'warm', clock_timestamp());
			v_compacted := v_compacted + 1;
			v.tier := 'warm';
		END IF;
		IF v.tier = 'warm' AND v_c.cold_after IS NOT NULL AND v_c.archive_dir IS NOT NULL
		   AND v.range_to <= now() - v_c.cold_after THEN
			-- Forgotten events never reach a file; the SHARE lock keeps late
			-- rows out until the partition is dropped (_drop_archived).
			PERFORM @extschema@._redact_partition(p_log, v.leaf, 9223372036854775807);
			EXECUTE format('LOCK TABLE %s IN SHARE MODE', v.leaf);
			v_hash := @extschema@._content_hash(v.leaf);
			v_file := @extschema@._archive_partition(p_log, v.leaf, v_c.archive_dir,
				to_char(v.range_from AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24MISS') || '_b' || lpad(v.bucket::text, 2, '0'),
				jsonb_build_object('log', p_log::text, 'bucket', v.bucket, 'range_from', v.range_from,
								   'range_to', v.range_to, 'content_sha256', encode(v_hash.content_hash, 'hex'),
								   'archived_at', clock_timestamp())::text);
			IF v_file.rows <> v_hash.row_count THEN
				RAISE EXCEPTION 'archive of % wrote % rows, the partition has %', v.leaf, v_file.rows, v_hash.row_count;
			END IF;
			INSERT INTO @extschema@.archives (log, bucket, range_from, range_to, file, rows, file_sha256,
											  content_sha256, leaf_oid, archived_at)
			VALUES (p_log, v.bucket, v.range_from, v.range_to, v_file.file, v_file.rows, v_file.file_sha256,
					v_hash.content_hash, v.leaf, clock_timestamp())
			ON CONFLICT (log, bucket, range_from) DO UPDATE
			   SET file = EXCLUDED.file, rows = EXCLUDED.rows, file_sha256 = EXCLUDED.file_sha256,
				   content_sha256 = EXCLUDED.content_sha256, leaf_oid = EXCLUDED.leaf_oid,
				   archived_at = EXCLUDED.archived_at, restored_at = NULL;
			UPDATE @extschema@.tiers t SET tier = 'archived', changed_at = clock_timestamp()
			 WHERE t.log = p_log AND t.bucket = v.bucket AND t.range_from = v.range_from;
			v_archived := v_archived + 1;
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
	RETURN jsonb_build_object('compacted', v_compacted, 'moved', v_moved, 'archived', v_archived);
END
$$;

-- Retention of archives: the files of archived ranges past the log's
-- retention are removed, as their partitions would have been dropped; returns
-- how many. (The file goes first: a crash before the commit leaves a catalog
-- row without a file, which the next run removes all the same.)
CREATE FUNCTION @extschema@._expire_archives(p_log regclass)
RETURNS int
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	v record;
	v_n int := 0;
BEGIN
	FOR v IN SELECT a.* FROM @extschema@.archives a JOIN @extschema@.log_config c ON c.log = a.log
			  WHERE a.log = p_log AND a.restored_at IS NULL AND c.retention IS NOT NULL
				AND a.range_to < now() - c.retention LOOP
		PERFORM @extschema@._remove_archive_file(v.file);
		DELETE FROM @extschema@.archives a WHERE a.log = p_log AND a.bucket = v.bucket AND a.range_from = v.range_from;
		DELETE FROM @extschema@.tiers t WHERE t.log = p_log AND t.bucket = v.bucket AND t.range_from = v.range_from;
		v_n := v_n + 1;
	END LOOP;
	RETURN v_n;
END
$$;

-- Drops the partitions exported in this transaction (run_maintenance's DDL
-- step, under its SHARE lock on the log); returns how many.
CREATE FUNCTION @extschema@._drop_archived(p_log regclass)
RETURNS int
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	v record;
	v_n int := 0;
BEGIN
	FOR v IN SELECT a.leaf_oid::regclass AS leaf FROM @extschema@.archives a
			  JOIN pg_catalog.pg_class c ON c.oid = a.leaf_oid
			 WHERE a.log = p_log AND a.restored_at IS NULL LOOP
		EXECUTE format('DROP TABLE %s', v.leaf);
		v_n := v_n + 1;
	END LOOP;
	RETURN v_n;
END
$$;

-- Body of restore(); runs as eventlog_admin with the append-only bypass.
CREATE FUNCTION @extschema@._restore(p_log regclass, p_from timestamptz, p_to timestamptz)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	v record;
	v_n bigint := 0;
BEGIN
	IF p_from IS NULL OR p_to IS NULL THEN
		RAISE EXCEPTION 'from_ts and to_ts must not be null' USING ERRCODE = '22004';
	END IF;
	-- Partitions are made for the restored ranges: the same lock order as
	-- run_maintenance's DDL step.
	EXECUTE format('LOCK TABLE %s IN SHARE MODE', p_log);
	FOR v IN SELECT a.* FROM @extschema@.archives a
			  WHERE a.log = p_log AND a.restored_at IS NULL AND a.range_to > p_from AND a.range_from < p_to
			  ORDER BY a.range_from, a.bucket LOOP
		v_n := v_n + @extschema@._restore_file(p_log, v.file, v.file_sha256, v.rows);
		UPDATE @extschema@.archives a SET restored_at = clock_timestamp()
		 WHERE a.log = p_log AND a.bucket = v.bucket AND a.range_from = v.range_from;
		UPDATE @extschema@.tiers t SET tier = 'restored', changed_at = clock_timestamp()
		 WHERE t.log = p_log AND t.bucket = v.bucket AND t.range_from = v.range_from;
	END LOOP;
	PERFORM @extschema@._rescue_defaults(p_log);
	-- Erasures made while the range was archived reach the restored rows.
	PERFORM @extschema@._redact(p_log, 9223372036854775807);
	RETURN v_n;
END
$$;

CREATE FUNCTION @extschema@.restore(log regclass, from_ts timestamptz, to_ts timestamptz)
RETURNS bigint
AS 'MODULE_PATHNAME', 'ev_restore'
LANGUAGE c VOLATILE;
COMMENT ON FUNCTION @extschema@.restore(regclass, timestamptz, timestamptz) IS
'Brings archived partitions of [from_ts, to_ts) back from their files; returns the number of events restored.';

-- The archived (not restored) ranges of a log inside [from_ts, to_ts).
CREATE FUNCTION @extschema@.archived_ranges(log regclass, from_ts timestamptz DEFAULT '-infinity',
											 to_ts timestamptz DEFAULT 'infinity')
RETURNS TABLE (bucket int, range_from timestamptz, range_to timestamptz, rows bigint, archived_at timestamptz)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT a.bucket, a.range_from, a.range_to, a.rows, a.archived_at
	  FROM @extschema@.archives a
	 WHERE a.log = archived_ranges.log AND a.restored_at IS NULL
	   AND a.range_to > from_ts AND a.range_from < to_ts
	 ORDER BY a.range_from, a.bucket
$$;
COMMENT ON FUNCTION @extschema@.archived_ranges(regclass, timestamptz, timestamptz) IS
'Ranges of a log that are in archive files, not in the table: queries over them do not see those events.';

-- Says, as a WARNING, which ranges of a query's window are archived.
CREATE FUNCTION @extschema@._warn_archived(p_log regclass, p_from timestamptz, p_to timestamptz)
RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	v record;
BEGIN
	SELECT count(*) AS n, min(a.range_from) AS first, max(a.range_to) AS last, sum(a.rows) AS rows
	  INTO v FROM @extschema@.archived_ranges(p_log, p_from, p_to) a;
	IF v.n > 0 THEN
		RAISE WARNING '% events of % between % and % are archived and were not searched', v.rows, p_log, v.first, v.last
			USING DETAIL = format('%s partitions are in archive files.', v.n),
				  HINT = 'eventlog.archived_ranges() lists them; eventlog.restore() brings them back.';
	END IF;
END
$$;

-- Setting tiers is an admin's act: eventlog_admin only.
REVOKE ALL ON FUNCTION @extschema@.set_tiering(regclass, interval, interval, name, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.set_tiering(regclass, interval, interval, name, text) TO eventlog_admin;
REVOKE ALL ON FUNCTION @extschema@._maintain_tiers(regclass) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@._maintain_tiers(regclass) TO eventlog_admin;
REVOKE ALL ON FUNCTION @extschema@.restore(regclass, timestamptz, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.restore(regclass, timestamptz, timestamptz) TO eventlog_admin;
REVOKE ALL ON FUNCTION @extschema@.archived_ranges(regclass, timestamptz, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.archived_ranges(regclass, timestamptz, timestamptz) TO eventlog_admin, eventlog_reader;
REVOKE ALL ON FUNCTION @extschema@._warn_archived(regclass, timestamptz, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@._warn_archived(regclass, timestamptz, timestamptz) TO eventlog_admin, eventlog_reader;
-- Files are written and read by the server's OS user: internal, eventlog_admin only.
REVOKE ALL ON FUNCTION @extschema@._archive_partition(regclass, regclass, text, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@._restore_file(regclass, text, text, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@._check_archive_dir(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@._remove_archive_file(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@._expire_archives(regclass) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@._remove_archive_file(text) TO eventlog_admin;
GRANT EXECUTE ON FUNCTION @extschema@._expire_archives(regclass) TO eventlog_admin;
REVOKE ALL ON FUNCTION @extschema@._drop_archived(regclass) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@._restore(regclass, timestamptz, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@._archive_partition(regclass, regclass, text, text, text) TO eventlog_admin;
GRANT EXECUTE ON FUNCTION @extschema@._restore_file(regclass, text, text, bigint) TO eventlog_admin;
GRANT EXECUTE ON FUNCTION @extschema@._check_archive_dir(text) TO eventlog_admin;
GRANT EXECUTE ON FUNCTION @extschema@._drop_archived(regclass) TO eventlog_admin;
GRANT EXECUTE ON FUNCTION @extschema@._restore(regclass, timestamptz, timestamptz) TO eventlog_admin;
