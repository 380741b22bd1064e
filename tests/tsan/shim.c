/* The runner behind criterion/criterion.h (see there): runs every test
 * registered, or those whose "suite" or "suite/name" is given as an argument. */
#include "criterion/criterion.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TESTS 512
#define MAX_SUITES 32

struct test {
	const char *suite, *name;
	void (*fn)(void *);
	struct criterion_test_params (*params)(void);
	struct shim_opts opts;
};

static struct test tests[MAX_TESTS];
static size_t ntests;
static struct {
	const char *name;
	struct shim_opts opts;
} suites[MAX_SUITES];
static size_t nsuites;
static jmp_buf escape;
static enum { RUNNING, FAILED, SKIPPED } outcome;

void
shim_register(const char *suite, const char *name, void (*fn)(void *),
    struct criterion_test_params (*params)(void), struct shim_opts opts)
{
	if (ntests == MAX_TESTS)
		abort();
	tests[ntests++] = (struct test){ suite, name, fn, params, opts };
}

void
shim_suite(const char *suite, struct shim_opts opts)
{
	if (nsuites == MAX_SUITES)
		abort();
	suites[nsuites].name = suite;
	suites[nsuites++].opts = opts;
}

/* Says why a test ends, and ends it. */
static _Noreturn void
leave(int how, const char *fmt, va_list ap)
{
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	outcome = how;
	longjmp(escape, 1);
}

void
shim_fail(const char *file, int line, const char *expr, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s:%d: Assertion failed: %s:", file, line, expr);
	va_start(ap, fmt);
	leave(FAILED, fmt, ap);
}

void
shim_skip(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "skipped:");
	va_start(ap, fmt);
	leave(SKIPPED, fmt, ap);
}

static const struct shim_opts *
suite_opts(const char *suite)
{
	size_t i;

	for (i = 0; i < nsuites; i++)
		if (strcmp(suites[i].name, suite) == 0)
			return &suites[i].opts;
	return NULL;
}

static bool
selected(const struct test *t, int argc, char **argv)
{
	char full[256];
	int i;

	if (argc < 2)
		return true;
	snprintf(full, sizeof(full), "%s/%s", t->suite, t->name);
	for (i = 1; i < argc; i++)
		if (strcmp(argv[i], t->suite) == 0 || strcmp(argv[i], full) == 0)
			return true;
	return false;
}

/* One run of t (with param p, or NULL); volatile: kept across longjmp. */
static void
run_one(const struct test *t, void *p, size_t index, unsigned *passed, unsigned *failed)
{
	const struct shim_opts *so = suite_opts(t->suite);
	void (*volatile init)(void) = t->opts.init != NULL ? t->opts.init :
	    so != NULL ? so->init : NULL;
	void (*volatile fini)(void) = t->opts.fini != NULL ? t->opts.fini :
	    so != NULL ? so->fini : NULL;

	outcome = RUNNING;
	if (setjmp(escape) == 0) {
		if (init != NULL)
			init();
		t->fn(p);
	}
	if (fini != NULL && outcome != SKIPPED) {
		if (setjmp(escape) == 0)
			fini();
	}
	if (outcome == FAILED) {
		fprintf(stderr, "[FAIL] %s::%s [%zu]\n", t->suite, t->name, index);
		(*failed)++;
	} else if (outcome != SKIPPED) {
		(*passed)++;
	}
}

int
main(int argc, char **argv)
{
	unsigned passed = 0, failed = 0, tested = 0;
	size_t i, k;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (i = 0; i < ntests; i++) {
		const struct test *t = &tests[i];
		if (!selected(t, argc, argv))
			continue;
		if (t->params == NULL) {
			run_one(t, NULL, 0, &passed, &failed);
			tested++;
			continue;
		}
		struct criterion_test_params ps = t->params();
		for (k = 0; k < ps.length; k++, tested++)
			run_one(t, (char *)ps.params + k * ps.size, k, &passed, &failed);
	}
	printf("[====] Synthesis: Tested: %u | Passing: %u | Failing: %u | Crashing: 0\n",
	    tested, passed, failed);
	return failed == 0 && tested > 0 ? 0 : 1;
}
