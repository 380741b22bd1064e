#include "fs/report.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "artifact/verify.h"
#include "fs/status.h"

struct fs_keyring *
fs_load_keys(char *const *paths, size_t count, struct af_reason *why)
{
	struct fs_keyring *ring = fs_keyring_new();
	struct af_reason clause;
	size_t i;

	if (ring == NULL) {
		af_reason_set(why, AF_C_NO_MEMORY, "out of memory");
		return NULL;
	}
	for (i = 0; i < count; i++) {
		if (!fs_keyring_add_file(ring, paths[i], &clause)) {
			af_reason_set(why, clause.code, "%s: %s", AF_SHORT(paths[i]), clause.text);
			fs_keyring_free(ring);
			return NULL;
		}
	}
	return ring;
}

struct artifact *
fs_open_artifact(const char *given, struct af_reason *why)
{
	struct artifact *a = NULL;
	struct af_reason clause;	/* what artifact/ says, which why names the file in */
	char *path = realpath(given, NULL);

	/* absolute: the path must survive the daemon's chdir("/") */
	if (path == NULL) {
		af_reason_set(why, AF_C_IO, "%s: cannot open: %s", AF_SHORT(given), strerror(errno));
		return NULL;
	}
	if (artifact_open(path, &a, &clause) != AF_OK)
		af_reason_set(why, clause.code, "%s: %s", AF_SHORT(given), clause.text);
	free(path);
	return a;
}

/* One artifact's outcome; the verdict and its findings only while it is
 * checked and printed as JSON. */
struct result {
	const char *given;
	int code;		/* its exit status */
	char *text;		/* the report: the verdict line, then key: value lines */
	char *strict;		/* the reason --strict added, or NULL */
	const struct af_reason *unreadable;	/* why it could not be checked, or NULL */
	struct fs_status status;	/* the verdict, when it could be checked */
};

static const char *
word_of(int code)
{
	switch (code) {
	case STATUS_VALID: return "valid";
	case STATUS_INVALID: return "invalid";
	case STATUS_UNSIGNED: return "unsigned";
	case STATUS_UNVERIFIED: return "unverified";
	default: return "unreadable";
	}
}

/* Worst first: unreadable, invalid, unsigned, unverified, valid. */
static int
severity(int code)
{
	static const int rank[] = { [STATUS_VALID] = 0, [STATUS_UNVERIFIED] = 1,
	    [STATUS_UNSIGNED] = 2, [STATUS_INVALID] = 3, [STATUS_UNREADABLE] = 4 };

	return rank[code];
}

/* --strict: a warning fails like a reason; the verdict becomes invalid. */
static void
apply_strict(struct result *r)
{
	size_t n = r->status.verdict.warnings.count;
	char *text, *reason;

	if (n == 0 || r->code == STATUS_INVALID || r->code == STATUS_UNREADABLE)
		return;
	if (asprintf(&reason, "--strict: %zu warning%s count%s as failure%s (see the warning "
	    "lines)", n, n == 1 ? "" : "s", n == 1 ? "s" : "", n == 1 ? "" : "s") < 0)
		return;
	if (asprintf(&text, "invalid\nreason: %s\n%s", reason,
	    r->text + strcspn(r->text, "\n") + 1) < 0) {
		free(reason);
		return;
	}
	free(r->text);
	r->text = text;
	r->strict = reason;
	r->code = STATUS_INVALID;
}

/* A reason or warning as JSON: {"code": its stable name, "text": its line}. */
static void
add_finding(cJSON *array, enum af_code code, const char *text)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "code", af_code_name(code));
	cJSON_AddStringToObject(o, "text", text);
	cJSON_AddItemToArray(array, o);
}

/* first (when not NULL, with its code) comes before the list's. */
static cJSON *
findings(enum af_code code, const char *first, const struct af_findings *list)
{
	cJSON *array = cJSON_CreateArray();
	size_t i;

	if (first != NULL)
		add_finding(array, code, first);
	for (i = 0; list != NULL && i < list->count; i++)
		add_finding(array, list->items[i].code, list->items[i].text);
	return array;
}

/* Copies the members of from[key] (an object) into into. */
static void
merge_object(cJSON *into, const cJSON *from, const char *key)
{
	const cJSON *src = cJSON_GetObjectItemCaseSensitive(from, key), *item;

	if (!cJSON_IsObject(src))
		return;
	cJSON_ArrayForEach(item, src) {
		cJSON_DeleteItemFromObjectCaseSensitive(into, item->string);
		cJSON_AddItemToObject(into, item->string, cJSON_Duplicate(item, true));
	}
}

/* provides and depends: header-info's, then each payload's type-info's, as
 * a Mender client merges them. */
static void
add_header_facts(cJSON *o, const struct artifact *a)
{
	const struct af_header *h = a != NULL ? artifact_header(a, false) : NULL;
	cJSON *provides = cJSON_AddObjectToObject(o, "provides");
	cJSON *depends = cJSON_AddObjectToObject(o, "depends");
	cJSON *types = cJSON_AddArrayToObject(o, "device_types");
	size_t i;

	cJSON_AddItemToObject(o, "artifact_name", h != NULL && h->artifact_name != NULL ?
	    cJSON_CreateString(h->artifact_name) : cJSON_CreateNull());
	if (h == NULL)
		return;
	for (i = 0; i < h->device_type_count; i++)
		cJSON_AddItemToArray(types, cJSON_CreateString(h->device_types[i]));
	for (i = 0; i < h->count; i++) {
		const struct af_header_file *f = &h->files[i];
		cJSON *json;
		if (strcmp(f->path, "header-info") != 0 && (strncmp(f->path, "headers/", 8) != 0 ||
		    strcmp(f->path + strlen(f->path) - strlen("/type-info"), "/type-info") != 0))
			continue;
		if ((json = cJSON_ParseWithLength((const char *)f->data, f->size)) == NULL)
			continue;
		merge_object(provides, json, "artifact_provides");
		merge_object(depends, json, "artifact_depends");
		cJSON_Delete(json);
	}
}

static void
add_checksums(cJSON *o, const struct af_checks *checks)
{
	cJSON *list = cJSON_AddArrayToObject(o, "checksums"), *c;
	size_t i;

	for (i = 0; checks != NULL && i < checks->count; i++) {
		const struct af_check *k = &checks->items[i];
		cJSON_AddItemToArray(list, c = cJSON_CreateObject());
		cJSON_AddStringToObject(c, "name", k->name);
		cJSON_AddStringToObject(c, "result", af_check_result_word(k->result));
		cJSON_AddItemToObject(c, "expected", k->expected[0] != '\0' ?
		    cJSON_CreateString(k->expected) : cJSON_CreateNull());
		cJSON_AddItemToObject(c, "actual", k->actual[0] != '\0' ?
		    cJSON_CreateString(k->actual) : cJSON_CreateNull());
		cJSON_AddBoolToObject(c, "augment", k->augment);
	}
}

static void
print_json(const struct result *r, const struct artifact *a, const struct af_checks *checks)
{
	cJSON *o = cJSON_CreateObject(), *keys = cJSON_CreateArray();
	char *text;
	size_t i;

	cJSON_AddStringToObject(o, "artifact", r->given);
	cJSON_AddStringToObject(o, "verdict", word_of(r->code));
	cJSON_AddNumberToObject(o, "status", r->code);
	cJSON_AddItemToObject(o, "reasons", r->unreadable != NULL ?
	    findings(r->unreadable->code, r->unreadable->text, NULL) :
	    findings(AF_C_STRICT, r->strict, &r->status.verdict.reasons));
	cJSON_AddItemToObject(o, "warnings", findings(AF_C_NONE, NULL, &r->status.verdict.warnings));
	for (i = 0; i < r->status.key_count; i++)
		cJSON_AddItemToArray(keys, cJSON_CreateString(r->status.key_lines[i]));
	cJSON_AddItemToObject(o, "keys", keys);
	add_checksums(o, checks);
	add_header_facts(o, a);
	if ((text = cJSON_PrintUnformatted(o)) != NULL)
		printf("%s\n", text);
	free(text);
	cJSON_Delete(o);
}

static char *
unreadable_text(const char *why)
{
	char *text;

	if (asprintf(&text, "unreadable\nreason: %s\n", why) < 0)
		return NULL;
	return text;
}

/*
 * The keys load on a thread of their own while the first artifact is opened
 * and its checksum pass runs: OpenSSL's check of a public key is not cheap
 * (about 10 ms for RSA-3072 here: a Miller-Rabin test of n) and needs
 * nothing the pass makes.  A key that fails stops the pass (keys_not_failed):
 * every artifact is then unreadable for the key's reason, as it was when the
 * keys loaded before any artifact was read.
 */
struct key_load {
	const struct cli *cli;
	pthread_t thread;
	bool threaded;		/* the thread runs, or ran and is not joined */
	bool waited;		/* key_load_wait has run */
	atomic_bool failed;	/* loading is over, and failed */
	struct fs_keyring *ring;
	struct af_reason why;
};

static void *
load_keys(void *arg)
{
	struct key_load *k = arg;

	k->ring = fs_load_keys(k->cli->verify_keys, k->cli->verify_key_count, &k->why);
	atomic_store(&k->failed, k->ring == NULL);
	return NULL;
}

static void
key_load_start(struct key_load *k, const struct cli *c)
{
	k->cli = c;
	atomic_init(&k->failed, false);
	if (c->verify_key_count > 0)
		k->threaded = pthread_create(&k->thread, NULL, load_keys, k) == 0;
	if (!k->threaded)
		load_keys(k);	/* no key, or no thread to be had: here, first */
}

/* The keys; NULL once they failed, with k->why, said once on stderr. */
static struct fs_keyring *
key_load_wait(struct key_load *k)
{
	if (k->threaded) {
		pthread_join(k->thread, NULL);
		k->threaded = false;
	}
	if (!k->waited && k->ring == NULL)
		fprintf(stderr, "artifactfs: %s\n", k->why.text);
	k->waited = true;
	return k->ring;
}

/* The checksum pass's progress function: on while the keys may still load. */
static bool
keys_not_failed(void *ctx, const char *name, uint64_t done, uint64_t total)
{
	struct key_load *k = ctx;

	(void)name, (void)done, (void)total;
	return !atomic_load(&k->failed);
}

/* Checks one artifact; prints its JSON object at once when asked to. */
static void
check_one(const struct cli *c, struct key_load *keys, struct result *r)
{
	static const int codes[] = { [AF_VERDICT_VALID] = STATUS_VALID,
	    [AF_VERDICT_INVALID] = STATUS_INVALID, [AF_VERDICT_UNSIGNED] = STATUS_UNSIGNED,
	    [AF_VERDICT_UNVERIFIED] = STATUS_UNVERIFIED };
	struct artifact *a = NULL;
	struct af_checks checks = { 0 };
	struct fs_keyring *ring;
	struct af_reason why;
	enum af_err err = AF_ENOMEM;

	r->code = STATUS_UNREADABLE;
	if (!atomic_load(&keys->failed) && (a = fs_open_artifact(r->given, &why)) != NULL) {
		artifact_read_once(a);
		err = af_verify_checksums(a, keys_not_failed, keys, &checks);
	}
	if ((ring = key_load_wait(keys)) == NULL) {
		why = keys->why;
		af_checks_clear(&checks);
		artifact_close(a);
		a = NULL;
	} else if (a != NULL) {
		if (err == AF_OK && fs_status_make(a, ring, &checks, NULL, NULL, NULL, &r->status)) {
			r->code = codes[r->status.verdict.word];
			r->text = r->status.text;
			r->status.text = NULL;
		} else {
			af_reason_set(&why, AF_C_NO_MEMORY, "%s: out of memory", AF_SHORT(r->given));
		}
	}
	if (r->code == STATUS_UNREADABLE) {
		fprintf(stderr, "artifactfs: %s\n", why.text);
		r->text = unreadable_text(why.text);
		r->unreadable = &why;
	}
	if (r->text != NULL && c->strict)
		apply_strict(r);
	if (r->text != NULL && c->json)
		print_json(r, a, &checks);
	r->unreadable = NULL;
	free(r->strict);
	r->strict = NULL;
	fs_status_clear(&r->status);
	af_checks_clear(&checks);
	artifact_close(a);
}

int
fs_report_run(const struct cli *c)
{
	struct result *results = calloc(c->operand_count, sizeof(*results));
	struct key_load keys = { 0 };
	int worst = STATUS_VALID;
	size_t i;

	if (results == NULL) {
		fprintf(stderr, "artifactfs: out of memory\n");
		return STATUS_UNREADABLE;
	}
	key_load_start(&keys, c);
	for (i = 0; i < c->operand_count; i++) {
		results[i].given = c->operands[i];
		check_one(c, &keys, &results[i]);
		if (results[i].text == NULL)
			results[i].code = STATUS_UNREADABLE;
		if (severity(results[i].code) > severity(worst))
			worst = results[i].code;
	}
	/* text: one artifact prints its report as signature-status reads; several
	 * print a verdict line each, then each report under its name */
	for (i = 0; !c->json && c->operand_count > 1 && i < c->operand_count; i++)
		printf("%s: %s\n", results[i].given, word_of(results[i].code));
	for (i = 0; !c->json && i < c->operand_count; i++) {
		if (c->operand_count > 1)
			printf("\n==> %s <==\n", results[i].given);
		fputs(results[i].text != NULL ? results[i].text : "unreadable\n", stdout);
	}
	for (i = 0; i < c->operand_count; i++)
		free(results[i].text);
	free(results);
	key_load_wait(&keys);	/* joins the thread, had no operand waited for it */
	fs_keyring_free(keys.ring);
	return worst;
}
