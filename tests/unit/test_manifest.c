/*
 * af_manifest_parse: the manifests mender-artifact writes are canonical, and
 * each deviation of spec §4.3 is flagged on the right line, while the entries
 * come out as mender-artifact's lenient reader (trim, skip blank lines, split
 * on two spaces, drop an unterminated last line) would see them.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "artifact/manifest.h"
#include "support.h"

struct parsed {
	struct af_manifest m;
	struct af_problems *p;
};

static void
parse(struct parsed *r, const char *text, size_t len)
{
	r->p = af_problems_new();
	cr_assert_not_null(r->p);
	cr_assert_eq(af_manifest_parse(text, len, "manifest", &r->m, r->p), AF_OK);
}

static void
parsed_free(struct parsed *r)
{
	af_manifest_clear(&r->m);
	af_problems_free(r->p);
}

/* Three canonical lines; the sums are distinct 64-digit lowercase hex. */
#define NAMES_N 3
static const char *const names[NAMES_N] = { "data/0000/rootfs.ext4", "header.tar.gz", "version" };
static char sums[NAMES_N][65];
static char canonical[NAMES_N][200];

static void
setup_lines(void)
{
	size_t i;

	for (i = 0; i < NAMES_N; i++) {
		snprintf(sums[i], sizeof(sums[i]), "%s", fake_sum((unsigned)i + 40));
		snprintf(canonical[i], sizeof(canonical[i]), "%s  %s\n", sums[i], names[i]);
	}
}

/* Joins the canonical lines, replacing line k (0-based) by repl when repl != NULL. */
static char *
join(int k, const char *repl)
{
	char *out = calloc(1, 4096);
	size_t i;

	cr_assert_not_null(out);
	for (i = 0; i < NAMES_N; i++)
		strcat(out, (int)i == k && repl != NULL ? repl : canonical[i]);
	return out;
}

static void
expect_entries(const struct parsed *r, size_t n, const char *const *want_names,
    const char *const *want_sums)
{
	size_t i;

	cr_assert_eq(r->m.count, n, "entries: %zu, want %zu; problems:\n%s", r->m.count, n,
	    problems_str(r->p));
	for (i = 0; i < n; i++) {
		cr_assert_str_eq(r->m.entries[i].name, want_names[i], "entry %zu", i);
		cr_assert_str_eq(r->m.entries[i].sum, want_sums[i], "entry %zu", i);
		cr_assert_not_null(af_manifest_find(&r->m, want_names[i]));
	}
}

static void
expect_flagged(const struct parsed *r, unsigned line)
{
	char frag[64];

	snprintf(frag, sizeof(frag), "line %u ", line);
	cr_assert_not(r->m.canonical, "marked canonical; problems:\n%s", problems_str(r->p));
	cr_assert(has_problem(r->p, AF_ERROR, "manifest", frag),
	    "no error naming %s; problems:\n%s", frag, problems_str(r->p));
}

Test(manifest, canonical_synthetic, .init = setup_lines)
{
	const char *s[NAMES_N] = { sums[0], sums[1], sums[2] };
	char *text = join(-1, NULL);
	struct parsed r;

	parse(&r, text, strlen(text));
	cr_assert(r.m.canonical);
	cr_assert_eq(af_problems_count(r.p), 0, "%s", problems_str(r.p));
	expect_entries(&r, NAMES_N, names, s);
	for (size_t i = 0; i < NAMES_N; i++)
		cr_assert_eq(r.m.entries[i].line, i + 1);
	cr_assert_null(af_manifest_find(&r.m, "data/0000"));
	cr_assert_null(af_manifest_find(&r.m, "versio"));
	parsed_free(&r);
	free(text);
}

/* ---- the manifests mender-artifact wrote (support.h: mender_fixtures) ---- */

ParameterizedTestParameters(manifest, fixture_is_canonical)
{
	return cr_make_param_array(struct fixture_param, mender_fixtures, mender_fixture_count);
}

ParameterizedTest(struct fixture_param *param, manifest, fixture_is_canonical)
{
	char path[4096], cmd[8192];
	uint8_t *text;
	size_t len, lines = 0, i;
	struct parsed r;
	const char *line, *name = param->name;

	if (fixture_path(name, path, sizeof(path)) == NULL)
		cr_skip_test("fixture %s is absent", name);
	snprintf(cmd, sizeof(cmd), "tar -xOf '%s' manifest", path);
	text = run_capture(cmd, &len);
	cr_assert_not_null(text, "%s", cmd);
	cr_assert_gt(len, 0);
	for (i = 0; i < len; i++)
		lines += text[i] == '\n';

	parse(&r, (const char *)text, len);
	cr_assert(r.m.canonical, "%s: problems:\n%s", name, problems_str(r.p));
	cr_assert_eq(af_problems_count(r.p), 0, "%s:\n%s", name, problems_str(r.p));
	cr_assert_eq(r.m.count, lines);
	/* each entry is its line cut at the two spaces, in file order */
	line = (const char *)text;
	for (i = 0; i < r.m.count; i++) {
		const char *nl = strchr(line, '\n');
		cr_assert_not_null(nl);
		cr_assert_eq(strlen(r.m.entries[i].sum), 64);
		cr_assert_eq(memcmp(line, r.m.entries[i].sum, 64), 0);
		cr_assert_eq(line[64], ' ');
		cr_assert_eq(line[65], ' ');
		cr_assert_eq(strlen(r.m.entries[i].name), (size_t)(nl - line - 66));
		cr_assert_eq(memcmp(line + 66, r.m.entries[i].name, (size_t)(nl - line - 66)), 0);
		cr_assert_eq(r.m.entries[i].line, i + 1);
		line = nl + 1;
	}
	cr_assert_not_null(af_manifest_find(&r.m, "version"));
	parsed_free(&r);
	free(text);
}

/* ---- non-canonical variants (spec §4.3) ---- */

Test(manifest, blank_line, .init = setup_lines)
{
	const char *s[NAMES_N] = { sums[0], sums[1], sums[2] };
	char repl[256], *text;
	struct parsed r;

	snprintf(repl, sizeof(repl), "\n%s", canonical[1]);	/* blank line 2 */
	text = join(1, repl);
	parse(&r, text, strlen(text));
	expect_flagged(&r, 2);
	cr_assert(has_problem(r.p, AF_ERROR, "manifest", "line 2 |blank"), "%s", problems_str(r.p));
	expect_entries(&r, NAMES_N, names, s);
	cr_assert_eq(r.m.entries[1].line, 3);	/* header.tar.gz moved to line 3 */
	parsed_free(&r);
	free(text);
}

Test(manifest, leading_blank_line, .init = setup_lines)
{
	const char *s[NAMES_N] = { sums[0], sums[1], sums[2] };
	char repl[256], *text;
	struct parsed r;

	snprintf(repl, sizeof(repl), "\n%s", canonical[0]);
	text = join(0, repl);
	parse(&r, text, strlen(text));
	expect_flagged(&r, 1);
	expect_entries(&r, NAMES_N, names, s);
	parsed_free(&r);
	free(text);
}

Test(manifest, leading_spaces, .init = setup_lines)
{
	const char *s[NAMES_N] = { sums[0], sums[1], sums[2] };
	char repl[256], *text;
	struct parsed r;

	snprintf(repl, sizeof(repl), "   %s", canonical[2]);
	text = join(2, repl);
	parse(&r, text, strlen(text));
	expect_flagged(&r, 3);
	cr_assert(has_problem(r.p, AF_ERROR, "manifest", "line 3 |white space"), "%s",
	    problems_str(r.p));
	expect_entries(&r, NAMES_N, names, s);	/* trimmed, as TrimSpace does */
	parsed_free(&r);
	free(text);
}

Test(manifest, trailing_spaces, .init = setup_lines)
{
	const char *s[NAMES_N] = { sums[0], sums[1], sums[2] };
	char repl[256], *text;
	struct parsed r;

	snprintf(repl, sizeof(repl), "%s  %s \t\n", sums[1], names[1]);
	text = join(1, repl);
	parse(&r, text, strlen(text));
	expect_flagged(&r, 2);
	expect_entries(&r, NAMES_N, names, s);
	parsed_free(&r);
	free(text);
}

Test(manifest, no_final_newline, .init = setup_lines)
{
	const char *s[NAMES_N] = { sums[0], sums[1], sums[2] };
	char *text = join(-1, NULL);
	struct parsed r;

	text[strlen(text) - 1] = '\0';
	parse(&r, text, strlen(text));
	expect_flagged(&r, 3);
	cr_assert(has_problem(r.p, AF_ERROR, "manifest", "line 3 |newline"), "%s",
	    problems_str(r.p));
	/* mender-artifact reads lines with ReadString('\n') and drops the last,
	 * unterminated one ("checksum missing for file: 'version'") */
	expect_entries(&r, NAMES_N - 1, names, s);
	cr_assert_null(af_manifest_find(&r.m, "version"));
	parsed_free(&r);
	free(text);
}

Test(manifest, crlf, .init = setup_lines)
{
	const char *s[NAMES_N] = { sums[0], sums[1], sums[2] };
	char text[4096] = "";
	struct parsed r;
	size_t i;

	for (i = 0; i < NAMES_N; i++)
		snprintf(text + strlen(text), sizeof(text) - strlen(text), "%s  %s\r\n", sums[i],
		    names[i]);
	parse(&r, text, strlen(text));
	for (i = 1; i <= NAMES_N; i++)
		expect_flagged(&r, (unsigned)i);
	cr_assert(has_problem(r.p, AF_ERROR, "manifest", "line 1 |CR"), "%s", problems_str(r.p));
	/* the lenient split trims the CR with the other white space */
	expect_entries(&r, NAMES_N, names, s);
	parsed_free(&r);
}

/* Line 2 with separator between its sum and name, where the format has two
 * spaces: flagged, and mender-artifact refuses the line ("malformed checksum
 * line"), so it gives no entry. */
static void
second_line_malformed(const char *separator)
{
	const char *n2[2] = { names[0], names[2] };
	const char *s2[2] = { sums[0], sums[2] };
	char repl[256], *text;
	struct parsed r;

	snprintf(repl, sizeof(repl), "%s%s%s\n", sums[1], separator, names[1]);
	text = join(1, repl);
	parse(&r, text, strlen(text));
	expect_flagged(&r, 2);
	cr_assert(has_problem(r.p, AF_ERROR, "manifest", "line 2 |malformed"), "%s",
	    problems_str(r.p));
	expect_entries(&r, 2, n2, s2);
	parsed_free(&r);
	free(text);
}

Test(manifest, single_space_separator, .init = setup_lines)
{
	second_line_malformed(" ");
}

Test(manifest, tab_separator, .init = setup_lines)
{
	second_line_malformed("\t");
}

Test(manifest, three_spaces, .init = setup_lines)
{
	char spaced[64];
	const char *n3[NAMES_N];
	const char *s[NAMES_N] = { sums[0], sums[1], sums[2] };
	char repl[256], *text;
	struct parsed r;

	snprintf(repl, sizeof(repl), "%s   %s\n", sums[2], names[2]);
	snprintf(spaced, sizeof(spaced), " %s", names[2]);
	n3[0] = names[0];
	n3[1] = names[1];
	n3[2] = spaced;		/* Split on "  " leaves a leading space on the name */
	text = join(2, repl);
	parse(&r, text, strlen(text));
	expect_flagged(&r, 3);
	expect_entries(&r, NAMES_N, n3, s);
	cr_assert_null(af_manifest_find(&r.m, "version"));
	parsed_free(&r);
	free(text);
}

Test(manifest, four_spaces_is_malformed, .init = setup_lines)
{
	char repl[256], *text;
	struct parsed r;

	snprintf(repl, sizeof(repl), "%s    %s\n", sums[2], names[2]);
	text = join(2, repl);
	parse(&r, text, strlen(text));
	expect_flagged(&r, 3);
	/* Split gives three pieces: mender-artifact calls it malformed */
	cr_assert(has_problem(r.p, AF_ERROR, "manifest", "line 3 |malformed"), "%s",
	    problems_str(r.p));
	cr_assert_eq(r.m.count, 2);
	parsed_free(&r);
	free(text);
}

Test(manifest, uppercase_hex, .init = setup_lines)
{
	char upper[65], repl[256], *text;
	const char *s[NAMES_N];
	struct parsed r;
	size_t i;

	for (i = 0; i < 64; i++)
		upper[i] = (char)(sums[0][i] >= 'a' ? sums[0][i] - 'a' + 'A' : sums[0][i]);
	upper[64] = '\0';
	cr_assert_str_neq(upper, sums[0], "the test sum has no letters");
	snprintf(repl, sizeof(repl), "%s  %s\n", upper, names[0]);
	s[0] = upper;	/* kept as written: the later comparison must fail, as in Go */
	s[1] = sums[1];
	s[2] = sums[2];
	text = join(0, repl);
	parse(&r, text, strlen(text));
	expect_flagged(&r, 1);
	cr_assert(has_problem(r.p, AF_ERROR, "manifest", "line 1 |lowercase"), "%s",
	    problems_str(r.p));
	expect_entries(&r, NAMES_N, names, s);
	parsed_free(&r);
	free(text);
}

Test(manifest, duplicate_name, .init = setup_lines)
{
	const char *s[NAMES_N] = { sums[0], sums[1], sums[2] };
	char text[4096];
	struct parsed r;

	snprintf(text, sizeof(text), "%s%s%s%s  %s\n", canonical[0], canonical[1], canonical[2],
	    fake_sum(99), names[1]);
	parse(&r, text, strlen(text));
	/* every line is canonical on its own: the duplicate is what is wrong */
	cr_assert(has_problem(r.p, AF_ERROR, "manifest", "line 4 |header.tar.gz|line 2"),
	    "%s", problems_str(r.p));
	cr_assert_eq(count_problems(r.p, AF_ERROR, NULL, NULL), 1, "%s", problems_str(r.p));
	expect_entries(&r, NAMES_N, names, s);	/* the first one stays */
	parsed_free(&r);
}

Test(manifest, name_with_space, .init = setup_lines)
{
	char repl[256], *text;
	struct parsed r;

	snprintf(repl, sizeof(repl), "%s  data/0000/a file\n", sums[0]);
	text = join(0, repl);
	parse(&r, text, strlen(text));
	expect_flagged(&r, 1);
	cr_assert_not_null(af_manifest_find(&r.m, "data/0000/a file"));
	parsed_free(&r);
	free(text);
}

Test(manifest, overlong_line, .init = setup_lines)
{
	char name[200], repl[300], *text;
	struct parsed r;

	memset(name, 'x', 120);
	memcpy(name, "data/0000/", 10);
	name[120] = '\0';
	snprintf(repl, sizeof(repl), "%s  %s\n", sums[0], name);	/* 186 characters */
	text = join(0, repl);
	parse(&r, text, strlen(text));
	expect_flagged(&r, 1);
	cr_assert(has_problem(r.p, AF_ERROR, "manifest", "line 1 |166"), "%s", problems_str(r.p));
	cr_assert_not_null(af_manifest_find(&r.m, name));
	parsed_free(&r);
	free(text);
}

Test(manifest, short_sum_and_nul, .init = setup_lines)
{
	static const char text[] = "abc  something-else\n";
	static const char withnul[] = "0123  a\0b\n";
	struct parsed r;

	parse(&r, text, sizeof(text) - 1);
	expect_flagged(&r, 1);
	/* it parses (and later fails as an unconsumed entry) */
	cr_assert_not_null(af_manifest_find(&r.m, "something-else"));
	parsed_free(&r);

	parse(&r, withnul, sizeof(withnul) - 1);
	cr_assert(has_problem(r.p, AF_ERROR, "manifest", "line 1 |NUL"), "%s", problems_str(r.p));
	cr_assert_eq(r.m.count, 0);
	parsed_free(&r);
}

Test(manifest, empty_text)
{
	struct parsed r;

	parse(&r, "", 0);
	cr_assert_not(r.m.canonical);
	cr_assert(has_problem(r.p, AF_ERROR, "manifest", "empty"), "%s", problems_str(r.p));
	cr_assert_eq(r.m.count, 0);
	parsed_free(&r);
}

Test(manifest, many_lines)
{
	/* more entries than one growth step, each found again */
	char *text = malloc(200 * 120), name[64];
	struct parsed r;
	size_t i, used = 0;

	cr_assert_not_null(text);
	for (i = 0; i < 200; i++)
		used += (size_t)sprintf(text + used, "%s  data/0000/f%zu\n", fake_sum((unsigned)i), i);
	parse(&r, text, used);
	cr_assert(r.m.canonical, "%s", problems_str(r.p));
	cr_assert_eq(r.m.count, 200);
	for (i = 0; i < 200; i++) {
		const struct af_manifest_entry *e;
		snprintf(name, sizeof(name), "data/0000/f%zu", i);
		e = af_manifest_find(&r.m, name);
		cr_assert_not_null(e, "%s", name);
		cr_assert_eq(e->line, i + 1);
	}
	parsed_free(&r);
	free(text);
}

/* Lookups are hashed (issue 19): in a manifest of 3,000 names every one is
 * found, a name listed twice gives its first line, and a name that is a
 * prefix or an extension of a listed one is not found. */
Test(manifest, thousands_of_names_are_found_by_name)
{
	enum { N = 3000 };
	size_t cap = (N + 1) * 100, len = 0, i;
	char *text = malloc(cap), name[64];
	const struct af_manifest_entry *e;
	struct parsed r;

	cr_assert_not_null(text);
	for (i = 0; i < N; i++)
		len += (size_t)snprintf(text + len, cap - len, "%064zx  data/0000/f%05zu.bin\n", i, i);
	len += (size_t)snprintf(text + len, cap - len, "%064x  data/0000/f00007.bin\n", 0xd0);
	parse(&r, text, len);
	cr_assert_geq(r.m.count, N);
	for (i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "data/0000/f%05zu.bin", i);
		cr_assert_not_null(e = af_manifest_find(&r.m, name), "%s", name);
		cr_assert_eq(e->line, i + 1, "%s: line %u", name, e->line);
	}
	cr_assert_null(af_manifest_find(&r.m, "data/0000/f0000"));
	cr_assert_null(af_manifest_find(&r.m, "data/0000/f00001.bin2"));
	cr_assert_null(af_manifest_find(&r.m, ""));
	parsed_free(&r);
	free(text);
}
