#include "artifact/manifest.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define SUM_LEN 64
#define CPP_MAX_LINE 166	/* the C++ client refuses longer lines */

static bool
is_lower_hex(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!(isdigit((unsigned char)s[i]) || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

static bool
has_space(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (isspace((unsigned char)s[i]))
			return true;
	return false;
}

/* Why a line is not exactly "<64 lowercase hex>  <name without spaces>", or NULL. */
static const char *
noncanonical_reason(const char *line, size_t n)
{
	if (n == 0)
		return "is blank (mender-artifact skips it; the C++ client refuses the whole artifact)";
	if (line[n - 1] == '\r')
		return "ends in CR (CRLF line ends: mender-artifact keeps the CR in the name and "
		    "then cannot find the file; the C++ client refuses the artifact)";
	if (isspace((unsigned char)line[0]) || isspace((unsigned char)line[n - 1]))
		return "has leading or trailing white space (mender-artifact trims it; the C++ client "
		    "refuses the artifact)";
	if (n < SUM_LEN + 3 || line[SUM_LEN] != ' ' || line[SUM_LEN + 1] != ' ' ||
	    line[SUM_LEN + 2] == ' ')
		return "is not \"<64 hex digits><two spaces><name>\"";
	if (!is_lower_hex(line, SUM_LEN))
		return "has a checksum that is not 64 lowercase hex digits (mender-artifact "
		    "compares checksums as lowercase text)";
	if (has_space(line + SUM_LEN + 2, n - SUM_LEN - 2))
		return "has a name containing white space (the C++ client refuses it)";
	if (n > CPP_MAX_LINE)
		return "is longer than 166 characters (the C++ client refuses it)";
	return NULL;
}

static enum af_err
add_entry(struct af_manifest *m, const char *sum, size_t sum_len,
    const char *name, size_t name_len, unsigned line)
{
	struct af_manifest_entry *e;

	if (m->count % 16 == 0) {
		e = reallocarray(m->entries, m->count + 16, sizeof(*e));
		if (e == NULL)
			return AF_ENOMEM;
		m->entries = e;
	}
	e = &m->entries[m->count];
	e->sum = strndup(sum, sum_len);
	e->name = strndup(name, name_len);
	e->line = line;
	if (e->sum == NULL || e->name == NULL) {
		free(e->sum);
		free(e->name);
		return AF_ENOMEM;
	}
	m->count++;
	return AF_OK;
}

/* The lenient split mender-artifact does: trim, then cut at the first "  ". */
static enum af_err
parse_line(struct af_manifest *m, const char *line, size_t n, unsigned lineno,
    const char *member, struct af_problems *problems)
{
	const char *sep;
	size_t name_len, i;

	while (n > 0 && isspace((unsigned char)line[0]))
		line++, n--;
	while (n > 0 && isspace((unsigned char)line[n - 1]))
		n--;
	if (n == 0)
		return AF_OK;
	sep = memmem(line, n, "  ", 2);
	if (sep == NULL || memmem(sep + 2, n - (size_t)(sep + 2 - line), "  ", 2) != NULL) {
		af_problem_add(problems, AF_ERROR, AF_C_MANIFEST_LINE, member, "line %u is "
		    "malformed: expected \"<sha256>  <name>\"; rebuild the artifact", lineno);
		return AF_OK;
	}
	name_len = n - (size_t)(sep + 2 - line);
	for (i = 0; i < m->count; i++) {
		const struct af_manifest_entry *dup = &m->entries[i];
		if (strlen(dup->name) == name_len && memcmp(dup->name, sep + 2, name_len) == 0) {
			af_problem_add(problems, AF_ERROR, AF_C_DUPLICATE, member, "line %u "
			    "repeats the entry for '%s' of line %u (mender-artifact refuses the "
			    "artifact; the C++ client takes the last); remove one", lineno,
			    dup->name, dup->line);
			return AF_OK;
		}
	}
	return add_entry(m, line, (size_t)(sep - line), sep + 2, name_len, lineno);
}

static const char *
entry_name(const void *entries, size_t i)
{
	return ((const struct af_manifest_entry *)entries)[i].name;
}

enum af_err
af_manifest_parse(const char *text, size_t len, const char *member,
    struct af_manifest *m, struct af_problems *problems)
{
	size_t pos = 0, i;
	unsigned lineno = 0;
	enum af_err err;

	memset(m, 0, sizeof(*m));
	m->canonical = true;
	if (len == 0) {
		af_problem_add(problems, AF_ERROR, AF_C_COVERAGE, member, "is empty: it must list "
		    "version, the header and every payload file");
		m->canonical = false;
	}
	while (pos < len) {
		const char *line = text + pos, *nl = memchr(line, '\n', len - pos);
		size_t n = nl != NULL ? (size_t)(nl - line) : len - pos;
		const char *why = noncanonical_reason(line, n);

		lineno++;
		if (nl == NULL && why == NULL)
			why = "has no newline at its end (mender-artifact ignores this line; "
			    "the C++ client reads it)";
		if (why != NULL) {
			af_problem_add(problems, AF_ERROR, AF_C_MANIFEST_NOT_CANONICAL, member,
			    "is not canonical: line %u %s; rewrite it as \"<sha256>  <name>\\n\" "
			    "lines", lineno, why);
			m->canonical = false;
		}
		if (memchr(line, '\0', n) != NULL) {
			af_problem_add(problems, AF_ERROR, AF_C_MANIFEST_LINE, member, "line %u "
			    "contains a NUL byte", lineno);
		} else if (nl == NULL) {
			/* mender-artifact drops an unterminated last line: no entry */
		} else if ((err = parse_line(m, line, n, lineno, member, problems)) != AF_OK) {
			af_manifest_clear(m);
			return err;
		}
		pos += n + (nl != NULL);
	}
	for (i = 0; i < m->count; i++)
		if (!af_names_add(&m->index, i, entry_name, m->entries)) {
			af_manifest_clear(m);
			return AF_ENOMEM;
		}
	return AF_OK;
}

void
af_manifest_clear(struct af_manifest *m)
{
	size_t i;

	for (i = 0; i < m->count; i++) {
		free(m->entries[i].name);
		free(m->entries[i].sum);
	}
	free(m->entries);
	af_names_clear(&m->index);
	memset(m, 0, sizeof(*m));
}

const struct af_manifest_entry *
af_manifest_find(const struct af_manifest *m, const char *name)
{
	size_t i;

	if (m->index.size != 0)
		return (i = af_names_find(&m->index, name, entry_name, m->entries)) < m->count ?
		    &m->entries[i] : NULL;
	for (i = 0; i < m->count; i++)	/* a manifest not made by af_manifest_parse */
		if (strcmp(m->entries[i].name, name) == 0)
			return &m->entries[i];
	return NULL;
}
