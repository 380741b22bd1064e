#include "artifact/payload.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "artifact/header.h"
#include "artifact/tar.h"

#define MAX_FILES 100000

struct af_payload {
	struct af_stream *stream;
	char *dir;
	char *member;
	struct af_problems *problems;
	pthread_mutex_t lock;
	struct af_payload_file **files;
	size_t count, cap;
	struct af_tar *scan;	/* the payload tar's reader, opened at the first scan */
	bool scan_done;
	enum af_err scan_error;
};

static enum af_err
stream_pread(void *ctx, void *buf, size_t len, uint64_t off, size_t *got)
{
	struct af_payload *p = ctx;
	char why[400];
	enum af_err err = af_stream_pread(p->stream, buf, len, off, got, why, sizeof(why));

	/* named as the end-of-stream check in verify.c names it */
	if (err != AF_OK)
		af_problem_add(p->problems, AF_ERROR, p->member, "%s", why);
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
	af_tar_close(p->scan);
	af_stream_free(p->stream);
	pthread_mutex_destroy(&p->lock);
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

static bool
find_locked(struct af_payload *p, const char *name, const struct af_payload_file **out)
{
	size_t i;

	for (i = 0; i < p->count; i++)
		if (strcmp(p->files[i]->name, name) == 0) {
			if (out != NULL)
				*out = p->files[i];
			return true;
		}
	return false;
}

/* Is this inner entry a payload file we show?  Records why not. */
static bool
entry_ok(struct af_payload *p, const struct af_tar_entry *e)
{
	const char *why = af_path_unsafe(e->name, e->name_has_nul);

	if (why != NULL) {
		af_problem_add(p->problems, AF_ERROR, p->dir, "a file name ('%s') %s; it is not "
		    "shown", e->name, why);
		return false;
	}
	if (!af_tar_is_file(e) || e->sparse) {
		af_problem_add(p->problems, AF_ERROR, p->dir, "'%s' is %s; payloads hold only "
		    "regular files; it is not shown", e->name, af_tar_type_word(e));
		return false;
	}
	if (strchr(e->name, '/') != NULL) {
		af_problem_add(p->problems, AF_ERROR, p->dir, "'%s' is in a subdirectory; a "
		    "payload is flat; it is not shown", e->name);
		return false;
	}
	if (!name_charset_ok(e->name)) {
		af_problem_add(p->problems, AF_ERROR, p->dir, "'%s' has characters Mender forbids "
		    "in payload file names (only letters, digits and \"_-.,\"); it is not shown",
		    e->name);
		return false;
	}
	if (find_locked(p, e->name, NULL)) {
		af_problem_add(p->problems, AF_ERROR, p->dir, "'%s' appears twice in the payload; "
		    "only the first is shown", e->name);
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
	e->name = NULL;
	f->size = e->size;
	f->mode = e->mode;
	f->mtime = e->mtime;
	f->data_offset = e->data_offset;
	p->files[p->count++] = f;
	return AF_OK;
}

static void
judge_end(struct af_payload *p)
{
	struct af_tar_end end = af_tar_end(p->scan);

	if (!end.marked)
		af_problem_add(p->problems, AF_WARNING, p->dir, "ends at offset %llu without "
		    "end-of-archive blocks", (unsigned long long)end.offset);
}

/* Reads the next tar header; sets scan_done at the end or on an error. */
static enum af_err
scan_one_locked(struct af_payload *p)
{
	struct af_tar_source src = { stream_pread, p };
	struct af_tar_entry e;
	char why[400] = "";
	enum af_err err;

	if (p->scan == NULL && af_tar_open(&src, &p->scan) != AF_OK)
		return AF_ENOMEM;
	err = af_tar_next(p->scan, &e, why, sizeof(why));
	if (err == AF_END) {
		judge_end(p);
		p->scan_done = true;
		return AF_OK;
	}
	if (err == AF_EFORMAT && e.name != NULL) {	/* one entry refused; read on */
		af_problem_add(p->problems, AF_ERROR, p->dir, "%s; it is not shown", why);
		af_tar_entry_clear(&e);
		return AF_OK;
	}
	if (err != AF_OK) {
		p->scan_done = true;
		p->scan_error = err;
		if (why[0] != '\0')
			af_problem_add(p->problems, AF_ERROR, p->dir, af_tar_end(p->scan).trailer ?
			    "the payload tar %s: rebuild the artifact" : "is not a valid tar: %s", why);
		return err;
	}
	if (p->count == MAX_FILES) {
		af_problem_add(p->problems, AF_ERROR, p->dir, "has more than %d files; the rest "
		    "are not shown", MAX_FILES);
		p->scan_done = true;
	} else if (entry_ok(p, &e)) {
		err = add_locked(p, &e);
	}
	af_tar_entry_clear(&e);
	return err;
}

enum af_err
af_payload_find(struct af_payload *p, const char *name, const struct af_payload_file **out)
{
	enum af_err err = AF_OK;

	pthread_mutex_lock(&p->lock);
	while (!find_locked(p, name, out)) {
		if (p->scan_done) {
			err = p->scan_error != AF_OK ? p->scan_error : AF_ENOENT;
			break;
		}
		if ((err = scan_one_locked(p)) == AF_ENOMEM)
			break;
		err = AF_OK;
	}
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

bool
af_payload_scanned_all(struct af_payload *p)
{
	bool done;

	pthread_mutex_lock(&p->lock);
	done = p->scan_done;
	pthread_mutex_unlock(&p->lock);
	return done;
}

enum af_err
af_payload_scan_all(struct af_payload *p)
{
	enum af_err err = AF_OK;

	pthread_mutex_lock(&p->lock);
	while (!p->scan_done && err != AF_ENOMEM)
		err = scan_one_locked(p);
	if (err == AF_OK)
		err = p->scan_error;
	pthread_mutex_unlock(&p->lock);
	return err;
}

enum af_err
af_payload_at(struct af_payload *p, size_t i, const struct af_payload_file **out)
{
	enum af_err err = AF_OK;

	pthread_mutex_lock(&p->lock);
	while (p->count <= i && !p->scan_done && err != AF_ENOMEM)
		err = scan_one_locked(p);
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
    char *why, size_t whylen)
{
	enum af_err err;

	*got = 0;
	if (off >= f->size)
		return AF_OK;
	if (len > f->size - off)
		len = (size_t)(f->size - off);
	if (fn != NULL)
		err = af_stream_visit(p->stream, len, f->data_offset + off, fn, ctx, got, why,
		    whylen);
	else
		err = af_stream_pread(p->stream, buf, len, f->data_offset + off, got, why, whylen);
	if (err == AF_OK && *got < len) {
		snprintf(why, whylen, "the payload ends inside '%s'", f->name);
		return AF_ETRUNC;
	}
	return err;
}

enum af_err
af_payload_read(struct af_payload *p, const struct af_payload_file *f, void *buf,
    size_t len, uint64_t off, size_t *got, char *why, size_t whylen)
{
	return file_read(p, f, len, off, NULL, NULL, buf, got, why, whylen);
}

enum af_err
af_payload_visit(struct af_payload *p, const struct af_payload_file *f, size_t len,
    uint64_t off, af_stream_visit_fn fn, void *ctx, size_t *got, char *why, size_t whylen)
{
	return file_read(p, f, len, off, fn, ctx, NULL, got, why, whylen);
}

struct af_stream *
af_payload_stream(struct af_payload *p)
{
	return p->stream;
}
