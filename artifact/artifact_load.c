/*
 * The second half of opening an artifact: the small members, version,
 * manifests, headers and payload views, and the checks that tie them together.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "artifact/artifact_impl.h"
#include "artifact/json.h"

#define CAP_VERSION (4u << 10)
#define CAP_MANIFEST (1u << 20)
#define CAP_SIGNATURE (8u << 10)
#define CAP_HEADER (16u << 20)	/* decompressed header tar */

static const size_t small_caps[SMALL_KINDS] = {
	[AF_MEMBER_VERSION] = CAP_VERSION,
	[AF_MEMBER_MANIFEST] = CAP_MANIFEST,
	[AF_MEMBER_SIGNATURE] = CAP_SIGNATURE,
	[AF_MEMBER_MANIFEST_AUGMENT] = CAP_MANIFEST,
};

static enum af_err
load_small(struct artifact *a)
{
	enum af_member_kind kind;
	enum af_err err;

	for (kind = 0; kind < SMALL_KINDS; kind++) {
		const struct af_member *m = artifact_member(a, kind, 0);
		if (m == NULL || m->truncated)
			continue;
		if (m->size > small_caps[kind]) {
			af_problem_add(a->problems, AF_ERROR, AF_C_TOO_BIG, m->name, "is %llu "
			    "bytes, over the %zu-byte limit for it; it is not parsed",
			    (unsigned long long)m->size, small_caps[kind]);
			continue;
		}
		err = artifact_read_member(a, m, &a->small[kind].bytes);
		if (err == AF_ENOMEM)
			return err;
		if (err == AF_OK)
			a->small[kind].len = (size_t)m->size;
	}
	return AF_OK;
}

static void
parse_version(struct artifact *a)
{
	static const char *const known[] = { "format", "version" };
	const struct small_member *v = &a->small[AF_MEMBER_VERSION];
	const cJSON *format, *number, *item;
	size_t extra_at, extra_len;
	cJSON *json;

	if (v->bytes == NULL)
		return;
	json = af_json_parse(v->bytes, v->len, &extra_at, &extra_len);
	if (json != NULL && extra_len > 0)
		af_problem_add(a->problems, AF_ERROR, AF_C_JSON_TRAILING, "version", AF_JSON_EXTRA,
		    extra_len, extra_at);
	if (!cJSON_IsObject(json)) {
		af_problem_add(a->problems, AF_ERROR, AF_C_FORMAT_VERSION, "version", "is not a "
		    "JSON object like {\"format\":\"mender\",\"version\":3}; read as version 3");
		cJSON_Delete(json);
		return;
	}
	format = cJSON_GetObjectItemCaseSensitive(json, "format");
	number = cJSON_GetObjectItemCaseSensitive(json, "version");
	if (!cJSON_IsString(format) || strcmp(format->valuestring, "mender") != 0)
		af_problem_add(a->problems, AF_ERROR, AF_C_FORMAT_VERSION, "version", "format is "
		    "not \"mender\"; the C++ client refuses it");
	if (!cJSON_IsNumber(number) || number->valuedouble != (double)number->valueint ||
	    (number->valueint != 2 && number->valueint != 3)) {
		af_problem_add(a->problems, AF_ERROR, AF_C_FORMAT_VERSION, "version", "version "
		    "must be the integer 3 (or 2, legacy); Mender no longer reads anything else; "
		    "read as version 3");
	} else {
		a->version = number->valueint;
		if (a->version == 2)
			af_problem_add(a->problems, AF_WARNING, AF_C_FORMAT_VERSION, "version",
			    "is format version 2: mender-artifact reads it, the C++ client (Mender "
			    "4 and later) refuses it; rebuild with mender-artifact write (version "
			    "3 is the default)");
	}
	cJSON_ArrayForEach(item, json)
		if (strcmp(item->string, known[0]) != 0 && strcmp(item->string, known[1]) != 0)
			af_problem_add(a->problems, AF_ERROR, AF_C_UNKNOWN, "version", "has an "
			    "unknown key \"%.80s\" (mender-artifact 3.9 refuses it)", item->string);
	cJSON_Delete(json);
}

static enum af_err
parse_manifests(struct artifact *a)
{
	static const enum af_member_kind kinds[2] = { AF_MEMBER_MANIFEST,
	    AF_MEMBER_MANIFEST_AUGMENT };
	enum af_err err;
	int i;

	for (i = 0; i < 2; i++) {
		const struct small_member *s = &a->small[kinds[i]];
		if (s->bytes == NULL)
			continue;
		err = af_manifest_parse((const char *)s->bytes, s->len,
		    i == 0 ? "manifest" : "manifest-augment", &a->manifest[i], a->problems);
		if (err != AF_OK)
			return err;
		a->has_manifest[i] = true;
	}
	if (artifact_member(a, AF_MEMBER_MANIFEST, 0) == NULL)
		af_problem_add(a->problems, AF_ERROR, AF_C_MISSING, "manifest", "is missing: "
		    "nothing in the artifact can be checked; rebuild it with mender-artifact "
		    "write");
	return AF_OK;
}

/* Decompresses a header member into memory, up to CAP_HEADER bytes. */
static enum af_err
inflate_header(struct artifact *a, const struct af_member *m, uint8_t **out, size_t *len)
{
	struct af_stream *s = af_stream_new(a->fd, m->data_offset, m->size, m->comp);
	size_t cap = 64u << 10, got;
	enum af_err err = AF_OK;
	struct af_reason why;
	uint8_t *buf = NULL, *grown;

	*len = 0;
	while (s != NULL) {
		if ((grown = realloc(buf, cap)) == NULL) {
			err = AF_ENOMEM;
			break;
		}
		buf = grown;
		err = af_stream_pread(s, buf + *len, cap - *len, *len, &got, &why);
		*len += got;
		if (err != AF_OK) {
			af_problem_add(a->problems, AF_ERROR, why.code, m->name, "cannot be "
			    "decompressed: %s", why.text);
			break;
		}
		if (*len < cap)
			break;
		if (cap == CAP_HEADER) {
			af_problem_add(a->problems, AF_ERROR, AF_C_TOO_BIG, m->name, "decompresses "
			    "to more than 16 MiB; no Mender header is this large; only the first "
			    "16 MiB are read");
			break;
		}
		cap = cap * 4 > CAP_HEADER ? CAP_HEADER : cap * 4;
	}
	af_stream_free(s);
	if (s == NULL)
		err = AF_ENOMEM;
	if (err == AF_ENOMEM) {
		free(buf);
		return err;
	}
	*out = buf;
	return AF_OK;
}

static enum af_err
parse_headers(struct artifact *a, struct af_reason *why)
{
	static const enum af_member_kind kinds[2] = { AF_MEMBER_HEADER, AF_MEMBER_HEADER_AUGMENT };
	static const char *const dirs[2] = { "header", "header-augment" };
	const struct af_member *m;
	enum af_err err;
	uint8_t *buf;
	size_t len;
	int i;

	for (i = 0; i < 2; i++) {
		struct af_header_parse_args args = { a->version, i == 1, dirs[i] };
		if ((m = artifact_member(a, kinds[i], 0)) == NULL)
			continue;
		if (m->truncated && i == 0)
			return af_fail(why, AF_ETRUNC, AF_C_TRUNCATED, "is cut short inside its "
			    "header (%s); the file is truncated: copy it again", AF_SHORT(m->name));
		if ((err = inflate_header(a, m, &buf, &len)) != AF_OK)
			return err;
		if ((err = af_header_parse(buf, len, &args, &a->header[i], a->problems)) != AF_OK)
			return err;
		a->has_header[i] = true;
	}
	if (!a->has_header[0]) {
		const struct af_member *last = &a->members[a->count - 1];
		if (last->truncated)
			return af_fail(why, AF_EFORMAT, AF_C_TRUNCATED, "is truncated: it ends "
			    "inside '%s', before the header; copy the artifact again",
			    AF_SHORT(last->name));
		if (a->damage != NULL)
			return af_fail(why, AF_EFORMAT, AF_C_DAMAGED, "%s; no header could be read "
			    "after it: the artifact is corrupt, copy it again", a->damage);
		return af_fail(why, AF_EFORMAT, AF_C_MISSING, "has no header.tar member "
		    "after '%s'; it is not a complete Mender artifact", AF_SHORT(last->name));
	}
	return AF_OK;
}

static enum af_err
open_payloads(struct artifact *a)
{
	size_t i;

	a->payloads = calloc(a->count, sizeof(*a->payloads));
	a->payload_index = calloc(a->count, sizeof(*a->payload_index));
	if (a->payloads == NULL || a->payload_index == NULL)
		return AF_ENOMEM;
	for (i = 0; i < a->count; i++) {
		const struct af_member *m = &a->members[i];
		struct af_stream *s;
		char dir[32];
		uint64_t len = m->size;

		if (!m->shown || m->kind != AF_MEMBER_DATA)
			continue;
		if (m->truncated)	/* read what is there; the stream reports the cut */
			len = (uint64_t)a->st.st_size - m->data_offset;
		snprintf(dir, sizeof(dir), "data/%04u", m->index);
		if ((s = af_stream_new(a->fd, m->data_offset, len, m->comp)) == NULL ||
		    (a->payloads[a->payload_count] = af_payload_new(s, dir, m->name, a->problems)) == NULL)
			return AF_ENOMEM;
		a->payload_index[a->payload_count++] = m->index;
	}
	return AF_OK;
}

enum af_err
artifact_load(struct artifact *a, struct af_reason *why)
{
	enum af_err err;

	if ((err = load_small(a)) != AF_OK)
		return err;
	parse_version(a);
	if ((err = parse_manifests(a)) != AF_OK || (err = parse_headers(a, why)) != AF_OK ||
	    (err = open_payloads(a)) != AF_OK)
		return err;
	artifact_check_coverage(a);
	return AF_OK;
}

const uint8_t *
artifact_member_bytes(const struct artifact *a, enum af_member_kind kind, size_t *len)
{
	if ((size_t)kind >= SMALL_KINDS || a->small[kind].bytes == NULL)
		return NULL;
	*len = a->small[kind].len;
	return a->small[kind].bytes;
}

const struct af_manifest *
artifact_manifest(const struct artifact *a, bool augment)
{
	return a->has_manifest[augment] ? &a->manifest[augment] : NULL;
}

const struct af_header *
artifact_header(const struct artifact *a, bool augment)
{
	return a->has_header[augment] ? &a->header[augment] : NULL;
}

bool
artifact_lists(const struct artifact *a, const char *name)
{
	return (a->has_manifest[0] && af_manifest_find(&a->manifest[0], name) != NULL) ||
	    (a->has_manifest[1] && af_manifest_find(&a->manifest[1], name) != NULL);
}

struct af_payload *
artifact_payload(const struct artifact *a, unsigned index)
{
	size_t i;

	for (i = 0; i < a->payload_count; i++)
		if (a->payload_index[i] == index)
			return a->payloads[i];
	return NULL;
}

void
artifact_read_once(struct artifact *a)
{
	size_t i;

	for (i = 0; i < a->payload_count; i++)
		af_stream_read_once(af_payload_stream(a->payloads[i]));
}
