/* Minimal unit test runner for the eventlogd modules: CHECK macros and suite tables. */
#ifndef EV_TEST_H
#define EV_TEST_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

struct test_case {
	const char *name;
	void		(*fn) (void);
};

/* Set by CHECK when the current test fails. */
extern int	test_failed;

void		test_fail(const char *file, int line, const char *what);
/* A fresh scratch directory for this test (removed by the runner afterwards). */
const char *test_tmpdir(void);
/* Whole file into a malloc'ed NUL-terminated string (caller frees), or NULL. */
char	   *test_read_file(const char *path, size_t *len);
/* Write a file. */
void		test_write_file(const char *path, const char *data, size_t len);

#define CHECK(cond) do { if (!(cond)) { test_fail(__FILE__, __LINE__, #cond); return; } } while (0)
#define CHECK_INT(a, b) do { long long _a = (long long) (a), _b = (long long) (b); \
	if (_a != _b) { char _m[256]; snprintf(_m, sizeof(_m), "%s == %s (%lld != %lld)", #a, #b, _a, _b); \
	test_fail(__FILE__, __LINE__, _m); return; } } while (0)
#define CHECK_STR(a, b) do { const char *_a = (a), *_b = (b); \
	if (!_a || !_b || strcmp(_a, _b) != 0) { char _m[512]; snprintf(_m, sizeof(_m), "%s == %s (\"%s\" != \"%s\")", \
	#a, #b, _a ? _a : "(null)", _b ? _b : "(null)"); test_fail(__FILE__, __LINE__, _m); return; } } while (0)

extern const struct test_case record_tests[];
extern const struct test_case config_tests[];
extern const struct test_case spool_tests[];
extern const struct test_case envelope_tests[];
extern const struct test_case dedup_tests[];
extern const struct test_case flush_tests[];
extern const struct test_case http_tests[];
extern const struct test_case monotime_tests[];

#endif
