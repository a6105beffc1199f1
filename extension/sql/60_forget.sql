-------------------------------------------------------------------------------
-- Forgetting (GDPR erasure): tombstones, hiding, redaction (doc/forget.md)
--
-- forget() appends a tombstone event, records the request in
-- eventlog.forgotten and redacts a first batch of events; from that moment
-- the read functions hide the subject's events (not the tombstone). The rest
-- of a large erasure, and events that arrive for a forgotten subject later,
-- are redacted by run_maintenance(), the only writer besides forget() that
-- the append-only rule lets through. Redaction replaces payload and metadata
-- with {"redacted": true, "tombstone": "<tombstone event_id>"} and NULL; the
-- envelope (event_id, tenant_id, event_type, subject, times) stays, so the
-- log keeps its shape and the erasure can be proven.
-------------------------------------------------------------------------------
CREATE TABLE @extschema@.forgotten (
	log regclass NOT NULL REFERENCES @extschema@.log_config (log) ON DELETE CASCADE,
	tenant_id text NOT NULL,
	subject text,				-- NULL: every event of the tenant
	tombstone_id uuid NOT NULL,
	reason text NOT NULL,
	requested_by name NOT NULL,
	requested_at timestamptz NOT NULL,
	events_erased bigint NOT NULL,
	redacted bigint NOT NULL DEFAULT 0,
	redacted_at timestamptz,	-- when maintenance last found nothing left to redact
	UNIQUE NULLS NOT DISTINCT (log, tenant_id, subject)
);
COMMENT ON TABLE @extschema@.forgotten IS
'Every erasure request: what was forgotten, why, by whom, its tombstone and how far redaction got.';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.forgotten', '');
GRANT SELECT, INSERT, UPDATE ON @extschema@.forgotten TO eventlog_admin;

-- The redacted form of a forgotten event's payload.
CREATE FUNCTION @extschema@._redacted_payload(tombstone uuid)
RETURNS jsonb
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT pg_catalog.jsonb_build_object('redacted', true, 'tombstone', tombstone) $$;

-- Redacts up to p_limit not yet redacted events of forgotten subjects and
-- tenants in one leaf of p_log; returns how many. Every leaf is looked at on
-- every run, for requests complete or not: an event may arrive for a forgotten
-- subject at any time, into any partition (a load of history, a backlog).
CREATE FUNCTION @extschema@._redact_partition(p_log regclass, p_leaf regclass, p_limit bigint)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	v record;
	v_n bigint := 0;
	v_tombstone uuid;
BEGIN
	-- Row locks only (ROW EXCLUSIVE on the leaf): ingest goes on meanwhile.
	FOR v IN EXECUTE format(
		'WITH doomed AS ('
		' SELECT x.ctid AS tid, f.tombstone_id'
		'   FROM @extschema@.forgotten f'
		'   JOIN %1$s x ON x.tenant_id = f.tenant_id'
		'              AND (f.subject IS NULL OR x.subject = f.subject)'
		'  WHERE f.log = $1'
		'    AND NOT EXISTS (SELECT FROM @extschema@.forgotten t'
		'                     WHERE t.log = $1 AND t.tombstone_id = x.event_id)'
		'    AND (x.metadata IS NOT NULL OR x.payload <> @extschema@._redacted_payload(f.tombstone_id))'
		'  LIMIT $2),'
		' done AS ('
		' UPDATE %1$s x SET payload = @extschema@._redacted_payload(d.tombstone_id), metadata = NULL'
		'   FROM doomed d WHERE x.ctid = d.tid'
		' RETURNING d.tombstone_id)'
		' SELECT tombstone_id, count(*) AS n FROM done GROUP BY tombstone_id', p_leaf)
		USING p_log, p_limit
	LOOP
		UPDATE @extschema@.forgotten f SET redacted = f.redacted + v.n
		 WHERE f.log = p_log AND f.tombstone_id = v.tombstone_id;
		v_n := v_n + v.n;
		v_tombstone := v.tombstone_id;
	END LOOP;
	-- A lawful erasure re-seals a sealed leaf, with its tombstone (65_seals.sql).
	IF v_n > 0 AND @extschema@._is_sealed(p_log, p_leaf) THEN
		PERFORM @extschema@._seal_partition(p_log, p_leaf, 'forget', v_tombstone);
	END IF;
	RETURN v_n;
END
$$;

-- Redacts up to p_budget events of p_log's erasure requests; marks requests
-- complete when a pass finds nothing left. Runs with the append-only bypass.
CREATE FUNCTION @extschema@._redact(p_log regclass, p_budget bigint)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	v record;
	v_left bigint := p_budget;
	v_n bigint;
	v_done bigint := 0;
	v_t0 timestamptz := clock_timestamp();
BEGIN
	IF NOT EXISTS (SELECT FROM @extschema@.forgotten f WHERE f.log = p_log) THEN
		RETURN 0;
	END IF;
	FOR v IN
		SELECT t.relid FROM pg_catalog.pg_partition_tree(p_log) t WHERE t.isleaf ORDER BY t.relid
	LOOP
		EXIT WHEN v_left <= 0;
		v_n := @extschema@._redact_partition(p_log, v.relid, v_left);
		v_left := v_left - v_n;
		v_done := v_done + v_n;
	END LOOP;
	IF v_left > 0 THEN
		-- A whole pass within the budget: nothing of any request is left.
		UPDATE @extschema@.forgotten f SET redacted_at = v_t0
		 WHERE f.log = p_log AND (f.redacted_at IS NULL OR v_done > 0);
	END IF;
	RETURN v_done;
END
$$;

-- Body of forget() and forget_tenant(); runs as eventlog_admin with the
-- append-only bypass (maint.c). p_subject NULL: the whole tenant.
CREATE FUNCTION @extschema@._forget(p_log regclass, p_tenant text, p_subject text, p_reason text,
									p_by text, p_batch int)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	v_kind text;
	v_id uuid := @extschema@.uuidv7();
	v_n bigint;
BEGIN
	SELECT c.kind INTO v_kind FROM @extschema@.log_config c WHERE c.log = p_log;
	IF v_kind <> 'log' THEN
		RAISE EXCEPTION 'cannot forget events of stream log %', p_log
			USING ERRCODE = '0A000',
				  DETAIL = 'Stream logs are replayed to rebuild state; erasing events from a stream breaks its versions.',
				  HINT = 'Keep personal data of event-sourced domains in an event log, or encrypt it per subject and drop the key.';
	END IF;
	IF octet_length(p_tenant) NOT BETWEEN 1 AND 128 THEN
		RAISE EXCEPTION 'tenant_id must be 1 to 128 bytes' USING ERRCODE = '22023';
	END IF;
	IF p_subject IS NOT NULL AND octet_length(p_subject) NOT BETWEEN 1 AND 1024 THEN
		RAISE EXCEPTION 'subject must be 1 to 1024 bytes' USING ERRCODE = '22023';
	END IF;
	IF length(btrim(p_reason)) = 0 OR octet_length(p_reason) > 1000 THEN
		RAISE EXCEPTION 'reason must be 1 to 1000 bytes and not blank' USING ERRCODE = '22023',
			DETAIL = 'The tombstone records why the events were erased.';
	END IF;
	-- One request per (log, tenant, subject) at a time.
	PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended(
		p_log::oid::text || '/' || p_tenant || '/' || coalesce(p_subject, ''), 7));
	-- Idempotent: forgotten already (or the whole tenant is): nothing more to do.
	IF EXISTS (SELECT FROM @extschema@.forgotten f
				WHERE f.log = p_log AND f.tenant_id = p_tenant
				  AND (f.subject IS NULL OR f.subject = p_subject)) THEN
		PERFORM @extschema@._redact(p_log, p_batch);
		RETURN 0;
	END IF;
	-- Events this request erases: not tombstones, not erased by an earlier request.
	EXECUTE format('SELECT count(*) FROM %s x WHERE x.tenant_id = $1'
				   '   AND ($2::text IS NULL OR x.subject = $2)'
				   '   AND NOT EXISTS (SELECT FROM @extschema@.forgotten f WHERE f.log = $3'
				   '                    AND (f.tombstone_id = x.event_id'
				   '                         OR (f.tenant_id = x.tenant_id AND f.subject = x.subject)))', p_log)
		INTO v_n USING p_tenant, p_subject, p_log;
	-- The proof: who asked, when, why and how much; never the erased data.
	EXECUTE format('INSERT INTO %s (event_id, tenant_id, event_type, subject, occurred_at, payload)'
				   ' VALUES ($1, $2, ''eventlog.forgotten'', $3, now(), $4)', p_log)
		USING v_id, p_tenant, p_subject,
			  jsonb_build_object('scope', CASE WHEN p_subject IS NULL THEN 'tenant' ELSE 'subject' END,
								 'reason', p_reason, 'requested_by', p_by,
								 'session_user', session_user::text, 'events_erased', v_n);
	INSERT INTO @extschema@.forgotten (log, tenant_id, subject, tombstone_id, reason, requested_by,
									   requested_at, events_erased)
	VALUES (p_log, p_tenant, p_subject, v_id, p_reason, p_by, now(), v_n);
	PERFORM @extschema@._redact(p_log, p_batch);
	RETURN v_n;
END
$$;

CREATE FUNCTION @extschema@.forget(log regclass, tenant_id text, subject text, reason text)
RETURNS bigint
AS 'MODULE_PATHNAME', 'ev_forget'
LANGUAGE c VOLATILE;
COMMENT ON FUNCTION @extschema@.forget(regclass, text, text, text) IS
'Erases one subject of a tenant: appends a tombstone, hides the events at once, redacts their payload and metadata; returns the number of events erased.';

CREATE FUNCTION @extschema@.forget_tenant(log regclass, tenant_id text, reason text)
RETURNS bigint
AS 'MODULE_PATHNAME', 'ev_forget_tenant'
LANGUAGE c VOLATILE;
COMMENT ON FUNCTION @extschema@.forget_tenant(regclass, text, text) IS
'Erases every event of a tenant, as forget() does for one subject.';

-- What the read functions must hide for one tenant of a log. SECURITY
-- DEFINER: readers may not read eventlog.forgotten (it names the forgotten
-- subjects of every tenant); this answers only for the tenant asked about.
CREATE FUNCTION @extschema@._forgotten_filter(p_log regclass, p_tenant text,
											  OUT whole boolean, OUT subjects text[], OUT tombstones uuid[])
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT coalesce(bool_or(f.subject IS NULL), false),
		   array_agg(f.subject) FILTER (WHERE f.subject IS NOT NULL),
		   array_agg(f.tombstone_id)
	  FROM @extschema@.forgotten f
	 WHERE f.log = p_log AND f.tenant_id = p_tenant
$$;

-- Whether one event is hidden (its subject or tenant was forgotten and it is
-- not the tombstone). SECURITY DEFINER for the same reason as above.
CREATE FUNCTION @extschema@._is_forgotten(p_log regclass, p_tenant text, p_subject text, p_event_id uuid)
RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT EXISTS (SELECT FROM @extschema@.forgotten f
					WHERE f.log = p_log AND f.tenant_id = p_tenant
					  AND (f.subject IS NULL OR f.subject = p_subject))
	   AND NOT EXISTS (SELECT FROM @extschema@.forgotten f
						WHERE f.log = p_log AND f.tombstone_id = p_event_id)
$$;

-- Erasure is an admin's act: eventlog_admin only.
REVOKE ALL ON FUNCTION @extschema@.forget(regclass, text, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.forget_tenant(regclass, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.forget(regclass, text, text, text) TO eventlog_admin;
GRANT EXECUTE ON FUNCTION @extschema@.forget_tenant(regclass, text, text) TO eventlog_admin;
-- Internal bodies: run as eventlog_admin by the C entry points and maintenance.
REVOKE ALL ON FUNCTION @extschema@._forget(regclass, text, text, text, text, int) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@._redact(regclass, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@._redact_partition(regclass, regclass, bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@._forget(regclass, text, text, text, text, int) TO eventlog_admin;
GRANT EXECUTE ON FUNCTION @extschema@._redact(regclass, bigint) TO eventlog_admin;
GRANT EXECUTE ON FUNCTION @extschema@._redact_partition(regclass, regclass, bigint) TO eventlog_admin;
-- The read functions' filters: for the roles that may call them.
REVOKE ALL ON FUNCTION @extschema@._forgotten_filter(regclass, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@._is_forgotten(regclass, text, text, uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@._forgotten_filter(regclass, text) TO eventlog_reader, eventlog_admin;
GRANT EXECUTE ON FUNCTION @extschema@._is_forgotten(regclass, text, text, uuid) TO eventlog_reader, eventlog_admin;
