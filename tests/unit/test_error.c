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
		cr_assert_eq((int)af_code_from_name(name, strlen(name)), a, "%s", name);
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

/* A path of 1000 bytes, "/tmp/" then 'a's and a last "/end.mender". */
static void
long_path(char *path, size_t size)
{
	memset(path, 'a', size - 1);
	path[size - 1] = '\0';
	memcpy(path, "/tmp/", 5);
	memcpy(path + size - 1 - strlen("/end.mender"), "/end.mender", strlen("/end.mender"));
}

Test(error, a_short_path_is_kept_as_it_is)
{
	char buf[AF_SHORT_MAX], path[AF_SHORT_MAX];

	cr_assert_str_eq(af_short(buf, "/tmp/a.mender"), "/tmp/a.mender");
	long_path(path, sizeof(path));	/* 200 bytes: the most kept whole */
	cr_assert_str_eq(af_short(buf, path), path);
}

Test(error, a_long_path_keeps_its_start_and_end)
{
	char buf[AF_SHORT_MAX], path[1001];
	const char *s;

	long_path(path, sizeof(path));
	s = af_short(buf, path);
	cr_assert_eq(strlen(s), AF_SHORT_MAX - 1);
	cr_assert(strncmp(s, "/tmp/aaa", 8) == 0, "%s", s);
	cr_assert_not_null(strstr(s, "a...a"), "%s", s);
	cr_assert(strcmp(s + strlen(s) - 11, "/end.mender") == 0, "%s", s);
}

Test(error, a_cut_never_splits_a_utf8_character)
{
	char buf[AF_SHORT_MAX], path[1001];
	size_t i;
	const char *s;

	for (i = 0; i + 2 < sizeof(path); i += 2)
		memcpy(path + i, "\xc3\xa9", 2);	/* é */
	path[i] = '\0';
	s = af_short(buf, path);
	cr_assert_leq(strlen(s), AF_SHORT_MAX - 1);
	cr_assert(strncmp(s + strcspn(s, "."), "...\xc3\xa9", 5) == 0, "%s", s);
	cr_assert_eq(strcspn(s, ".") % 2, 0, "the start ends on a whole character");
	cr_assert_eq((strlen(s) - strcspn(s, ".") - 3) % 2, 0, "the end starts on one");
}

Test(error, a_reason_naming_a_long_path_keeps_its_advice)
{
	char path[1001];
	struct af_reason r;
	const char *advice = "; copy the artifact again";

	long_path(path, sizeof(path));
	af_reason_set(&r, AF_C_IO, "%s: cannot open: %s%s", AF_SHORT(path),
	    "No such file or directory", advice);
	cr_assert(strlen(r.text) < AF_REASON_MAX - 1, "nothing was cut");
	cr_assert(strcmp(r.text + strlen(r.text) - strlen(advice), advice) == 0, "%s", r.text);
	cr_assert_not_null(strstr(r.text, "/end.mender: cannot open"), "%s", r.text);
}
