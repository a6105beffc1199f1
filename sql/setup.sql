-- setup: what every later file of this suite relies on. pg_regress runs the
-- files in the Makefile's REGRESS order in one database: this one installs
-- pg_partman and pg_eventlog, lets eventlog_admin create logs in public, and
-- makes one LOGIN role per extension role (cluster-wide, so only when missing).
SET client_min_messages = warning;
CREATE SCHEMA partman;
CREATE EXTENSION pg_partman SCHEMA partman;
CREATE EXTENSION pg_eventlog;
RESET client_min_messages;
GRANT CREATE, USAGE ON SCHEMA public TO eventlog_admin;

DO $$
DECLARE
	r record;
BEGIN
	FOR r IN SELECT * FROM (VALUES ('regress_eventlog_admin', 'eventlog_admin'),
								   ('regress_eventlog_writer', 'eventlog_writer'),
								   ('regress_eventlog_reader', 'eventlog_reader'),
								   ('regress_eventlog_nobody', NULL)) AS v(login, member_of) LOOP
		IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = r.login) THEN
			EXECUTE format('CREATE ROLE %I LOGIN', r.login);
		END IF;
		IF r.member_of IS NOT NULL AND NOT pg_has_role(r.login, r.member_of, 'MEMBER') THEN
			EXECUTE format('GRANT %I TO %I', r.member_of, r.login);
		END IF;
	END LOOP;
END
$$;

-- The extension, in its fixed schema, on pg_partman 4.x.
SELECT e.extname, e.extversion, n.nspname AS schema, e.extrelocatable
  FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
 WHERE e.extname = 'pg_eventlog';
SELECT split_part(extversion, '.', 1) AS partman_major FROM pg_extension WHERE extname = 'pg_partman';

-- Its three roles: no login, no superuser; admin has the rights of the other two.
SELECT rolname, rolcanlogin, rolsuper, rolbypassrls
  FROM pg_roles WHERE rolname IN ('eventlog_admin', 'eventlog_writer', 'eventlog_reader') ORDER BY 1;
SELECT pg_has_role('eventlog_admin', 'eventlog_writer', 'USAGE') AS admin_is_writer,
	   pg_has_role('eventlog_admin', 'eventlog_reader', 'USAGE') AS admin_is_reader,
	   pg_has_role('eventlog_writer', 'eventlog_reader', 'USAGE') AS writer_is_reader,
	   pg_has_role('eventlog_reader', 'eventlog_writer', 'USAGE') AS reader_is_writer;

-- The login roles the other files connect as.
SELECT r.rolname, r.rolcanlogin, string_agg(g.rolname, ', ' ORDER BY g.rolname) AS member_of
  FROM pg_roles r
  LEFT JOIN pg_auth_members m ON m.member = r.oid
  LEFT JOIN pg_roles g ON g.oid = m.roleid
 WHERE r.rolname LIKE 'regress\_eventlog\_%'
 GROUP BY r.rolname, r.rolcanlogin ORDER BY 1;

-- The extension's settings (pg_eventlog is in shared_preload_libraries).
SELECT name, context, vartype, boot_val FROM pg_settings WHERE name LIKE 'eventlog.%' ORDER BY name;
SET eventlog.no_such_setting = 1;

-- Helpers of the suite, in schema regress (usable by every role).
CREATE SCHEMA regress;
GRANT USAGE ON SCHEMA regress TO PUBLIC;
-- The outcome of one statement as one line: 'ok', or 'SQLSTATE: message'.
CREATE FUNCTION regress.outcome(stmt text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE stmt;
	RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;
-- COPY's binary format of envelope rows, as COPY log TO ... (FORMAT binary)
-- writes them: signature, flags, header extension, then per row the field
-- count and each field's length and send() bytes (-1 for NULL), then -1.
CREATE FUNCTION regress.copy_field(b bytea) RETURNS bytea
LANGUAGE sql IMMUTABLE AS $$
	SELECT CASE WHEN b IS NULL THEN int4send(-1) ELSE int4send(length(b)) || b END
$$;
CREATE FUNCTION regress.copy_binary(events eventlog.event[]) RETURNS bytea
LANGUAGE sql IMMUTABLE AS $$
	SELECT '\x5047434f50590aff0d0a00'::bytea || int4send(0) || int4send(0)
		|| coalesce((SELECT string_agg(int2send(9::int2)
								|| regress.copy_field(uuid_send(e.event_id))
								|| regress.copy_field(textsend(e.tenant_id))
								|| regress.copy_field(textsend(e.event_type))
								|| regress.copy_field(textsend(e.subject))
								|| regress.copy_field(timestamptz_send(e.occurred_at))
								|| regress.copy_field(timestamptz_send(e.received_at))
								|| regress.copy_field(int4send(e.schema_version))
								|| regress.copy_field(jsonb_send(e.payload))
								|| regress.copy_field(jsonb_send(e.metadata)), ''::bytea ORDER BY e.ord)
					   FROM unnest(events) WITH ORDINALITY AS e(event_id, tenant_id, event_type, subject,
							occurred_at, received_at, schema_version, payload, metadata, ord)), ''::bytea)
		|| int2send((-1)::int2)
$$;
-- The relations an EXPLAIN of stmt scans (after planning-time pruning).
CREATE FUNCTION regress.scanned(stmt text) RETURNS SETOF text
LANGUAGE plpgsql AS $$
DECLARE
	v_plan jsonb;
BEGIN
	EXECUTE 'EXPLAIN (COSTS OFF, FORMAT JSON) ' || stmt INTO v_plan;
	RETURN QUERY SELECT DISTINCT r #>> '{}' FROM jsonb_path_query(v_plan, 'strict $.**."Relation Name"') AS r
				  ORDER BY 1;
END
$$;
SELECT regress.outcome('SELECT 1') AS ok_statement, regress.outcome('SELECT 1/0') AS failing_statement;
