/* Unit test runner: runs every suite, prints one line per test and "N passed, N failed". */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <ftw.h>
#include <stdlib.h>
#include <unistd.h>

#include "test.h"
#include "log.h"

int			test_failed;
static char tmpdir[256];
static const char *current;

/* Record a failed check. */
void
test_fail(const char *file, int line, const char *what)
{
	test_failed = 1;
	printf("#   %s: %s:%d: check failed: %s\n", current, file, line, what);
}

/* Remove one entry (for nftw). */
static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void) sb;
	(void) flag;
	(void) ftw;
	return remove(path);
}

/* A fresh scratch directory for the current test. */
const char *
test_tmpdir(void)
{
	if (tmpdir[0] == '\0')
	{
		const char *base = getenv("TMPDIR");

		snprintf(tmpdir, sizeof(tmpdir), "%s/evtest.XXXXXX", base ? base : "/tmp");
		if (mkdtemp(tmpdir) == NULL)
		{
			perror("mkdtemp");
			exit(2);
		}
	}
	return tmpdir;
}

/* Whole file into a NUL-terminated string. */
char *
test_read_file(const char *path, size_t *len)
{
	FILE	   *f = fopen(path, "rb");
	char	   *p;
	long		n;

	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	p = malloc((size_t) n + 1);
	if (p && fread(p, 1, (size_t) n, f) != (size_t) n)
	{
		free(p);
		p = NULL;
	}
	fclose(f);
	if (p)
	{
		p[n] = '\0';
		if (len)
			*len = (size_t) n;
	}
	return p;
}

/* Write a file. */
void
test_write_file(const char *path, const char *data, size_t len)
{
	FILE	   *f = fopen(path, "wb");

	if (f == NULL)
		return;
	if (fwrite(data, 1, len, f) != len)
		perror("fwrite");
	fclose(f);
}

/* Run every suite (or those whose name contains argv[1]). */
int
main(int argc, char **argv)
{
	const struct test_case *suites[] = {record_tests, config_tests, spool_tests, envelope_tests,
	dedup_tests, flush_tests, http_tests, monotime_tests, NULL};
	const char *names[] = {"record", "config", "spool", "envelope", "dedup", "flush", "http", "monotime"};
	int			passed = 0,
				failed = 0,
				i;
	const struct test_case *t;
	char		full[256];

	setvbuf(stdout, NULL, _IOLBF, 0);
	/* quiet: module log lines go to a file unless EVTEST_VERBOSE is set */
	if (!getenv("EVTEST_VERBOSE"))
	{
		if (log_open_file("/dev/null") != 0)
			return 2;
	}
	for (i = 0; suites[i]; i++)
		for (t = suites[i]; t->name; t++)
		{
			snprintf(full, sizeof(full), "%s/%s", names[i], t->name);
			if (argc > 1 && strstr(full, argv[1]) == NULL)
				continue;
			current = full;
			test_failed = 0;
			tmpdir[0] = '\0';
			t->fn();
			if (tmpdir[0])
				nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
			printf("%s %d - %s\n", test_failed ? "not ok" : "ok", passed + failed + 1, full);
			if (test_failed)
				failed++;
			else
				passed++;
		}
	if (log_open_file(NULL) != 0)
		return 2;
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
