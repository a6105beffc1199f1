-- Core: roles, catalog, append-only rule, log lifecycle, ingest, queries.
-- Part of pg_eventlog--0.1.0.sql (the Makefile concatenates extension/sql/*.sql in name order).

-------------------------------------------------------------------------------
-- Roles. Cluster-wide, so created only when missing and never dropped here.
-------------------------------------------------------------------------------
DO $roles$
BEGIN
	IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'eventlog_reader') THEN
		CREATE ROLE eventlog_reader NOLOGIN;
	END IF;
	IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'eventlog_writer') THEN
		CREATE ROLE eventlog_writer NOLOGIN;
	END IF;
	IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'eventlog_admin') THEN
		CREATE ROLE eventlog_admin NOLOGIN;
	END IF;
END
$roles$;

GRANT eventlog_reader, eventlog_writer TO eventlog_admin;
GRANT USAGE ON SCHEMA @extschema@ TO eventlog_reader, eventlog_writer, eventlog_admin;

-- Logs are owned by eventlog_admin, which runs pg_partman's functions on them
-- (partition creation and retention) as pg_partman's documentation asks of a
-- non-superuser partition manager.
DO $partman$
DECLARE
	s text := (SELECT extnamespace::regnamespace::text FROM pg_catalog.pg_extension
			   WHERE extname = 'pg_partman');
BEGIN
	EXECUTE format('GRANT ALL ON SCHEMA %s TO eventlog_admin', s);
	EXECUTE format('GRANT ALL ON ALL TABLES IN SCHEMA %s TO eventlog_admin', s);
	EXECUTE format('GRANT ALL ON ALL SEQUENCES IN SCHEMA %s TO eventlog_admin', s);
	EXECUTE format('GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA %s TO eventlog_admin', s);
	EXECUTE format('GRANT EXECUTE ON ALL PROCEDURES IN SCHEMA %s TO eventlog_admin', s);
END
$partman$;

-------------------------------------------------------------------------------
-- Catalog of logs and the sidecar's bookkeeping
-------------------------------------------------------------------------------
CREATE TABLE @extschema@.log_config (
	log regclass PRIMARY KEY,
	kind text NOT NULL DEFAULT 'log' CHECK (kind IN ('log', 'stream')),
	partition_interval interval NOT NULL,
	tenant_buckets int NOT NULL,
	premake int NOT NULL,
	retention interval,
	dedup_window interval NOT NULL DEFAULT '24 hours',
	-- Storage tiers (set_tiering): past warm_after a partition is compacted
	-- and sealed; past cold_after it moves to cold_tablespace or is exported
	-- to archive_dir and detached. NULL: that tier is off.
	warm_after interval CHECK (warm_after > interval '0'),
	cold_after interval CHECK (cold_after > interval '0'),
	cold_tablespace name,
	archive_dir text,
	created_at timestamptz NOT NULL DEFAULT now(),
	created_by name NOT NULL DEFAULT session_user
);
COMMENT ON TABLE @extschema@.log_config IS 'One row per event log: its layout and settings.';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.log_config', '');
GRANT SELECT ON @extschema@.log_config TO eventlog_reader, eventlog_writer;
GRANT SELECT, INSERT, UPDATE, DELETE ON @extschema@.log_config TO eventlog_admin;

CREATE TABLE @extschema@.maintenance_runs (
	id bigserial PRIMARY KEY,
	log regclass,
	started_at timestamptz NOT NULL,
	finished_at timestamptz NOT NULL,
	rows_moved bigint NOT NULL,
	partitions_before int NOT NULL,
	partitions_after int NOT NULL,
	-- What each step did, one key per step (e.g. {"redacted": 10, "sealed": 2}).
	details jsonb NOT NULL DEFAULT '{}'
);
COMMENT ON TABLE @extschema@.maintenance_runs IS 'What each run_maintenance() did and how long it took.';
GRANT SELECT, INSERT, DELETE ON @extschema@.maintenance_runs TO eventlog_admin;
GRANT USAGE ON SEQUENCE @extschema@.maintenance_runs_id_seq TO eventlog_admin;

-- eventlogd writes its spool position here in the same transaction as each
-- COPY, so a replay after a crash skips what is committed.
CREATE TABLE @extschema@.ingest_ledger (
	source text NOT NULL,
	lane int NOT NULL,
	last_seq bigint NOT NULL,
	batches bigint NOT NULL DEFAULT 0,
	events bigint NOT NULL DEFAULT 0,
	updated_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (source, lane)
);
SELECT pg_catalog.pg_extension_config_dump('@extschema@.ingest_ledger', '');
GRANT SELECT, INSERT, UPDATE ON @extschema@.ingest_ledger TO eventlog_writer;

-- Events that PostgreSQL refused for their data, isolated by eventlogd.
CREATE TABLE @extschema@.dead_letters (
	id bigserial PRIMARY KEY,
	source text NOT NULL,
	log text NOT NULL,
	seq bigint,
	event text NOT NULL,
	error text NOT NULL,
	sqlstate text,
	failed_at timestamptz NOT NULL DEFAULT now()
);
SELECT pg_catalog.pg_extension_config_dump('@extschema@.dead_letters', '');
GRANT SELECT, INSERT ON @extschema@.dead_letters TO eventlog_writer;
GRANT USAGE ON SEQUENCE @extschema@.dead_letters_id_seq TO eventlog_writer;

-- The envelope as a row type: what the read functions return.
CREATE TYPE @extschema@.event AS (
	event_id uuid,
	tenant_id text,
	event_type text,
	subject text,
	occurred_at timestamptz,
	received_at timestamptz,
	schema_version int,
	payload jsonb,
	metadata jsonb
);

-------------------------------------------------------------------------------
-- UUIDv7
-------------------------------------------------------------------------------
CREATE FUNCTION @extschema@.uuidv7(ts timestamptz DEFAULT clock_timestamp())
RETURNS uuid
AS 'MODULE_PATHNAME', 'ev_uuidv7'
LANGUAGE c VOLATILE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.uuidv7(timestamptz) IS 'A time-ordered UUID (version 7) for ts.';

CREATE FUNCTION @extschema@.uuidv7_time(uuid)
RETURNS timestamptz
AS 'MODULE_PATHNAME', 'ev_uuidv7_time'
LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.uuidv7_time(uuid) IS 'The time a version 7 UUID carries (millisecond precision), or NULL for other versions.';

-------------------------------------------------------------------------------
-- The append-only rule (appendonly.c)
-------------------------------------------------------------------------------
CREATE FUNCTION @extschema@.refuse_change()
RETURNS trigger
AS 'MODULE_PATHNAME', 'ev_refuse_change'
LANGUAGE c;

CREATE FUNCTION @extschema@.note_default_row()
RETURNS trigger
AS 'MODULE_PATHNAME', 'ev_note_default_row'
LANGUAGE c;

CREATE FUNCTION @extschema@.ddl_guard()
RETURNS event_trigger
AS 'MODULE_PATHNAME', 'ev_ddl_guard'
LANGUAGE c;

CREATE FUNCTION @extschema@._bypass_active()
RETURNS boolean
AS 'MODULE_PATHNAME', 'ev_bypass_active'
LANGUAGE c VOLATILE;

-- The compression method of a log's payload and metadata: lz4 when the server
-- was built with it (Debian's is), else PostgreSQL's own pglz. Measured in
-- bench/README.md: COPY of 10 kB webhook events into a log 1.7x faster than
-- with pglz, and 3% smaller.
CREATE FUNCTION @extschema@._toast_method()
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT CASE WHEN EXISTS (SELECT FROM pg_catalog.pg_settings s
							  WHERE s.name = 'default_toast_compression' AND 'lz4' = ANY (s.enumvals))
				THEN 'lz4' ELSE 'pglz' END
$$;

-- Gives every partition of a log (made now or later, by create_log, by
-- maintenance or by hand) the statement-level trigger that refuses UPDATE,
-- DELETE and TRUNCATE aimed at it directly, default partitions the
-- trigger that notes misrouted rows, and payload and metadata the compression
-- method of the partition's parent (pg_partman makes partitions with LIKE,
-- which does not copy it; PARTITION OF does). SECURITY DEFINER: it must work whoever
-- creates the partition, and it only touches partitions of registered logs.
CREATE FUNCTION @extschema@._protect_partitions()
RETURNS event_trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	v_cmd record;
	v_log oid;
	v_rel record;
	v_done oid[] := '{}';
BEGIN
	FOR v_cmd IN SELECT DISTINCT objid FROM pg_catalog.pg_event_trigger_ddl_commands()
				 WHERE object_type = 'table' LOOP
		SELECT a.relid INTO v_log
		  FROM pg_catalog.pg_partition_ancestors(v_cmd.objid) AS a(relid)
		  JOIN @extschema@.log_config c ON c.log = a.relid
		 LIMIT 1;
		CONTINUE WHEN v_log IS NULL OR v_log = ANY (v_done);
		v_done := v_done || v_log;

		FOR v_rel IN
			SELECT t.relid,
				   t.isleaf AND pg_catalog.pg_get_expr(c.relpartbound, c.oid) = 'DEFAULT' AS is_default,
				   EXISTS (SELECT FROM pg_catalog.pg_trigger g WHERE g.tgrelid = t.relid
						   AND g.tgname = 'eventlog_append_only_stmt') AS has_stmt,
				   EXISTS (SELECT FROM pg_catalog.pg_trigger g WHERE g.tgrelid = t.relid
						   AND g.tgname = 'eventlog_default_watch') AS has_watch,
				   EXISTS (SELECT FROM pg_catalog.pg_trigger g WHERE g.tgrelid = t.relid
						   AND g.tgname = 'eventlog_append_only_row' AND g.tgenabled <> 'A') AS row_not_always
			  FROM pg_catalog.pg_partition_tree(v_log) t
			  JOIN pg_catalog.pg_class c ON c.oid = t.relid
			 WHERE t.level > 0
		LOOP
			IF NOT v_rel.has_stmt THEN
				EXECUTE format('CREATE OR REPLACE TRIGGER eventlog_append_only_stmt BEFORE UPDATE OR DELETE OR TRUNCATE'
							   ' ON %s FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.refuse_change()',
							   v_rel.relid::regclass);
				EXECUTE format('ALTER TABLE %s ENABLE ALWAYS TRIGGER eventlog_append_only_stmt',
							   v_rel.relid::regclass);
			END IF;
			IF v_rel.row_not_always THEN
				EXECUTE format('ALTER TABLE %s ENABLE ALWAYS TRIGGER eventlog_append_only_row',
							   v_rel.relid::regclass);
			END IF;
			IF v_rel.is_default AND NOT v_rel.has_watch THEN
				EXECUTE format('CREATE OR REPLACE TRIGGER eventlog_default_watch AFTER INSERT'
							   ' ON %s FOR EACH ROW EXECUTE FUNCTION @extschema@.note_default_row()',
							   v_rel.relid::regclass);
			END IF;
		END LOOP;
		FOR v_rel IN
			SELECT t.relid, a.attname, pa.attcompression AS method
			  FROM pg_catalog.pg_partition_tree(v_log) t
			  JOIN pg_catalog.pg_attribute a ON a.attrelid = t.relid AND a.attname IN ('payload', 'metadata')
			  JOIN pg_catalog.pg_attribute pa ON pa.attrelid = t.parentrelid AND pa.attname = a.attname
			 WHERE t.level > 0 AND a.attcompression = '' AND pa.attcompression <> ''
			 ORDER BY t.level, t.relid
		LOOP
			EXECUTE format('ALTER TABLE ONLY %s ALTER COLUMN %I SET COMPRESSION %s', v_rel.relid::regclass,
						   v_rel.attname, CASE v_rel.method WHEN 'l' THEN 'lz4' ELSE 'pglz' END);
		END LOOP;
	END LOOP;
END
$$;

-- Refuses a DROP that would take a log with it (DROP SCHEMA ... CASCADE,
-- DROP OWNED): only eventlog.drop_log() removes a log.
CREATE FUNCTION @extschema@._drop_guard()
RETURNS event_trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	v_name text;
BEGIN
	IF @extschema@._bypass_active() THEN
		RETURN;
	END IF;
	SELECT d.schema_name || '.' || d.object_name INTO v_name
	  FROM pg_catalog.pg_event_trigger_dropped_objects() d
	  JOIN @extschema@.log_config c ON c.log::oid = d.objid
	 WHERE d.classid = 'pg_catalog.pg_class'::regclass
	 LIMIT 1;
	IF v_name IS NOT NULL THEN
		RAISE EXCEPTION 'cannot drop log %: logs are append-only', v_name
			USING ERRCODE = 'LG001',
				  DETAIL = 'Stored events are never updated or deleted, by any role.',
				  HINT = 'Use eventlog.drop_log() to remove the log.';
	END IF;
END
$$;

CREATE EVENT TRIGGER eventlog_ddl_guard ON ddl_command_start
	WHEN TAG IN ('DROP TABLE', 'ALTER TABLE', 'DROP TRIGGER')
	EXECUTE FUNCTION @extschema@.ddl_guard();
CREATE EVENT TRIGGER eventlog_protect_partitions ON ddl_command_end
	WHEN TAG IN ('CREATE TABLE', 'ALTER TABLE')
	EXECUTE FUNCTION @extschema@._protect_partitions();
CREATE EVENT TRIGGER eventlog_drop_guard ON sql_drop
	EXECUTE FUNCTION @extschema@._drop_guard();
-- ALWAYS: session_replication_role = replica must not switch them off.
ALTER EVENT TRIGGER eventlog_ddl_guard ENABLE ALWAYS;
ALTER EVENT TRIGGER eventlog_protect_partitions ENABLE ALWAYS;
ALTER EVENT TRIGGER eventlog_drop_guard ENABLE ALWAYS;

-------------------------------------------------------------------------------
-- Creating, dropping and maintaining logs
-------------------------------------------------------------------------------
CREATE FUNCTION @extschema@._partman_schema()
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT extnamespace::regnamespace::text FROM pg_catalog.pg_extension WHERE extname = 'pg_partman' $$;

-- The hash buckets of a log, as pg_partman names its parents ("schema.table").
CREATE FUNCTION @extschema@._buckets(p_log regclass)
RETURNS TABLE (bucket regclass, parent_table text)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT c.oid::regclass, n.nspname || '.' || c.relname
	  FROM pg_catalog.pg_inherits i
	  JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid
	  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
	 WHERE i.inhparent = p_log
	 ORDER BY c.relname
$$;

-- Body of create_log(); runs as eventlog_admin (see maint.c).
CREATE FUNCTION @extschema@._create_log(p_schema text, p_table text, p_partition_interval interval,
										p_tenant_buckets int, p_retention interval, p_premake int)
RETURNS regclass
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	v_log regclass;
	v_qual text := format('%I.%I', p_schema, p_table);
	v_partman text := @extschema@._partman_schema();
	v_width int := length((p_tenant_buckets - 1)::text);
	v_bucket text;
	v_tenant_ok text := '(tenant_id = current_setting(''eventlog.tenant'', true)'
						' OR coalesce(current_setting(''eventlog.tenant'', true), '''') = '''')';
	v_method text := @extschema@._toast_method();
	i int;
BEGIN
	EXECUTE format($ddl$
		CREATE TABLE %s (
			event_id uuid NOT NULL DEFAULT @extschema@.uuidv7(),
			tenant_id text NOT NULL
				CONSTRAINT tenant_id_length CHECK (octet_length(tenant_id) BETWEEN 1 AND 128),
			event_type text NOT NULL
				CONSTRAINT event_type_length CHECK (octet_length(event_type) BETWEEN 1 AND 200),
			subject text
				CONSTRAINT subject_length CHECK (octet_length(subject) BETWEEN 1 AND 1024),
			occurred_at timestamptz,
			received_at timestamptz NOT NULL DEFAULT now(),
			schema_version int NOT NULL DEFAULT 1
				CONSTRAINT schema_version_positive CHECK (schema_version >= 1),
			payload jsonb COMPRESSION %s NOT NULL
				CONSTRAINT payload_is_container CHECK (jsonb_typeof(payload) IN ('object', 'array')),
			metadata jsonb COMPRESSION %s
				CONSTRAINT metadata_is_object CHECK (jsonb_typeof(metadata) = 'object')
		) PARTITION BY HASH (tenant_id)$ddl$, v_qual, v_method, v_method);
	v_log := v_qual::regclass;

	INSERT INTO @extschema@.log_config (log, partition_interval, tenant_buckets, premake, retention)
	VALUES (v_log, p_partition_interval, p_tenant_buckets, p_premake, p_retention);

	-- Indexes, measured in bench/ (CPU per event of COPY): (tenant, time)
	-- serves events() (its keyset tie-break on event_id is an incremental
	-- sort, and a narrower entry is cheaper to keep up); (event_id) serves get_event() and dedup
	-- and is nearly free with UUIDv7 ids (they append at the right edge).
	-- (tenant, subject, time), for history() and forget(), cost the most to
	-- keep up during ingest, so maintenance builds it on each partition once
	-- its time range has passed (_index_closed_partitions); the open
	-- partitions answer history() through (tenant, time). (COLLATE "C"
	-- keys measured cheaper, but a log's columns would then refuse to compare
	-- with users' ordinary text columns: not worth it.)
	EXECUTE format('CREATE INDEX ON %s (tenant_id, received_at)', v_log);
	EXECUTE format('CREATE INDEX ON %s (event_id)', v_log);

	EXECUTE format('CREATE TRIGGER eventlog_append_only_row BEFORE UPDATE OR DELETE ON %s'
				   ' FOR EACH ROW EXECUTE FUNCTION @extschema@.refuse_change()', v_log);
	EXECUTE format('CREATE TRIGGER eventlog_append_only_stmt BEFORE UPDATE OR DELETE OR TRUNCATE ON %s'
				   ' FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.refuse_change()', v_log);
	EXECUTE format('ALTER TABLE %s ENABLE ALWAYS TRIGGER eventlog_append_only_row', v_log);
	EXECUTE format('ALTER TABLE %s ENABLE ALWAYS TRIGGER eventlog_append_only_stmt', v_log);

	-- Readers (and writers) that set eventlog.tenant see and write only that tenant.
	EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', v_log);
	EXECUTE format('CREATE POLICY eventlog_tenant_read ON %s FOR SELECT USING %s', v_log, v_tenant_ok);
	EXECUTE format('CREATE POLICY eventlog_tenant_write ON %s FOR INSERT WITH CHECK %s', v_log, v_tenant_ok);
	EXECUTE format('GRANT SELECT ON %s TO eventlog_reader', v_log);
	EXECUTE format('GRANT INSERT ON %s TO eventlog_writer', v_log);

	FOR i IN 0 .. p_tenant_buckets - 1 LOOP
		v_bucket := p_table || '_b' || lpad(i::text, v_width, '0');
		EXECUTE format('CREATE TABLE %I.%I PARTITION OF %s FOR VALUES WITH (MODULUS %s, REMAINDER %s)'
					   ' PARTITION BY RANGE (received_at)',
					   p_schema, v_bucket, v_log, p_tenant_buckets, i);
		-- pg_partman keeps each bucket's time ranges: premake ahead, a default
		-- partition, retention. Its own background worker is kept off for
		-- them ('off'): eventlog.run_maintenance() drives it, because only the
		-- extension's maintenance path may drop partitions of a log.
		EXECUTE format('SELECT %s.create_parent(p_parent_table := %L, p_control := %L,'
					   ' p_type := %L, p_interval := %L, p_premake := %s,'
					   ' p_automatic_maintenance := %L, p_start_partition := %L, p_jobmon := false)',
					   v_partman, p_schema || '.' || v_bucket, 'received_at', 'native',
					   p_partition_interval::text, p_premake, 'off', now()::text);
		EXECUTE format('UPDATE %s.part_config SET inherit_privileges = true,'
					   ' infinite_time_partitions = true, retention = %L, retention_keep_table = false,'
					   ' retention_keep_index = false WHERE parent_table = %L',
					   v_partman, p_retention::text, p_schema || '.' || v_bucket);
	END LOOP;
	RETURN v_log;
END
$$;

CREATE FUNCTION @extschema@.create_log(name text, partition_interval interval DEFAULT '1 day',
									   tenant_buckets int DEFAULT 16, retention interval DEFAULT NULL,
									   premake int DEFAULT 4)
RETURNS regclass
AS 'MODULE_PATHNAME', 'ev_create_log'
LANGUAGE c VOLATILE;
COMMENT ON FUNCTION @extschema@.create_log(text, interval, int, interval, int) IS
'Creates an append-only log partitioned by hash(tenant_id) and by received_at ranges.';

-- Body of drop_log(); runs as eventlog_admin with the append-only bypass.
CREATE FUNCTION @extschema@._drop_log(p_log regclass)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	v_partman text := @extschema@._partman_schema();
	v_b record;
	v_template text;
BEGIN
	FOR v_b IN SELECT * FROM @extschema@._buckets(p_log) LOOP
		EXECUTE format('SELECT template_table FROM %s.part_config WHERE parent_table = %L',
					   v_partman, v_b.parent_table) INTO v_template;
		EXECUTE format('DELETE FROM %s.part_config WHERE parent_table = %L', v_partman, v_b.parent_table);
		IF v_template IS NOT NULL THEN
			-- pg_partman stores it unquoted ("partman.template_public_Mixed Case_b0")
			EXECUTE format('DROP TABLE IF EXISTS %I.%I', split_part(v_template, '.', 1),
						   substr(v_template, strpos(v_template, '.') + 1));
		END IF;
	END LOOP;
	DELETE FROM @extschema@.maintenance_runs WHERE log = p_log;
	DELETE FROM @extschema@.log_config WHERE log = p_log;
	EXECUTE format('DROP TABLE %s', p_log);
END
$$;

CREATE FUNCTION @extschema@.drop_log(log regclass)
RETURNS void
AS 'MODULE_PATHNAME', 'ev_drop_log'
LANGUAGE c VOLATILE STRICT;
COMMENT ON FUNCTION @extschema@.drop_log(regclass) IS 'Drops a log, all of its partitions and its pg_partman configuration.';

-- Moves rows that landed in a log's default partitions into time partitions
-- made for them (pg_partman's partition_data_time). Runs with the bypass.
CREATE FUNCTION @extschema@._rescue_defaults(p_log regclass)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
-- partition_data_time() says NOTICE "relation partman_temp_data_storage
-- already exists" on every call after the first: noise for ingest's callers.
SET client_min_messages = warning
AS $$
DECLARE
	v_partman text := @extschema@._partman_schema();
	v_b record;
	v_moved bigint := 0;
	v_n bigint;
	v_has boolean;
BEGIN
	FOR v_b IN SELECT * FROM @extschema@._buckets(p_log) LOOP
		EXECUTE format('SELECT EXISTS (SELECT FROM %I.%I)',
					   split_part(v_b.parent_table, '.', 1),
					   split_part(v_b.parent_table, '.', 2) || '_default') INTO v_has;
		CONTINUE WHEN NOT v_has;
		LOOP
			EXECUTE format('SELECT %s.partition_data_time(p_parent_table := %L, p_batch_count := 1000,'
						   ' p_analyze := false)', v_partman, v_b.parent_table) INTO v_n;
			EXIT WHEN coalesce(v_n, 0) = 0;
			v_moved := v_moved + v_n;
		END LOOP;
	END LOOP;
	RETURN v_moved;
END
$$;

-- Builds the (tenant_id, subject, received_at) index on each leaf whose time
-- range has passed (see _create_log); returns how many it built. A closed
-- leaf takes only late rows, so the SHARE lock of CREATE INDEX blocks little.
CREATE FUNCTION @extschema@._index_closed_partitions(p_log regclass)
RETURNS int
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	v record;
	v_built int := 0;
BEGIN
	FOR v IN
		SELECT t.relid
		  FROM pg_catalog.pg_partition_tree(p_log) t
		  JOIN pg_catalog.pg_class c ON c.oid = t.relid
		 WHERE t.isleaf
		   AND pg_catalog.pg_get_expr(c.relpartbound, c.oid) <> 'DEFAULT'
		   AND substring(pg_catalog.pg_get_expr(c.relpartbound, c.oid) FROM 'TO \(''([^'']+)''\)')::timestamptz <= now()
		   AND NOT EXISTS (SELECT FROM pg_catalog.pg_index i
							WHERE i.indrelid = t.relid AND i.indpred IS NOT NULL)
		 ORDER BY t.relid
	LOOP
		EXECUTE format('CREATE INDEX ON %s (tenant_id, subject, received_at) WHERE subject IS NOT NULL',
					   v.relid::regclass);
		v_built := v_built + 1;
	END LOOP;
	RETURN v_built;
END
$$;

-- Whether maintenance has partitions to make or drop for a log: rows in a
-- default partition, fewer than premake partitions ahead in some bucket, or
-- an oldest partition past the retention.
CREATE FUNCTION @extschema@._ddl_due(p_log regclass)
RETURNS boolean
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	v_c record;
	v_l record;
	v_has boolean;
BEGIN
	SELECT * INTO v_c FROM @extschema@.log_config c WHERE c.log = p_log;
	FOR v_l IN SELECT l.leaf FROM @extschema@._leaves(p_log) l WHERE l.is_default LOOP
		EXECUTE format('SELECT EXISTS (SELECT FROM %s)', v_l.leaf) INTO v_has;
		IF v_has THEN
			RETURN true;
		END IF;
	END LOOP;
	IF EXISTS (SELECT FROM @extschema@.archives a JOIN pg_catalog.pg_class c ON c.oid = a.leaf_oid
				WHERE a.log = p_log AND a.restored_at IS NULL) THEN
		RETURN true;	-- exported partitions to drop
	END IF;
	RETURN EXISTS (SELECT FROM @extschema@._leaves(p_log) l WHERE NOT l.is_default
					GROUP BY l.bucket
				   HAVING max(l.range_to) < now() + v_c.premake * v_c.partition_interval
					   OR min(l.range_to) < now() - v_c.retention);
END
$$;

-- Body of run_maintenance(); runs as eventlog_admin with the append-only bypass.
CREATE FUNCTION @extschema@._run_maintenance(p_log regclass)
RETURNS TABLE (log regclass, rows_moved bigint, partitions_before int, partitions_after int,
			   duration interval)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	v_partman text := @extschema@._partman_schema();
	v_c record;
	v_b record;
	v_t0 timestamptz;
	v_redacted bigint;
	v_sealed int;
	v_tiers jsonb;
BEGIN
	FOR v_c IN SELECT c.log FROM @extschema@.log_config c
				WHERE p_log IS NULL OR c.log = p_log ORDER BY c.log::text LOOP
		v_t0 := clock_timestamp();
		log := v_c.log;
		SELECT count(*) INTO partitions_before FROM pg_catalog.pg_partition_tree(v_c.log) WHERE isleaf;
		-- Steps that change rows or closed partitions only, under row locks
		-- or locks on one closed partition at a time: ingest goes on.
		PERFORM @extschema@._index_closed_partitions(v_c.log);
		v_redacted := @extschema@._redact(v_c.log, pg_catalog.current_setting('eventlog.redact_batch')::bigint);
		v_sealed := @extschema@._seal_due(v_c.log);
		v_tiers := @extschema@._maintain_tiers(v_c.log)
				   || jsonb_build_object('expired_archives', @extschema@._expire_archives(v_c.log));
		-- Then, only when there is something to make or drop, the partition
		-- DDL. Making or dropping a partition locks its bucket exclusively;
		-- a COPY that holds some buckets and waits for another would deadlock
		-- with a maintenance that takes buckets one after the other. A SHARE
		-- lock on the log first lets COPYs in flight finish and holds new
		-- ones for the rest of this transaction, which is kept short.
		rows_moved := 0;
		IF @extschema@._ddl_due(v_c.log) THEN
			EXECUTE format('LOCK TABLE %s IN SHARE MODE', v_c.log);
			rows_moved := @extschema@._rescue_defaults(v_c.log);
			FOR v_b IN SELECT * FROM @extschema@._buckets(v_c.log) LOOP
				EXECUTE format('SELECT %s.run_maintenance(p_parent_table := %L, p_analyze := false,'
							   ' p_jobmon := false)', v_partman, v_b.parent_table);
			END LOOP;
			-- partitions made for past ranges (rows out of a default) are closed
			PERFORM @extschema@._index_closed_partitions(v_c.log);
			-- partitions exported to archive files above (70_tiers.sql)
			PERFORM @extschema@._drop_archived(v_c.log);
		END IF;
		SELECT count(*) INTO partitions_after FROM pg_catalog.pg_partition_tree(v_c.log) WHERE isleaf;
		duration := clock_timestamp() - v_t0;
		INSERT INTO @extschema@.maintenance_runs (log, started_at, finished_at, rows_moved,
												  partitions_before, partitions_after, details)
		VALUES (v_c.log, v_t0, clock_timestamp(), rows_moved, partitions_before, partitions_after,
				jsonb_build_object('redacted', v_redacted, 'sealed', v_sealed) || v_tiers);
		RETURN NEXT;
	END LOOP;
END
$$;

CREATE FUNCTION @extschema@.run_maintenance(log regclass DEFAULT NULL)
RETURNS TABLE (log regclass, rows_moved bigint, partitions_before int, partitions_after int,
			   duration interval)
AS 'MODULE_PATHNAME', 'ev_run_maintenance'
LANGUAGE c VOLATILE;
COMMENT ON FUNCTION @extschema@.run_maintenance(regclass) IS
'Premakes time partitions, applies retention and moves rows out of default partitions, for one log or all.';

CREATE FUNCTION @extschema@.set_retention(log regclass, retention interval)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	v_partman text := @extschema@._partman_schema();
	v_b record;
BEGIN
	IF retention IS NOT NULL AND retention <= interval '0' THEN
		RAISE EXCEPTION 'retention must be positive: %', retention USING ERRCODE = '22023';
	END IF;
	UPDATE @extschema@.log_config c SET retention = set_retention.retention WHERE c.log = set_retention.log;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'relation "%" is not an event log', log USING ERRCODE = '42809';
	END IF;
	FOR v_b IN SELECT * FROM @extschema@._buckets(log) LOOP
		EXECUTE format('UPDATE %s.part_config SET retention = %L, retention_keep_table = false'
					   ' WHERE parent_table = %L', v_partman, retention::text, v_b.parent_table);
	END LOOP;
END
$$;
COMMENT ON FUNCTION @extschema@.set_retention(regclass, interval) IS
'Sets how long events are kept; run_maintenance() drops whole partitions past it (NULL: keep forever).';

CREATE FUNCTION @extschema@.set_dedup_window(log regclass, dedup_window interval)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF dedup_window IS NULL OR dedup_window < interval '0' THEN
		RAISE EXCEPTION 'dedup_window must be zero or positive' USING ERRCODE = '22023';
	END IF;
	UPDATE @extschema@.log_config c SET dedup_window = set_dedup_window.dedup_window
	 WHERE c.log = set_dedup_window.log;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'relation "%" is not an event log', log USING ERRCODE = '42809';
	END IF;
END
$$;
COMMENT ON FUNCTION @extschema@.set_dedup_window(regclass, interval) IS
'Sets how far back ingest() and append() look for an event_id already stored.';

-------------------------------------------------------------------------------
-- Ingest (ingest.c, copyin.c)
-------------------------------------------------------------------------------
CREATE FUNCTION @extschema@.append(log regclass, tenant_id text, event_type text, payload jsonb,
								   subject text DEFAULT NULL, occurred_at timestamptz DEFAULT NULL,
								   event_id uuid DEFAULT NULL, metadata jsonb DEFAULT NULL)
RETURNS uuid
AS 'MODULE_PATHNAME', 'ev_append'
LANGUAGE c VOLATILE;
COMMENT ON FUNCTION @extschema@.append(regclass, text, text, jsonb, text, timestamptz, uuid, jsonb) IS
'Appends one event; returns its event_id.';

CREATE FUNCTION @extschema@.ingest(log regclass, events jsonb)
RETURNS bigint
AS 'MODULE_PATHNAME', 'ev_ingest'
LANGUAGE c VOLATILE;
COMMENT ON FUNCTION @extschema@.ingest(regclass, jsonb) IS
'Appends a JSON array of events; skips event_ids stored in the dedup window; returns rows written.';

-- copy_in's per-row check for sessions bound to a tenant (a COPY WHERE clause).
CREATE FUNCTION @extschema@._require_tenant(tenant_id text, bound text)
RETURNS boolean
AS 'MODULE_PATHNAME', 'ev_require_tenant'
LANGUAGE c VOLATILE;

CREATE FUNCTION @extschema@.copy_in(log regclass, data bytea, format text DEFAULT 'text')
RETURNS bigint
AS 'MODULE_PATHNAME', 'ev_copy_in'
LANGUAGE c VOLATILE;
COMMENT ON FUNCTION @extschema@.copy_in(regclass, bytea, text) IS
'Runs COPY FROM over data (text, csv, binary or ndjson); returns rows written.';

-------------------------------------------------------------------------------
-- Queries. SECURITY INVOKER: readers' row-level security applies.
-------------------------------------------------------------------------------
-- Raises 42809 unless p_log is an event log.
CREATE FUNCTION @extschema@._require_log(p_log regclass)
RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF NOT EXISTS (SELECT FROM @extschema@.log_config c WHERE c.log = p_log) THEN
		RAISE EXCEPTION 'relation "%" is not an event log', p_log
			USING ERRCODE = '42809', HINT = 'Create logs with eventlog.create_log().';
	END IF;
END
$$;

CREATE FUNCTION @extschema@.events(log regclass, tenant_id text, from_ts timestamptz, to_ts timestamptz,
								   event_type text DEFAULT NULL, subject text DEFAULT NULL,
								   after_event uuid DEFAULT NULL, max_rows int DEFAULT 1000)
RETURNS SETOF @extschema@.event
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	v_after timestamptz;
	v_sql text;
	v_hide record;
BEGIN
	IF log IS NULL OR tenant_id IS NULL OR from_ts IS NULL OR to_ts IS NULL THEN
		RAISE EXCEPTION 'log, tenant_id, from_ts and to_ts must not be null' USING ERRCODE = '22004';
	END IF;
	PERFORM @extschema@._require_log(log);
	IF max_rows IS NULL OR max_rows < 1 OR max_rows > 100000 THEN
		RAISE EXCEPTION 'max_rows must be between 1 and 100000: %', max_rows USING ERRCODE = '22023';
	END IF;
	IF after_event IS NOT NULL THEN
		EXECUTE format('SELECT received_at FROM %s WHERE tenant_id = $1 AND event_id = $2'
					   ' AND received_at >= $3 AND received_at < $4', log)
		   INTO v_after USING tenant_id, after_event, from_ts, to_ts;
		IF v_after IS NULL THEN
			RAISE EXCEPTION 'after_event % is not an event of tenant "%" between % and %',
				after_event, tenant_id, from_ts, to_ts
				USING ERRCODE = '22023', HINT = 'Pass the event_id of the last row of the previous page.';
		END IF;
	END IF;
	-- The log is named through regclass output (quoted); every value is a parameter.
	v_sql := format('SELECT event_id, tenant_id, event_type, subject, occurred_at, received_at,'
					' schema_version, payload, metadata FROM %s'
					' WHERE tenant_id = $1 AND received_at >= $2 AND received_at < $3', log);
	IF event_type IS NOT NULL THEN
		v_sql := v_sql || ' AND event_type = $4';
	END IF;
	IF subject IS NOT NULL THEN
		v_sql := v_sql || ' AND subject = $5';
	END IF;
	IF after_event IS NOT NULL THEN
		v_sql := v_sql || ' AND (received_at, event_id) > ($6, $7)';
	END IF;
	-- Archived ranges are not searched: say so (70_tiers.sql).
	PERFORM @extschema@._warn_archived(log, from_ts, to_ts);
	-- Forgotten events are hidden, their tombstones shown (60_forget.sql).
	v_hide := @extschema@._forgotten_filter(log, tenant_id);
	IF v_hide.whole THEN
		v_sql := v_sql || ' AND event_id = ANY ($9)';
	ELSIF v_hide.subjects IS NOT NULL THEN
		v_sql := v_sql || ' AND (subject IS NULL OR subject <> ALL ($10) OR event_id = ANY ($9))';
	END IF;
	v_sql := v_sql || ' ORDER BY received_at, event_id LIMIT $8';
	RETURN QUERY EXECUTE v_sql USING tenant_id, from_ts, to_ts, event_type, subject, v_after,
		after_event, max_rows, v_hide.tombstones, v_hide.subjects;
END
$$;
COMMENT ON FUNCTION @extschema@.events(regclass, text, timestamptz, timestamptz, text, text, uuid, int) IS
'One tenant''s events in [from_ts, to_ts), ordered by (received_at, event_id); page with after_event.';

CREATE FUNCTION @extschema@.get_event(log regclass, event_id uuid)
RETURNS SETOF @extschema@.event
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	v_t timestamptz := @extschema@.uuidv7_time(event_id);
	v_cols text := 'event_id, tenant_id, event_type, subject, occurred_at, received_at,'
				   ' schema_version, payload, metadata';
	-- Forgotten events are hidden, their tombstones shown (60_forget.sql).
	v_hide text := ' AND NOT @extschema@._is_forgotten($4, tenant_id, subject, event_id)';
BEGIN
	PERFORM @extschema@._require_log(log);
	-- A UUIDv7 carries its time: look in the partitions around it first
	-- (producers' clocks run ahead by up to an hour, or buffer up to a day).
	IF v_t IS NOT NULL THEN
		RETURN QUERY EXECUTE format('SELECT %s FROM %s WHERE event_id = $1'
									' AND received_at >= $2 AND received_at < $3%s', v_cols, log, v_hide)
			USING event_id, v_t - interval '1 hour', v_t + interval '1 day', log;
		IF FOUND THEN
			RETURN;
		END IF;
	END IF;
	RETURN QUERY EXECUTE format('SELECT %s FROM %s WHERE event_id = $1%s', v_cols, log, v_hide)
		USING event_id, NULL::timestamptz, NULL::timestamptz, log;
END
$$;
COMMENT ON FUNCTION @extschema@.get_event(regclass, uuid) IS 'The event with this event_id (no rows if none).';

CREATE FUNCTION @extschema@.history(log regclass, tenant_id text, subject text, max_rows int DEFAULT NULL)
RETURNS SETOF @extschema@.event
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	v_hide record;
BEGIN
	PERFORM @extschema@._require_log(log);
	IF subject IS NULL OR tenant_id IS NULL THEN
		RAISE EXCEPTION 'tenant_id and subject must not be null' USING ERRCODE = '22004';
	END IF;
	PERFORM @extschema@._warn_archived(log, '-infinity', 'infinity');
	-- A forgotten subject (or tenant) shows only its tombstones (60_forget.sql).
	v_hide := @extschema@._forgotten_filter(log, tenant_id);
	RETURN QUERY EXECUTE format('SELECT event_id, tenant_id, event_type, subject, occurred_at, received_at,'
								' schema_version, payload, metadata FROM %s'
								' WHERE tenant_id = $1 AND subject = $2%s'
								' ORDER BY received_at, event_id LIMIT $3', log,
								CASE WHEN v_hide.whole OR subject = ANY (v_hide.subjects)
									 THEN ' AND event_id = ANY ($4)' ELSE '' END)
		USING tenant_id, subject, max_rows, v_hide.tombstones;
END
$$;
COMMENT ON FUNCTION @extschema@.history(regclass, text, text, int) IS
'Every event of one subject of one tenant, oldest first.';

-- The leaves of a log with their bounds, read from the catalogs without
-- taking locks (pg_partition_tree() locks every partition: a view that
-- eventlogd reads every few seconds must not queue behind maintenance's DDL,
-- nor hold locks that maintenance then waits for).
CREATE FUNCTION @extschema@._leaf_bounds(p_log regclass)
RETURNS TABLE (leaf oid, range_from timestamptz, range_to timestamptz, is_default boolean)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	WITH RECURSIVE t(relid) AS (
		SELECT p_log::oid
		UNION ALL
		SELECT i.inhrelid FROM pg_catalog.pg_inherits i JOIN t ON i.inhparent = t.relid)
	SELECT c.oid,
		   substring(pg_catalog.pg_get_expr(c.relpartbound, c.oid) FROM 'FROM \(''([^'']+)''\)')::timestamptz,
		   substring(pg_catalog.pg_get_expr(c.relpartbound, c.oid) FROM 'TO \(''([^'']+)''\)')::timestamptz,
		   pg_catalog.pg_get_expr(c.relpartbound, c.oid) = 'DEFAULT'
	  FROM t JOIN pg_catalog.pg_class c ON c.oid = t.relid
	 WHERE c.relkind = 'r'
$$;

CREATE VIEW @extschema@.logs AS
SELECT c.log,
	   n.nspname || '.' || r.relname AS name,
	   c.kind,
	   c.partition_interval,
	   c.tenant_buckets,
	   c.premake,
	   c.retention,
	   c.dedup_window,
	   o.partitions,
	   o.oldest_range_from,
	   -- when run_maintenance() drops the oldest time partition (NULL: kept forever)
	   o.oldest_range_to + c.retention AS next_drop_at,
	   c.created_at,
	   c.created_by
  FROM @extschema@.log_config c
  JOIN pg_catalog.pg_class r ON r.oid = c.log
  JOIN pg_catalog.pg_namespace n ON n.oid = r.relnamespace
  LEFT JOIN LATERAL (
	SELECT count(*)::int AS partitions,
		   min(b.range_from) FILTER (WHERE NOT b.is_default) AS oldest_range_from,
		   min(b.range_to) FILTER (WHERE NOT b.is_default) AS oldest_range_to
	  FROM @extschema@._leaf_bounds(c.log) b) o ON true;
COMMENT ON VIEW @extschema@.logs IS 'Every event log and its settings.';
GRANT SELECT ON @extschema@.logs TO eventlog_reader, eventlog_writer, eventlog_admin;

CREATE FUNCTION @extschema@.partitions(log regclass, exact boolean DEFAULT false)
RETURNS TABLE (partition regclass, bucket int, range_from timestamptz, range_to timestamptz,
			   is_default boolean, rows bigint, bytes bigint, tier text)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	v record;
	-- Counting a leaf needs the owner's rights (readers may read the log
	-- only through its root, under row-level security): others get estimates.
	v_can_count boolean := pg_catalog.pg_has_role(current_user,
		(SELECT relowner FROM pg_catalog.pg_class WHERE oid = partitions.log), 'USAGE');
BEGIN
	PERFORM @extschema@._require_log(partitions.log);
	FOR v IN
		SELECT t.relid, t.parentrelid, c.reltuples,
			   pg_catalog.pg_get_expr(c.relpartbound, c.oid) AS bound,
			   pg_catalog.pg_get_expr(p.relpartbound, p.oid) AS parent_bound
		  FROM pg_catalog.pg_partition_tree(partitions.log) t
		  JOIN pg_catalog.pg_class c ON c.oid = t.relid
		  JOIN pg_catalog.pg_class p ON p.oid = t.parentrelid
		 WHERE t.isleaf
	LOOP
		partition := v.relid::regclass;
		bucket := substring(v.parent_bound FROM 'remainder ([0-9]+)')::int;
		is_default := v.bound = 'DEFAULT';
		IF is_default THEN
			range_from := NULL;
			range_to := NULL;
		ELSE
			range_from := substring(v.bound FROM 'FROM \(''([^'']+)''\)')::timestamptz;
			range_to := substring(v.bound FROM 'TO \(''([^'']+)''\)')::timestamptz;
		END IF;
		bytes := pg_catalog.pg_total_relation_size(v.relid);
		-- Exact counts for default partitions (they are watched), small
		-- partitions and when asked; the planner's estimate otherwise.
		IF v_can_count AND (exact OR is_default OR v.reltuples < 0
							OR pg_catalog.pg_relation_size(v.relid) < 16 * 1024 * 1024) THEN
			EXECUTE format('SELECT count(*) FROM %s', v.relid::regclass) INTO rows;
		ELSE
			rows := CASE WHEN v.reltuples >= 0 THEN v.reltuples::bigint END;
		END IF;
		tier := CASE WHEN is_default THEN 'hot'
					 ELSE coalesce((SELECT t.tier FROM @extschema@.tiers t
									 WHERE t.log = partitions.log AND t.bucket = partitions.bucket
									   AND t.range_from = partitions.range_from), 'hot') END;
		RETURN NEXT;
	END LOOP;
END
$$;
COMMENT ON FUNCTION @extschema@.partitions(regclass, boolean) IS
'Each leaf partition of a log: time range, tenant bucket, rows, bytes and tier.';

-------------------------------------------------------------------------------
-- Privileges. Functions are executable by PUBLIC unless revoked; each is
-- limited to the role whose job it is. The C entry points check the caller's
-- table privileges as well.
-------------------------------------------------------------------------------
-- Admin functions change or remove logs: eventlog_admin only.
REVOKE ALL ON FUNCTION @extschema@.create_log(text, interval, int, interval, int) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.drop_log(regclass) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.run_maintenance(regclass) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.set_retention(regclass, interval) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.set_dedup_window(regclass, interval) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.create_log(text, interval, int, interval, int) TO eventlog_admin;
GRANT EXECUTE ON FUNCTION @extschema@.drop_log(regclass) TO eventlog_admin;
GRANT EXECUTE ON FUNCTION @extschema@.run_maintenance(regclass) TO eventlog_admin;
GRANT EXECUTE ON FUNCTION @extschema@.set_retention(regclass, interval) TO eventlog_admin;
GRANT EXECUTE ON FUNCTION @extschema@.set_dedup_window(regclass, interval) TO eventlog_admin;

-- Internal bodies: called by the C entry points as eventlog_admin.
REVOKE ALL ON FUNCTION @extschema@._create_log(text, text, interval, int, interval, int) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@._drop_log(regclass) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@._rescue_defaults(regclass) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@._run_maintenance(regclass) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@._index_closed_partitions(regclass) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@._ddl_due(regclass) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@._leaf_bounds(regclass) TO eventlog_reader, eventlog_writer, eventlog_admin;
GRANT EXECUTE ON FUNCTION @extschema@._ddl_due(regclass) TO eventlog_admin;
GRANT EXECUTE ON FUNCTION @extschema@._index_closed_partitions(regclass) TO eventlog_admin;
REVOKE ALL ON FUNCTION @extschema@._protect_partitions() FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@._drop_guard() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@._create_log(text, text, interval, int, interval, int) TO eventlog_admin;
GRANT EXECUTE ON FUNCTION @extschema@._drop_log(regclass) TO eventlog_admin;
GRANT EXECUTE ON FUNCTION @extschema@._rescue_defaults(regclass) TO eventlog_admin;
GRANT EXECUTE ON FUNCTION @extschema@._run_maintenance(regclass) TO eventlog_admin;

-- Writers ingest.
REVOKE ALL ON FUNCTION @extschema@.append(regclass, text, text, jsonb, text, timestamptz, uuid, jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.ingest(regclass, jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.copy_in(regclass, bytea, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.append(regclass, text, text, jsonb, text, timestamptz, uuid, jsonb) TO eventlog_writer;
GRANT EXECUTE ON FUNCTION @extschema@.ingest(regclass, jsonb) TO eventlog_writer;
GRANT EXECUTE ON FUNCTION @extschema@.copy_in(regclass, bytea, text) TO eventlog_writer;

-- Readers read.
REVOKE ALL ON FUNCTION @extschema@.events(regclass, text, timestamptz, timestamptz, text, text, uuid, int) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.get_event(regclass, uuid) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.history(regclass, text, text, int) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.partitions(regclass, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.events(regclass, text, timestamptz, timestamptz, text, text, uuid, int) TO eventlog_reader;
GRANT EXECUTE ON FUNCTION @extschema@.get_event(regclass, uuid) TO eventlog_reader;
GRANT EXECUTE ON FUNCTION @extschema@.history(regclass, text, text, int) TO eventlog_reader;
GRANT EXECUTE ON FUNCTION @extschema@.partitions(regclass, boolean) TO eventlog_reader;
