#include "fs/keys.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_KEY_FILE (256u << 10)

struct fs_keyring {
	pthread_mutex_t lock;
	struct cr_key **keys;	/* command-line keys first, then control keys */
	char **sources;
	char **notes;		/* about the file a key came from, or NULL */
	size_t count;
	size_t fixed;		/* how many come from the command line */
};

struct fs_keyring *
fs_keyring_new(void)
{
	struct fs_keyring *r = calloc(1, sizeof(*r));

	if (r != NULL)
		pthread_mutex_init(&r->lock, NULL);
	return r;
}

static void
drop_from(struct fs_keyring *r, size_t first)
{
	size_t i;

	for (i = first; i < r->count; i++) {
		cr_key_free(r->keys[i]);
		free(r->sources[i]);
		free(r->notes[i]);
	}
	r->count = first;
}

void
fs_keyring_free(struct fs_keyring *r)
{
	if (r == NULL)
		return;
	drop_from(r, 0);
	free(r->keys);
	free(r->sources);
	free(r->notes);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

static bool
known(const struct fs_keyring *r, const struct cr_key *key)
{
	size_t i;

	for (i = 0; i < r->count; i++)
		if (cr_key_same(r->keys[i], key))
			return true;
	return false;
}

/* Appends keys (taking them), each with source and note (may be NULL); a
 * key already in the ring is listed once, where it came first.  The caller
 * holds the lock. */
static bool
append(struct fs_keyring *r, struct cr_key **keys, int n, const char *source,
    const char *note)
{
	struct cr_key **k = reallocarray(r->keys, r->count + (size_t)n, sizeof(*k));
	char **s = k != NULL ? reallocarray(r->sources, r->count + (size_t)n, sizeof(*s)) : NULL;
	char **t = s != NULL ? reallocarray(r->notes, r->count + (size_t)n, sizeof(*t)) : NULL;
	int i;

	if (k != NULL)
		r->keys = k;
	if (s != NULL)
		r->sources = s;
	if (t != NULL)
		r->notes = t;
	if (k == NULL || s == NULL || t == NULL) {
		cr_keys_free(keys, (size_t)n);
		return false;
	}
	for (i = 0; i < n; i++) {
		if (known(r, keys[i])) {
			cr_key_free(keys[i]);
			continue;
		}
		r->keys[r->count] = keys[i];
		r->sources[r->count] = strdup(source);
		r->notes[r->count] = note != NULL ? strdup(note) : NULL;
		r->count++;
	}
	free(keys);
	return true;
}

static char *
read_small_file(const char *path, size_t *len, struct af_reason *why)
{
	FILE *f = fopen(path, "re");
	char *buf;

	if (f == NULL) {
		af_reason_set(why, AF_C_IO, "cannot open: %s", strerror(errno));
		return NULL;
	}
	buf = malloc(MAX_KEY_FILE);
	*len = buf != NULL ? fread(buf, 1, MAX_KEY_FILE, f) : 0;
	if (buf == NULL) {
		af_reason_set(why, AF_C_NO_MEMORY, "out of memory");
	} else if (ferror(f)) {
		af_reason_set(why, AF_C_IO, "cannot read: %s", strerror(errno));
		free(buf);
		buf = NULL;
	} else if (*len == MAX_KEY_FILE) {
		af_reason_set(why, AF_C_KEY_TOO_BIG, "is over 256 KiB; not a key file");
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

/* A key file is read as a Mender client reads it: its first PEM block. */
bool
fs_keyring_add_file(struct fs_keyring *r, const char *path, struct af_reason *why)
{
	struct cr_key **keys;
	char *pem, *source, *note = NULL;
	size_t len;
	int blocks;
	bool ok;

	if ((pem = read_small_file(path, &len, why)) == NULL)
		return false;
	if ((keys = malloc(sizeof(*keys))) == NULL)
		af_reason_set(why, AF_C_NO_MEMORY, "out of memory");
	if (keys == NULL || (keys[0] = cr_key_load_public_file(pem, len, &blocks, why)) == NULL) {
		free(pem);
		free(keys);
		return false;
	}
	free(pem);
	if (blocks > 1 && asprintf(&note, "comes from a file of %d PEM blocks: the Mender client "
	    "(and mender-artifact) reads only the first, so the others are ignored here too; give "
	    "each key a file of its own (csplit -z -f key- %s '/-----BEGIN/' '{*}') and each file "
	    "its own -o verify_key=", blocks, path) < 0)
		note = NULL;
	if (asprintf(&source, "-o verify_key=%s", path) < 0) {
		cr_keys_free(keys, 1);
		free(note);
		af_reason_set(why, AF_C_NO_MEMORY, "out of memory");
		return false;
	}
	pthread_mutex_lock(&r->lock);
	drop_from(r, r->fixed);	/* none yet: options come before control writes */
	ok = append(r, keys, 1, source, note);
	r->fixed = r->count;
	pthread_mutex_unlock(&r->lock);
	free(source);
	free(note);
	if (!ok)
		af_reason_set(why, AF_C_NO_MEMORY, "out of memory");
	return ok;
}

/* Drops the control/verify-key keys; the caller holds the lock. */
static void
drop_control(struct fs_keyring *r)
{
	drop_from(r, r->fixed);
}

/*
 * A refused write leaves no control key, as a refused control/sign-key write
 * leaves nothing staged: what the file holds is what was last written, or
 * nothing, never the keys before by surprise.
 */
bool
fs_keyring_set_control(struct fs_keyring *r, const char *pem, size_t len,
    struct af_reason *why)
{
	struct cr_key **keys = NULL;
	size_t n = 0, i;
	bool ok = true;

	if (len > 0 && cr_keys_load_public(pem, len, &keys, &n, why) != AF_OK)
		ok = false;
	for (i = 0; ok && i < n; i++) {
		if (cr_key_unsupported(keys[i]) != NULL) {
			af_reason_set(why, AF_C_KEY_UNSUPPORTED, "key %zu (%s %s) cannot verify "
			    "anything: %s", i + 1, cr_key_description(keys[i]),
			    cr_key_fingerprint(keys[i]), cr_key_unsupported(keys[i]));
			cr_keys_free(keys, n);
			ok = false;
		}
	}
	pthread_mutex_lock(&r->lock);
	drop_control(r);
	if (ok && n > 0 && !append(r, keys, n, "control/verify-key", NULL)) {
		af_reason_set(why, AF_C_NO_MEMORY, "out of memory");
		ok = false;
	}
	pthread_mutex_unlock(&r->lock);
	return ok;
}

void fs_keyring_lock(struct fs_keyring *r) { pthread_mutex_lock(&r->lock); }
void fs_keyring_unlock(struct fs_keyring *r) { pthread_mutex_unlock(&r->lock); }
size_t fs_keyring_count(const struct fs_keyring *r) { return r->count; }
struct cr_key *const *fs_keyring_keys(const struct fs_keyring *r) { return r->keys; }
const char *fs_keyring_source(const struct fs_keyring *r, size_t i) { return r->sources[i]; }
const char *fs_keyring_note(const struct fs_keyring *r, size_t i) { return r->notes[i]; }

char *
fs_keyring_describe(struct fs_keyring *r, bool control_only)
{
	char *text = NULL;
	size_t size = 0, i;
	FILE *f = open_memstream(&text, &size);

	if (f == NULL)
		return NULL;
	pthread_mutex_lock(&r->lock);
	for (i = control_only ? r->fixed : 0; i < r->count; i++)
		fprintf(f, "%s %s (from %s)\n", cr_key_description(r->keys[i]),
		    cr_key_fingerprint(r->keys[i]), r->sources[i]);
	pthread_mutex_unlock(&r->lock);
	fclose(f);
	return text;
}
