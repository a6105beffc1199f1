/*
 * Append-only spool: segment files, append, group-commit sync thread, crash recovery.
 *
 * On disk (spool_dir):
 *     eventlogd.lock            flock()ed for the life of the process: one daemon per spool
 *     spool.id                  uuid of this spool; names the ledger rows in PostgreSQL
 *     seq.floor                 lowest seq the next segment may use (survives quarantines)
 *     0000000000000001.seg ...  segments: 32-byte header (record.h), then records
 *     dedup/<start>.jnl         dedup journal: same header, records of event_id entries
 *     quarantine/               segments with a bad record that is not a torn tail
 *     deadletter.ndjson         events PostgreSQL refused for their data
 *     logs.cache                last list of logs read from eventlog.logs
 *
 * Invariants:
 *   - seq is contiguous: record k of a segment has seq base_seq + k, and the next
 *     segment's base is the last seq + 1. spool.c checks this on recovery.
 *   - Only the newest (active) segment is written. A segment is fdatasync'ed by the
 *     writer before it is sealed and a new one started, so only the newest segment can
 *     have a torn tail; a bad record anywhere else is corruption and is quarantined.
 *   - The active segment is never deleted, and seq.floor is raised at each rotation, so
 *     a seq is never reused: the ledger in PostgreSQL can trust "seq <= last_seq".
 *   - Readers see only durable records (up to the synced offset), so nothing reaches
 *     PostgreSQL that a crash could take back from the spool.
 *
 * Threads: one writer (the event loop) calls spool_batch_*; the sync thread runs
 * fdatasync in a loop, each round covering every record written while the previous round
 * ran (group commit), then calls on_synced; flusher threads read through their own
 * spool_reader. mu guards the segment list and the counters; file writes and fdatasync
 * run outside it. Only the sync thread closes a retired (sealed) file descriptor, so it
 * never syncs a descriptor number that was reused.
 *
 * Crash: a record is acknowledged only after the round that synced it. On start every
 * segment is scanned: the newest is cut at its first short or bad record (logged with
 * file and offset); an older one with a bad record moves to quarantine/ (logged as an
 * error); nothing is skipped silently.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "monotime.h"
#include "spool.h"

#define SUB "spool"
#define READ_CHUNK (1024 * 1024)
#define MAX_RETIRED 64

struct spool_segment {
	uint64_t	id;
	uint64_t	base_seq;
	uint64_t	last_seq;		/* base_seq - 1 while empty */
	uint64_t	size;			/* bytes written */
	uint64_t	synced;			/* bytes durable */
	uint64_t	jgen;			/* journal generation that must be durable before deletion */
};

struct spool {
	char	   *dir;
	int			dirfd;
	int			lockfd;
	char		id[40];
	pthread_mutex_t mu;
	pthread_cond_t work_cond;	/* wakes the sync thread */
	pthread_cond_t data_cond;	/* wakes readers and waiters */
	struct spool_segment *segs; /* by id; the last one is active */
	size_t		nsegs;
	size_t		capsegs;
	int			active_fd;		/* writer's descriptor of the active segment */
	int			retired[MAX_RETIRED];	/* descriptors the sync thread must close */
	size_t		nretired;
	uint64_t	segment_bytes;
	uint64_t	next_seq;		/* writer only */
	uint64_t	written_seq;
	uint64_t	synced_seq;
	uint64_t	total_bytes;
	uint64_t	syncs;
	uint64_t	jsyncs;
	uint64_t	quarantined;
	uint64_t	truncations;
	int			stop;
	int			thread_started;
	pthread_t	thread;
	void		(*on_synced) (void *);
	void	   *on_synced_arg;
	/* writer staging */
	struct buf	wbuf;
	uint64_t	wcount;
	/* journal */
	int			jfd;
	uint64_t	jsize;
	int64_t		jstart;			/* start second of the current journal file */
	uint64_t	jgen_written;	/* journal writes so far */
	uint64_t	jgen_synced;	/* journal writes known durable */
	int			jsync_req;		/* a segment waits for the journal to be synced */
	int64_t		jslice_s;
	int64_t		jkeep_s;
	uint64_t	jkeep_bytes;	/* newer files holding this much make older ones useless; 0: no bound */
	/* dead letters */
	pthread_mutex_t dlmu;
	int			dlfd;
	/* errors */
	enum spool_error last_error;
	int			last_errno;
};

/* Remember why the last call failed. */
static void
spool_fail(struct spool *sp, enum spool_error e, int errnum)
{
	sp->last_error = e;
	sp->last_errno = errnum;
}

/* Reason of the last failure. */
enum spool_error
spool_last_error(const struct spool *sp, int *errnum)
{
	if (errnum)
		*errnum = sp->last_errno;
	return sp->last_error;
}

/* The spool's identity. */
const char *
spool_id(const struct spool *sp)
{
	return sp->id;
}

/* Size at which a new segment starts. */
void
spool_set_segment_bytes(struct spool *sp, uint64_t bytes)
{
	pthread_mutex_lock(&sp->mu);
	sp->segment_bytes = bytes;
	pthread_mutex_unlock(&sp->mu);
}

/* File name of segment id. */
static void
seg_name(char *out, size_t cap, uint64_t id)
{
	snprintf(out, cap, "%016" PRIx64 ".seg", id);
}

/* write() all of buf at off, retrying on short writes. */
static int
write_full(int fd, const void *buf, size_t len, uint64_t off)
{
	const char *p = buf;

	while (len > 0)
	{
		ssize_t		n = pwrite(fd, p, len, (off_t) off);

		if (n < 0)
		{
			if (errno == EINTR)
				continue;
			return EV_ERROR;
		}
		if (n == 0)
		{
			errno = ENOSPC;
			return EV_ERROR;
		}
		p += n;
		len -= (size_t) n;
		off += (uint64_t) n;
	}
	return EV_OK;
}

/* Read up to len bytes at off; returns bytes read or -1. */
static ssize_t
read_full(int fd, void *buf, size_t len, uint64_t off)
{
	size_t		got = 0;

	while (got < len)
	{
		ssize_t		n = pread(fd, (char *) buf + got, len - got, (off_t) (off + got));

		if (n < 0)
		{
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0)
			break;
		got += (size_t) n;
	}
	return (ssize_t) got;
}

/* Write a small file atomically: temp file, fsync, rename, fsync the directory. */
int
spool_meta_write(struct spool *sp, const char *name, const void *data, size_t len)
{
	char		tmp[256];
	int			fd = -1;
	int			rc = EV_ERROR;

	snprintf(tmp, sizeof(tmp), "%s.tmp", name);
	fd = openat(sp->dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0)
		goto done;
	if (write_full(fd, data, len, 0) != EV_OK || fsync(fd) != 0)
		goto done;
	if (renameat(sp->dirfd, tmp, sp->dirfd, name) != 0)
		goto done;
	if (fsync(sp->dirfd) != 0)
		goto done;
	rc = EV_OK;
done:
	if (rc != EV_OK)
		spool_fail(sp, SPOOL_ERR_IO, errno);
	if (fd >= 0)
		close(fd);
	return rc;
}

/* Read a metadata file into out. */
int
spool_meta_read(struct spool *sp, const char *name, struct buf *out)
{
	int			fd = openat(sp->dirfd, name, O_RDONLY | O_CLOEXEC);
	char		tmp[4096];
	ssize_t		n;
	int			rc = EV_ERROR;

	if (fd < 0)
		return errno == ENOENT ? EV_RETRY : EV_ERROR;
	for (;;)
	{
		n = read(fd, tmp, sizeof(tmp));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto done;
		if (n == 0)
			break;
		if (buf_append(out, tmp, (size_t) n) != EV_OK)
			goto done;
	}
	rc = EV_OK;
done:
	close(fd);
	return rc;
}

/* Read the spool id, or create one. */
static int
spool_load_id(struct spool *sp)
{
	struct buf	b;
	int			rc;
	unsigned char r[16];

	buf_init(&b);
	rc = spool_meta_read(sp, "spool.id", &b);
	if (rc == EV_OK && b.len >= 36)
	{
		memcpy(sp->id, b.data, 36);
		sp->id[36] = '\0';
		buf_free(&b);
		return EV_OK;
	}
	buf_free(&b);
	if (rc == EV_ERROR)
		return EV_ERROR;
	if (getrandom(r, sizeof(r), 0) != (ssize_t) sizeof(r))
		return EV_ERROR;
	r[6] = (unsigned char) ((r[6] & 0x0f) | 0x40);
	r[8] = (unsigned char) ((r[8] & 0x3f) | 0x80);
	snprintf(sp->id, sizeof(sp->id),
			 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
			 r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12],
			 r[13], r[14], r[15]);
	return spool_meta_write(sp, "spool.id", sp->id, 36);
}

/* Read seq.floor (0 if absent). */
static uint64_t
spool_load_floor(struct spool *sp)
{
	struct buf	b;
	uint64_t	v = 0;

	buf_init(&b);
	if (spool_meta_read(sp, "seq.floor", &b) == EV_OK && buf_cstr(&b) == EV_OK)
		v = strtoull(b.data, NULL, 10);
	buf_free(&b);
	return v;
}

/* Move a file into quarantine/ (name gets a timestamp so nothing is overwritten). */
static void
spool_quarantine(struct spool *sp, const char *sub, const char *name, const char *why, uint64_t off)
{
	char		from[512];
	char		to[512];

	snprintf(from, sizeof(from), "%s%s", sub, name);
	snprintf(to, sizeof(to), "quarantine/%s.%lld", name, (long long) time(NULL));
	if (renameat(sp->dirfd, from, sp->dirfd, to) != 0)
		log_error(SUB, "cannot move %s to quarantine: %s", from, strerror(errno));
	else
	{
		(void) fsync(sp->dirfd);
		log_error(SUB, "%s has a bad record at offset %" PRIu64 " (%s); moved to %s/%s: its events "
				  "are not replayed; inspect it", from, off, why, sp->dir, to);
	}
	sp->quarantined++;
}

/*
 * Scan one file of records after its header. Sets *good_end to the offset after the last
 * good record, *last_seq to its seq (or base-1), and *why on a bad record.
 * With check_seq, record k must have seq base+k. cb receives each good record.
 */
static int
spool_scan_file(int fd, uint64_t base, int check_seq, uint64_t *good_end, uint64_t *last_seq,
				const char **why, spool_journal_cb cb, void *arg)
{
	struct stat st;
	unsigned char *buf = NULL;
	size_t		cap = READ_CHUNK;
	uint64_t	off = SEGMENT_HEADER_SIZE;
	uint64_t	expect = base;
	int			rc = EV_ERROR;

	*why = NULL;
	*good_end = off;
	*last_seq = base - 1;
	if (fstat(fd, &st) != 0)
		goto done;
	buf = malloc(cap);
	if (buf == NULL)
		goto done;
	while (off < (uint64_t) st.st_size)
	{
		size_t		want = (uint64_t) st.st_size - off < cap ? (size_t) ((uint64_t) st.st_size - off) : cap;
		ssize_t		n = read_full(fd, buf, want, off);
		size_t		pos = 0;

		if (n < 0)
			goto done;
		if (n == 0)
			break;
		while (pos < (size_t) n)
		{
			struct record_view rec;
			size_t		used;
			enum record_error err;
			int			r = record_decode(buf + pos, (size_t) n - pos, &rec, &used, &err);

			if (r == EV_RETRY)
			{
				/* not whole in this chunk: torn only if the file itself ends inside it */
				uint64_t	at = off + pos;
				uint64_t	remain = (uint64_t) st.st_size - at;
				uint64_t	need;

				if (remain < RECORD_HEADER_SIZE)
				{
					*why = "torn record header (file ends inside it)";
						goto bad;
				}
				if ((size_t) n - pos < RECORD_HEADER_SIZE)
					break;		/* header split by the chunk: re-read from here */
				need = RECORD_HEADER_SIZE + (uint64_t) get_u32le(buf + pos + 4);
				if (need > remain)
				{
					*why = "torn record (file ends inside it)";
						goto bad;
				}
				if (need > cap)
				{
					unsigned char *nb = realloc(buf, (size_t) need);

					if (nb == NULL)
						goto done;
					buf = nb;
					cap = (size_t) need;
				}
				break;			/* re-read from here with the whole record */
			}
			if (r != EV_OK)
			{
				*why = record_error_name(err);
				goto bad;
			}
			if (check_seq && rec.seq != expect)
			{
				*why = "sequence number out of order";
				goto bad;
			}
			if (cb)
				cb(rec.payload, rec.length, arg);
			expect++;
			pos += used;
			*good_end = off + pos;
			*last_seq = rec.seq;
		}
		off += pos;
	}
	rc = EV_OK;
	goto done;
bad:
	rc = EV_CORRUPT;
done:
	free(buf);
	return rc;
}

/* Append a segment descriptor to the list. */
static int
spool_push_seg(struct spool *sp, const struct spool_segment *s)
{
	if (sp->nsegs == sp->capsegs)
	{
		size_t		ncap = sp->capsegs ? sp->capsegs * 2 : 16;
		struct spool_segment *n = realloc(sp->segs, ncap * sizeof(*n));

		if (n == NULL)
			return EV_ERROR;
		sp->segs = n;
		sp->capsegs = ncap;
	}
	sp->segs[sp->nsegs++] = *s;
	return EV_OK;
}

/* Compare segment ids for qsort. */
static int
cmp_u64(const void *a, const void *b)
{
	uint64_t	x = *(const uint64_t *) a,
				y = *(const uint64_t *) b;

	return x < y ? -1 : x > y;
}

/* List numbered files "<16 hex>.<ext>" in subdir, sorted. Caller frees *ids. */
static int
spool_list(struct spool *sp, const char *subdir, const char *ext, uint64_t **ids, size_t *n)
{
	int			fd = openat(sp->dirfd, subdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR		   *d;
	struct dirent *de;
	size_t		cap = 0;
	uint64_t   *v = NULL;

	*ids = NULL;
	*n = 0;
	if (fd < 0)
		return EV_ERROR;
	d = fdopendir(fd);
	if (d == NULL)
	{
		close(fd);
		return EV_ERROR;
	}
	while ((de = readdir(d)) != NULL)
	{
		char	   *end;
		uint64_t	id;

		if (strlen(de->d_name) != 16 + strlen(ext) || strcmp(de->d_name + 16, ext) != 0)
			continue;
		id = strtoull(de->d_name, &end, 16);
		if (end != de->d_name + 16)
			continue;
		if (*n == cap)
		{
			uint64_t   *nv;

			cap = cap ? cap * 2 : 64;
			nv = realloc(v, cap * sizeof(*v));
			if (nv == NULL)
			{
				free(v);
				closedir(d);
				return EV_ERROR;
			}
			v = nv;
		}
		v[(*n)++] = id;
	}
	closedir(d);
	if (*n)
		qsort(v, *n, sizeof(*v), cmp_u64);
	*ids = v;
	return EV_OK;
}

/* Create segment id with base_seq, synced with its directory entry; returns fd or -1. */
static int
spool_create_segment(struct spool *sp, uint64_t id, uint64_t base_seq)
{
	char		name[64];
	unsigned char hdr[SEGMENT_HEADER_SIZE];
	struct segment_header h = {SEGMENT_VERSION, base_seq};
	char		floor[32];
	int			fd;
	int			n;

	/* raise the floor first: a seq at or above it is never in an older segment */
	n = snprintf(floor, sizeof(floor), "%" PRIu64 "\n", base_seq);
	if (spool_meta_write(sp, "seq.floor", floor, (size_t) n) != EV_OK)
		return -1;
	seg_name(name, sizeof(name), id);
	fd = openat(sp->dirfd, name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	if (fd < 0)
		goto fail;
	segment_header_encode(hdr, &h);
	if (write_full(fd, hdr, sizeof(hdr), 0) != EV_OK || fdatasync(fd) != 0 || fsync(sp->dirfd) != 0)
	{
		int			e = errno;

		close(fd);
		(void) unlinkat(sp->dirfd, name, 0);
		errno = e;
		goto fail;
	}
	return fd;
fail:
	spool_fail(sp, SPOOL_ERR_IO, errno);
	log_error(SUB, "cannot create segment %s: %s", name, strerror(errno));
	return -1;
}

/* Recover every segment: validate, cut the torn tail of the newest, quarantine the rest. */
static int
spool_recover(struct spool *sp, struct buf *err)
{
	uint64_t   *ids = NULL;
	size_t		n = 0,
				i;
	int			rc = EV_ERROR;
	uint64_t	floor = spool_load_floor(sp);
	uint64_t	next_seq = 1;

	if (spool_list(sp, ".", ".seg", &ids, &n) != EV_OK)
	{
		buf_errorf(err, "cannot list %s: %s", sp->dir, strerror(errno));
		goto done;
	}
	for (i = 0; i < n; i++)
	{
		char		name[64];
		int			fd;
		unsigned char hdr[SEGMENT_HEADER_SIZE];
		struct segment_header h;
		enum record_error herr;
		struct stat st;
		uint64_t	good_end,
					last_seq;
		const char *why;
		int			newest = (i == n - 1);
		int			r;
		struct spool_segment seg;

		seg_name(name, sizeof(name), ids[i]);
		fd = openat(sp->dirfd, name, O_RDWR | O_CLOEXEC);
		if (fd < 0 || fstat(fd, &st) != 0)
		{
			buf_errorf(err, "cannot open %s/%s: %s", sp->dir, name, strerror(errno));
			if (fd >= 0)
				close(fd);
			goto done;
		}
		r = read_full(fd, hdr, sizeof(hdr), 0) == (ssize_t) sizeof(hdr) ? EV_OK : EV_RETRY;
		if (r == EV_OK)
			r = segment_header_decode(hdr, sizeof(hdr), &h, &herr);
		else
			herr = RECORD_ERR_SHORT;
		if (r != EV_OK)
		{
			int			empty = newest && st.st_size <= SEGMENT_HEADER_SIZE;

			close(fd);
			if (empty)
			{
				/* crashed while creating it: nothing in it was ever acknowledged */
				log_warning(SUB, "removing %s: torn segment header (%lld bytes, no records)",
							name, (long long) st.st_size);
				(void) unlinkat(sp->dirfd, name, 0);
				(void) fsync(sp->dirfd);
				sp->truncations++;
				continue;
			}
			spool_quarantine(sp, "", name, record_error_name(herr), 0);
			continue;
		}
		r = spool_scan_file(fd, h.base_seq, 1, &good_end, &last_seq, &why, NULL, NULL);
		if (r == EV_ERROR)
		{
			buf_errorf(err, "cannot read %s/%s: %s", sp->dir, name, strerror(errno));
			close(fd);
			goto done;
		}
		if (r == EV_CORRUPT || good_end < (uint64_t) st.st_size)
		{
			if (!newest)
			{
				close(fd);
				spool_quarantine(sp, "", name, why ? why : "trailing bytes", good_end);
				continue;
			}
			log_warning(SUB, "truncating %s at offset %" PRIu64 " (%s; %" PRIu64 " bytes dropped, never acknowledged)",
						name, good_end, why ? why : "trailing bytes", (uint64_t) st.st_size - good_end);
			if (ftruncate(fd, (off_t) good_end) != 0 || fdatasync(fd) != 0)
			{
				buf_errorf(err, "cannot truncate %s/%s: %s", sp->dir, name, strerror(errno));
				close(fd);
				goto done;
			}
			sp->truncations++;
		}
		seg.id = ids[i];
		seg.base_seq = h.base_seq;
		seg.last_seq = last_seq;
		seg.size = good_end;
		seg.synced = good_end;
		seg.jgen = 0;			/* the journal found on disk is synced at load */
		if (spool_push_seg(sp, &seg) != EV_OK)
		{
			close(fd);
			buf_errorf(err, "out of memory");
			goto done;
		}
		if (last_seq + 1 > next_seq)
			next_seq = last_seq + 1;
		if (h.base_seq > next_seq)
			next_seq = h.base_seq;
		if (newest)
			sp->active_fd = fd;
		else
			close(fd);
	}
	if (floor > next_seq)
		next_seq = floor;
	/* if the newest file was quarantined or removed, the survivors stay sealed */
	if (sp->active_fd < 0 || sp->segs[sp->nsegs - 1].last_seq + 1 != next_seq)
	{
		struct spool_segment seg;
		uint64_t	id = sp->nsegs ? sp->segs[sp->nsegs - 1].id + 1 : 1;

		if (n > 0 && ids[n - 1] >= id)
			id = ids[n - 1] + 1;
		if (sp->active_fd >= 0)
			close(sp->active_fd);
		sp->active_fd = spool_create_segment(sp, id, next_seq);
		if (sp->active_fd < 0)
		{
			buf_errorf(err, "cannot create a segment in %s: %s", sp->dir, strerror(sp->last_errno));
			goto done;
		}
		seg.id = id;
		seg.base_seq = next_seq;
		seg.last_seq = next_seq - 1;
		seg.size = SEGMENT_HEADER_SIZE;
		seg.synced = SEGMENT_HEADER_SIZE;
		seg.jgen = 0;
		if (spool_push_seg(sp, &seg) != EV_OK)
		{
			buf_errorf(err, "out of memory");
			goto done;
		}
	}
	sp->next_seq = next_seq;
	sp->written_seq = next_seq - 1;
	sp->synced_seq = next_seq - 1;
	for (i = 0; i < sp->nsegs; i++)
		sp->total_bytes += sp->segs[i].size;
	rc = EV_OK;
done:
	free(ids);
	return rc;
}

/* Create a directory if it does not exist. */
static int
mkdir_at(int dirfd, const char *name)
{
	if (mkdirat(dirfd, name, 0750) != 0 && errno != EEXIST)
		return EV_ERROR;
	return EV_OK;
}

/* Open the spool. */
int
spool_open(const char *dir, uint64_t segment_bytes, struct spool **out, struct buf *err)
{
	struct spool *sp;
	int			rc = EV_ERROR;
	char		pid[32];
	int			n;

	*out = NULL;
	sp = calloc(1, sizeof(*sp));
	if (sp == NULL)
	{
		buf_errorf(err, "out of memory");
		return EV_ERROR;
	}
	sp->dirfd = sp->lockfd = sp->active_fd = sp->jfd = sp->dlfd = -1;
	sp->segment_bytes = segment_bytes;
	sp->jslice_s = 3600;
	sp->jkeep_s = 86400;
	pthread_mutex_init(&sp->mu, NULL);
	pthread_mutex_init(&sp->dlmu, NULL);
	monotime_cond_init(&sp->work_cond);
	monotime_cond_init(&sp->data_cond);
	buf_init(&sp->wbuf);
	sp->dir = strdup(dir);
	if (sp->dir == NULL)
		goto done;
	if (mkdir(dir, 0750) != 0 && errno != EEXIST)
	{
		buf_errorf(err, "cannot create spool_dir %s: %s", dir, strerror(errno));
		goto done;
	}
	sp->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sp->dirfd < 0)
	{
		buf_errorf(err, "cannot open spool_dir %s: %s", dir, strerror(errno));
		goto done;
	}
	sp->lockfd = openat(sp->dirfd, "eventlogd.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0640);
	if (sp->lockfd < 0)
	{
		buf_errorf(err, "cannot open %s/eventlogd.lock: %s", dir, strerror(errno));
		goto done;
	}
	if (flock(sp->lockfd, LOCK_EX | LOCK_NB) != 0)
	{
		struct buf	other;

		buf_init(&other);
		if (spool_meta_read(sp, "eventlogd.lock", &other) != EV_OK || buf_cstr(&other) != EV_OK)
			other.len = 0;
		spool_fail(sp, SPOOL_ERR_LOCKED, errno);
		buf_errorf(err, "spool_dir %s is in use by another eventlogd (pid %s); refusing to start",
				   dir, other.data && other.len ? other.data : "unknown");
		buf_free(&other);
		goto done;
	}
	n = snprintf(pid, sizeof(pid), "%d", (int) getpid());
	if (ftruncate(sp->lockfd, 0) != 0 || write_full(sp->lockfd, pid, (size_t) n, 0) != EV_OK)
	{
		buf_errorf(err, "cannot write %s/eventlogd.lock: %s", dir, strerror(errno));
		goto done;
	}
	if (mkdir_at(sp->dirfd, "quarantine") != EV_OK || mkdir_at(sp->dirfd, "dedup") != EV_OK)
	{
		buf_errorf(err, "cannot create directories in %s: %s", dir, strerror(errno));
		goto done;
	}
	if (spool_load_id(sp) != EV_OK)
	{
		buf_errorf(err, "cannot read or create %s/spool.id: %s", dir, strerror(errno));
		goto done;
	}
	if (spool_recover(sp, err) != EV_OK)
		goto done;
	log_info(SUB, "opened %s: id %s, %zu segments, %" PRIu64 " bytes, next seq %" PRIu64,
			 dir, sp->id, sp->nsegs, sp->total_bytes, sp->next_seq);
	rc = EV_OK;
done:
	if (rc != EV_OK)
		spool_close(sp);
	else
		*out = sp;
	return rc;
}

/* Has a segment asked for journal writes that are not durable yet? (mu held) */
static int
journal_sync_wanted(const struct spool *sp)
{
	return sp->jsync_req && sp->jgen_written > sp->jgen_synced;
}

/*
 * The group-commit loop: one fdatasync covers everything written while the last ran.
 * Only the segment is synced before the acknowledgements. The dedup journal is synced
 * when a segment whose ids it holds is about to be deleted (spool_remove_committed asks
 * for it), when it rolls and at close: until then the ids are in the segment's own
 * records, and recovery reads them from there (dedup_load_spool), so an acknowledged
 * event is a duplicate after any crash whatever the journal lost.
 */
static void *
spool_sync_main(void *arg)
{
	struct spool *sp = arg;

	pthread_mutex_lock(&sp->mu);
	for (;;)
	{
		uint64_t	target_seq;
		uint64_t	target_size;
		uint64_t	target_seg;
		uint64_t	jgen;
		int			fd,
					jfd;
		int			retired[MAX_RETIRED];
		size_t		nretired,
					i;
		int			failed = 0;

		while (!sp->stop && sp->written_seq == sp->synced_seq && !journal_sync_wanted(sp) && sp->nretired == 0)
			pthread_cond_wait(&sp->work_cond, &sp->mu);
		if (sp->stop && sp->written_seq == sp->synced_seq && !journal_sync_wanted(sp) && sp->nretired == 0)
			break;
		target_seq = sp->written_seq;
		target_seg = sp->segs[sp->nsegs - 1].id;
		target_size = sp->segs[sp->nsegs - 1].size;
		fd = sp->written_seq != sp->synced_seq ? sp->active_fd : -1;
		jfd = -1;
		jgen = 0;
		if (journal_sync_wanted(sp))
		{
			jfd = sp->jfd;
			jgen = sp->jgen_written;
			sp->jsync_req = 0;
		}
		nretired = sp->nretired;
		memcpy(retired, sp->retired, nretired * sizeof(int));
		sp->nretired = 0;
		pthread_mutex_unlock(&sp->mu);

		/* fdatasync: the file's size is part of it; other metadata is irrelevant here */
		if (fd >= 0 && fdatasync(fd) != 0)
			failed = errno;
		for (i = 0; i < nretired; i++)
			close(retired[i]);	/* synced by the writer when sealed */
		if (failed)
		{
			/* a failed fsync cannot be retried safely: the kernel may have dropped the pages */
			log_error(SUB, "fdatasync failed: %s; exiting so that nothing unsynced is acknowledged",
					  strerror(failed));
			_exit(70);
		}
		pthread_mutex_lock(&sp->mu);
		sp->syncs++;
		if (target_seq > sp->synced_seq)
			sp->synced_seq = target_seq;
		for (i = sp->nsegs; i-- > 0;)
			if (sp->segs[i].id == target_seg)
			{
				if (target_size > sp->segs[i].synced)
					sp->segs[i].synced = target_size;
				break;
			}
		pthread_cond_broadcast(&sp->data_cond);
		if (sp->on_synced)
		{
			pthread_mutex_unlock(&sp->mu);
			sp->on_synced(sp->on_synced_arg);
			pthread_mutex_lock(&sp->mu);
		}
		if (jfd >= 0)
		{
			/* after the acknowledgements: no request waits for the journal */
			pthread_mutex_unlock(&sp->mu);
			if (fdatasync(jfd) != 0)
			{
				log_error(SUB, "fdatasync of the dedup journal failed: %s; exiting", strerror(errno));
				_exit(70);
			}
			pthread_mutex_lock(&sp->mu);
			sp->jsyncs++;
			if (jgen > sp->jgen_synced)
				sp->jgen_synced = jgen;
		}
	}
	pthread_mutex_unlock(&sp->mu);
	return NULL;
}

/* Start the group-commit thread. */
int
spool_start(struct spool *sp, void (*on_synced) (void *), void *arg)
{
	sp->on_synced = on_synced;
	sp->on_synced_arg = arg;
	if (pthread_create(&sp->thread, NULL, spool_sync_main, sp) != 0)
	{
		spool_fail(sp, SPOOL_ERR_IO, errno);
		return EV_ERROR;
	}
	sp->thread_started = 1;
	return EV_OK;
}

/* Stop the sync thread, close every file, release the lock. */
void
spool_close(struct spool *sp)
{
	size_t		i;

	if (sp == NULL)
		return;
	if (sp->thread_started)
	{
		pthread_mutex_lock(&sp->mu);
		__atomic_store_n(&sp->stop, 1, __ATOMIC_RELAXED);
		pthread_cond_broadcast(&sp->work_cond);
		pthread_cond_broadcast(&sp->data_cond);
		pthread_mutex_unlock(&sp->mu);
		pthread_join(sp->thread, NULL);
	}
	for (i = 0; i < sp->nretired; i++)
		close(sp->retired[i]);
	if (sp->jfd >= 0 && sp->jgen_written > sp->jgen_synced && fdatasync(sp->jfd) != 0)
		log_error(SUB, "fdatasync of the dedup journal failed at close: %s", strerror(errno));
	if (sp->active_fd >= 0)
		close(sp->active_fd);
	if (sp->jfd >= 0)
		close(sp->jfd);
	if (sp->dlfd >= 0)
		close(sp->dlfd);
	if (sp->lockfd >= 0)
		close(sp->lockfd);		/* releases the flock */
	if (sp->dirfd >= 0)
		close(sp->dirfd);
	pthread_mutex_destroy(&sp->mu);
	pthread_mutex_destroy(&sp->dlmu);
	pthread_cond_destroy(&sp->work_cond);
	pthread_cond_destroy(&sp->data_cond);
	buf_free(&sp->wbuf);
	free(sp->segs);
	free(sp->dir);
	free(sp);
}

/* Start staging a batch. */
void
spool_batch_begin(struct spool *sp)
{
	sp->wbuf.len = 0;
	sp->wcount = 0;
}

/* Stage one record. */
int
spool_batch_add(struct spool *sp, const void *payload, size_t len, uint64_t *seq)
{
	if (len > RECORD_MAX_PAYLOAD)
	{
		spool_fail(sp, SPOOL_ERR_TOO_BIG, 0);
		return EV_ERROR;
	}
	*seq = sp->next_seq + sp->wcount;
	if (record_append(&sp->wbuf, *seq, payload, len) != EV_OK)
	{
		spool_fail(sp, SPOOL_ERR_NOMEM, ENOMEM);
		return EV_ERROR;
	}
	sp->wcount++;
	return EV_OK;
}

/* How much is staged (a mark for spool_batch_rollback). */
void
spool_batch_mark(const struct spool *sp, size_t *bytes, uint64_t *count)
{
	*bytes = sp->wbuf.len;
	*count = sp->wcount;
}

/* Drop what was staged after a mark. */
void
spool_batch_rollback(struct spool *sp, size_t bytes, uint64_t count)
{
	sp->wbuf.len = bytes;
	sp->wcount = count;
}

/* Bytes staged. */
size_t
spool_batch_bytes(const struct spool *sp)
{
	return sp->wbuf.len;
}

/* Seq of the last record staged or written. */
uint64_t
spool_staged_seq(const struct spool *sp)
{
	return sp->next_seq + sp->wcount - 1;
}

/* Seal the active segment (synced here, by the writer) and start a new one. */
static int
spool_rotate(struct spool *sp)
{
	struct spool_segment seg;
	struct spool_segment *act = &sp->segs[sp->nsegs - 1];
	int			fd;

	if (fdatasync(sp->active_fd) != 0)
	{
		log_error(SUB, "fdatasync failed while sealing a segment: %s; exiting", strerror(errno));
		_exit(70);
	}
	fd = spool_create_segment(sp, act->id + 1, sp->next_seq);
	if (fd < 0)
		return EV_ERROR;
	seg.id = act->id + 1;
	seg.base_seq = sp->next_seq;
	seg.last_seq = sp->next_seq - 1;
	seg.size = SEGMENT_HEADER_SIZE;
	seg.synced = SEGMENT_HEADER_SIZE;
	seg.jgen = 0;
	pthread_mutex_lock(&sp->mu);
	if (sp->nretired == MAX_RETIRED || spool_push_seg(sp, &seg) != EV_OK)
	{
		pthread_mutex_unlock(&sp->mu);
		close(fd);
		spool_fail(sp, SPOOL_ERR_NOMEM, ENOMEM);
		return EV_ERROR;
	}
	act = &sp->segs[sp->nsegs - 2];
	act->synced = act->size;
	act->jgen = sp->jgen_written;
	sp->retired[sp->nretired++] = sp->active_fd;
	sp->active_fd = fd;
	sp->total_bytes += SEGMENT_HEADER_SIZE;
	pthread_cond_signal(&sp->work_cond);
	pthread_mutex_unlock(&sp->mu);
	log_debug(SUB, "started segment %016" PRIx64 ".seg at seq %" PRIu64, seg.id, seg.base_seq);
	return EV_OK;
}

/* Journal file name of a start second. */
static void
journal_name(char *out, size_t cap, int64_t start)
{
	snprintf(out, cap, "dedup/%016" PRIx64 ".jnl", (uint64_t) start);
}

/* Start a new journal file if the current one is older than a slice; prune old ones. */
static int
spool_journal_roll(struct spool *sp, int64_t now_s)
{
	char		name[64];
	unsigned char hdr[SEGMENT_HEADER_SIZE];
	struct segment_header h = {SEGMENT_VERSION, 0};
	int			fd;
	uint64_t   *ids = NULL;
	size_t		n = 0,
				i;

	/* a new file every slice, or every quarter of the size bound (at most one a second: names are seconds) */
	if (sp->jfd >= 0 && now_s - sp->jstart < sp->jslice_s &&
		(sp->jkeep_bytes == 0 || sp->jsize < sp->jkeep_bytes / 4 || now_s <= sp->jstart))
		return EV_OK;
	journal_name(name, sizeof(name), now_s);
	fd = openat(sp->dirfd, name, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0)
		goto fail;
	segment_header_encode(hdr, &h);
	if (write_full(fd, hdr, sizeof(hdr), 0) != EV_OK || fdatasync(fd) != 0)
	{
		close(fd);
		goto fail;
	}
	if (sp->jfd >= 0 && fdatasync(sp->jfd) != 0)
	{
		log_error(SUB, "fdatasync of the dedup journal failed: %s; exiting", strerror(errno));
		_exit(70);
	}
	(void) fsync(sp->dirfd);
	pthread_mutex_lock(&sp->mu);
	if (sp->jfd >= 0)
	{
		if (sp->nretired == MAX_RETIRED)
		{
			pthread_mutex_unlock(&sp->mu);
			close(fd);
			errno = EBUSY;
			goto fail;
		}
		sp->retired[sp->nretired++] = sp->jfd;
	}
	sp->jfd = fd;
	sp->jsize = SEGMENT_HEADER_SIZE;
	sp->jstart = now_s;
	sp->jgen_synced = sp->jgen_written;	/* the old file was synced above */
	pthread_cond_signal(&sp->work_cond);
	pthread_mutex_unlock(&sp->mu);
	/*
	 * Delete files whose every entry is older than the window, and files older than
	 * enough newer entries to fill the index (it keeps the newest, so a reload would
	 * evict theirs anyway): with a busy log the window alone would let the journal
	 * grow by 32 bytes an event for a whole day.
	 */
	if (spool_list(sp, "dedup", ".jnl", &ids, &n) == EV_OK)
	{
		uint64_t	newer = 0;

		for (i = n; i-- > 0;)
		{
			struct stat st;
			int			old_by_time = i + 1 < n && (int64_t) ids[i + 1] <= now_s - sp->jkeep_s;
			int			old_by_size = i + 1 < n && sp->jkeep_bytes > 0 && newer >= sp->jkeep_bytes;

			journal_name(name, sizeof(name), (int64_t) ids[i]);
			if (old_by_time || old_by_size)
			{
				(void) unlinkat(sp->dirfd, name, 0);
				continue;
			}
			if (fstatat(sp->dirfd, name, &st, 0) == 0)
				newer += (uint64_t) st.st_size;
		}
		free(ids);
	}
	return EV_OK;
fail:
	spool_fail(sp, SPOOL_ERR_IO, errno);
	log_error(SUB, "cannot start dedup journal %s: %s", name, strerror(errno));
	return EV_ERROR;
}

/* Journal slicing and retention. */
void
spool_journal_set_policy(struct spool *sp, int64_t slice_s, int64_t keep_s, uint64_t keep_bytes)
{
	sp->jslice_s = slice_s > 0 ? slice_s : 1;
	sp->jkeep_s = keep_s;
	sp->jkeep_bytes = keep_bytes;
}

/* Write the staged batch. */
int
spool_batch_write(struct spool *sp, const void *journal, size_t jlen, int64_t now_s)
{
	struct spool_segment *act = &sp->segs[sp->nsegs - 1];
	uint64_t	jold = sp->jsize;
	static struct log_limit write_lim;

	if (sp->wcount == 0 && jlen == 0)
		return EV_OK;
	if (jlen > 0)
	{
		struct buf	jb;
		int			r;

		if (spool_journal_roll(sp, now_s) != EV_OK)
			return EV_ERROR;
		buf_init(&jb);
		r = record_append(&jb, 0, journal, jlen);
		if (r == EV_OK)
			r = write_full(sp->jfd, jb.data, jb.len, sp->jsize);
		if (r != EV_OK)
		{
			int			e = errno;

			if (ftruncate(sp->jfd, (off_t) jold) != 0)
				log_error(SUB, "cannot cut back the dedup journal after a failed write: %s", strerror(errno));
			buf_free(&jb);
			spool_fail(sp, SPOOL_ERR_IO, e);
			log_limited(&write_lim, 10000, LOGL_ERROR, SUB, "write to the dedup journal failed: %s", strerror(e));
			return EV_ERROR;
		}
		sp->jsize += jb.len;
		buf_free(&jb);
	}
	if (sp->wcount > 0 && act->size > SEGMENT_HEADER_SIZE && act->size + sp->wbuf.len > sp->segment_bytes)
	{
		/* the staged records carry seqs from next_seq on, which rotation keeps */
		if (spool_rotate(sp) != EV_OK)
			goto fail_journal;
		act = &sp->segs[sp->nsegs - 1];
	}
	if (sp->wcount > 0 && write_full(sp->active_fd, sp->wbuf.data, sp->wbuf.len, act->size) != EV_OK)
	{
		int			e = errno;
		char		name[64];

		seg_name(name, sizeof(name), act->id);
		if (ftruncate(sp->active_fd, (off_t) act->size) != 0)
		{
			log_error(SUB, "cannot cut back %s to %" PRIu64 " after a failed write: %s; exiting",
					  name, act->size, strerror(errno));
			_exit(70);
		}
		log_limited(&write_lim, 10000, LOGL_ERROR, SUB, "write to %s at %" PRIu64 " failed (%zu bytes): %s",
					name, act->size, sp->wbuf.len, strerror(e));
		errno = e;
		goto fail_journal;
	}
	log_recovered(&write_lim, SUB, "spool writes succeed again");
	pthread_mutex_lock(&sp->mu);
	if (sp->wcount > 0)
	{
		act->size += sp->wbuf.len;
		act->last_seq = sp->next_seq + sp->wcount - 1;
		sp->total_bytes += sp->wbuf.len;
		sp->next_seq += sp->wcount;
		sp->written_seq = sp->next_seq - 1;
	}
	if (jlen > 0)
		sp->jgen_written++;
	pthread_cond_signal(&sp->work_cond);
	pthread_mutex_unlock(&sp->mu);
	sp->wcount = 0;
	sp->wbuf.len = 0;
	return EV_OK;
fail_journal:
	{
		int			e = errno;

		if (jlen > 0 && ftruncate(sp->jfd, (off_t) jold) == 0)
			sp->jsize = jold;
		spool_fail(sp, SPOOL_ERR_IO, e);
	}
	sp->wcount = 0;
	sp->wbuf.len = 0;
	return EV_ERROR;
}

/* Last durable seq. */
uint64_t
spool_synced_seq(struct spool *sp)
{
	uint64_t	v;

	pthread_mutex_lock(&sp->mu);
	v = sp->synced_seq;
	pthread_mutex_unlock(&sp->mu);
	return v;
}

/* Last written seq. */
uint64_t
spool_written_seq(struct spool *sp)
{
	uint64_t	v;

	pthread_mutex_lock(&sp->mu);
	v = sp->written_seq;
	pthread_mutex_unlock(&sp->mu);
	return v;
}

/* Delete sealed segments that are fully committed. */
uint64_t
spool_remove_committed(struct spool *sp, uint64_t committed_seq)
{
	uint64_t	freed = 0;
	size_t		drop = 0,
				i;
	uint64_t	ids[64];

	pthread_mutex_lock(&sp->mu);
	while (drop + 1 < sp->nsegs && drop < 64 && sp->segs[drop].last_seq <= committed_seq)
	{
		if (sp->segs[drop].jgen > sp->jgen_synced)
		{
			/* its ids must be durable in the journal before the records go */
			sp->jsync_req = 1;
			pthread_cond_signal(&sp->work_cond);
			break;
		}
		ids[drop] = sp->segs[drop].id;
		freed += sp->segs[drop].size;
		drop++;
	}
	if (drop)
	{
		memmove(sp->segs, sp->segs + drop, (sp->nsegs - drop) * sizeof(*sp->segs));
		sp->nsegs -= drop;
		sp->total_bytes -= freed;
	}
	pthread_mutex_unlock(&sp->mu);
	for (i = 0; i < drop; i++)
	{
		char		name[64];

		seg_name(name, sizeof(name), ids[i]);
		if (unlinkat(sp->dirfd, name, 0) != 0)
			log_warning(SUB, "cannot delete committed segment %s: %s", name, strerror(errno));
		else
			log_debug(SUB, "deleted committed segment %s", name);
	}
	return freed;
}

/* Bytes of segments with uncommitted records. */
uint64_t
spool_pending_bytes(struct spool *sp, uint64_t committed_seq)
{
	uint64_t	b = 0;
	size_t		i;

	pthread_mutex_lock(&sp->mu);
	for (i = 0; i < sp->nsegs; i++)
		if (sp->segs[i].last_seq > committed_seq)
			b += sp->segs[i].size;
	pthread_mutex_unlock(&sp->mu);
	return b;
}

/* Start a new segment when the active one is big and fully committed. */
int
spool_retire_active(struct spool *sp, uint64_t committed_seq, uint64_t min_bytes)
{
	struct spool_segment *act = &sp->segs[sp->nsegs - 1];

	if (act->size < min_bytes || act->last_seq > committed_seq || act->last_seq + 1 != sp->next_seq)
		return EV_OK;
	return spool_rotate(sp);
}

/* Snapshot of the counters. */
void
spool_get_stats(struct spool *sp, struct spool_stats *st)
{
	pthread_mutex_lock(&sp->mu);
	st->bytes = sp->total_bytes;
	st->segments = sp->nsegs;
	st->written_seq = sp->written_seq;
	st->synced_seq = sp->synced_seq;
	st->syncs = sp->syncs;
	st->journal_syncs = sp->jsyncs;
	st->quarantined = sp->quarantined;
	st->truncations = sp->truncations;
	pthread_mutex_unlock(&sp->mu);
}

/* Wait until a seq beyond seen_seq is durable. */
void
spool_wait_synced(struct spool *sp, uint64_t seen_seq, int64_t timeout_ms)
{
	struct timespec ts;

	monotime_deadline(&ts, timeout_ms);
	pthread_mutex_lock(&sp->mu);
	while (!sp->stop && sp->synced_seq <= seen_seq)
		if (pthread_cond_timedwait(&sp->data_cond, &sp->mu, &ts) != 0)
			break;
	pthread_mutex_unlock(&sp->mu);
}

/* Wake every waiter. */
void
spool_wake_all(struct spool *sp)
{
	pthread_mutex_lock(&sp->mu);
	pthread_cond_broadcast(&sp->data_cond);
	pthread_mutex_unlock(&sp->mu);
}

/* ---- readers ---- */

struct spool_reader {
	struct spool *sp;
	uint64_t	seg;			/* current segment id */
	uint64_t	off;			/* next record offset */
	int			fd;				/* of seg, or -1 */
	unsigned char *buf;
	size_t		cap;
	uint64_t	boff;			/* file offset of buf[0] */
	size_t		blen;			/* valid bytes in buf */
};

/* Create a reader at the first record. */
int
spool_reader_new(struct spool *sp, struct spool_reader **out)
{
	struct spool_reader *r = calloc(1, sizeof(*r));
	struct spool_pos pos;

	*out = NULL;
	if (r == NULL)
		return EV_ERROR;
	r->sp = sp;
	r->fd = -1;
	r->cap = READ_CHUNK;
	r->buf = malloc(r->cap);
	if (r->buf == NULL)
	{
		free(r);
		return EV_ERROR;
	}
	spool_first_pos(sp, &pos);
	spool_reader_seek(r, &pos);
	*out = r;
	return EV_OK;
}

/* Close the reader's file and free it. */
void
spool_reader_free(struct spool_reader *r)
{
	if (r == NULL)
		return;
	if (r->fd >= 0)
		close(r->fd);
	free(r->buf);
	free(r);
}

/* Position of the first record of the oldest segment. */
void
spool_first_pos(struct spool *sp, struct spool_pos *pos)
{
	pthread_mutex_lock(&sp->mu);
	pos->seg = sp->segs[0].id;
	pos->off = SEGMENT_HEADER_SIZE;
	pthread_mutex_unlock(&sp->mu);
}

/* Base seq of the oldest segment. */
uint64_t
spool_first_seq(struct spool *sp)
{
	uint64_t	v;

	pthread_mutex_lock(&sp->mu);
	v = sp->segs[0].base_seq;
	pthread_mutex_unlock(&sp->mu);
	return v;
}

/* Move the reader to pos. */
void
spool_reader_seek(struct spool_reader *r, const struct spool_pos *pos)
{
	if (r->fd >= 0 && r->seg != pos->seg)
	{
		close(r->fd);
		r->fd = -1;
	}
	if (r->seg != pos->seg)
		r->blen = 0;
	r->seg = pos->seg;
	r->off = pos->off;
}

/* Next durable record. */
int
spool_reader_next(struct spool_reader *r, struct record_view *rec, struct spool_pos *after)
{
	struct spool *sp = r->sp;

	for (;;)
	{
		uint64_t	limit = 0;
		int			sealed = 0;
		int			found = 0;
		uint64_t	next_id = 0;
		size_t		i;
		enum record_error err;
		size_t		used;
		int			rc;

		pthread_mutex_lock(&sp->mu);
		for (i = 0; i < sp->nsegs; i++)
		{
			if (sp->segs[i].id == r->seg)
			{
				found = 1;
				limit = sp->segs[i].synced;
				sealed = i + 1 < sp->nsegs;
				if (sealed)
					next_id = sp->segs[i + 1].id;
				break;
			}
			if (sp->segs[i].id > r->seg)
			{
				next_id = sp->segs[i].id;
				break;
			}
		}
		pthread_mutex_unlock(&sp->mu);
		if (!found)
		{
			/* deleted (fully committed) or never existed: continue with the next one */
			if (next_id == 0)
				return EV_RETRY;
			r->seg = next_id;
			r->off = SEGMENT_HEADER_SIZE;
			if (r->fd >= 0)
				close(r->fd);
			r->fd = -1;
			r->blen = 0;
			continue;
		}
		if (r->off >= limit)
		{
			if (!sealed || r->off > limit)
				return EV_RETRY;
			r->seg = next_id;
			r->off = SEGMENT_HEADER_SIZE;
			if (r->fd >= 0)
				close(r->fd);
			r->fd = -1;
			r->blen = 0;
			continue;
		}
		if (r->fd < 0)
		{
			char		name[64];

			seg_name(name, sizeof(name), r->seg);
			r->fd = openat(sp->dirfd, name, O_RDONLY | O_CLOEXEC);
			if (r->fd < 0)
			{
				if (errno == ENOENT)
					continue;	/* deleted meanwhile: the lookup above moves on */
				spool_fail(sp, SPOOL_ERR_IO, errno);
				return EV_ERROR;
			}
			r->blen = 0;
		}
		/* decode from the buffer if the record is there whole */
		if (r->off >= r->boff && r->off < r->boff + r->blen)
		{
			size_t		start = (size_t) (r->off - r->boff);
			size_t		avail = r->blen - start;

			if (r->off + avail > limit)
				avail = (size_t) (limit - r->off);
			rc = record_decode(r->buf + start, avail, rec, &used, &err);
			if (rc == EV_OK)
			{
				r->off += used;
				after->seg = r->seg;
				after->off = r->off;
				return EV_OK;
			}
			if (rc == EV_CORRUPT)
				goto corrupt;
			/* short in the buffer: re-read below, growing the buffer if needed */
			if (avail >= RECORD_HEADER_SIZE)
			{
				uint64_t	need = RECORD_HEADER_SIZE + (uint64_t) get_u32le(r->buf + start + 4);

				if (r->off + need > limit)
					goto corrupt;	/* a durable region never ends inside a record */
				if (need > r->cap)
				{
					unsigned char *nb = realloc(r->buf, (size_t) need);

					if (nb == NULL)
					{
						spool_fail(sp, SPOOL_ERR_NOMEM, ENOMEM);
						return EV_ERROR;
					}
					r->buf = nb;
					r->cap = (size_t) need;
				}
			}
			else if (r->off + avail >= limit)
				goto corrupt;
		}
		{
			size_t		want = limit - r->off < r->cap ? (size_t) (limit - r->off) : r->cap;
			ssize_t		n = read_full(r->fd, r->buf, want, r->off);

			if (n < 0)
			{
				spool_fail(sp, SPOOL_ERR_IO, errno);
				return EV_ERROR;
			}
			if ((size_t) n < want)
				goto corrupt;
			r->boff = r->off;
			r->blen = (size_t) n;
			rc = record_decode(r->buf, r->blen, rec, &used, &err);
			if (rc == EV_OK)
			{
				r->off += used;
				after->seg = r->seg;
				after->off = r->off;
				return EV_OK;
			}
			if (rc == EV_RETRY && r->off + r->blen < limit)
				continue;		/* longer than the buffer: the path above grows it */
			goto corrupt;
		}
corrupt:
		{
			static struct log_limit lim;
			char		name[64];

			seg_name(name, sizeof(name), r->seg);
			log_limited(&lim, 30000, LOGL_ERROR, SUB, "bad record in %s at offset %" PRIu64
						" while reading; the lane stops here until the spool is repaired",
						name, r->off);
			spool_fail(sp, SPOOL_ERR_BAD_RECORD, 0);
			return EV_CORRUPT;
		}
	}
}

/* ---- dedup journal ---- */

struct journal_ctx {
	spool_journal_cb cb;
	void	   *arg;
};

/* Call cb for every journal record, oldest first. */
int
spool_journal_load(struct spool *sp, spool_journal_cb cb, void *arg)
{
	uint64_t   *ids = NULL;
	size_t		n = 0,
				i;
	int			rc = EV_ERROR;

	if (spool_list(sp, "dedup", ".jnl", &ids, &n) != EV_OK)
		goto done;
	for (i = 0; i < n; i++)
	{
		char		name[64];
		int			fd;
		uint64_t	good_end,
					last;
		const char *why;
		struct stat st;
		int			r;
		unsigned char hdr[SEGMENT_HEADER_SIZE];
		struct segment_header h;
		enum record_error herr;

		journal_name(name, sizeof(name), (int64_t) ids[i]);
		fd = openat(sp->dirfd, name, O_RDWR | O_CLOEXEC);
		if (fd < 0 || fstat(fd, &st) != 0)
		{
			if (fd >= 0)
				close(fd);
			goto done;
		}
		if (read_full(fd, hdr, sizeof(hdr), 0) != (ssize_t) sizeof(hdr) ||
			segment_header_decode(hdr, sizeof(hdr), &h, &herr) != EV_OK)
		{
			close(fd);
			log_warning(SUB, "removing %s: bad journal header", name);
			(void) unlinkat(sp->dirfd, name, 0);
			continue;
		}
		r = spool_scan_file(fd, 1, 0, &good_end, &last, &why, cb, arg);
		if (r == EV_ERROR)
		{
			close(fd);
			goto done;
		}
		if (r == EV_CORRUPT || good_end < (uint64_t) st.st_size)
		{
			if (i + 1 < n)
			{
				close(fd);
				spool_quarantine(sp, "dedup/", name + 6, why ? why : "trailing bytes", good_end);
				continue;
			}
			log_warning(SUB, "truncating %s at offset %" PRIu64 " (%s)", name, good_end, why ? why : "trailing bytes");
			if (ftruncate(fd, (off_t) good_end) != 0)
			{
				close(fd);
				goto done;
			}
			sp->truncations++;
		}
		/* a crash of the process leaves the journal's tail in the page cache only */
		if (fdatasync(fd) != 0)
		{
			close(fd);
			goto done;
		}
		close(fd);
	}
	rc = EV_OK;
done:
	if (rc != EV_OK)
		spool_fail(sp, SPOOL_ERR_IO, errno);
	free(ids);
	return rc;
}

/* ---- dead letters ---- */

/* Append one line to deadletter.ndjson and fdatasync it. */
int
spool_deadletter_append(struct spool *sp, const char *line, size_t len)
{
	int			rc = EV_ERROR;
	struct stat st;

	pthread_mutex_lock(&sp->dlmu);
	if (sp->dlfd < 0)
	{
		sp->dlfd = openat(sp->dirfd, "deadletter.ndjson", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
		if (sp->dlfd < 0)
			goto done;
	}
	if (fstat(sp->dlfd, &st) != 0)
		goto done;
	if (write_full(sp->dlfd, line, len, (uint64_t) st.st_size) != EV_OK)
		goto done;
	if (fdatasync(sp->dlfd) != 0)
		goto done;
	rc = EV_OK;
done:
	if (rc != EV_OK)
		log_error(SUB, "cannot write %s/deadletter.ndjson: %s", sp->dir, strerror(errno));
	pthread_mutex_unlock(&sp->dlmu);
	return rc;
}
