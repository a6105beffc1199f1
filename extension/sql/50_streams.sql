-- Event sourcing on stream logs: streams with optimistic concurrency,
-- commit-safe global positions, snapshots, folds, projections, consumer
-- groups and upcasters (streams.c). Design notes: doc/streams.md.
-- Part of pg_eventlog--0.1.0.sql (the Makefile concatenates extension/sql/*.sql in name order).

-------------------------------------------------------------------------------
-- Types and bookkeeping tables
-------------------------------------------------------------------------------
-- An event of a stream log: the envelope, then its stream, its version in the
-- stream (1, 2, 3 ...) and its global position in the log.
CREATE TYPE @extschema@.stream_event AS (
	event_id uuid,
	tenant_id text,
	event_type text,
	subject text,
	occurred_at timestamptz,
	received_at timestamptz,
	schema_version int,
	payload jsonb,
	metadata jsonb,
	stream text,
	version bigint,
	position bigint
);
COMMENT ON TYPE @extschema@.stream_event IS 'An event of a stream log: the envelope plus stream, version and position.';

-- The head of every stream: its version and the position of its last event.
-- append_to_stream() locks the row for the rest of its transaction, which
-- serializes writers of one stream (and only of that stream) and keeps
-- versions gap-free without a unique index across partitions.
CREATE TABLE @extschema@.stream_heads (
	log regclass NOT NULL,
	tenant_id text NOT NULL,
	stream text NOT NULL,
	version bigint NOT NULL,
	position bigint NOT NULL,
	updated_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (log, tenant_id, stream)
) WITH (fillfactor = 80);
COMMENT ON TABLE @extschema@.stream_heads IS 'Current version and last position of every stream of every stream log.';

CREATE TABLE @extschema@.snapshots (
	log regclass NOT NULL,
	tenant_id text NOT NULL,
	stream text NOT NULL,
	version bigint NOT NULL CONSTRAINT version_positive CHECK (version >= 1),
	state jsonb NOT NULL,
	taken_at timestamptz NOT NULL DEFAULT now(),
	taken_by name NOT NULL DEFAULT current_user,
	PRIMARY KEY (log, tenant_id, stream, version)
);
COMMENT ON TABLE @extschema@.snapshots IS 'Saved states of streams: load_stream() and fold_stream() start from the latest.';

-- Function references are stored as text (the regprocedure's qualified
-- form): pg_upgrade refuses regproc/regprocedure columns in user tables.
CREATE TABLE @extschema@.projections (
	name text PRIMARY KEY CONSTRAINT name_length CHECK (octet_length(name) BETWEEN 1 AND 200),
	log regclass NOT NULL,
	handler text NOT NULL,
	reset_handler text,
	position bigint NOT NULL DEFAULT 0,
	events_applied bigint NOT NULL DEFAULT 0,
	runs bigint NOT NULL DEFAULT 0,
	last_run_at timestamptz,
	created_at timestamptz NOT NULL DEFAULT now(),
	created_by name NOT NULL DEFAULT session_user
);
COMMENT ON TABLE @extschema@.projections IS 'Projections: handler, log, and the checkpoint (last position applied).';

CREATE TABLE @extschema@.consumer_positions (
	log regclass NOT NULL,
	consumer_group text NOT NULL CONSTRAINT consumer_group_length CHECK (octet_length(consumer_group) BETWEEN 1 AND 200),
	member int NOT NULL,
	group_size int NOT NULL,
	position bigint NOT NULL,
	updated_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (log, consumer_group, member),
	CONSTRAINT member_in_group CHECK (member >= 0 AND member < group_size)
);
COMMENT ON TABLE @extschema@.consumer_positions IS 'The last position each member of each consumer group has processed.';

CREATE TABLE @extschema@.upcasters (
	log regclass NOT NULL,
	event_type text NOT NULL,
	schema_version int NOT NULL CONSTRAINT schema_version_positive CHECK (schema_version >= 1),
	upcaster text NOT NULL,
	created_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (log, event_type, schema_version)
);
COMMENT ON TABLE @extschema@.upcasters IS 'Functions that turn a payload of (event_type, schema_version) into schema_version + 1.';

SELECT pg_catalog.pg_extension_config_dump('@extschema@.stream_heads', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.snapshots', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.projections', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.consumer_positions', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.upcasters', '');

-- eventlog_admin owns these tables as it owns the logs: append_to_stream()
-- writes heads as the log's owner, and the owner is not bound by the tenant
-- policies below.
ALTER TABLE @extschema@.stream_heads OWNER TO eventlog_admin;
ALTER TABLE @extschema@.snapshots OWNER TO eventlog_admin;
ALTER TABLE @extschema@.projections OWNER TO eventlog_admin;
ALTER TABLE @extschema@.consumer_positions OWNER TO eventlog_admin;
ALTER TABLE @extschema@.upcasters OWNER TO eventlog_admin;

-- Sessions that set eventlog.tenant see and write only that tenant's streams.
ALTER TABLE @extschema@.stream_heads ENABLE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.snapshots ENABLE ROW LEVEL SECURITY;
CREATE POLICY eventlog_tenant_read ON @extschema@.stream_heads FOR SELECT
	USING (tenant_id = current_setting('eventlog.tenant', true)
		   OR coalesce(current_setting('eventlog.tenant', true), '') = '');
CREATE POLICY eventlog_tenant_read ON @extschema@.snapshots FOR SELECT
	USING (tenant_id = current_setting('eventlog.tenant', true)
		   OR coalesce(current_setting('eventlog.tenant', true), '') = '');
CREATE POLICY eventlog_tenant_write ON @extschema@.snapshots FOR INSERT
	WITH CHECK (tenant_id = current_setting('eventlog.tenant', true)
				OR coalesce(current_setting('eventlog.tenant', true), '') = '');
CREATE POLICY eventlog_tenant_update ON @extschema@.snapshots FOR UPDATE
	USING (tenant_id = current_setting('eventlog.tenant', true)
		   OR coalesce(current_setting('eventlog.tenant', true), '') = '');

GRANT SELECT ON @extschema@.stream_heads TO eventlog_reader, eventlog_writer;
GRANT SELECT ON @extschema@.snapshots TO eventlog_reader;
GRANT SELECT, INSERT, UPDATE ON @extschema@.snapshots TO eventlog_writer;
GRANT SELECT ON @extschema@.projections TO eventlog_reader;
GRANT SELECT, INSERT, UPDATE ON @extschema@.consumer_positions TO eventlog_reader;
GRANT SELECT ON @extschema@.upcasters TO eventlog_reader, eventlog_writer;

-------------------------------------------------------------------------------
-- C entry points (streams.c)
-------------------------------------------------------------------------------
-- BEFORE INSERT row trigger of every stream log: stamps the position and
-- refuses stream/version set by anything but append_to_stream().
CREATE FUNCTION @extschema@._stream_guard()
RETURNS trigger
AS 'MODULE_PATHNAME', 'ev_stream_guard'
LANGUAGE c;

CREATE FUNCTION @extschema@.position_horizon()
RETURNS bigint
AS 'MODULE_PATHNAME', 'ev_position_horizon'
LANGUAGE c STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@.position_horizon() IS
'Positions below this value are final in the current snapshot: no transaction that may still commit holds one.';

CREATE FUNCTION @extschema@.position_xid(bigint)
RETURNS xid8
AS 'MODULE_PATHNAME', 'ev_position_xid'
LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.position_xid(bigint) IS 'The transaction that wrote the event at this position.';

CREATE FUNCTION @extschema@.append_to_stream(log regclass, tenant_id text, stream text, events jsonb,
											 expected_version bigint DEFAULT NULL,
											 OUT version bigint, OUT positions bigint[], OUT event_ids uuid[])
RETURNS record
AS 'MODULE_PATHNAME', 'ev_append_to_stream'
LANGUAGE c VOLATILE;
COMMENT ON FUNCTION @extschema@.append_to_stream(regclass, text, text, jsonb, bigint) IS
'Appends events to a stream atomically; fails with LG002 unless the stream is at expected_version (-1: new stream, NULL: any).';

CREATE FUNCTION @extschema@.fold_stream(log regclass, tenant_id text, stream text, reducer regprocedure,
										initial jsonb DEFAULT '{}', as_of_version bigint DEFAULT NULL,
										as_of_time timestamptz DEFAULT NULL, use_snapshot boolean DEFAULT false)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'ev_fold_stream'
LANGUAGE c VOLATILE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION @extschema@.fold_stream(regclass, text, text, regprocedure, jsonb, bigint, timestamptz, boolean) IS
'Folds a stream''s events (up to a version or a time) through reducer(state jsonb, event stream_event) RETURNS jsonb.';

-- Applies the upcasters registered for the log to one event.
CREATE FUNCTION @extschema@._upcast(log regclass, e @extschema@.stream_event)
RETURNS @extschema@.stream_event
AS 'MODULE_PATHNAME', 'ev_upcast'
LANGUAGE c STABLE STRICT;

-- Calls a projection handler with one event.
CREATE FUNCTION @extschema@._apply(handler regprocedure, e @extschema@.stream_event)
RETURNS void
AS 'MODULE_PATHNAME', 'ev_apply'
LANGUAGE c VOLATILE;

-------------------------------------------------------------------------------
-- Internal helpers
-------------------------------------------------------------------------------
-- Raises 42809 unless log is a stream log.
CREATE FUNCTION @extschema@._require_stream_log(p_log regclass)
RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF p_log IS NULL THEN
		RAISE EXCEPTION 'log must not be null' USING ERRCODE = '22004';
	END IF;
	IF NOT EXISTS (SELECT FROM @extschema@.log_config c WHERE c.log = p_log AND c.kind = 'stream') THEN
		RAISE EXCEPTION 'relation "%" is not a stream log', p_log
			USING ERRCODE = '42809', HINT = 'Create stream logs with eventlog.create_stream_log().';
	END IF;
END
$$;

-- The member (0 .. size - 1) of a consumer group that owns a stream: a stable
-- hash of the stream name (events without a stream count as stream '').
CREATE FUNCTION @extschema@.group_member(stream text, group_size int)
RETURNS int
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
RETURN ((pg_catalog.hashtextextended(coalesce(stream, ''), 0) % group_size + group_size) % group_size)::int;
COMMENT ON FUNCTION @extschema@.group_member(text, int) IS
'The member of a consumer group of group_size members that reads this stream.';

-- Raises 22023 unless (member, size) is a valid consumer group member or both are NULL.
CREATE FUNCTION @extschema@._check_group(p_member int, p_size int)
RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF (p_member IS NULL) <> (p_size IS NULL) THEN
		RAISE EXCEPTION 'consumer_group_member and consumer_group_size must be given together' USING ERRCODE = '22023';
	END IF;
	IF p_size IS NOT NULL AND (p_size < 1 OR p_member < 0 OR p_member >= p_size) THEN
		RAISE EXCEPTION 'consumer group member % is not in 0 .. %', p_member, p_size - 1 USING ERRCODE = '22023';
	END IF;
END
$$;

-------------------------------------------------------------------------------
-- Creating stream logs
-------------------------------------------------------------------------------
-- Body of create_stream_log(), run as its caller (who has the privileges of
-- eventlog_admin, as create_log() checked) on a log create_log() just made.
CREATE FUNCTION @extschema@._make_stream_log(p_log regclass)
RETURNS regclass
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF NOT EXISTS (SELECT FROM @extschema@.log_config c WHERE c.log = p_log AND c.kind = 'log')
	   OR EXISTS (SELECT FROM pg_catalog.pg_attribute a WHERE a.attrelid = p_log AND a.attname = 'stream') THEN
		RAISE EXCEPTION 'relation "%" is not a new event log', p_log USING ERRCODE = '42809';
	END IF;
	EXECUTE format('ALTER TABLE %s'
				   ' ADD COLUMN stream text CONSTRAINT stream_length CHECK (octet_length(stream) BETWEEN 1 AND 1024),'
				   ' ADD COLUMN version bigint CONSTRAINT version_positive CHECK (version >= 1),'
				   ' ADD COLUMN position bigint NOT NULL,'
				   ' ADD CONSTRAINT stream_has_version CHECK ((stream IS NULL) = (version IS NULL))', p_log);
	UPDATE @extschema@.log_config c SET kind = 'stream' WHERE c.log = p_log;

	-- (tenant, stream, version) serves read_stream() and fold_stream();
	-- (position) serves read_all(); (category, position) serves read_category().
	EXECUTE format('CREATE INDEX ON %s (tenant_id, stream, version)', p_log);
	EXECUTE format('CREATE INDEX ON %s (position)', p_log);
	EXECUTE format('CREATE INDEX ON %s (split_part(stream, ''-'', 1), position)', p_log);

	-- Cloned onto every partition, now and later. Enabled for origin rows
	-- only: logical replication applies rows with the origin's positions.
	EXECUTE format('CREATE TRIGGER eventlog_stream_guard BEFORE INSERT ON %s'
				   ' FOR EACH ROW EXECUTE FUNCTION @extschema@._stream_guard()', p_log);
	RETURN p_log;
END
$$;

-- C: calls create_log() (which resolves name in the caller's search_path),
-- then _make_stream_log().
CREATE FUNCTION @extschema@.create_stream_log(name text, partition_interval interval DEFAULT '1 month',
											  tenant_buckets int DEFAULT 4, retention interval DEFAULT NULL,
											  premake int DEFAULT 2)
RETURNS regclass
AS 'MODULE_PATHNAME', 'ev_create_stream_log'
LANGUAGE c VOLATILE;
COMMENT ON FUNCTION @extschema@.create_stream_log(text, interval, int, interval, int) IS
'Creates a log whose events carry a stream, a version in it and a global position.';

-- Forgets the streams, snapshots, projections, consumer positions and
-- upcasters of logs that drop_log() removed. SECURITY DEFINER: it runs for
-- whoever drops a table, and only deletes rows of the tables dropped.
CREATE FUNCTION @extschema@._streams_dropped()
RETURNS event_trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	v_oids oid[];
BEGIN
	SELECT array_agg(d.objid) INTO v_oids
	  FROM pg_catalog.pg_event_trigger_dropped_objects() d
	 WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objsubid = 0 AND d.object_type = 'table';
	IF v_oids IS NULL THEN
		RETURN;
	END IF;
	DELETE FROM @extschema@.stream_heads WHERE log::oid = ANY (v_oids);
	DELETE FROM @extschema@.snapshots WHERE log::oid = ANY (v_oids);
	DELETE FROM @extschema@.projections WHERE log::oid = ANY (v_oids);
	DELETE FROM @extschema@.consumer_positions WHERE log::oid = ANY (v_oids);
	DELETE FROM @extschema@.upcasters WHERE log::oid = ANY (v_oids);
END
$$;

CREATE EVENT TRIGGER eventlog_streams_dropped ON sql_drop
	EXECUTE FUNCTION @extschema@._streams_dropped();
ALTER EVENT TRIGGER eventlog_streams_dropped ENABLE ALWAYS;

-------------------------------------------------------------------------------
-- Reading streams. SECURITY INVOKER: readers' row-level security applies.
-- Like every function of the extension they pin search_path, and so the
-- upcasters, reducers and handlers they call run with search_path =
-- pg_catalog, pg_temp too: those qualify names or set their own search_path.
-------------------------------------------------------------------------------
CREATE FUNCTION @extschema@.stream_version(log regclass, tenant_id text, stream text)
RETURNS bigint
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	v bigint;
BEGIN
	PERFORM @extschema@._require_stream_log(log);
	SELECT h.version INTO v FROM @extschema@.stream_heads h
	 WHERE h.log = stream_version.log AND h.tenant_id = stream_version.tenant_id
	   AND h.stream = stream_version.stream;
	RETURN coalesce(v, 0);
END
$$;
COMMENT ON FUNCTION @extschema@.stream_version(regclass, text, text) IS
'The version of a stream: the version of its last event, 0 when it has none.';

CREATE FUNCTION @extschema@.read_stream(log regclass, tenant_id text, stream text, from_version bigint DEFAULT 1,
										max_rows int DEFAULT 1000)
RETURNS SETOF @extschema@.stream_event
AS 'MODULE_PATHNAME', 'ev_read_stream'
LANGUAGE c STABLE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION @extschema@.read_stream(regclass, text, text, bigint, int) IS
'The events of one stream from from_version on, in version order (max_rows NULL: all).';

CREATE FUNCTION @extschema@.read_all(log regclass, after_position bigint DEFAULT 0, max_rows int DEFAULT 1000,
									 consumer_group_member int DEFAULT NULL, consumer_group_size int DEFAULT NULL)
RETURNS SETOF @extschema@.stream_event
AS 'MODULE_PATHNAME', 'ev_read_all'
LANGUAGE c STABLE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION @extschema@.read_all(regclass, bigint, int, int, int) IS
'Events after after_position in position order, never one whose predecessor may still commit.';

CREATE FUNCTION @extschema@.read_category(log regclass, category text, after_position bigint DEFAULT 0,
										  max_rows int DEFAULT 1000, consumer_group_member int DEFAULT NULL,
										  consumer_group_size int DEFAULT NULL)
RETURNS SETOF @extschema@.stream_event
AS 'MODULE_PATHNAME', 'ev_read_category'
LANGUAGE c STABLE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION @extschema@.read_category(regclass, text, bigint, int, int, int) IS
'Events of the streams named category or category-..., after after_position, in position order.';

-------------------------------------------------------------------------------
-- Snapshots
-------------------------------------------------------------------------------
CREATE FUNCTION @extschema@.save_snapshot(log regclass, tenant_id text, stream text, version bigint, state jsonb)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	v_current bigint;
BEGIN
	PERFORM @extschema@._require_stream_log(log);
	IF tenant_id IS NULL OR stream IS NULL OR version IS NULL OR state IS NULL THEN
		RAISE EXCEPTION 'tenant_id, stream, version and state must not be null' USING ERRCODE = '22004';
	END IF;
	v_current := @extschema@.stream_version(log, tenant_id, stream);
	IF v_current = 0 THEN
		RAISE EXCEPTION 'stream "%" has no events', stream USING ERRCODE = '22023';
	END IF;
	IF version < 1 OR version > v_current THEN
		RAISE EXCEPTION 'version % is not a version of stream "%" (1 .. %)', version, stream, v_current
			USING ERRCODE = '22023';
	END IF;
	INSERT INTO @extschema@.snapshots AS s (log, tenant_id, stream, version, state)
	VALUES (save_snapshot.log, save_snapshot.tenant_id, save_snapshot.stream, save_snapshot.version,
			save_snapshot.state)
	ON CONFLICT ON CONSTRAINT snapshots_pkey
	DO UPDATE SET state = EXCLUDED.state, taken_at = now(), taken_by = current_user;
END
$$;
COMMENT ON FUNCTION @extschema@.save_snapshot(regclass, text, text, bigint, jsonb) IS
'Stores the state of a stream as of one of its versions.';

-- The latest snapshot comes first as an event of type eventlog.snapshot
-- (payload: the state; version: the version it is the state of; position
-- NULL), then the stream's events after it: one row type for clients, and a
-- fold is "state := first row's payload if it is a snapshot, then apply".
CREATE FUNCTION @extschema@.load_stream(log regclass, tenant_id text, stream text)
RETURNS SETOF @extschema@.stream_event
AS 'MODULE_PATHNAME', 'ev_load_stream'
LANGUAGE c STABLE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION @extschema@.load_stream(regclass, text, text) IS
'The latest snapshot of a stream (as an eventlog.snapshot event) and the events after it, in version order.';

-------------------------------------------------------------------------------
-- Consumer groups
-------------------------------------------------------------------------------
CREATE FUNCTION @extschema@.commit_position(log regclass, consumer_group text, last_position bigint,
											member int DEFAULT 0, group_size int DEFAULT 1)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	PERFORM @extschema@._require_stream_log(log);
	PERFORM @extschema@._check_group(member, group_size);
	IF consumer_group IS NULL OR last_position IS NULL OR last_position < 0 THEN
		RAISE EXCEPTION 'consumer_group and last_position must be given, last_position >= 0' USING ERRCODE = '22023';
	END IF;
	INSERT INTO @extschema@.consumer_positions AS p (log, consumer_group, member, group_size, position)
	VALUES (commit_position.log, commit_position.consumer_group, commit_position.member,
			commit_position.group_size, commit_position.last_position)
	ON CONFLICT ON CONSTRAINT consumer_positions_pkey
	DO UPDATE SET position = EXCLUDED.position, group_size = EXCLUDED.group_size, updated_at = now();
END
$$;
COMMENT ON FUNCTION @extschema@.commit_position(regclass, text, bigint, int, int) IS
'Stores the last position a consumer group member has processed; commit it with the consumer''s own writes.';

CREATE FUNCTION @extschema@.consumer_position(log regclass, consumer_group text, member int DEFAULT 0)
RETURNS bigint
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT coalesce((SELECT p.position FROM @extschema@.consumer_positions p
					  WHERE p.log = consumer_position.log AND p.consumer_group = consumer_position.consumer_group
						AND p.member = consumer_position.member), 0);
END;
COMMENT ON FUNCTION @extschema@.consumer_position(regclass, text, int) IS
'The last position a consumer group member committed (0: none yet).';

-------------------------------------------------------------------------------
-- Upcasters
-------------------------------------------------------------------------------
CREATE FUNCTION @extschema@.register_upcaster(log regclass, event_type text, schema_version int,
											  upcaster regprocedure)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	PERFORM @extschema@._require_stream_log(log);
	IF event_type IS NULL OR schema_version IS NULL OR upcaster IS NULL THEN
		RAISE EXCEPTION 'event_type, schema_version and upcaster must not be null' USING ERRCODE = '22004';
	END IF;
	IF schema_version < 1 THEN
		RAISE EXCEPTION 'schema_version must be positive: %', schema_version USING ERRCODE = '22023';
	END IF;
	IF NOT EXISTS (SELECT FROM pg_catalog.pg_proc p WHERE p.oid = upcaster AND p.prokind = 'f'
					  AND p.pronargs = 1 AND p.proargtypes[0] = 'pg_catalog.jsonb'::regtype
					  AND p.prorettype = 'pg_catalog.jsonb'::regtype AND NOT p.proretset) THEN
		RAISE EXCEPTION 'upcaster % must take one jsonb and return jsonb', upcaster USING ERRCODE = '42P13';
	END IF;
	INSERT INTO @extschema@.upcasters AS u (log, event_type, schema_version, upcaster)
	VALUES (register_upcaster.log, register_upcaster.event_type, register_upcaster.schema_version,
			register_upcaster.upcaster::text)
	ON CONFLICT ON CONSTRAINT upcasters_pkey DO UPDATE SET upcaster = EXCLUDED.upcaster, created_at = now();
END
$$;
COMMENT ON FUNCTION @extschema@.register_upcaster(regclass, text, int, regprocedure) IS
'Registers upcaster(payload jsonb) RETURNS jsonb: turns (event_type, schema_version) payloads into schema_version + 1 on read.';

CREATE FUNCTION @extschema@.drop_upcaster(log regclass, event_type text, schema_version int)
RETURNS boolean
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	DELETE FROM @extschema@.upcasters u
	 WHERE u.log = drop_upcaster.log AND u.event_type = drop_upcaster.event_type
	   AND u.schema_version = drop_upcaster.schema_version;
	RETURN FOUND;
END
$$;
COMMENT ON FUNCTION @extschema@.drop_upcaster(regclass, text, int) IS 'Removes an upcaster; true when there was one.';

-------------------------------------------------------------------------------
-- Projections
-------------------------------------------------------------------------------
CREATE FUNCTION @extschema@.create_projection(name text, log regclass, handler regprocedure,
											  reset_handler regprocedure DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	PERFORM @extschema@._require_stream_log(log);
	IF name IS NULL OR handler IS NULL THEN
		RAISE EXCEPTION 'name and handler must not be null' USING ERRCODE = '22004';
	END IF;
	IF NOT EXISTS (SELECT FROM pg_catalog.pg_proc p WHERE p.oid = handler AND p.prokind = 'f' AND p.pronargs = 1
					  AND p.proargtypes[0] = '@extschema@.stream_event'::regtype AND NOT p.proretset) THEN
		RAISE EXCEPTION 'handler % must be a function of one eventlog.stream_event', handler USING ERRCODE = '42P13';
	END IF;
	IF reset_handler IS NOT NULL AND NOT EXISTS (
			SELECT FROM pg_catalog.pg_proc p WHERE p.oid = reset_handler AND p.prokind = 'f' AND p.pronargs = 0
			   AND NOT p.proretset) THEN
		RAISE EXCEPTION 'reset_handler % must be a function without arguments', reset_handler USING ERRCODE = '42P13';
	END IF;
	INSERT INTO @extschema@.projections (name, log, handler, reset_handler)
	VALUES (create_projection.name, create_projection.log, create_projection.handler::text,
			create_projection.reset_handler::text);
EXCEPTION
	WHEN unique_violation THEN
		RAISE EXCEPTION 'projection "%" already exists', create_projection.name USING ERRCODE = '42710';
END
$$;
COMMENT ON FUNCTION @extschema@.create_projection(text, regclass, regprocedure, regprocedure) IS
'Creates a projection: handler(event stream_event) is called for every event of the log, in position order.';

CREATE FUNCTION @extschema@.drop_projection(name text)
RETURNS boolean
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	DELETE FROM @extschema@.projections p WHERE p.name = drop_projection.name;
	RETURN FOUND;
END
$$;
COMMENT ON FUNCTION @extschema@.drop_projection(text) IS 'Removes a projection and its checkpoint (not its tables).';

-- Applies up to p_max events after the checkpoint of a projection whose row
-- the caller has locked; returns the number applied. The handler's writes
-- and the new checkpoint commit (or roll back) together.
CREATE FUNCTION @extschema@._run_projection(p_name text, p_max int)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	v_p record;
	v_handler pg_catalog.regprocedure;
	v_e @extschema@.stream_event;
	v_n pg_catalog.int8 := 0;
	v_last pg_catalog.int8;
BEGIN
	SELECT p.log, p.handler, p.position INTO v_p FROM @extschema@.projections p WHERE p.name = p_name;
	v_handler := v_p.handler::pg_catalog.regprocedure;
	v_last := v_p.position;
	FOR v_e IN SELECT * FROM @extschema@.read_all(v_p.log, v_p.position, p_max) LOOP
		PERFORM @extschema@._apply(v_handler, v_e);
		v_last := v_e.position;
		v_n := v_n + 1;
	END LOOP;
	UPDATE @extschema@.projections p
	   SET position = v_last, events_applied = p.events_applied + v_n, runs = p.runs + 1,
		   last_run_at = pg_catalog.now()
	 WHERE p.name = p_name;
	RETURN v_n;
END
$$;

CREATE FUNCTION @extschema@.run_projection(name text, max_events int DEFAULT 1000)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF max_events IS NULL OR max_events < 1 OR max_events > 100000 THEN
		RAISE EXCEPTION 'max_events must be between 1 and 100000: %', max_events USING ERRCODE = '22023';
	END IF;
	-- One runner at a time: a second one waits here, then continues from
	-- the checkpoint the first one committed.
	PERFORM FROM @extschema@.projections p WHERE p.name = run_projection.name FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'projection "%" does not exist', run_projection.name USING ERRCODE = '42704';
	END IF;
	RETURN @extschema@._run_projection(run_projection.name, max_events);
END
$$;
COMMENT ON FUNCTION @extschema@.run_projection(text, int) IS
'Applies up to max_events events after the projection''s checkpoint, in position order, in the caller''s transaction.';

CREATE FUNCTION @extschema@.rebuild_projection(name text)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	v_reset pg_catalog.text;
	v_n pg_catalog.int8;
	v_total pg_catalog.int8 := 0;
BEGIN
	SELECT p.reset_handler INTO v_reset FROM @extschema@.projections p
	 WHERE p.name = rebuild_projection.name FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'projection "%" does not exist', rebuild_projection.name USING ERRCODE = '42704';
	END IF;
	IF v_reset IS NOT NULL THEN
		-- regproc output is a quoted (and, where needed, qualified) name.
		EXECUTE pg_catalog.format('SELECT %s()', v_reset::pg_catalog.regprocedure::pg_catalog.regproc);
	END IF;
	UPDATE @extschema@.projections p SET position = 0, events_applied = 0 WHERE p.name = rebuild_projection.name;
	LOOP
		v_n := @extschema@._run_projection(rebuild_projection.name, 10000);
		v_total := v_total + v_n;
		EXIT WHEN v_n = 0;
	END LOOP;
	RETURN v_total;
END
$$;
COMMENT ON FUNCTION @extschema@.rebuild_projection(text) IS
'Resets a projection (reset_handler, checkpoint 0) and replays the log into it, in one transaction.';

-------------------------------------------------------------------------------
-- Privileges
-------------------------------------------------------------------------------
-- Admin functions create stream logs, projections and upcasters.
REVOKE ALL ON FUNCTION @extschema@.create_stream_log(text, interval, int, interval, int) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.create_projection(text, regclass, regprocedure, regprocedure) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.drop_projection(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.run_projection(text, int) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.rebuild_projection(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.register_upcaster(regclass, text, int, regprocedure) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.drop_upcaster(regclass, text, int) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.create_stream_log(text, interval, int, interval, int) TO eventlog_admin;
GRANT EXECUTE ON FUNCTION @extschema@.create_projection(text, regclass, regprocedure, regprocedure) TO eventlog_admin;
GRANT EXECUTE ON FUNCTION @extschema@.drop_projection(text) TO eventlog_admin;
GRANT EXECUTE ON FUNCTION @extschema@.run_projection(text, int) TO eventlog_admin;
GRANT EXECUTE ON FUNCTION @extschema@.rebuild_projection(text) TO eventlog_admin;
GRANT EXECUTE ON FUNCTION @extschema@.register_upcaster(regclass, text, int, regprocedure) TO eventlog_admin;
GRANT EXECUTE ON FUNCTION @extschema@.drop_upcaster(regclass, text, int) TO eventlog_admin;

-- Internal: the event trigger, the body of create_stream_log and the
-- projection runner's helpers. (_stream_guard() stays executable: CREATE
-- TRIGGER needs that, and a trigger function cannot be called directly.)
REVOKE ALL ON FUNCTION @extschema@._make_stream_log(regclass) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@._make_stream_log(regclass) TO eventlog_admin;
REVOKE ALL ON FUNCTION @extschema@._streams_dropped() FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@._run_projection(text, int) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@._apply(regprocedure, @extschema@.stream_event) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@._run_projection(text, int) TO eventlog_admin;
GRANT EXECUTE ON FUNCTION @extschema@._apply(regprocedure, @extschema@.stream_event) TO eventlog_admin;

-- Writers append and save snapshots.
REVOKE ALL ON FUNCTION @extschema@.append_to_stream(regclass, text, text, jsonb, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.save_snapshot(regclass, text, text, bigint, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.append_to_stream(regclass, text, text, jsonb, bigint) TO eventlog_writer;
GRANT EXECUTE ON FUNCTION @extschema@.save_snapshot(regclass, text, text, bigint, jsonb) TO eventlog_writer;

-- Readers read and commit their consumer positions. stream_version is a
-- writer's question too (the expected_version of its next append).
REVOKE ALL ON FUNCTION @extschema@.stream_version(regclass, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.read_stream(regclass, text, text, bigint, int) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.read_all(regclass, bigint, int, int, int) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.read_category(regclass, text, bigint, int, int, int) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.load_stream(regclass, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.fold_stream(regclass, text, text, regprocedure, jsonb, bigint, timestamptz, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.commit_position(regclass, text, bigint, int, int) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.consumer_position(regclass, text, int) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@._upcast(regclass, @extschema@.stream_event) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.stream_version(regclass, text, text) TO eventlog_reader, eventlog_writer;
GRANT EXECUTE ON FUNCTION @extschema@.read_stream(regclass, text, text, bigint, int) TO eventlog_reader;
GRANT EXECUTE ON FUNCTION @extschema@.read_all(regclass, bigint, int, int, int) TO eventlog_reader;
GRANT EXECUTE ON FUNCTION @extschema@.read_category(regclass, text, bigint, int, int, int) TO eventlog_reader;
GRANT EXECUTE ON FUNCTION @extschema@.load_stream(regclass, text, text) TO eventlog_reader;
GRANT EXECUTE ON FUNCTION @extschema@.fold_stream(regclass, text, text, regprocedure, jsonb, bigint, timestamptz, boolean) TO eventlog_reader;
GRANT EXECUTE ON FUNCTION @extschema@.commit_position(regclass, text, bigint, int, int) TO eventlog_reader;
GRANT EXECUTE ON FUNCTION @extschema@.consumer_position(regclass, text, int) TO eventlog_reader;
GRANT EXECUTE ON FUNCTION @extschema@._upcast(regclass, @extschema@.stream_event) TO eventlog_reader;
-- position_horizon(), position_xid(), group_member(), _require_stream_log()
-- and _check_group() reveal nothing and change nothing: PUBLIC keeps them.
