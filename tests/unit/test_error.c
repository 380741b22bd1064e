/*
 * common/error.c, the error convention: every code has its own stable name,
 * which af_code_from_name maps back; a reason keeps a long text whole and
 * af_fail returns the error it was given; af_reason_reword wraps a reason in
 * more words without losing its code.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "common/error.h"

Test(error, every_code_has_its_own_name)
{
	int a, b;

	for (a = 0; a < AF_C_COUNT; a++) {
		const char *name = af_code_name((enum af_code)a);
		cr_assert(strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789-") == strlen(name),
		    "code %d: \"%s\"", a, name);
		cr_assert_eq(af_code_from_name(name, strlen(name)), a, "%s", name);
		for (b = 0; b < a; b++)
			cr_assert_str_neq(name, af_code_name((enum af_code)b));
	}
	cr_assert_eq(af_code_from_name("sig-bad!", 7), AF_C_SIG_BAD, "the length is the name's");
	cr_assert_eq(af_code_from_name("no-such-code", 12), AF_C_NONE);
	cr_assert_str_eq(af_code_name(AF_C_COUNT), "none");
}

Test(error, a_long_text_is_kept_whole)
{
	static char text[900];
	struct af_reason r;

	memset(text, 'x', sizeof(text) - 1);
	cr_assert_eq(af_fail(&r, AF_ETRUNC, AF_C_TRUNCATED, "prefix: %s", text), AF_ETRUNC);
	cr_assert_eq(r.code, AF_C_TRUNCATED);
	cr_assert_eq(strlen(r.text), strlen("prefix: ") + sizeof(text) - 1);
	af_reason_clear(&r);
	cr_assert_eq(r.code, AF_C_NONE);
	cr_assert_str_eq(r.text, "");
	af_reason_set(NULL, AF_C_IO, "ignored");	/* a caller that wants no reason */
}

Test(error, a_bare_error_has_a_code)
{
	cr_assert_eq(af_code_of(AF_OK), AF_C_NONE);
	cr_assert_eq(af_code_of(AF_ENOMEM), AF_C_NO_MEMORY);
	cr_assert_eq(af_code_of(AF_EIO), AF_C_IO);
	cr_assert_eq(af_code_of(AF_ETRUNC), AF_C_TRUNCATED);
}

/* Wrapping a reason in its own words keeps its code and the whole of its text. */
Test(error, reword_wraps_its_own_text)
{
	static char text[700];
	struct af_reason r;

	memset(text, 'y', sizeof(text) - 1);
	af_reason_set(&r, AF_C_TAR_PADDING, "%s", text);
	af_reason_reword(&r, "entry 'f' at offset 0 follows %s!", r.text);
	cr_assert_eq(r.code, AF_C_TAR_PADDING);
	cr_assert_eq(strncmp(r.text, "entry 'f' at offset 0 follows yyy", 33), 0, "%s", r.text);
	cr_assert_eq(strlen(r.text), strlen("entry 'f' at offset 0 follows !") + sizeof(text) - 1);
	cr_assert_eq(r.text[strlen(r.text) - 1], '!');
	af_reason_reword(NULL, "ignored");
}
