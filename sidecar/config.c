/* Configuration: one option table, INI file ([eventlogd], [tokens]) plus command-line flags. */
#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"

enum cf_type {
	CF_STR,
	CF_INT,
	CF_OCTAL,
	CF_ENUM,
	CF_SIZE,					/* bytes; suffixes k, M, G, T (1024-based) */
	CF_DURATION,				/* milliseconds; suffixes ms, s, min, h, d */
	CF_TOKENS					/* token=tenant[,token=tenant...] */
};

struct cf_option {
	const char *name;
	enum cf_type type;
	size_t		offset;			/* of the target field in struct config */
	const char *def;			/* default, in config-file syntax */
	int			reloadable;		/* 1: SIGHUP applies it; 0: needs a restart */
	int64_t		min;
	int64_t		max;
	int64_t		unit_ms;		/* CF_DURATION: unit of a bare number */
	const char *const *names;	/* CF_ENUM: value names, index = stored value */
	const char *help;
};

static const char *const durability_names[] = {"fsync", "none", NULL};
static const char *const copy_format_names[] = {"binary", "text", NULL};

#define OFF(f) offsetof(struct config, f)
#define I64MAX INT64_MAX

/* THE option table: every setting of eventlogd, and nothing else. */
static const struct cf_option options[] = {
	{"dsn", CF_STR, OFF(dsn), "", 0, 0, 0, 0, NULL,
	"libpq connection string of the PostgreSQL database (empty: libpq defaults and PG* variables)"},
	{"listen", CF_STR, OFF(listen), "127.0.0.1:8687", 0, 0, 0, 0, NULL,
	"TCP address host:port for the HTTP API (empty: no TCP listener)"},
	{"unix_socket", CF_STR, OFF(unix_socket), "", 0, 0, 0, 0, NULL,
	"path of a Unix socket that serves the same HTTP API (empty: none)"},
	{"unix_socket_mode", CF_OCTAL, OFF(unix_socket_mode), "0660", 0, 0, 0777, 0, NULL,
	"file mode of the Unix socket"},
	{"spool_dir", CF_STR, OFF(spool_dir), "/var/lib/eventlogd", 0, 0, 0, 0, NULL,
	"directory of the durable spool (segments, dedup journal, dead letters, lock file)"},
	{"durability", CF_ENUM, OFF(durability), "fsync", 1, 0, 0, 0, durability_names,
	"fsync: ack after group-committed fdatasync; none: ack on receipt (at-most-once)"},
	{"batch_max_events", CF_INT, OFF(batch_max_events), "1000", 1, 1, 1000000, 0, NULL,
	"events per COPY batch at most"},
	{"batch_max_ms", CF_DURATION, OFF(batch_max_ms), "100", 1, 0, 3600000, 1, NULL,
	"longest an event waits for its batch to fill (bare number: milliseconds)"},
	{"flush_connections", CF_INT, OFF(flush_connections), "2", 0, 1, EV_LANES, 0, NULL,
	"parallel PostgreSQL connections (lanes); one tenant always uses the same one"},
	{"copy_format", CF_ENUM, OFF(copy_format), "binary", 1, 0, 0, 0, copy_format_names,
	"format handed to eventlog.copy_in: binary or text"},
	{"spool_max_bytes", CF_SIZE, OFF(spool_max_bytes), "1G", 1, 1048576, I64MAX, 0, NULL,
	"bytes of segments holding uncommitted events at which new events get 503 (resumes below 90%)"},
	{"spool_segment_bytes", CF_SIZE, OFF(spool_segment_bytes), "64M", 1, 65536, 4294967295LL, 0, NULL,
	"size at which the spool starts a new segment file"},
	{"drain_max_events_per_sec", CF_INT, OFF(drain_max_events_per_sec), "0", 1, 0, I64MAX, 0, NULL,
	"cap on events/s sent to PostgreSQL (0: no cap)"},
	{"rate_limit", CF_INT, OFF(rate_limit), "0", 1, 0, I64MAX, 0, NULL,
	"events/s each tenant may send (0: no limit)"},
	{"rate_limit_burst", CF_INT, OFF(rate_limit_burst), "0", 1, 0, I64MAX, 0, NULL,
	"token bucket size per tenant (0: one second of rate_limit)"},
	{"tokens", CF_TOKENS, OFF(tokens), "", 1, 0, 0, 0, NULL,
	"bearer tokens as token=tenant pairs, comma-separated (or one per line in [tokens]); none: any tenant may write"},
	{"max_body_bytes", CF_SIZE, OFF(max_body_bytes), "16M", 1, 1024, 1073741824, 0, NULL,
	"largest request body accepted (413 above)"},
	{"dedup_window", CF_DURATION, OFF(dedup_window_ms), "24h", 1, 0, 31LL * 86400000, 1000, NULL,
	"how long an event_id is remembered to drop client retries (0: no dedup; bare number: seconds)"},
	{"dedup_max_entries", CF_INT, OFF(dedup_max_entries), "2000000", 0, 1024, 1000000000, 0, NULL,
	"event_ids remembered at most (about 40 bytes each); older ones are forgotten first"},
	{"logs_refresh", CF_DURATION, OFF(logs_refresh_ms), "10s", 1, 1000, 86400000, 1000, NULL,
	"how often the list of logs is read from eventlog.logs"},
	{"flush_timeout", CF_DURATION, OFF(flush_timeout_ms), "60s", 1, 1000, 86400000, 1000, NULL,
	"longest POST /v1/flush or ?ack=committed waits before 504"},
	{"drain_timeout", CF_DURATION, OFF(drain_timeout_ms), "300s", 1, 0, 86400000, 1000, NULL,
	"on SIGTERM, longest wait for the spool to drain (0: no limit); the rest stays spooled"},
	{"retry_max_delay", CF_DURATION, OFF(retry_max_delay_ms), "10s", 1, 100, 3600000, 1000, NULL,
	"cap of the exponential backoff after a transient PostgreSQL error"},
	{"pause_retry", CF_DURATION, OFF(pause_retry_ms), "30s", 1, 1000, 3600000, 1000, NULL,
	"retry interval of a log paused by a configuration error (missing table, permission)"},
	{"verbose", CF_INT, OFF(verbose), "0", 1, 0, 2, 0, NULL,
	"0: error, warning, info; 1: also debug; 2: also noise"},
	{"stats_period", CF_DURATION, OFF(stats_period_ms), "60s", 1, 0, 86400000, 1000, NULL,
	"period of the stats log line (0: off)"},
	{"pidfile", CF_STR, OFF(pidfile), "", 0, 0, 0, 0, NULL,
	"file to write the process id to (empty: none)"},
	{"logfile", CF_STR, OFF(logfile), "", 0, 0, 0, 0, NULL,
	"file to append log lines to (empty: stderr); reopened on SIGHUP"},
	{NULL, CF_STR, 0, NULL, 0, 0, 0, 0, NULL, NULL}
};

/* Name of option i, or NULL past the end. */
const char *
config_option_name(size_t i)
{
	if (i >= sizeof(options) / sizeof(options[0]) - 1)
		return NULL;
	return options[i].name;
}

/* Find an option by name. */
static const struct cf_option *
config_find(const char *name, size_t len)
{
	const struct cf_option *o;

	for (o = options; o->name; o++)
		if (strlen(o->name) == len && strncmp(o->name, name, len) == 0)
			return o;
	return NULL;
}

/* Free the token array. */
static void
config_free_tokens(struct config *cfg)
{
	size_t		i;

	for (i = 0; i < cfg->ntokens; i++)
	{
		free(cfg->tokens[i].token);
		free(cfg->tokens[i].tenant);
	}
	free(cfg->tokens);
	cfg->tokens = NULL;
	cfg->ntokens = 0;
}

/* Free a config's strings. */
void
config_free(struct config *cfg)
{
	const struct cf_option *o;

	for (o = options; o->name; o++)
		if (o->type == CF_STR)
		{
			char	  **p = (char **) ((char *) cfg + o->offset);

			free(*p);
			*p = NULL;
		}
	config_free_tokens(cfg);
	free(cfg->path);
	cfg->path = NULL;
}

/* Add one token=tenant pair. */
static int
config_add_token(struct config *cfg, const char *tok, size_t toklen, const char *ten, size_t tenlen,
				 struct buf *err)
{
	struct config_token *t;
	size_t		i;

	if (toklen == 0 || tenlen == 0 || tenlen > 128)
		{
		buf_errorf(err, "token and tenant must be non-empty (tenant at most 128 bytes)");
		return EV_ERROR;
	}
	for (i = 0; i < cfg->ntokens; i++)
		if (strlen(cfg->tokens[i].token) == toklen && memcmp(cfg->tokens[i].token, tok, toklen) == 0)
		{
			buf_errorf(err, "duplicate token");
			return EV_ERROR;
		}
	t = realloc(cfg->tokens, (cfg->ntokens + 1) * sizeof(*t));
	if (t == NULL)
		return EV_ERROR;
	cfg->tokens = t;
	t[cfg->ntokens].token = strndup(tok, toklen);
	t[cfg->ntokens].tenant = strndup(ten, tenlen);
	if (!t[cfg->ntokens].token || !t[cfg->ntokens].tenant)
	{
		free(t[cfg->ntokens].token);
		free(t[cfg->ntokens].tenant);
		return EV_ERROR;
	}
	cfg->ntokens++;
	return EV_OK;
}

/* Trim spaces on both ends of [*s, *s+*n). */
static void
trim(const char **s, size_t *n)
{
	while (*n && isspace((unsigned char) **s))
	{
		(*s)++;
		(*n)--;
	}
	while (*n && isspace((unsigned char) (*s)[*n - 1]))
		(*n)--;
}

/* Parse "tok=tenant, tok2=tenant2". */
static int
config_parse_tokens(struct config *cfg, const char *v, struct buf *err)
{
	while (*v)
	{
		const char *end = strchr(v, ',');
		size_t		n = end ? (size_t) (end - v) : strlen(v);
		const char *eq;
		const char *a = v;
		const char *b;
		size_t		an,
					bn;

		eq = memchr(v, '=', n);
		if (n > 0 && eq == NULL)
		{
			size_t		sn = n;
			const char *s = v;

			trim(&s, &sn);
			if (sn)
			{
				buf_errorf(err, "expected token=tenant");
				return EV_ERROR;
			}
		}
		if (eq)
		{
			an = (size_t) (eq - v);
			b = eq + 1;
			bn = n - an - 1;
			trim(&a, &an);
			trim(&b, &bn);
			if (config_add_token(cfg, a, an, b, bn, err) != EV_OK)
				return EV_ERROR;
		}
		v += n;
		if (*v == ',')
			v++;
	}
	return EV_OK;
}

/* Parse a number with an optional unit suffix from a table of (suffix, multiplier). */
static int
parse_scaled(const char *v, int64_t bare_mult, const char *const *suf, const int64_t *mult,
			 int64_t *out)
{
	char	   *end;
	long long	n;
	int64_t		m = bare_mult;
	size_t		i;

	errno = 0;
	n = strtoll(v, &end, 10);
	if (errno || end == v || n < 0)
		return EV_ERROR;
	while (*end == ' ')
		end++;
	if (*end)
	{
		for (i = 0; suf[i]; i++)
			if (strcasecmp(end, suf[i]) == 0)
				break;
		if (!suf[i])
			return EV_ERROR;
		m = mult[i];
	}
	if (m != 0 && n > INT64_MAX / m)
		return EV_ERROR;
	*out = (int64_t) n *m;

	return EV_OK;
}

/* Set one option from its text value. */
static int
config_set(struct config *cfg, const struct cf_option *o, const char *v, struct buf *err)
{
	void	   *target = (char *) cfg + o->offset;
	int64_t		n = 0;
	char	   *end;

	switch (o->type)
	{
		case CF_STR:
			{
				char	   *s = strdup(v);

				if (s == NULL)
					return EV_ERROR;
				free(*(char **) target);
				*(char **) target = s;
				return EV_OK;
			}
		case CF_TOKENS:
			return config_parse_tokens(cfg, v, err);
		case CF_INT:
			errno = 0;
			n = strtoll(v, &end, 10);
			if (errno || end == v || *end)
				goto bad;
			break;
		case CF_OCTAL:
			errno = 0;
			n = strtoll(v, &end, 8);
			if (errno || end == v || *end)
				goto bad;
			break;
		case CF_ENUM:
			{
				int			i;

				for (i = 0; o->names[i]; i++)
					if (strcasecmp(v, o->names[i]) == 0)
					{
						*(int64_t *) target = i;
						return EV_OK;
					}
				buf_errorf(err, "invalid value \"%s\" for %s (one of:", v, o->name);
				for (i = 0; o->names[i]; i++)
					buf_errorf(err, " %s", o->names[i]);
				buf_errorf(err, ")");
				return EV_ERROR;
			}
		case CF_SIZE:
			{
				static const char *const suf[] = {"b", "k", "kb", "m", "mb", "g", "gb", "t", "tb", NULL};
				static const int64_t mult[] = {1, 1LL << 10, 1LL << 10, 1LL << 20, 1LL << 20,
				1LL << 30, 1LL << 30, 1LL << 40, 1LL << 40};

				if (parse_scaled(v, 1, suf, mult, &n) != EV_OK)
					goto bad;
				break;
			}
		case CF_DURATION:
			{
				static const char *const suf[] = {"ms", "s", "sec", "min", "m", "h", "d", NULL};
				static const int64_t mult[] = {1, 1000, 1000, 60000, 60000, 3600000, 86400000};

				if (parse_scaled(v, o->unit_ms, suf, mult, &n) != EV_OK)
					goto bad;
				break;
			}
	}
	if (n < o->min || n > o->max)
	{
		buf_errorf(err, "value \"%s\" for %s is out of range (%lld..%lld%s)", v, o->name,
						  (long long) (o->type == CF_DURATION ? o->min / o->unit_ms : o->min),
						  (long long) (o->type == CF_DURATION ? o->max / o->unit_ms : o->max),
						  o->type == CF_DURATION ? (o->unit_ms == 1 ? " ms" : " s") : "");
		return EV_ERROR;
	}
	*(int64_t *) target = n;
	return EV_OK;
bad:
	buf_errorf(err, "invalid value \"%s\" for %s", v, o->name);
	return EV_ERROR;
}

/* Set every option to its default. */
static int
config_defaults(struct config *cfg, struct buf *err)
{
	const struct cf_option *o;

	memset(cfg, 0, sizeof(*cfg));
	for (o = options; o->name; o++)
		if (config_set(cfg, o, o->def, err) != EV_OK)
			return EV_ERROR;
	return EV_OK;
}

/* Read the INI file: [eventlogd] options and [tokens] token = tenant lines. */
static int
config_read_file(struct config *cfg, const char *path, struct buf *err)
{
	FILE	   *f = NULL;
	char	   *line = NULL;
	size_t		cap = 0;
	ssize_t		got;
	int			lineno = 0;
	int			rc = EV_ERROR;
	enum
	{
		SEC_NONE, SEC_MAIN, SEC_TOKENS
	}			section = SEC_NONE;
	struct buf	why;

	buf_init(&why);
	f = fopen(path, "r");
	if (f == NULL)
	{
		buf_errorf(err, "%s: cannot open: %s", path, strerror(errno));
		goto done;
	}
	while ((got = getline(&line, &cap, f)) >= 0)
	{
		const char *s = line;
		size_t		n = (size_t) got;
		const char *eq;
		const char *k,
				   *v;
		size_t		kn,
					vn;
		char	   *val;
		int			r;

		lineno++;
		trim(&s, &n);
		if (n == 0 || s[0] == ';' || s[0] == '#')
			continue;
		if (s[0] == '[')
		{
			if (s[n - 1] != ']')
			{
				buf_errorf(err, "%s:%d: malformed section header", path, lineno);
				goto done;
			}
			k = s + 1;
			kn = n - 2;
			trim(&k, &kn);
			if (kn == 9 && strncasecmp(k, "eventlogd", 9) == 0)
				section = SEC_MAIN;
			else if (kn == 6 && strncasecmp(k, "tokens", 6) == 0)
				section = SEC_TOKENS;
			else
			{
				buf_errorf(err, "%s:%d: unknown section [%.*s]", path, lineno, (int) kn, k);
				goto done;
			}
			continue;
		}
		eq = memchr(s, '=', n);
		if (eq == NULL)
		{
			buf_errorf(err, "%s:%d: expected name = value", path, lineno);
			goto done;
		}
		k = s;
		kn = (size_t) (eq - s);
		v = eq + 1;
		vn = n - kn - 1;
		trim(&k, &kn);
		trim(&v, &vn);
		if (vn >= 2 && v[0] == '"' && v[vn - 1] == '"')
		{
			v++;
			vn -= 2;
		}
		if (section == SEC_NONE)
		{
			buf_errorf(err, "%s:%d: option outside of a section (start with [eventlogd])", path, lineno);
			goto done;
		}
		if (section == SEC_TOKENS)
		{
			buf_free(&why);
			if (config_add_token(cfg, k, kn, v, vn, &why) != EV_OK)
			{
								buf_errorf(err, "%s:%d: %s", path, lineno, why.data ? why.data : "out of memory");
				goto done;
			}
			continue;
		}
		{
			const struct cf_option *o = config_find(k, kn);

			if (o == NULL)
			{
				buf_errorf(err, "%s:%d: unknown option \"%.*s\"", path, lineno, (int) kn, k);
				goto done;
			}
			val = strndup(v, vn);
			if (val == NULL)
				goto done;
			buf_free(&why);
			r = config_set(cfg, o, val, &why);
			free(val);
			if (r != EV_OK)
			{
								buf_errorf(err, "%s:%d: %s", path, lineno, why.data ? why.data : "out of memory");
				goto done;
			}
		}
	}
	rc = EV_OK;
done:
	free(line);
	buf_free(&why);
	if (f)
		fclose(f);
	return rc;
}

/* Split "host:port" / "[v6]:port". */
int
config_split_listen(const char *listen, char *hostbuf, size_t hostcap, int *port)
{
	const char *colon = strrchr(listen, ':');
	const char *h = listen;
	size_t		hn;
	char	   *end;
	long		p;

	if (colon == NULL)
		return EV_ERROR;
	hn = (size_t) (colon - listen);
	if (hn >= 2 && h[0] == '[' && h[hn - 1] == ']')
	{
		h++;
		hn -= 2;
	}
	if (hn == 0 || hn >= hostcap)
		return EV_ERROR;
	p = strtol(colon + 1, &end, 10);
	if (*end || end == colon + 1 || p < 0 || p > 65535)
		return EV_ERROR;
	memcpy(hostbuf, h, hn);
	hostbuf[hn] = '\0';
	*port = (int) p;
	return EV_OK;
}

/* Cross-option checks. */
static int
config_validate(struct config *cfg, struct buf *err)
{
	char		host[256];
	int			port;

	if (cfg->spool_dir[0] == '\0')
	{
		buf_errorf(err, "spool_dir must be set");
		return EV_ERROR;
	}
	if (cfg->listen[0] && config_split_listen(cfg->listen, host, sizeof(host), &port) != EV_OK)
	{
		buf_errorf(err, "invalid listen address \"%s\" (expected host:port)", cfg->listen);
		return EV_ERROR;
	}
	if (cfg->listen[0] == '\0' && cfg->unix_socket[0] == '\0')
	{
		buf_errorf(err, "neither listen nor unix_socket is set: nothing to serve");
		return EV_ERROR;
	}
	return EV_OK;
}

/* Build a config from defaults, file and flags. */
int
config_load(struct config *cfg, const struct config_args *args, struct buf *err)
{
	size_t		i;
	struct buf	why;
	int			rc = EV_ERROR;

	buf_init(&why);
	if (config_defaults(cfg, err) != EV_OK)
		goto done;
	if (args->path)
	{
		cfg->path = strdup(args->path);
		if (cfg->path == NULL || config_read_file(cfg, args->path, err) != EV_OK)
			goto done;
	}
	for (i = 0; i < args->n; i++)
	{
		const struct cf_option *o = config_find(args->names[i], strlen(args->names[i]));

		if (o == NULL)
		{
			buf_errorf(err, "unknown option --%s", args->names[i]);
			goto done;
		}
		buf_free(&why);
		if (config_set(cfg, o, args->values[i], &why) != EV_OK)
		{
						buf_errorf(err, "--%s: %s", o->name, why.data ? why.data : "out of memory");
			goto done;
		}
	}
	if (config_validate(cfg, err) != EV_OK)
		goto done;
	rc = EV_OK;
done:
	buf_free(&why);
	if (rc != EV_OK)
		config_free(cfg);
	return rc;
}

/* Parse argv (the body; the public wrapper frees on error). */
static int
config_args_parse_inner(struct config_args *args, int argc, char **argv, struct buf *err)
{
	int			i;

	memset(args, 0, sizeof(*args));
	if (argc > 0)
	{
		args->names = calloc((size_t) argc, sizeof(char *));
		args->values = calloc((size_t) argc, sizeof(char *));
		if (!args->names || !args->values)
			goto oom;
	}
	for (i = 1; i < argc; i++)
	{
		const char *a = argv[i];

		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)
			args->help = 1;
		else if (strcmp(a, "-V") == 0 || strcmp(a, "--version") == 0)
			args->version = 1;
		else if (strcmp(a, "-t") == 0 || strcmp(a, "--check-config") == 0)
			args->check = 1;
		else if (strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0)
		{
			if (i + 1 >= argc)
			{
				buf_errorf(err, "%s needs a file name", a);
				return EV_ERROR;
			}
			args->path = argv[++i];
		}
		else if (strncmp(a, "--config=", 9) == 0)
			args->path = a + 9;
		else if (strncmp(a, "--", 2) == 0 && a[2])
		{
			const char *eq = strchr(a + 2, '=');
			char	   *name;

			name = eq ? strndup(a + 2, (size_t) (eq - a - 2)) : strdup(a + 2);
			if (name == NULL)
				goto oom;
			if (config_find(name, strlen(name)) == NULL)
			{
				buf_errorf(err, "unknown option --%s (see --help)", name);
				free(name);
				return EV_ERROR;
			}
			if (eq)
				args->values[args->n] = eq + 1;
			else if (i + 1 < argc)
				args->values[args->n] = argv[++i];
			else
			{
				buf_errorf(err, "%s needs a value", a);
				free(name);
				return EV_ERROR;
			}
			args->names[args->n] = config_find(name, strlen(name))->name;
			free(name);
			args->n++;
		}
		else
		{
			buf_errorf(err, "unexpected argument \"%s\" (see --help)", a);
			return EV_ERROR;
		}
	}
	return EV_OK;
oom:
	buf_errorf(err, "out of memory");
	return EV_ERROR;
}

/* Parse argv; on EV_ERROR nothing needs freeing. */
int
config_args_parse(struct config_args *args, int argc, char **argv, struct buf *err)
{
	int			rc = config_args_parse_inner(args, argc, argv, err);

	if (rc != EV_OK)
		config_args_free(args);
	return rc;
}

/* Free the flag arrays. */
void
config_args_free(struct config_args *args)
{
	free(args->names);
	free(args->values);
	memset(args, 0, sizeof(*args));
}

/* Tenant of a bearer token, or NULL. Compares every byte so timing does not leak a prefix. */
const char *
config_token_tenant(const struct config *cfg, const char *token, size_t len)
{
	size_t		i,
				j;

	for (i = 0; i < cfg->ntokens; i++)
	{
		const char *t = cfg->tokens[i].token;
		size_t		tn = strlen(t);
		unsigned char diff = (unsigned char) (tn != len);

		for (j = 0; j < len; j++)
			diff |= (unsigned char) (t[j < tn ? j : 0] ^ token[j]);
		if (diff == 0)
			return cfg->tokens[i].tenant;
	}
	return NULL;
}

/* Render one option's current value. */
static int
config_value_text(const struct config *cfg, const struct cf_option *o, struct buf *out)
{
	const void *target = (const char *) cfg + o->offset;
	int64_t		v;

	switch (o->type)
	{
		case CF_STR:
			return buf_puts(out, *(char *const *) target);
		case CF_TOKENS:
			return buf_printf(out, "(%zu configured)", cfg->ntokens);
		case CF_ENUM:
			return buf_puts(out, o->names[*(const int64_t *) target]);
		case CF_OCTAL:
			return buf_printf(out, "0%llo", (unsigned long long) *(const int64_t *) target);
		case CF_DURATION:
			v = *(const int64_t *) target;
			if (v % 1000 == 0 && o->unit_ms != 1)
				return buf_printf(out, "%llds", (long long) (v / 1000));
			return buf_printf(out, "%lldms", (long long) v);
		default:
			return buf_printf(out, "%lld", (long long) *(const int64_t *) target);
	}
}

/* Copy reloadable options from next into cur. */
int
config_apply_reload(struct config *cur, struct config *next, struct buf *notes)
{
	const struct cf_option *o;
	struct buf	a,
				b;
	int			rc = EV_OK;

	buf_init(&a);
	buf_init(&b);
	for (o = options; o->name; o++)
	{
		void	   *tc = (char *) cur + o->offset;
		void	   *tn = (char *) next + o->offset;

		a.len = b.len = 0;
		if (config_value_text(cur, o, &a) != EV_OK || config_value_text(next, o, &b) != EV_OK)
		{
			rc = EV_ERROR;
			break;
		}
		if (o->type == CF_TOKENS)
		{
			struct config_token *t = cur->tokens;
			size_t		nt = cur->ntokens;

			cur->tokens = next->tokens;
			cur->ntokens = next->ntokens;
			next->tokens = t;
			next->ntokens = nt;
			continue;
		}
		if (a.len == b.len && (a.len == 0 || memcmp(a.data, b.data, a.len) == 0))
			continue;
		if (!o->reloadable)
		{
			buf_errorf(notes, "%s%s changed but needs a restart (keeping %.*s)",
							  notes->len ? "; " : "", o->name, (int) a.len, a.data ? a.data : "");
			continue;
		}
		buf_errorf(notes, "%s%s = %.*s", notes->len ? "; " : "", o->name, (int) b.len, b.data ? b.data : "");
		if (o->type == CF_STR)
		{
			char	   *t = *(char **) tc;

			*(char **) tc = *(char **) tn;
			*(char **) tn = t;
		}
		else
			*(int64_t *) tc = *(int64_t *) tn;
	}
	buf_free(&a);
	buf_free(&b);
	return rc;
}

/* Append "name = value (reload|restart)" lines. */
int
config_dump(const struct config *cfg, struct buf *out)
{
	const struct cf_option *o;

	for (o = options; o->name; o++)
	{
		if (buf_printf(out, "%s = ", o->name) != EV_OK ||
			config_value_text(cfg, o, out) != EV_OK ||
			buf_printf(out, "  (%s)\n", o->reloadable ? "reloadable" : "restart") != EV_OK)
			return EV_ERROR;
	}
	return EV_OK;
}

/* Write the --help text. */
void
config_print_help(FILE *out)
{
	const struct cf_option *o;

	fprintf(out,
			"eventlogd %s: durable batching sidecar for pg_eventlog\n\n"
			"Usage: eventlogd [-c FILE] [--OPTION=VALUE ...]\n\n"
			"Flags:\n"
			"  -c, --config FILE    read settings from the [eventlogd] and [tokens] sections of FILE\n"
			"  -t, --check-config   load and print the configuration, then exit\n"
			"  -h, --help           show this help\n"
			"  -V, --version        show the version\n"
			"  --OPTION=VALUE       set any option below (overrides the file; kept on SIGHUP)\n\n"
			"Options (config file name = flag name; default; R = reloadable with SIGHUP):\n",
			EV_VERSION);
	for (o = options; o->name; o++)
		fprintf(out, "  %-26s %-18s %s  %s\n", o->name,
				o->def[0] ? o->def : "\"\"", o->reloadable ? "R" : " ", o->help);
	fprintf(out,
			"\n[tokens] section: one \"token = tenant\" per line; a request's bearer token\n"
			"then decides the tenant it may write for.\n"
			"Signals: SIGHUP reloads the config, SIGTERM drains and exits 0, SIGINT exits at once\n"
			"(everything acknowledged stays in the spool).\n");
}
