/*
 * dedup.c
 *		The dedup lookup of ingest() and append(): is an event_id already
 *		stored for this tenant with a received_at inside the dedup window?
 *
 * The lookup walks the log's partition tree the way tuple routing does: at a
 * hash level on tenant_id it takes the tenant's one bucket, at a range level
 * on received_at the partitions that overlap the window (and the default
 * partition), at any other level every partition. In each leaf found it
 * probes the btree on (event_id) and checks the tenant and the time of the
 * rows it finds. One probe is a descent of that index in two or three leaves,
 * whatever the planner knows about them.
 *
 * This replaces a NOT EXISTS subquery in the INSERT of ingest(): as a generic
 * plan, its choice between the (event_id) and the (tenant_id, received_at)
 * indexes of each leaf followed the leaf's statistics; before the first
 * ANALYZE it took the tenant index and read every row of the tenant in the
 * window for each new event, so that the first tens of thousands of events
 * of a new log cost twice as much as the rest.
 *
 * Rows are read with a snapshot taken when the lookup begins, after a
 * CommandCounterIncrement, as the INSERT that follows sees the table: what
 * committed transactions and earlier commands of this one stored.
 *
 * The partition arithmetic is that of PostgreSQL's tuple routing
 * (get_partition_for_tuple), through the functions partbounds.h exports.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/relscan.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_am.h"
#include "catalog/pg_class.h"
#include "catalog/pg_partitioned_table.h"
#include "executor/tuptable.h"
#include "partitioning/partbounds.h"
#include "partitioning/partdesc.h"
#include "storage/bufmgr.h"
#include "utils/fmgroids.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/partcache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"

#include "ev.h"

/* A relation of the log's tree, opened once per lookup batch. */
typedef struct DedupRel
{
	Oid			relid;			/* hash key */
	Relation	rel;
	AttrNumber	att_event_id;
	AttrNumber	att_tenant_id;
	AttrNumber	att_received_at;
	bool		is_leaf;
	/* leaves only: the (event_id) index and its scan, opened at first use */
	bool		scan_ready;
	bool		empty;			/* no blocks: holds nothing this snapshot sees */
	Relation	index;			/* NULL: the leaf has none, scan its heap */
	IndexScanDesc scan;
	TupleTableSlot *slot;
} DedupRel;

struct EvDedup
{
	Oid			logrelid;
	TimestampTz lo;
	TimestampTz hi;
	Snapshot	snapshot;
	HTAB	   *rels;
	MemoryContext cxt;			/* lives as long as the lookup batch */
	MemoryContext probe_cxt;	/* reset after each probe */
};

/* Opens (once) a relation of the log's tree. */
static DedupRel *
GetRel(EvDedup *d, Oid relid)
{
	DedupRel   *r;
	bool		found;

	r = hash_search(d->rels, &relid, HASH_ENTER, &found);
	if (!found)
	{
		MemoryContext old = MemoryContextSwitchTo(d->cxt);

		r->rel = table_open(relid, AccessShareLock);
		r->att_event_id = get_attnum(relid, "event_id");
		r->att_tenant_id = get_attnum(relid, "tenant_id");
		r->att_received_at = get_attnum(relid, "received_at");
		r->is_leaf = r->rel->rd_rel->relkind != RELKIND_PARTITIONED_TABLE;
		r->scan_ready = false;
		r->empty = false;
		r->index = NULL;
		r->scan = NULL;
		r->slot = NULL;
		if (r->is_leaf && r->rel->rd_rel->relkind != RELKIND_RELATION)
			ereport(ERROR,
					(errcode(ERRCODE_WRONG_OBJECT_TYPE),
					 errmsg("cannot look up duplicates in \"%s\": not a table",
							RelationGetRelationName(r->rel))));
		if (r->att_event_id == InvalidAttrNumber || r->att_tenant_id == InvalidAttrNumber ||
			r->att_received_at == InvalidAttrNumber)
			elog(ERROR, "\"%s\" lacks a column of the event envelope", RelationGetRelationName(r->rel));
		MemoryContextSwitchTo(old);
	}
	return r;
}

/* The leaf's valid btree on (event_id) alone, opened; NULL if it has none. */
static Relation
OpenEventIdIndex(DedupRel *r)
{
	List	   *indexes = RelationGetIndexList(r->rel);
	ListCell   *lc;

	foreach(lc, indexes)
	{
		Relation	index = index_open(lfirst_oid(lc), AccessShareLock);
		Form_pg_index ix = index->rd_index;

		if (index->rd_rel->relam == BTREE_AM_OID && ix->indisvalid && ix->indnkeyatts == 1 &&
			ix->indkey.values[0] == r->att_event_id && RelationGetIndexPredicate(index) == NIL)
		{
			list_free(indexes);
			return index;
		}
		index_close(index, AccessShareLock);
	}
	list_free(indexes);
	return NULL;
}

/* Does the slot's row hold this tenant with a received_at in [lo, hi]? */
static bool
RowMatches(EvDedup *d, DedupRel *r, TupleTableSlot *slot, const pg_uuid_t *id, text *tenant)
{
	Datum		v;
	bool		isnull;
	text	   *t;

	if (r->index == NULL)
	{
		v = slot_getattr(slot, r->att_event_id, &isnull);
		if (isnull || memcmp(DatumGetUUIDP(v), id, UUID_LEN) != 0)
			return false;
	}
	v = slot_getattr(slot, r->att_received_at, &isnull);
	if (isnull || DatumGetTimestampTz(v) < d->lo || DatumGetTimestampTz(v) > d->hi)
		return false;
	v = slot_getattr(slot, r->att_tenant_id, &isnull);
	if (isnull)
		return false;
	/* byte equality: tenant_id has a deterministic collation, as texteq assumes */
	t = DatumGetTextPP(v);
	return VARSIZE_ANY_EXHDR(t) == VARSIZE_ANY_EXHDR(tenant) &&
		memcmp(VARDATA_ANY(t), VARDATA_ANY(tenant), VARSIZE_ANY_EXHDR(t)) == 0;
}

/* Probes one leaf. */
static bool
ProbeLeaf(EvDedup *d, DedupRel *r, const pg_uuid_t *id, text *tenant)
{
	bool		found = false;

	if (!r->scan_ready)
	{
		MemoryContext old = MemoryContextSwitchTo(d->cxt);

		/*
		 * A leaf without blocks (tomorrow's, a default partition) holds no
		 * row the snapshot sees: whatever committed before it was taken
		 * extended the file already. Skipping it saves an index scan, whose
		 * ~27 kB of state per leaf, allocated and freed at each call, made
		 * glibc return and fault in heap pages (10x the page faults).
		 */
		r->empty = RelationGetNumberOfBlocks(r->rel) == 0;
		if (!r->empty)
		{
			r->index = OpenEventIdIndex(r);
			r->slot = table_slot_create(r->rel, NULL);
			if (r->index != NULL)
				r->scan = index_beginscan(r->rel, r->index, d->snapshot, 1, 0);
		}
		r->scan_ready = true;
		MemoryContextSwitchTo(old);
	}
	if (r->empty)
		return false;

	if (r->index != NULL)
	{
		ScanKeyData key;

		ScanKeyInit(&key, 1, BTEqualStrategyNumber, F_UUID_EQ, UUIDPGetDatum(id));
		index_rescan(r->scan, &key, 1, NULL, 0);
		while (!found && index_getnext_slot(r->scan, ForwardScanDirection, r->slot))
			found = RowMatches(d, r, r->slot, id, tenant);
	}
	else
	{
		/* no (event_id) index: someone dropped it; correct, and slow */
		TableScanDesc scan = table_beginscan(r->rel, d->snapshot, 0, NULL);

		while (!found && table_scan_getnextslot(scan, ForwardScanDirection, r->slot))
			found = RowMatches(d, r, r->slot, id, tenant);
		table_endscan(scan);
	}
	ExecClearTuple(r->slot);
	return found;
}

/* Adds partition i of a partitioned relation to the set, or its default. */
static Bitmapset *
AddPart(Bitmapset *parts, PartitionBoundInfo bi, int i)
{
	if (i < 0)
		i = bi->default_index;
	return i >= 0 ? bms_add_member(parts, i) : parts;
}

/* Looks for the event in the part of rel's tree that can hold it. */
static bool
Probe(EvDedup *d, DedupRel *r, const pg_uuid_t *id, text *tenant)
{
	PartitionKey key;
	PartitionDesc pd;
	PartitionBoundInfo bi;
	Bitmapset  *parts = NULL;
	int			i;

	if (r->is_leaf)
		return ProbeLeaf(d, r, id, tenant);

	key = RelationGetPartitionKey(r->rel);
	pd = RelationGetPartitionDesc(r->rel, true);
	bi = pd->boundinfo;
	if (pd->nparts == 0)
		return false;

	if (key->partnatts == 1 && key->strategy == PARTITION_STRATEGY_HASH &&
		key->partattrs[0] == r->att_tenant_id)
	{
		/* the tenant's bucket, as tuple routing finds it */
		Datum		value = PointerGetDatum(tenant);
		bool		isnull = false;
		uint64		hash = compute_partition_hash_value(1, key->partsupfunc, key->partcollation,
														&value, &isnull);

		parts = AddPart(parts, bi, bi->indexes[hash % get_hash_partition_greatest_modulus(bi)]);
	}
	else if (key->partnatts == 1 && key->strategy == PARTITION_STRATEGY_RANGE &&
			 key->partattrs[0] == r->att_received_at)
	{
		/*
		 * Bound k is the upper bound of partition indexes[k + 1]'s range
		 * below it; the bsearch gives the greatest bound <= the value. The
		 * partitions from lo's to hi's overlap the window; the default holds
		 * the rows that fall between or outside them.
		 */
		Datum		lo = TimestampTzGetDatum(d->lo),
					hi = TimestampTzGetDatum(d->hi);
		bool		equal;
		int			from = partition_range_datum_bsearch(key->partsupfunc, key->partcollation,
														 bi, 1, &lo, &equal);
		int			to = partition_range_datum_bsearch(key->partsupfunc, key->partcollation,
													   bi, 1, &hi, &equal);

		for (i = from + 1; i <= to + 1 && i < bi->nindexes; i++)
			if (bi->indexes[i] >= 0)
				parts = bms_add_member(parts, bi->indexes[i]);
		if (partition_bound_has_default(bi))
			parts = bms_add_member(parts, bi->default_index);
	}
	else
	{
		/* a level we did not make: look everywhere */
		for (i = 0; i < pd->nparts; i++)
			parts = bms_add_member(parts, i);
	}

	i = -1;
	while ((i = bms_next_member(parts, i)) >= 0)
		if (Probe(d, GetRel(d, pd->oids[i]), id, tenant))
			return true;
	return false;
}

/* Begins a batch of lookups in log logrelid for rows received in [lo, hi]. */
EvDedup *
EvDedupBegin(Oid logrelid, TimestampTz lo, TimestampTz hi)
{
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext, "eventlog dedup lookup",
											  ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(cxt);
	EvDedup    *d = palloc0(sizeof(EvDedup));
	HASHCTL		ctl;

	d->logrelid = logrelid;
	d->lo = lo;
	d->hi = hi;
	d->cxt = cxt;
	d->probe_cxt = AllocSetContextCreate(cxt, "eventlog dedup probe", ALLOCSET_SMALL_SIZES);
	ctl.keysize = sizeof(Oid);
	ctl.entrysize = sizeof(DedupRel);
	ctl.hcxt = cxt;
	d->rels = hash_create("eventlog dedup relations", 64, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	CommandCounterIncrement();
	d->snapshot = RegisterSnapshot(GetTransactionSnapshot());
	MemoryContextSwitchTo(old);
	return d;
}

/* Is event id of tenant stored in the log with a received_at in the window? */
bool
EvDedupStored(EvDedup *d, const pg_uuid_t *id, text *tenant)
{
	MemoryContext old = MemoryContextSwitchTo(d->probe_cxt);
	bool		found = Probe(d, GetRel(d, d->logrelid), id, tenant);

	MemoryContextSwitchTo(old);
	MemoryContextReset(d->probe_cxt);
	return found;
}

/* Ends the batch: scans ended, relations closed (their locks are kept). */
void
EvDedupEnd(EvDedup *d)
{
	HASH_SEQ_STATUS status;
	DedupRel   *r;

	hash_seq_init(&status, d->rels);
	while ((r = hash_seq_search(&status)) != NULL)
	{
		if (r->scan != NULL)
			index_endscan(r->scan);
		if (r->index != NULL)
			index_close(r->index, NoLock);
		if (r->slot != NULL)
			ExecDropSingleTupleTableSlot(r->slot);
		table_close(r->rel, NoLock);
	}
	UnregisterSnapshot(d->snapshot);
	MemoryContextDelete(d->cxt);
}
