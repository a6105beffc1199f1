/*
 * Archive files: export a partition to a gzip-compressed NDJSON file with a
 * manifest, and read one back into a log.
 *
 * Layout: <archive_dir>/<log table>/<range start, UTC>_b<bucket>.ndjson.gz, one
 * event per line as row_to_json of the log's row (every column), in
 * (received_at, event_id) order, and next to it <same>.manifest.json: the log,
 * bucket, range, row count, sha256 of the compressed file and of the content
 * (the partition's seal hash), and the time of the export.
 *
 * Crash safety: each file is written under a .tmp name, fsynced, renamed and
 * its directory fsynced; the caller drops the partition and records the file in
 * eventlog.archives in one transaction, after the file was read back and its
 * rows counted. A crash before that commit leaves the partition in place and at
 * most a file that the next run writes again; after it, the file is durable.
 *
 * Security: files are written and read by the server's OS user, so a path is
 * never taken from a caller: the directory comes from the log's archive_dir,
 * which must lie inside eventlog.archive_root (set by a superuser in the server
 * configuration), and names are made here from the log's name, the range and
 * the bucket.
 */
#include "postgres.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "catalog/pg_type.h"
#include "common/cryptohash.h"
#include "common/sha2.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"

#include "ev.h"

PG_FUNCTION_INFO_V1(ev_archive_partition);
PG_FUNCTION_INFO_V1(ev_restore_file);
PG_FUNCTION_INFO_V1(ev_check_archive_dir);
PG_FUNCTION_INFO_V1(ev_remove_archive_file);

char	   *ev_archive_root = NULL;

#define FETCH_ROWS 1000
#define RESTORE_BATCH 5000

/* The resolved archive_root; raises an error when it is unset or missing. */
static char *
ArchiveRoot(void)
{
	char		resolved[PATH_MAX];

	if (ev_archive_root == NULL || ev_archive_root[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("eventlog.archive_root is not set"),
				 errhint("A superuser sets eventlog.archive_root in postgresql.conf to the directory "
						 "under which archive_dir may lie.")));
	if (realpath(ev_archive_root, resolved) == NULL)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not resolve eventlog.archive_root \"%s\": %m", ev_archive_root)));
	return pstrdup(resolved);
}

/* Raises an error unless dir (resolved) is archive_root or inside it. */
static char *
CheckedArchiveDir(const char *dir)
{
	char	   *root = ArchiveRoot();
	char		resolved[PATH_MAX];
	size_t		n = strlen(root);

	if (realpath(dir, resolved) == NULL && errno == ENOENT)
	{
		/* a new directory right inside an existing one: make it */
		char	   *parent = pstrdup(dir);
		char	   *slash = strrchr(parent, '/');

		if (slash != NULL && slash != parent)
		{
			*slash = '\0';
			(void) CheckedArchiveDir(parent);
			if (mkdir(dir, 0700) != 0 && errno != EEXIST)
				ereport(ERROR, (errcode_for_file_access(), errmsg("could not create directory \"%s\": %m", dir)));
		}
	}
	if (realpath(dir, resolved) == NULL)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not resolve archive_dir \"%s\": %m", dir),
				 errhint("Create the directory, owned by the server's user.")));
	if (strncmp(resolved, root, n) != 0 || (resolved[n] != '\0' && resolved[n] != '/'))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("archive_dir \"%s\" is not inside eventlog.archive_root \"%s\"", dir, root)));
	return pstrdup(resolved);
}

/* A file name part: letters, digits, '_', '-' and '.', not starting with '.'. */
static void
CheckNamePart(const char *s, const char *what)
{
	if (s[0] == '\0' || s[0] == '.')
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("invalid %s: \"%s\"", what, s)));
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
			  *p == '_' || *p == '-' || *p == '.'))
			ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("invalid %s: \"%s\"", what, s)));
}

/* fsyncs a file or directory by path; raises an error on failure. */
static void
FsyncPath(const char *path, bool dir)
{
	int			fd = open(path, dir ? O_RDONLY | O_DIRECTORY : O_RDONLY);

	if (fd < 0)
		ereport(ERROR, (errcode_for_file_access(), errmsg("could not open \"%s\": %m", path)));
	if (pg_fsync(fd) != 0)
	{
		int			save = errno;

		close(fd);
		errno = save;
		ereport(ERROR, (errcode_for_file_access(), errmsg("could not fsync \"%s\": %m", path)));
	}
	close(fd);
}

/* sha256 of a whole file, as lowercase hex; raises an error when unreadable. */
static char *
FileSha256(const char *path)
{
	pg_cryptohash_ctx *ctx = pg_cryptohash_create(PG_SHA256);
	uint8		digest[PG_SHA256_DIGEST_LENGTH];
	char	   *hex = palloc(PG_SHA256_DIGEST_LENGTH * 2 + 1);
	char		buf[65536];
	ssize_t		n;
	int			fd = open(path, O_RDONLY);

	if (fd < 0)
		ereport(ERROR, (errcode_for_file_access(), errmsg("could not open \"%s\": %m", path)));
	if (pg_cryptohash_init(ctx) < 0)
		elog(ERROR, "could not initialize sha256");
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		if (pg_cryptohash_update(ctx, (uint8 *) buf, n) < 0)
			elog(ERROR, "could not compute sha256");
	if (n < 0)
	{
		int			save = errno;

		close(fd);
		errno = save;
		ereport(ERROR, (errcode_for_file_access(), errmsg("could not read \"%s\": %m", path)));
	}
	close(fd);
	if (pg_cryptohash_final(ctx, digest, sizeof(digest)) < 0)
		elog(ERROR, "could not compute sha256");
	pg_cryptohash_free(ctx);
	for (int i = 0; i < PG_SHA256_DIGEST_LENGTH; i++)
		sprintf(hex + 2 * i, "%02x", digest[i]);
	return hex;
}

/* Counts the lines of a gzip file, reading it all back; -1 if it is damaged. */
static int64
GzLines(const char *path)
{
	gzFile		gz = gzopen(path, "rb");
	char		buf[65536];
	int			n;
	int64		lines = 0;

	if (gz == NULL)
		return -1;
	while ((n = gzread(gz, buf, sizeof(buf))) > 0)
		for (int i = 0; i < n; i++)
			lines += buf[i] == '\n';
	if (n < 0)
		lines = -1;
	gzclose(gz);
	return lines;
}

/* Writes text to path.tmp, fsyncs, renames to path. */
static void
WriteFileAtomically(const char *path, const char *text)
{
	char	   *tmp = psprintf("%s.tmp", path);
	int			fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	size_t		len = strlen(text);

	if (fd < 0)
		ereport(ERROR, (errcode_for_file_access(), errmsg("could not create \"%s\": %m", tmp)));
	if (write(fd, text, len) != (ssize_t) len || pg_fsync(fd) != 0)
	{
		int			save = errno;

		close(fd);
		errno = save ? save : ENOSPC;
		ereport(ERROR, (errcode_for_file_access(), errmsg("could not write \"%s\": %m", tmp)));
	}
	close(fd);
	if (rename(tmp, path) != 0)
		ereport(ERROR, (errcode_for_file_access(), errmsg("could not rename \"%s\": %m", tmp)));
}

/*
 * _archive_partition(log regclass, leaf regclass, archive_dir text, stem text,
 * meta jsonb) RETURNS TABLE(file text, rows bigint, file_sha256 text)
 * Exports leaf to <archive_dir>/<log table>/<stem>.ndjson.gz with its
 * manifest (meta plus file, rows, sha256); inside SPI, as the caller.
 */
Datum
ev_archive_partition(PG_FUNCTION_ARGS)
{
	Oid			logrelid = PG_GETARG_OID(0);
	Oid			leaf = PG_GETARG_OID(1);
	char	   *dir = CheckedArchiveDir(text_to_cstring(PG_GETARG_TEXT_PP(2)));
	char	   *stem = text_to_cstring(PG_GETARG_TEXT_PP(3));
	char	   *meta = text_to_cstring(PG_GETARG_TEXT_PP(4));
	char	   *logname = get_rel_name(logrelid);
	char	   *subdir,
			   *path,
			   *tmp,
			   *sha;
	gzFile		gz;
	Portal		portal;
	int64		rows = 0,
				lines;
	TupleDesc	tupdesc;
	Datum		values[3];
	bool		nulls[3] = {false, false, false};

	EvRequireAdmin("archive partitions");
	if (logname == NULL)
		elog(ERROR, "log %u not found", logrelid);
	CheckNamePart(logname, "log name for an archive directory");
	CheckNamePart(stem, "archive file name");
	subdir = psprintf("%s/%s", dir, logname);
	if (mkdir(subdir, 0700) != 0 && errno != EEXIST)
		ereport(ERROR, (errcode_for_file_access(), errmsg("could not create directory \"%s\": %m", subdir)));
	path = psprintf("%s/%s.ndjson.gz", subdir, stem);
	tmp = psprintf("%s.tmp", path);

	gz = gzopen(tmp, "wb6");
	if (gz == NULL)
		ereport(ERROR, (errcode_for_file_access(), errmsg("could not create \"%s\": %m", tmp)));
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	portal = SPI_cursor_open_with_args(NULL,
									   psprintf("SELECT pg_catalog.row_to_json(x)::text FROM %s x"
												" ORDER BY x.received_at, x.event_id",
												DatumGetCString(DirectFunctionCall1(regclassout,
																					ObjectIdGetDatum(leaf)))),
									   0, NULL, NULL, NULL, true, 0);
	for (;;)
	{
		SPI_cursor_fetch(portal, true, FETCH_ROWS);
		if (SPI_processed == 0)
			break;
		for (uint64 i = 0; i < SPI_processed; i++)
		{
			char	   *line = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
			int			len = strlen(line);

			if (gzwrite(gz, line, len) != len || gzputc(gz, '\n') != '\n')
			{
				gzclose(gz);
				ereport(ERROR, (errcode(ERRCODE_IO_ERROR), errmsg("could not write \"%s\"", tmp)));
			}
			pfree(line);
			rows++;
		}
		SPI_freetuptable(SPI_tuptable);
	}
	SPI_cursor_close(portal);
	SPI_finish();
	if (gzclose(gz) != Z_OK)
		ereport(ERROR, (errcode(ERRCODE_IO_ERROR), errmsg("could not finish \"%s\"", tmp)));
	FsyncPath(tmp, false);
	/* read back: the file must hold every row before the partition may go */
	lines = GzLines(tmp);
	if (lines != rows)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("archive \"%s\" reads back %lld rows, %lld written", tmp, (long long) lines,
						(long long) rows)));
	sha = FileSha256(tmp);
	if (rename(tmp, path) != 0)
		ereport(ERROR, (errcode_for_file_access(), errmsg("could not rename \"%s\": %m", tmp)));
	WriteFileAtomically(psprintf("%s/%s.manifest.json", subdir, stem),
						psprintf("{\"file\": \"%s.ndjson.gz\", \"rows\": %lld, \"sha256\": \"%s\", \"meta\": %s}\n",
								 stem, (long long) rows, sha, meta));
	FsyncPath(subdir, true);
	FsyncPath(dir, true);

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	tupdesc = BlessTupleDesc(tupdesc);
	values[0] = CStringGetTextDatum(path);
	values[1] = Int64GetDatum(rows);
	values[2] = CStringGetTextDatum(sha);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/* Inserts one batch of NDJSON lines (a JSON array text) into the log. */
static uint64
InsertBatch(const char *logname, StringInfo batch)
{
	Oid			argtypes[1] = {JSONOID};
	Datum		values[1];

	appendStringInfoChar(batch, ']');
	values[0] = CStringGetTextDatum(batch->data);
	if (SPI_execute_with_args(psprintf("INSERT INTO %s SELECT * FROM pg_catalog.json_populate_recordset(NULL::%s, $1)",
									   logname, logname),
							  1, argtypes, values, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not insert restored events into %s", logname);
	resetStringInfo(batch);
	appendStringInfoChar(batch, '[');
	return SPI_processed;
}

/*
 * _restore_file(log regclass, file text, file_sha256 text, rows bigint)
 * RETURNS bigint: checks the file's sha256, then inserts its events into the
 * log; the file must lie inside eventlog.archive_root.
 */
Datum
ev_restore_file(PG_FUNCTION_ARGS)
{
	Oid			logrelid = PG_GETARG_OID(0);
	char	   *file = text_to_cstring(PG_GETARG_TEXT_PP(1));
	char	   *want_sha = text_to_cstring(PG_GETARG_TEXT_PP(2));
	int64		want_rows = PG_GETARG_INT64(3);
	char	   *logname = DatumGetCString(DirectFunctionCall1(regclassout, ObjectIdGetDatum(logrelid)));
	char	   *dir = pstrdup(file);
	char	   *slash = strrchr(dir, '/');
	char	   *sha;
	gzFile		gz;
	StringInfoData batch,
				line;
	char		buf[65536];
	int			n,
				in_batch = 0;
	int64		rows = 0;

	EvRequireAdmin("restore archived partitions");
	if (slash == NULL)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("invalid archive file \"%s\"", file)));
	*slash = '\0';
	(void) CheckedArchiveDir(dir);
	CheckNamePart(slash + 1, "archive file name");
	sha = FileSha256(file);
	if (strcmp(sha, want_sha) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("archive file \"%s\" does not match its checksum", file),
				 errdetail("Its sha256 is %s; %s was recorded when it was written.", sha, want_sha),
				 errhint("Restore the file from a backup of the archive directory.")));
	gz = gzopen(file, "rb");
	if (gz == NULL)
		ereport(ERROR, (errcode_for_file_access(), errmsg("could not open \"%s\": %m", file)));
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	initStringInfo(&batch);
	initStringInfo(&line);
	appendStringInfoChar(&batch, '[');
	while ((n = gzread(gz, buf, sizeof(buf))) > 0)
	{
		for (int i = 0; i < n; i++)
		{
			if (buf[i] != '\n')
			{
				appendStringInfoChar(&line, buf[i]);
				continue;
			}
			if (in_batch > 0)
				appendStringInfoChar(&batch, ',');
			appendBinaryStringInfo(&batch, line.data, line.len);
			resetStringInfo(&line);
			if (++in_batch == RESTORE_BATCH)
			{
				rows += InsertBatch(logname, &batch);
				in_batch = 0;
			}
		}
	}
	if (n < 0 || line.len > 0)
	{
		gzclose(gz);
		ereport(ERROR, (errcode(ERRCODE_DATA_CORRUPTED), errmsg("archive file \"%s\" is damaged", file)));
	}
	gzclose(gz);
	if (in_batch > 0)
		rows += InsertBatch(logname, &batch);
	SPI_finish();
	if (rows != want_rows)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("archive file \"%s\" holds %lld events, %lld were archived", file,
						(long long) rows, (long long) want_rows)));
	PG_RETURN_INT64(rows);
}

/* _check_archive_dir(dir text) RETURNS text: the resolved dir, or an error. */
Datum
ev_check_archive_dir(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(CheckedArchiveDir(text_to_cstring(PG_GETARG_TEXT_PP(0)))));
}

/*
 * _remove_archive_file(file text) RETURNS boolean: removes an archive file and
 * its manifest (retention); the file must lie inside eventlog.archive_root.
 * Returns false when the file was already gone.
 */
Datum
ev_remove_archive_file(PG_FUNCTION_ARGS)
{
	char	   *file = text_to_cstring(PG_GETARG_TEXT_PP(0));
	char	   *dir = pstrdup(file);
	char	   *slash = strrchr(dir, '/');
	size_t		len = strlen(file);
	const char *suffix = ".ndjson.gz";
	char	   *manifest;
	bool		existed;

	EvRequireAdmin("remove archive files");
	if (slash == NULL || len <= strlen(suffix) || strcmp(file + len - strlen(suffix), suffix) != 0)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("invalid archive file \"%s\"", file)));
	*slash = '\0';
	(void) CheckedArchiveDir(dir);
	CheckNamePart(slash + 1, "archive file name");
	manifest = psprintf("%.*s.manifest.json", (int) (len - strlen(suffix)), file);
	existed = unlink(file) == 0;
	if (!existed && errno != ENOENT)
		ereport(ERROR, (errcode_for_file_access(), errmsg("could not remove \"%s\": %m", file)));
	if (unlink(manifest) != 0 && errno != ENOENT)
		ereport(ERROR, (errcode_for_file_access(), errmsg("could not remove \"%s\": %m", manifest)));
	FsyncPath(dir, true);
	PG_RETURN_BOOL(existed);
}
