#include "artifact/artifact.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "artifact/artifact_impl.h"
#include "artifact/tar.h"

#define MAX_MEMBERS 1024

static const char *const kind_names[] = {
	[AF_MEMBER_VERSION] = "version",
	[AF_MEMBER_MANIFEST] = "manifest",
	[AF_MEMBER_SIGNATURE] = "manifest.sig",
	[AF_MEMBER_MANIFEST_AUGMENT] = "manifest-augment",
	[AF_MEMBER_HEADER] = "header.tar",
	[AF_MEMBER_HEADER_AUGMENT] = "header-augment.tar",
	[AF_MEMBER_DATA] = "data/NNNN.tar",
	[AF_MEMBER_UNKNOWN] = "?",
};

static enum af_err
file_pread(void *ctx, void *buf, size_t len, uint64_t off, size_t *got)
{
	const struct artifact *a = ctx;
	ssize_t n;

	*got = 0;
	while (*got < len) {
		n = pread(a->fd, (char *)buf + *got, len - *got, (off_t)(off + *got));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return AF_EIO;
		if (n == 0)
			break;
		*got += (size_t)n;
	}
	return AF_OK;
}

/* "data/0000.tar.gz" gives AF_MEMBER_DATA, 0, gzip; four_digits says if NNNN is. */
static enum af_member_kind
classify(const char *name, unsigned *index, enum af_compression *comp, bool *four_digits)
{
	static const enum af_member_kind exact[] = { AF_MEMBER_VERSION, AF_MEMBER_MANIFEST,
	    AF_MEMBER_SIGNATURE, AF_MEMBER_MANIFEST_AUGMENT };
	const char *suffix;
	size_t i, digits;

	*index = 0;
	*four_digits = true;
	for (i = 0; i < sizeof(exact) / sizeof(exact[0]); i++)
		if (strcmp(name, kind_names[exact[i]]) == 0)
			return exact[i];
	if (!af_compression_from_name(name, comp, &suffix))
		return AF_MEMBER_UNKNOWN;
	if ((size_t)(suffix - name) == 6 && strncmp(name, "header", 6) == 0)
		return AF_MEMBER_HEADER;
	if ((size_t)(suffix - name) == 14 && strncmp(name, "header-augment", 14) == 0)
		return AF_MEMBER_HEADER_AUGMENT;
	if (strncmp(name, "data/", 5) != 0)
		return AF_MEMBER_UNKNOWN;
	digits = (size_t)(suffix - name) - 5;
	if (digits == 0 || digits > 9 || strspn(name + 5, "0123456789") != digits)
		return AF_MEMBER_UNKNOWN;
	*index = (unsigned)strtoul(name + 5, NULL, 10);
	*four_digits = digits == 4;
	return AF_MEMBER_DATA;
}

/* The v3 grammar (spec §2.2): which kinds may follow which. */
static bool
may_follow(enum af_member_kind prev, enum af_member_kind next, bool sig_seen)
{
	switch (next) {
	case AF_MEMBER_MANIFEST: return prev == AF_MEMBER_VERSION;
	case AF_MEMBER_SIGNATURE: return prev == AF_MEMBER_MANIFEST;
	case AF_MEMBER_MANIFEST_AUGMENT:
		return prev == AF_MEMBER_MANIFEST || (prev == AF_MEMBER_SIGNATURE && sig_seen);
	case AF_MEMBER_HEADER:
		return prev == AF_MEMBER_MANIFEST || prev == AF_MEMBER_SIGNATURE ||
		    prev == AF_MEMBER_MANIFEST_AUGMENT;
	case AF_MEMBER_HEADER_AUGMENT: return prev == AF_MEMBER_HEADER;
	case AF_MEMBER_DATA:
		return prev == AF_MEMBER_HEADER || prev == AF_MEMBER_HEADER_AUGMENT ||
		    prev == AF_MEMBER_DATA;
	default: return false;
	}
}

/* Applies the outer-tar rules to a new member; says what breaks to problems. */
static void
judge_member(struct artifact *a, struct af_member *m, const struct af_tar_entry *e,
    bool four_digits, enum af_member_kind *prev)
{
	const char *name = e->name_has_nul ? "?" : e->name;
	struct af_reason unsafe;

	m->shown = false;
	if (af_path_check(e->name, e->name_has_nul, &unsafe) != AF_OK) {
		af_problem_add(a->problems, AF_ERROR, unsafe.code, "artifact", "a member name "
		    "('%.100s') %s; that member is ignored", name, unsafe.text);
		return;
	}
	if (!af_tar_is_file(e) || e->sparse) {
		af_problem_add(a->problems, AF_ERROR, AF_C_TAR_TYPE, name, "is %s; an artifact "
		    "holds only regular files; it is ignored", af_tar_type_word(e));
		return;
	}
	if (m->kind == AF_MEMBER_UNKNOWN) {
		af_problem_add(a->problems, AF_ERROR, AF_C_UNKNOWN, name, "is not a member of a "
		    "Mender artifact (version, manifest, manifest.sig, manifest-augment, "
		    "header.tar*, header-augment.tar*, data/NNNN.tar*); it is ignored");
		return;
	}
	if (m->kind == AF_MEMBER_DATA && !four_digits)
		af_problem_add(a->problems, AF_ERROR, AF_C_BAD_NAME, name, "has a payload index "
		    "that is not four digits (data/0000.tar...); the C++ client refuses it");
	if (artifact_member(a, m->kind, m->index) != NULL) {
		af_problem_add(a->problems, AF_ERROR, AF_C_DUPLICATE, name, "appears twice; only "
		    "the first is used (mender-artifact may read either); rebuild the artifact");
		return;
	}
	if (*prev != AF_MEMBER_UNKNOWN &&
	    !may_follow(*prev, m->kind, artifact_member(a, AF_MEMBER_SIGNATURE, 0) != NULL))
		af_problem_add(a->problems, AF_ERROR, AF_C_ORDER, name, "is out of order after "
		    "'%s'; the order is version, manifest, [manifest.sig], [manifest-augment], "
		    "header.tar*, [header-augment.tar*], data/NNNN.tar*", kind_names[*prev]);
	m->shown = true;
	*prev = m->kind;
}

static enum af_err
add_member(struct artifact *a, const struct af_tar_entry *e, enum af_member_kind *prev)
{
	struct af_member *m;
	bool four_digits;

	if (a->count % 16 == 0) {
		m = reallocarray(a->members, a->count + 16, sizeof(*m));
		if (m == NULL)
			return AF_ENOMEM;
		a->members = m;
	}
	m = &a->members[a->count];
	memset(m, 0, sizeof(*m));
	if ((m->name = strdup(e->name)) == NULL)
		return AF_ENOMEM;
	m->kind = classify(e->name, &m->index, &m->comp, &four_digits);
	m->header_offset = e->header_offset;
	m->data_offset = e->data_offset;
	m->size = e->size;
	m->mode = e->mode;
	m->mtime = e->mtime;
	if (a->count == 0 && m->kind != AF_MEMBER_VERSION) {
		/* "versionX": mender-artifact checks only the prefix; we take it, and say so */
		af_problem_add(a->problems, AF_ERROR, AF_C_BAD_NAME, e->name, "should be named "
		    "exactly 'version'");
		m->kind = AF_MEMBER_VERSION;
	}
	judge_member(a, m, e, four_digits, prev);
	if ((uint64_t)a->st.st_size < m->data_offset ||
	    (uint64_t)a->st.st_size - m->data_offset < m->size) {
		m->truncated = true;
		af_problem_add(a->problems, AF_ERROR, AF_C_TRUNCATED, e->name, "is cut short: "
		    "the tar header says %llu bytes, the file holds %llu; the artifact is "
		    "truncated; copy it again", (unsigned long long)m->size,
		    (unsigned long long)((uint64_t)a->st.st_size > m->data_offset ?
		    (uint64_t)a->st.st_size - m->data_offset : 0));
	}
	a->count++;
	return AF_OK;
}

static const char *
compressed_whole(const uint8_t *b, size_t n)
{
	if (n >= 2 && b[0] == 0x1f && b[1] == 0x8b)
		return "is gzip-compressed; an artifact is a plain tar: run 'gunzip' on it first";
	if (n >= 6 && memcmp(b, "\xfd" "7zXZ\0", 6) == 0)
		return "is xz-compressed; an artifact is a plain tar: run 'unxz' on it first";
	if (n >= 4 && memcmp(b, "\x28\xb5\x2f\xfd", 4) == 0)
		return "is zstd-compressed; an artifact is a plain tar: run 'unzstd' on it first";
	return NULL;
}

/* The first member must be a tar header named version*, or this is no artifact. */
static enum af_err
check_first(struct artifact *a, enum af_err err, const struct af_tar_entry *e,
    const struct af_reason *tarwhy, struct af_reason *why)
{
	uint8_t head[8];
	size_t got = 0;
	const char *compressed;

	if (a->st.st_size == 0)
		return af_fail(why, AF_EFORMAT, AF_C_NOT_ARTIFACT, "is empty; expected a Mender "
		    "artifact (.mender)");
	file_pread(a, head, sizeof(head), 0, &got);
	if ((compressed = compressed_whole(head, got)) != NULL)
		return af_fail(why, AF_EFORMAT, AF_C_NOT_ARTIFACT, "%s", compressed);
	if (err == AF_END)
		return af_fail(why, AF_EFORMAT, AF_C_NOT_ARTIFACT, "is an empty tar archive, not a "
		    "Mender artifact");
	if (err != AF_OK)
		return af_fail(why, err == AF_EIO ? AF_EIO : AF_EFORMAT, err == AF_EIO ? AF_C_IO :
		    AF_C_NOT_ARTIFACT, "is not a tar archive, so not a Mender artifact (%s)",
		    tarwhy->text);
	if (strncmp(e->name, "version", 7) != 0) {
		af_reason_set(why, AF_C_NOT_ARTIFACT, "is not a Mender artifact: its first member "
		    "is '%.100s', not 'version'", e->name);
		af_one_line(why->text);
		return AF_EFORMAT;
	}
	return AF_OK;
}

/* The outer tar's end: a missing end-of-archive is only worth a warning. */
static void
judge_end(struct artifact *a, const struct af_tar *tar)
{
	struct af_tar_end end = af_tar_end(tar);

	if (!end.marked)
		af_problem_add(a->problems, AF_WARNING, AF_C_TAR_END, "artifact", "the outer tar "
		    "ends at offset %llu without end-of-archive blocks; the file may have been cut "
		    "short: compare its size with the original", (unsigned long long)end.offset);
}

static enum af_err
index_next(struct artifact *a, struct af_tar *tar, enum af_member_kind *prev, bool *more,
    struct af_reason *why)
{
	struct af_tar_entry e;
	struct af_reason tarwhy;	/* what the tar says, which why may quote */
	enum af_err err = af_tar_next(tar, &e, &tarwhy);

	*more = false;
	if (a->count == 0 && (err = check_first(a, err, &e, &tarwhy, why)) != AF_OK) {
		af_tar_entry_clear(&e);
		return err;
	}
	if (err == AF_END) {
		judge_end(a, tar);
		return AF_OK;
	}
	if (err == AF_ENOMEM)
		return err;
	if (err == AF_EFORMAT && e.name != NULL) {	/* one member refused; read on */
		af_problem_add(a->problems, AF_ERROR, tarwhy.code, "artifact", "the outer tar's "
		    "%s; it is ignored", tarwhy.text);
		af_tar_entry_clear(&e);
		*more = true;
		return AF_OK;
	}
	if (err != AF_OK && af_tar_end(tar).trailer) {
		af_problem_add(a->problems, AF_ERROR, tarwhy.code, "artifact", "the outer tar %s: "
		    "remove them (truncate -s %llu ARTIFACT) or rebuild the artifact", tarwhy.text,
		    (unsigned long long)af_tar_end(tar).offset);
		return AF_OK;
	}
	if (err != AF_OK) {
		af_problem_add(a->problems, AF_ERROR, AF_C_DAMAGED, "artifact", "the outer tar is "
		    "damaged after '%s': %s", a->members[a->count - 1].name, tarwhy.text);
		/* what a refusal to mount names, rather than what is missing after it */
		if (a->damage == NULL && asprintf(&a->damage, "the outer tar is damaged after "
		    "'%s': %s", a->members[a->count - 1].name, tarwhy.text) < 0)
			a->damage = NULL;
		return AF_OK;
	}
	if (a->count == MAX_MEMBERS) {
		af_problem_add(a->problems, AF_ERROR, AF_C_TOO_BIG, "artifact", "has more than %d "
		    "members; the rest are ignored", MAX_MEMBERS);
		af_tar_entry_clear(&e);
		return AF_OK;
	}
	err = add_member(a, &e, prev);
	af_tar_entry_clear(&e);
	*more = err == AF_OK && !a->members[a->count - 1].truncated;
	return err;
}

static enum af_err
index_members(struct artifact *a, struct af_reason *why)
{
	struct af_tar_source src = { file_pread, a };
	enum af_member_kind prev = AF_MEMBER_UNKNOWN;
	struct af_tar *tar;
	enum af_err err;
	bool more = true;

	if ((err = af_tar_open(&src, &tar)) != AF_OK)
		return err;
	while (more && (err = index_next(a, tar, &prev, &more, why)) == AF_OK)
		;
	af_tar_close(tar);
	return err;
}

/* Closes the descriptors from lo to hi; in a child after fork(), where only
 * system calls are safe.  close_range() needs Linux 5.9: before it, one by
 * one up to the limit the parent read (max_fd). */
static void
close_span(unsigned lo, unsigned hi, unsigned max_fd)
{
	if (lo > hi || close_range(lo, hi, 0) == 0)
		return;
	for (; lo <= hi && lo < max_fd; lo++)
		close((int)lo);
}

/* Closes every descriptor but a and b. */
static void
close_all_but(int a, int b, unsigned max_fd)
{
	unsigned lo = (unsigned)(a < b ? a : b), hi = (unsigned)(a < b ? b : a);

	if (lo > 0)
		close_span(0, lo - 1, max_fd);
	close_span(lo + 1, hi - 1, max_fd);
	close_span(hi + 1, ~0u, max_fd);
}

/*
 * The last close of a file that is no longer linked (a re-sign renamed its
 * copy over it) frees its blocks, which for an artifact of a few hundred MiB
 * takes ext4 longer than the whole commit: that close is left to a
 * grandchild, so that the unmount does not wait for it.  The grandchild
 * keeps fd until this process has closed its own copy (a pipe's end of
 * file says so), so that its close is the last one.
 */
static void
close_unlinked(int fd)
{
	long open_max = sysconf(_SC_OPEN_MAX);
	unsigned max_fd = open_max > 0 && open_max < 1 << 20 ? (unsigned)open_max : 1u << 20;
	int hold[2];
	char c;
	pid_t pid;

	if (pipe2(hold, O_CLOEXEC) != 0) {
		close(fd);
		return;
	}
	if ((pid = fork()) == 0) {
		if (_Fork() == 0) {	/* no atfork handlers in a forked child */
			/* first the pipe's write end: a copy left open would
			 * keep the read below waiting forever */
			close(hold[1]);
			close_all_but(fd, hold[0], max_fd);
			while (read(hold[0], &c, 1) < 0 && errno == EINTR)
				;
			close(fd);
		}
		_exit(0);
	}
	if (pid > 0)
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
	close(hold[0]);
	close(fd);
	close(hold[1]);
}

static void
free_artifact(struct artifact *a, bool defer_unlinked_close)
{
	struct stat st;
	size_t i;

	for (i = 0; i < a->count; i++)
		free(a->members[i].name);
	for (i = 0; i < a->payload_count; i++)
		af_payload_free(a->payloads[i]);
	for (i = 0; i < SMALL_KINDS; i++)
		free(a->small[i].bytes);
	af_manifest_clear(&a->manifest[0]);
	af_manifest_clear(&a->manifest[1]);
	af_header_clear(&a->header[0]);
	af_header_clear(&a->header[1]);
	free(a->payloads);
	free(a->payload_index);
	free(a->members);
	af_problems_free(a->problems);
	if (a->fd >= 0 && defer_unlinked_close && fstat(a->fd, &st) == 0 && st.st_nlink == 0)
		close_unlinked(a->fd);
	else if (a->fd >= 0)
		close(a->fd);
	free(a->damage);
	free(a->path);
	free(a);
}

enum af_err
artifact_open(const char *path, struct artifact **out, struct af_reason *why)
{
	struct artifact *a = calloc(1, sizeof(*a));
	enum af_err err;

	*out = NULL;
	af_reason_clear(why);
	if (a == NULL || (a->path = strdup(path)) == NULL ||
	    (a->problems = af_problems_new()) == NULL) {
		if (a != NULL)
			free(a->path);
		free(a);
		return af_fail(why, AF_ENOMEM, AF_C_NO_MEMORY, "out of memory");
	}
	a->version = 3;
	if ((a->fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(a->fd, &a->st) < 0) {
		af_reason_set(why, AF_C_IO, "cannot open: %s", strerror(errno));
		free_artifact(a, false);
		return AF_EIO;
	}
	if (!S_ISREG(a->st.st_mode)) {
		free_artifact(a, false);
		return af_fail(why, AF_EFORMAT, AF_C_NOT_ARTIFACT, "is not a regular file; give "
		    "the path of a .mender file");
	}
	if ((err = index_members(a, why)) == AF_OK)
		err = artifact_load(a, why);
	if (err != AF_OK) {
		if (err == AF_ENOMEM)
			af_reason_set(why, AF_C_NO_MEMORY, "out of memory");
		else if (why != NULL && why->code == AF_C_NONE)
			af_reason_set(why, af_code_of(err), "%s", af_strerror(err));
		if (why != NULL)
			af_one_line(why->text);	/* it may quote member names */
		free_artifact(a, false);
		return err;
	}
	*out = a;
	return AF_OK;
}

void
artifact_close(struct artifact *a)
{
	if (a != NULL)
		free_artifact(a, false);
}

void
artifact_close_replaced(struct artifact *a)
{
	if (a != NULL)
		free_artifact(a, true);
}

const char *artifact_path(const struct artifact *a) { return a->path; }
int artifact_format_version(const struct artifact *a) { return a->version; }
const struct stat *artifact_stat(const struct artifact *a) { return &a->st; }
struct af_problems *artifact_problems(const struct artifact *a) { return a->problems; }
const char *artifact_damage(const struct artifact *a) { return a->damage; }
size_t artifact_member_count(const struct artifact *a) { return a->count; }

const struct af_member *
artifact_member_at(const struct artifact *a, size_t i)
{
	return i < a->count ? &a->members[i] : NULL;
}

const struct af_member *
artifact_member(const struct artifact *a, enum af_member_kind kind, unsigned index)
{
	size_t i;

	for (i = 0; i < a->count; i++)
		if (a->members[i].shown && a->members[i].kind == kind &&
		    a->members[i].index == index)
			return &a->members[i];
	return NULL;
}

enum af_err
artifact_member_pread(const struct artifact *a, const struct af_member *m,
    void *buf, size_t len, uint64_t off, size_t *got)
{
	*got = 0;
	if (off >= m->size)
		return AF_OK;
	if (len > m->size - off)
		len = (size_t)(m->size - off);
	return file_pread((void *)a, buf, len, m->data_offset + off, got);
}

enum af_err
artifact_read_member(struct artifact *a, const struct af_member *m, uint8_t **out)
{
	size_t got;
	enum af_err err;

	if ((*out = malloc(m->size + 1)) == NULL)
		return AF_ENOMEM;
	err = artifact_member_pread(a, m, *out, m->size, 0, &got);
	if (err == AF_OK && got != m->size)
		err = AF_ETRUNC;
	if (err != AF_OK) {
		free(*out);
		*out = NULL;
		return err;
	}
	(*out)[m->size] = '\0';
	return AF_OK;
}

