/* Tests of config.c: defaults, good and bad files, flags, reload, docs coverage. */
#include <stdlib.h>

#include "test.h"
#include "config.h"

/* Load a config from text (written to a temp file) plus flags. */
static int
load_text(struct config *cfg, const char *text, int argc, char **argv, struct buf *err)
{
	char		path[512];
	struct config_args args;
	char	   *av[16] = {"eventlogd", "-c", path};
	int			i,
				rc;

	snprintf(path, sizeof(path), "%s/t.ini", test_tmpdir());
	test_write_file(path, text, strlen(text));
	for (i = 0; i < argc && i < 12; i++)
		av[3 + i] = argv[i];
	if (config_args_parse(&args, 3 + argc, av, err) != EV_OK)
		return EV_ERROR;
	rc = config_load(cfg, &args, err);
	config_args_free(&args);
	return rc;
}

/* Defaults hold without a file. */
static void
test_config_defaults(void)
{
	struct config cfg;
	struct config_args args;
	struct buf	err;
	char	   *av[] = {"eventlogd"};

	buf_init(&err);
	CHECK(config_args_parse(&args, 1, av, &err) == EV_OK);
	CHECK(config_load(&cfg, &args, &err) == EV_OK);
	CHECK_INT(cfg.batch_max_events, 1000);
	CHECK_INT(cfg.batch_max_ms, 100);
	CHECK_INT(cfg.durability, DURABILITY_FSYNC);
	CHECK_INT(cfg.dedup_window_ms, 24LL * 3600 * 1000);
	CHECK_STR(cfg.listen, "127.0.0.1:8687");
	CHECK_INT(cfg.ntokens, 0);
	config_free(&cfg);
	config_args_free(&args);
	buf_free(&err);
}

/* A good file with every kind of value and a [tokens] section. */
static void
test_config_good_file(void)
{
	struct config cfg;
	struct buf	err;

	buf_init(&err);
	CHECK(load_text(&cfg,
					"; comment\n# another\n[eventlogd]\n"
					"dsn = host=/tmp port=55433 dbname=ev\n"
					"listen = [::1]:9000\n"
					"durability = none\n"
					"batch_max_ms = 250ms\n"
					"spool_max_bytes = 2G\n"
					"dedup_window = 2h\n"
					"stats_period = 0\n"
					"unix_socket_mode = 0600\n"
					"tokens = t1=acme, t2 = globex\n"
					"[tokens]\n"
					"secret-3 = initech\n", 0, NULL, &err) == EV_OK);
	CHECK_STR(cfg.dsn, "host=/tmp port=55433 dbname=ev");
	CHECK_INT(cfg.durability, DURABILITY_NONE);
	CHECK_INT(cfg.batch_max_ms, 250);
	CHECK_INT(cfg.spool_max_bytes, 2LL << 30);
	CHECK_INT(cfg.dedup_window_ms, 7200000);
	CHECK_INT(cfg.stats_period_ms, 0);
	CHECK_INT(cfg.unix_socket_mode, 0600);
	CHECK_INT(cfg.ntokens, 3);
	CHECK_STR(config_token_tenant(&cfg, "t2", 2), "globex");
	CHECK_STR(config_token_tenant(&cfg, "secret-3", 8), "initech");
	CHECK(config_token_tenant(&cfg, "t", 1) == NULL);
	CHECK(config_token_tenant(&cfg, "t22", 3) == NULL);
	{
		char		host[64];
		int			port;

		CHECK(config_split_listen(cfg.listen, host, sizeof(host), &port) == EV_OK);
		CHECK_STR(host, "::1");
		CHECK_INT(port, 9000);
	}
	config_free(&cfg);
	buf_free(&err);
}

/* Errors name the file and line. */
static void
test_config_errors_name_line(void)
{
	struct config cfg;
	struct buf	err;

	buf_init(&err);
	CHECK(load_text(&cfg, "[eventlogd]\nlisten = 1.2.3.4:5\n\nbogus_option = 3\n", 0, NULL, &err) == EV_ERROR);
	CHECK(strstr(err.data, "t.ini:4: unknown option \"bogus_option\"") != NULL);
	err.len = 0;
	CHECK(load_text(&cfg, "[eventlogd]\nbatch_max_events = 0\n", 0, NULL, &err) == EV_ERROR);
	CHECK(strstr(err.data, "t.ini:2:") != NULL && strstr(err.data, "out of range") != NULL);
	err.len = 0;
	CHECK(load_text(&cfg, "[eventlogd]\ndurability = sometimes\n", 0, NULL, &err) == EV_ERROR);
	CHECK(strstr(err.data, "t.ini:2:") != NULL && strstr(err.data, "fsync") != NULL);
	err.len = 0;
	CHECK(load_text(&cfg, "dsn = x\n", 0, NULL, &err) == EV_ERROR);
	CHECK(strstr(err.data, "t.ini:1: option outside of a section") != NULL);
	err.len = 0;
	CHECK(load_text(&cfg, "[pgbouncer]\n", 0, NULL, &err) == EV_ERROR);
	CHECK(strstr(err.data, "t.ini:1: unknown section") != NULL);
	err.len = 0;
	CHECK(load_text(&cfg, "[eventlogd]\nspool_max_bytes = 12 parsecs\n", 0, NULL, &err) == EV_ERROR);
	CHECK(strstr(err.data, "t.ini:2: invalid value") != NULL);
	err.len = 0;
	CHECK(load_text(&cfg, "[eventlogd]\nlisten = nonsense\n", 0, NULL, &err) == EV_ERROR);
	CHECK(strstr(err.data, "invalid listen") != NULL);
	err.len = 0;
	CHECK(load_text(&cfg, "[tokens]\nabc\n", 0, NULL, &err) == EV_ERROR);
	CHECK(strstr(err.data, "t.ini:2:") != NULL);
	buf_free(&err);
}

/* Flags override the file; unknown flags are refused. */
static void
test_config_flags(void)
{
	struct config cfg;
	struct buf	err;
	char	   *flags[] = {"--batch_max_events=50", "--durability", "none"};
	char	   *bad[] = {"--no_such_thing=1"};

	buf_init(&err);
	CHECK(load_text(&cfg, "[eventlogd]\nbatch_max_events = 10\n", 3, flags, &err) == EV_OK);
	CHECK_INT(cfg.batch_max_events, 50);
	CHECK_INT(cfg.durability, DURABILITY_NONE);
	config_free(&cfg);
	CHECK(load_text(&cfg, "[eventlogd]\n", 1, bad, &err) == EV_ERROR);
	CHECK(strstr(err.data, "no_such_thing") != NULL);
	buf_free(&err);
}

/* Reload applies reloadable options and keeps the others, saying so. */
static void
test_config_reload(void)
{
	struct config cur,
				next;
	struct buf	err,
				notes;

	buf_init(&err);
	buf_init(&notes);
	CHECK(load_text(&cur, "[eventlogd]\nbatch_max_events = 10\nflush_connections = 2\n", 0, NULL, &err) == EV_OK);
	CHECK(load_text(&next, "[eventlogd]\nbatch_max_events = 20\nflush_connections = 4\n[tokens]\na = b\n", 0, NULL, &err) == EV_OK);
	CHECK(config_apply_reload(&cur, &next, &notes) == EV_OK);
	CHECK_INT(cur.batch_max_events, 20);
	CHECK_INT(cur.flush_connections, 2);
	CHECK_INT(cur.ntokens, 1);
	CHECK(buf_cstr(&notes) == EV_OK);
	CHECK(strstr(notes.data, "flush_connections changed but needs a restart") != NULL);
	CHECK(strstr(notes.data, "batch_max_events = 20") != NULL);
	config_free(&cur);
	config_free(&next);
	buf_free(&err);
	buf_free(&notes);
}

/* Every option of the table is in the doc page and the sample; the sample loads. */
static void
test_config_docs_cover_options(void)
{
	const char *docp = getenv("EVENTLOGD_DOC");
	const char *samp = getenv("EVENTLOGD_SAMPLE");
	char	   *doc,
			   *sample;
	size_t		i;
	const char *name;
	struct config cfg;
	struct config_args args;
	struct buf	err;
	char	   *av[3] = {"eventlogd", "-c", NULL};

	if (!docp || !samp)
		return;					/* run outside "make check": nothing to compare */
	doc = test_read_file(docp, NULL);
	sample = test_read_file(samp, NULL);
	if (!doc || !sample)
	{
		free(doc);
		free(sample);
		CHECK(!"doc page or sample config is missing");
	}
	for (i = 0; (name = config_option_name(i)) != NULL; i++)
	{
		char		pat[128];
		int			in_doc,
					in_sample;

		snprintf(pat, sizeof(pat), "`%s`", name);
		in_doc = strstr(doc, pat) != NULL;
		snprintf(pat, sizeof(pat), "%s =", name);
		in_sample = strstr(sample, pat) != NULL;
		if (!in_doc || !in_sample)
		{
			printf("#   option %s: in doc %d, in sample %d\n", name, in_doc, in_sample);
			test_failed = 1;
		}
	}
	free(doc);
	free(sample);
	buf_init(&err);
	av[2] = (char *) samp;
	CHECK(config_args_parse(&args, 3, av, &err) == EV_OK);
	if (config_load(&cfg, &args, &err) != EV_OK)
	{
		printf("#   sample does not load: %s\n", err.data ? err.data : "");
		test_failed = 1;
	}
	else
		config_free(&cfg);
	config_args_free(&args);
	buf_free(&err);
}

const struct test_case config_tests[] = {
	{"defaults", test_config_defaults},
	{"good_file", test_config_good_file},
	{"errors_name_line", test_config_errors_name_line},
	{"flags", test_config_flags},
	{"reload", test_config_reload},
	{"docs_cover_options", test_config_docs_cover_options},
	{NULL, NULL}
};
