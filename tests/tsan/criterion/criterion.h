/*
 * A stand-in for the few parts of criterion the unit tests use, for the
 * ThreadSanitizer build: criterion's runner does not start under TSan on the
 * machines this is built on ("Could not initialize inheritable arena").
 * Tests run in one process, one after the other; a failed assertion ends its
 * test (longjmp) and the next one runs.  The runner prints criterion's
 * "Synthesis:" line, which .ci/run counts.
 */
#ifndef TSAN_CRITERION_SHIM_H
#define TSAN_CRITERION_SHIM_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

struct criterion_test_params {
	size_t size;
	void *params;
	size_t length;
};

struct shim_opts {
	int unused;
	void (*init)(void);
	void (*fini)(void);
};

void shim_register(const char *suite, const char *name, void (*fn)(void *),
    struct criterion_test_params (*params)(void), struct shim_opts opts);
void shim_suite(const char *suite, struct shim_opts opts);
_Noreturn void shim_fail(const char *file, int line, const char *expr, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
_Noreturn void shim_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define Test(s, n, ...) \
	static void s##_##n##_body(void); \
	static void s##_##n##_fn(void *p) { (void)p; s##_##n##_body(); } \
	__attribute__((constructor)) static void s##_##n##_reg(void) \
	{ shim_register(#s, #n, s##_##n##_fn, NULL, (struct shim_opts){ 0, __VA_ARGS__ }); } \
	static void s##_##n##_body(void)

#define TestSuite(s, ...) \
	__attribute__((constructor)) static void s##_suite_reg(void) \
	{ shim_suite(#s, (struct shim_opts){ 0, __VA_ARGS__ }); }

#define ParameterizedTestParameters(s, n) \
	static struct criterion_test_params s##_##n##_params(void)

#define ParameterizedTest(arg, s, n, ...) \
	static void s##_##n##_body(arg); \
	static void s##_##n##_fn(void *p) { s##_##n##_body(p); } \
	__attribute__((constructor)) static void s##_##n##_reg(void) \
	{ shim_register(#s, #n, s##_##n##_fn, s##_##n##_params, \
	    (struct shim_opts){ 0, __VA_ARGS__ }); } \
	static void s##_##n##_body(arg)

#define cr_make_param_array(type, arr, len) \
	((struct criterion_test_params){ sizeof(type), (void *)(arr), (size_t)(len) })

#define cr_skip_test(...) shim_skip(" " __VA_ARGS__)

#define SHIM_CHECK(cond, expr, ...) \
	do { \
		if (!(cond)) \
			shim_fail(__FILE__, __LINE__, expr, " " __VA_ARGS__); \
	} while (0)

#define cr_assert(c, ...) SHIM_CHECK((c), #c, __VA_ARGS__)
#define cr_assert_not(c, ...) SHIM_CHECK(!(c), "!(" #c ")", __VA_ARGS__)
#define cr_assert_eq(a, b, ...) SHIM_CHECK((a) == (b), #a " == " #b, __VA_ARGS__)
#define cr_assert_neq(a, b, ...) SHIM_CHECK((a) != (b), #a " != " #b, __VA_ARGS__)
#define cr_assert_lt(a, b, ...) SHIM_CHECK((a) < (b), #a " < " #b, __VA_ARGS__)
#define cr_assert_leq(a, b, ...) SHIM_CHECK((a) <= (b), #a " <= " #b, __VA_ARGS__)
#define cr_assert_gt(a, b, ...) SHIM_CHECK((a) > (b), #a " > " #b, __VA_ARGS__)
#define cr_assert_geq(a, b, ...) SHIM_CHECK((a) >= (b), #a " >= " #b, __VA_ARGS__)
#define cr_assert_null(p, ...) SHIM_CHECK((p) == NULL, #p " == NULL", __VA_ARGS__)
#define cr_assert_not_null(p, ...) SHIM_CHECK((p) != NULL, #p " != NULL", __VA_ARGS__)
#define cr_assert_str_eq(a, b, ...) SHIM_CHECK(strcmp((a), (b)) == 0, #a " eq " #b, __VA_ARGS__)
#define cr_assert_str_neq(a, b, ...) SHIM_CHECK(strcmp((a), (b)) != 0, #a " ne " #b, __VA_ARGS__)

#endif
