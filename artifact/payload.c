#include "artifact/payload.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "artifact/header.h"
#include "artifact/names.h"
#include "artifact/tar.h"

#define MAX_FILES 100000

/*
 * Two locks, taken in this order: scan_lock, then lock.  scan_lock makes
 * one thread at a time read tar headers (which decodes the payload up to
 * them); lock guards the files found and their index by name, and is held
 * only to look at them or add one, never while decoding, so lookups of files
 * already found never wait for a scan.
 */
struct af_payload {
	struct af_stream *stream;
	char *dir;
	char *member;
	struct af_problems *problems;
	pthread_mutex_t scan_lock;
	struct af_tar *scan;	/* the payload tar's reader, opened at the first scan */
	pthread_mutex_t lock;
	struct af_payload_file **files;
	size_t count, cap;
	struct af_names by_name;
	bool scan_done;		/* written under both locks */
	enum af_err scan_error;
};

static enum af_err
stream_pread(void *ctx, void *buf, size_t len, uint64_t off, size_t *got)
{
	struct af_payload *p = ctx;
	struct af_reason why;
	enum af_err err = af_stream_pread(p->stream, buf, len, off, got, &why);

	/* named as the end-of-stream check in verify.c names it */
	if (err != AF_OK)
		af_problem_add(p->problems, AF_ERROR, why.code, p->member, "%s", why.text);
	return err;
}

struct af_payload *
af_payload_new(struct af_stream *stream, const char *dir, const char *member,
    struct af_problems *problems)
{
	struct af_payload *p = calloc(1, sizeof(*p));

	if (p == NULL || (p->dir = strdup(dir)) == NULL || (p->member = strdup(member)) == NULL) {
		if (p != NULL)
			free(p->dir);
		free(p);
		af_stream_free(stream);
		return NULL;
	}
	p->stream = stream;
	p->problems = problems;
	pthread_mutex_init(&p->scan_lock, NULL);
	pthread_mutex_init(&p->lock, NULL);
	return p;
}

void
af_payload_free(struct af_payload *p)
{
	size_t i;

	if (p == NULL)
		return;
	for (i = 0; i < p->count; i++) {
		free(p->files[i]->name);
		free(p->files[i]);
	}
	free(p->files);
	af_names_clear(&p->by_name);
	af_tar_close(p->scan);
	af_stream_free(p->stream);
	pthread_mutex_destroy(&p->lock);
	pthread_mutex_destroy(&p->scan_lock);
	free(p->dir);
	free(p->member);
	free(p);
}

/* mender-artifact's rule for payload file names: ^[\w\-.,]+$ */
static bool
name_charset_ok(const char *name)
{
	const char *s;

	for (s = name; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || strchr("_-.,", *s) != NULL))
			return false;
	return s != name;
}

static const char *
file_name(const void *files, size_t i)
{
	return ((struct af_payload_file *const *)files)[i]->name;
}

/* Under lock. */
static bool
find_locked(struct af_payload *p, const char *name, const struct af_payload_file **out)
{
	size_t i = af_names_find(&p->by_name, name, file_name, p->files);

	if (i < p->count && out != NULL)
		*out = p->files[i];
	return i < p->count;
}

/* Is this inner entry a payload file we show?  Records why not. */
static bool
entry_ok(struct af_payload *p, const struct af_tar_entry *e)
{
	struct af_reason why;

	if (af_path_check(e->name, e->name_has_nul, &why) != AF_OK) {
		af_problem_add(p->problems, AF_ERROR, why.code, p->dir, "a file name ('%s') %s; it "
		    "is not shown", e->name, why.text);
		return false;
	}
	if (!af_tar_is_file(e) || e->sparse) {
		af_problem_add(p->problems, AF_ERROR, AF_C_TAR_TYPE, p->dir, "'%s' is %s; payloads "
		    "hold only regular files; it is not shown", e->name, af_tar_type_word(e));
		return false;
	}
	if (strchr(e->name, '/') != NULL) {
		af_problem_add(p->problems, AF_ERROR, AF_C_BAD_NAME, p->dir, "'%s' is in a "
		    "subdirectory; a payload is flat; it is not shown", e->name);
		return false;
	}
	if (!name_charset_ok(e->name)) {
		af_problem_add(p->problems, AF_ERROR, AF_C_BAD_NAME, p->dir, "'%s' has characters "
		    "Mender forbids in payload file names (only letters, digits and \"_-.,\"); it "
		    "is not shown", e->name);
		return false;
	}
	if (find_locked(p, e->name, NULL)) {
		af_problem_add(p->problems, AF_ERROR, AF_C_DUPLICATE, p->dir, "'%s' appears twice "
		    "in the payload; only the first is shown", e->name);
		return false;
	}
	return true;
}

static enum af_err
add_locked(struct af_payload *p, struct af_tar_entry *e)
{
	struct af_payload_file *f, **grown;

	if (p->count == p->cap) {
		size_t cap = p->cap == 0 ? 8 : p->cap * 2;
		if ((grown = reallocarray(p->files, cap, sizeof(*grown))) == NULL)
			return AF_ENOMEM;
		p->files = grown;
		p->cap = cap;
	}
	if ((f = malloc(sizeof(*f))) == NULL)
		return AF_ENOMEM;
	f->name = e->name;
	f->size = e->size;
	f->mode = e->mode;
	f->mtime = e->mtime;
	f->data_offset = e->data_offset;
	f->index = p->count;
	p->files[p->count] = f;
	if (!af_names_add(&p->by_name, p->count, file_name, p->files)) {
		free(f);
		return AF_ENOMEM;
	}
	e->name = NULL;
	p->count++;
	return AF_OK;
}

/* The scan is over: the end, or err; under scan_lock. */
static void
scan_over(struct af_payload *p, enum af_err err)
{
	pthread_mutex_lock(&p->lock);
	p->scan_done = true;
	p->scan_error = err;
	pthread_mutex_unlock(&p->lock);
}

static void
judge_end(struct af_payload *p)
{
	struct af_tar_end end = af_tar_end(p->scan);

	if (!end.marked)
		af_problem_add(p->problems, AF_WARNING, AF_C_TAR_END, p->dir, "ends at offset %llu "
		    "without end-of-archive blocks", (unsigned long long)end.offset);
}

/* Reads the next tar header; sets scan_done at the end or on an error.
 * Under scan_lock, not lock: this decodes. */
static enum af_err
scan_one(struct af_payload *p)
{
	struct af_tar_source src = { stream_pread, p };
	struct af_tar_entry e;
	struct af_reason why;
	enum af_err err;

	if (p->scan == NULL && af_tar_open(&src, &p->scan) != AF_OK)
		return AF_ENOMEM;
	err = af_tar_next(p->scan, &e, &why);
	if (err == AF_END) {
		judge_end(p);
		scan_over(p, AF_OK);
		return AF_OK;
	}
	if (err == AF_EFORMAT && e.name != NULL) {	/* one entry refused; read on */
		af_problem_add(p->problems, AF_ERROR, why.code, p->dir, "%s; it is not shown",
		    why.text);
		af_tar_entry_clear(&e);
		return AF_OK;
	}
	if (err != AF_OK) {
		scan_over(p, err);
		if (why.code != AF_C_NONE)
			af_problem_add(p->problems, AF_ERROR, why.code, p->dir,
			    af_tar_end(p->scan).trailer ? "the payload tar %s: rebuild the "
			    "artifact" : "is not a valid tar: %s", why.text);
		return err;
	}
	pthread_mutex_lock(&p->lock);
	if (p->count == MAX_FILES) {
		af_problem_add(p->problems, AF_ERROR, AF_C_TOO_BIG, p->dir, "has more than %d "
		    "files; the rest are not shown", MAX_FILES);
		p->scan_done = true;
	} else if (entry_ok(p, &e)) {
		err = add_locked(p, &e);
	}
	pthread_mutex_unlock(&p->lock);
	af_tar_entry_clear(&e);
	return err;
}

/* Whether the scan must go on: found(what) is false (under lock) and the
 * scan is not over. */
static bool
scan_needed(struct af_payload *p, bool (*found)(struct af_payload *, const void *),
    const void *what)
{
	bool more;

	pthread_mutex_lock(&p->lock);
	more = !found(p, what) && !p->scan_done;
	pthread_mutex_unlock(&p->lock);
	return more;
}

/* Scans until found(what) or the end; found is called under lock. */
static enum af_err
scan_until(struct af_payload *p, bool (*found)(struct af_payload *, const void *),
    const void *what)
{
	enum af_err err = AF_OK;

	if (!scan_needed(p, found, what))
		return AF_OK;
	pthread_mutex_lock(&p->scan_lock);
	while (err != AF_ENOMEM && scan_needed(p, found, what))
		err = scan_one(p);
	pthread_mutex_unlock(&p->scan_lock);
	return err == AF_ENOMEM ? err : AF_OK;
}

static bool
has_name(struct af_payload *p, const void *name)
{
	return find_locked(p, name, NULL);
}

enum af_err
af_payload_find(struct af_payload *p, const char *name, const struct af_payload_file **out)
{
	enum af_err err = scan_until(p, has_name, name);

	pthread_mutex_lock(&p->lock);
	if (!find_locked(p, name, out) && err == AF_OK)
		err = p->scan_error != AF_OK ? p->scan_error : AF_ENOENT;
	pthread_mutex_unlock(&p->lock);
	return err;
}

const struct af_payload_file *
af_payload_find_scanned(struct af_payload *p, const char *name)
{
	const struct af_payload_file *f = NULL;

	pthread_mutex_lock(&p->lock);
	find_locked(p, name, &f);
	pthread_mutex_unlock(&p->lock);
	return f;
}

static bool
never(struct af_payload *p, const void *unused)
{
	(void)p;
	(void)unused;
	return false;
}

enum af_err
af_payload_scan_all(struct af_payload *p)
{
	enum af_err err = scan_until(p, never, NULL);

	pthread_mutex_lock(&p->lock);
	if (err == AF_OK)
		err = p->scan_error;
	pthread_mutex_unlock(&p->lock);
	return err;
}

static bool
has_index(struct af_payload *p, const void *i)
{
	return *(const size_t *)i < p->count;
}

enum af_err
af_payload_at(struct af_payload *p, size_t i, const struct af_payload_file **out)
{
	enum af_err err = scan_until(p, has_index, &i);

	pthread_mutex_lock(&p->lock);
	*out = i < p->count ? p->files[i] : NULL;
	if (*out == NULL && err != AF_ENOMEM)
		err = p->scan_error != AF_OK ? p->scan_error : AF_END;
	pthread_mutex_unlock(&p->lock);
	return *out != NULL ? AF_OK : err;
}

size_t
af_payload_count(struct af_payload *p)
{
	size_t n;

	pthread_mutex_lock(&p->lock);
	n = p->count;
	pthread_mutex_unlock(&p->lock);
	return n;
}

const struct af_payload_file *
af_payload_get(struct af_payload *p, size_t i)
{
	const struct af_payload_file *f = NULL;

	pthread_mutex_lock(&p->lock);
	if (i < p->count)
		f = p->files[i];
	pthread_mutex_unlock(&p->lock);
	return f;
}

/* Reads of a file stop at its end; a payload that ends before it is cut short. */
static enum af_err
file_read(struct af_payload *p, const struct af_payload_file *f, size_t len,
    uint64_t off, af_stream_visit_fn fn, void *ctx, void *buf, size_t *got,
    struct af_reason *why)
{
	enum af_err err;

	*got = 0;
	if (off >= f->size)
		return AF_OK;
	if (len > f->size - off)
		len = (size_t)(f->size - off);
	if (fn != NULL)
		err = af_stream_visit(p->stream, len, f->data_offset + off, fn, ctx, got, why);
	else
		err = af_stream_pread(p->stream, buf, len, f->data_offset + off, got, why);
	if (err == AF_OK && *got < len)
		return af_fail(why, AF_ETRUNC, AF_C_TRUNCATED, "the payload ends inside '%s'",
		    AF_SHORT(f->name));
	return err;
}

enum af_err
af_payload_read(struct af_payload *p, const struct af_payload_file *f, void *buf,
    size_t len, uint64_t off, size_t *got, struct af_reason *why)
{
	return file_read(p, f, len, off, NULL, NULL, buf, got, why);
}

enum af_err
af_payload_visit(struct af_payload *p, const struct af_payload_file *f, size_t len,
    uint64_t off, af_stream_visit_fn fn, void *ctx, size_t *got, struct af_reason *why)
{
	return file_read(p, f, len, off, fn, ctx, NULL, got, why);
}

struct af_stream *
af_payload_stream(struct af_payload *p)
{
	return p->stream;
}
