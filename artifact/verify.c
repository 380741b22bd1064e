#include "artifact/verify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/sha256.h"

#define CHUNK (1u << 20)

struct job {
	struct artifact *a;
	struct af_checks *out;
	af_progress_fn progress;
	void *ctx;
	struct cr_sha256 *sha;
	uint8_t *buf;
};

const char *
af_check_result_word(enum af_check_result r)
{
	switch (r) {
	case AF_CHECK_OK: return "ok";
	case AF_CHECK_MISMATCH: return "MISMATCH";
	case AF_CHECK_MISSING: return "MISSING";
	case AF_CHECK_UNLISTED: return "NOT IN MANIFEST";
	case AF_CHECK_UNREADABLE: return "UNREADABLE";
	}
	return "?";
}

static struct af_check *
add_check(struct af_checks *c, const char *name, bool augment)
{
	struct af_check *item;

	if (c->count % 16 == 0) {
		item = reallocarray(c->items, c->count + 16, sizeof(*item));
		if (item == NULL)
			return NULL;
		c->items = item;
	}
	item = &c->items[c->count];
	memset(item, 0, sizeof(*item));
	if ((item->name = strdup(name)) == NULL)
		return NULL;
	af_one_line(item->name);
	item->augment = augment;
	item->result = AF_CHECK_MISSING;
	c->count++;
	return item;
}

static void
set_detail(struct af_check *c, const char *text)
{
	free(c->detail);
	c->detail = strdup(text);
}

/* Compares a hashed check with its manifest line (an unlisted file has none). */
static void
judge(struct af_check *c)
{
	if (c->result != AF_CHECK_UNLISTED)
		c->result = strcmp(c->expected, c->actual) == 0 ? AF_CHECK_OK : AF_CHECK_MISMATCH;
}

static void
finish(struct job *j, struct af_check *c)
{
	cr_sha256_final_hex(j->sha, c->actual);
	judge(c);
}

static void
hash_member(struct job *j, struct af_check *c, const struct af_member *m)
{
	uint64_t off = 0;
	size_t got;

	while (off < m->size) {
		size_t want = m->size - off < CHUNK ? (size_t)(m->size - off) : CHUNK;
		if (artifact_member_pread(j->a, m, j->buf, want, off, &got) != AF_OK || got == 0) {
			c->result = AF_CHECK_UNREADABLE;
			set_detail(c, m->truncated ? "the member is cut short (truncated file)" :
			    "read error");
			cr_sha256_final_hex(j->sha, c->actual);
			c->actual[0] = '\0';
			return;
		}
		cr_sha256_update(j->sha, j->buf, got);
		off += got;
	}
	finish(j, c);
}

static void
hash_in_place(void *sha, const uint8_t *bytes, size_t len)
{
	cr_sha256_update(sha, bytes, len);
}

/* Hashed straight out of the decoder's window: the decoding runs on the
 * payload's read-ahead thread, and a copy here would slow this one down to
 * its pace. */
static enum af_err
hash_payload_file(struct job *j, struct af_check *c, struct af_payload *p,
    const struct af_payload_file *f)
{
	uint64_t off = 0;
	size_t got;
	struct af_reason why;

	while (off < f->size) {
		size_t want = f->size - off < CHUNK ? (size_t)(f->size - off) : CHUNK;
		if (af_payload_visit(p, f, want, off, hash_in_place, j->sha, &got,
		    &why) != AF_OK) {
			c->result = AF_CHECK_UNREADABLE;
			set_detail(c, why.text);
			cr_sha256_final_hex(j->sha, c->actual);
			c->actual[0] = '\0';
			return AF_OK;
		}
		off += got;
		if (j->progress != NULL && !j->progress(j->ctx, c->name, off, f->size)) {
			cr_sha256_final_hex(j->sha, c->actual);
			c->actual[0] = '\0';
			return AF_ECANCELED;
		}
	}
	finish(j, c);
	return AF_OK;
}

/* Listed and not yet looked at. */
static bool
pending(const struct af_check *c)
{
	return c->result == AF_CHECK_MISSING && c->actual[0] == '\0' && c->detail == NULL;
}

static struct af_check *
find_pending(struct af_checks *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->count; i++)
		if (pending(&c->items[i]) && strcmp(c->items[i].name, name) == 0)
			return &c->items[i];
	return NULL;
}

/* The payload cannot be read past some point: say so on its unread files. */
static void
mark_unreadable(struct af_checks *checks, unsigned index)
{
	char prefix[16];
	size_t i;

	snprintf(prefix, sizeof(prefix), "data/%04u/", index);
	for (i = 0; i < checks->count; i++) {
		struct af_check *c = &checks->items[i];
		if (pending(c) && strncmp(c->name, prefix, strlen(prefix)) == 0) {
			c->result = AF_CHECK_UNREADABLE;
			set_detail(c, "the payload is damaged before this file");
		}
	}
}

static void
look_only(void *ctx, const uint8_t *bytes, size_t len)
{
	(void)ctx, (void)bytes, (void)len;
}

/*
 * Decodes the member to its very end, from off (where its last file ends):
 * only there are a gzip member's CRC32 and ISIZE, an xz stream's last checks
 * and a zstd frame's checksum compared, and only there is it seen whether
 * anything follows the compressed data.  A few blocks of tar padding, as a
 * rule, already decoded by the read-ahead.
 */
static void
check_stream_end(struct job *j, const struct af_member *m, struct af_payload *p, uint64_t off)
{
	struct af_reason why;
	size_t got;

	do {
		if (af_stream_visit(af_payload_stream(p), CHUNK, off, look_only, NULL, &got,
		    &why) != AF_OK) {
			af_problem_add(artifact_problems(j->a), AF_ERROR, why.code, m->name, "%s",
			    why.text);
			return;
		}
		off += got;
	} while (got == CHUNK);
}

static enum af_err
check_payload(struct job *j, const struct af_member *m)
{
	struct af_payload *p = artifact_payload(j->a, m->index);
	const struct af_payload_file *f;
	struct af_check *c;
	enum af_err err;
	char *name;	/* as the manifest names it: a payload name has no length cap */
	uint64_t end = 0;
	size_t i;

	for (i = 0; p != NULL; i++) {
		if ((err = af_payload_at(p, i, &f)) == AF_END) {
			check_stream_end(j, m, p, end);
			break;
		}
		if (err == AF_ENOMEM)
			return err;
		if (err != AF_OK) {
			mark_unreadable(j->out, m->index);
			break;
		}
		if (asprintf(&name, "data/%04u/%s", m->index, f->name) < 0)
			return AF_ENOMEM;
		if ((c = find_pending(j->out, name)) == NULL &&
		    (c = add_check(j->out, name, false)) != NULL)
			c->result = AF_CHECK_UNLISTED;
		free(name);
		if (c == NULL)
			return AF_ENOMEM;
		if ((err = hash_payload_file(j, c, p, f)) != AF_OK)
			return err;
		if (f->data_offset + f->size > end)
			end = f->data_offset + f->size;
	}
	return AF_OK;
}

static enum af_err
add_manifest_checks(struct job *j)
{
	const struct af_manifest *man;
	struct af_check *c;
	size_t i;
	int aug;

	for (aug = 0; aug < 2; aug++) {
		if ((man = artifact_manifest(j->a, aug)) == NULL)
			continue;
		for (i = 0; i < man->count; i++) {
			if ((c = add_check(j->out, man->entries[i].name, aug)) == NULL)
				return AF_ENOMEM;
			snprintf(c->expected, sizeof(c->expected), "%s", man->entries[i].sum);
		}
	}
	return AF_OK;
}

static void
check_members(struct job *j)
{
	const struct af_member *version = artifact_member(j->a, AF_MEMBER_VERSION, 0);
	const struct af_member *headers[2] = { artifact_member(j->a, AF_MEMBER_HEADER, 0),
	    artifact_member(j->a, AF_MEMBER_HEADER_AUGMENT, 0) };
	size_t i;

	for (i = 0; i < j->out->count; i++) {
		struct af_check *c = &j->out->items[i];
		const struct af_member *m = NULL;
		if (strcmp(c->name, "version") == 0 && !c->augment)
			m = version;
		else if (headers[c->augment] != NULL && strcmp(c->name, headers[c->augment]->name) == 0)
			m = headers[c->augment];
		else if (strncmp(c->name, "data/", 5) == 0)
			continue;
		if (m == NULL) {
			set_detail(c, "no such member in the artifact");
			continue;
		}
		hash_member(j, c, m);
	}
}

enum af_err
af_verify_checksums(struct artifact *a, af_progress_fn progress, void *ctx,
    struct af_checks *out)
{
	struct job j = { a, out, progress, ctx, cr_sha256_new(), malloc(CHUNK) };
	enum af_err err = AF_ENOMEM;
	size_t i;

	memset(out, 0, sizeof(*out));
	if (j.sha == NULL || j.buf == NULL ||
	    (err = add_manifest_checks(&j)) != AF_OK)
		goto out;
	check_members(&j);
	for (i = 0; i < artifact_member_count(a); i++) {
		const struct af_member *m = artifact_member_at(a, i);
		if (m->shown && m->kind == AF_MEMBER_DATA && (err = check_payload(&j, m)) != AF_OK)
			goto out;
	}
	for (i = 0; i < out->count; i++) {
		struct af_check *c = &out->items[i];
		if (c->result == AF_CHECK_MISSING && c->detail == NULL)
			set_detail(c, "no such file in the payload");
		if (c->result != AF_CHECK_OK)
			out->failed++;
	}
	err = AF_OK;
out:
	cr_sha256_free(j.sha);
	free(j.buf);
	if (err != AF_OK)
		af_checks_clear(out);
	return err;
}

void
af_checks_clear(struct af_checks *c)
{
	size_t i;

	for (i = 0; i < c->count; i++) {
		free(c->items[i].name);
		free(c->items[i].detail);
	}
	free(c->items);
	memset(c, 0, sizeof(*c));
}
