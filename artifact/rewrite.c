#include "artifact/rewrite.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "artifact/artifact_impl.h"
#include "artifact/place_impl.h"
#include "artifact/sigcheck.h"
#include "artifact/tar.h"
#include "crypto/base64.h"

#define TEMP_TAG ".artifactfs-"

/* The first failed checksum, the first broken rule or a damaged signature:
 * what stops a signature; AF_OK if nothing does. */
static enum af_err
unverified(const struct artifact *a, const struct af_checks *checks, struct af_reason *why)
{
	const struct af_problems *problems = artifact_problems(a);
	const struct af_problem *pr;
	struct af_sigcheck sig;
	bool damaged;
	size_t i;

	for (i = 0; i < checks->count; i++) {
		const struct af_check *c = &checks->items[i];
		if (c->result == AF_CHECK_OK)
			continue;
		return af_fail(why, AF_EFORMAT, AF_C_CHECKSUM, "checksum %s: %s (%zu of %zu "
		    "checksums failed; see signature-status): artifactfs signs only an artifact "
		    "whose checksums all match; rebuild it, or copy it again", AF_SHORT(c->name),
		    af_check_result_word(c->result), checks->failed, checks->count);
	}
	for (i = 0; i < af_problems_count(problems); i++) {
		if ((pr = af_problems_get(problems, i))->severity != AF_ERROR)
			continue;
		return af_fail(why, AF_EFORMAT, AF_C_PROBLEM, "it breaks a format rule: %s: %s "
		    "(%zu errors; see signature-status): artifactfs signs only an artifact that "
		    "breaks none", pr->where, pr->text, af_problems_errors(problems));
	}
	if (af_check_signature(a, NULL, 0, &sig) != AF_OK)
		return af_fail(why, AF_ENOMEM, AF_C_NO_MEMORY, "out of memory");
	damaged = sig.present && !sig.decoded;
	if (damaged)
		af_reason_set(why, sig.loaded ? AF_C_SIG_NOT_BASE64 : AF_C_SIG_UNREADABLE,
		    "its manifest.sig is damaged (%s): only an unsigned artifact or one signed "
		    "with another key is re-signed; rebuild it, or re-sign it with "
		    "mender-artifact sign -f", sig.loaded ? "not base64" : "unreadable");
	af_sigcheck_clear(&sig);
	return damaged ? AF_EFORMAT : AF_OK;
}

enum af_err
af_rewrite_refusal(const struct artifact *a, const struct af_place *p,
    const struct af_checks *checks, struct af_reason *why)
{
	const struct af_manifest *m = artifact_manifest(a, false);
	struct af_reason changed;
	size_t i;

	if (m == NULL)
		return af_fail(why, AF_EFORMAT, AF_C_RESIGN_REFUSED, "the artifact has no "
		    "readable manifest to sign");
	if (!m->canonical)
		return af_fail(why, AF_EFORMAT, AF_C_RESIGN_REFUSED, "the manifest is not "
		    "canonical (see signature-status): a signature over it would mean different "
		    "bytes to mender-artifact and to the C++ client; rebuild the artifact with "
		    "mender-artifact write");
	for (i = 0; i < a->count; i++)
		if (a->members[i].truncated)
			return af_fail(why, AF_ETRUNC, AF_C_TRUNCATED, "the artifact is truncated; "
			    "copy it again");
	if (af_place_changed(p, &changed))
		return af_fail(why, AF_EFORMAT, AF_C_CHANGED, "the artifact changed on disk since "
		    "it was mounted (%s); unmount and mount it again", changed.text);
	return unverified(a, checks, why);
}

static void
octal(char *field, size_t width, uint64_t value)
{
	snprintf(field, width, "%0*llo", (int)width - 1, (unsigned long long)value);
}

/* The ustar header mender-artifact's sign writes for manifest.sig. */
static void
signature_header(unsigned char block[AF_TAR_BLOCK], size_t size)
{
	unsigned sum = 0;
	size_t i;

	memset(block, 0, AF_TAR_BLOCK);
	memcpy(block, "manifest.sig", 12);
	octal((char *)block + 100, 8, 0644);
	octal((char *)block + 108, 8, 0);
	octal((char *)block + 116, 8, 0);
	octal((char *)block + 124, 12, size);
	octal((char *)block + 136, 12, 0);
	block[156] = '0';
	memcpy(block + 257, "ustar\0" "00", 8);
	octal((char *)block + 329, 8, 0);
	octal((char *)block + 337, 8, 0);
	memset(block + 148, ' ', 8);
	for (i = 0; i < AF_TAR_BLOCK; i++)
		sum += block[i];
	snprintf((char *)block + 148, 8, "%06o", sum);
	block[155] = ' ';
}

/*
 * The temporary file is written in chunks, each sent on to the disk once
 * complete: the disk then writes one while the next is copied, instead of all
 * of them at the fsync, which was faster on ext4 (this file's figures: git
 * log artifact/rewrite.c).  Chunks end at multiples of CHUNK in the file:
 * shifted by the few KiB of members before the payload, they were no faster
 * than one piece.
 */
#define CHUNK ((uint64_t)4 << 20)

struct af_rewrite {
	const struct artifact *a;
	const struct af_place *p;
	char temp[300];		/* name of the temp file while it has one */
	char note[200];		/* what af_rewrite_note says, or "" */
	int fd;			/* the temporary file */
	uint64_t written;	/* its size so far */
	char *sig;		/* base64, what manifest.sig will hold */
	size_t sig_len;
	pthread_t thread;
	bool started;
	atomic_bool stop;	/* abort asks the thread to give up between chunks */
	const char *failed;	/* the step the thread failed at, errno in error */
	int error;
	pthread_mutex_t lock;	/* for what the thread tells drop_behind: */
	pthread_cond_t progressed;
	uint64_t read;		/* how far it has read the artifact */
	bool done;		/* that it is done */
};

static bool
write_all(struct af_rewrite *r, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t n;

	while (len > 0) {
		if ((n = write(r->fd, p, len)) < 0) {
			if (errno == EINTR)
				continue;
			return false;
		}
		p += n;
		len -= (size_t)n;
		r->written += (uint64_t)n;
	}
	return true;
}

/*
 * Copies up to len bytes at *pos of the artifact to the end of the temporary
 * file, in the kernel when it can; returns how many, or -1.  Not through a
 * buffer of ours even when the bytes move by part of a page (the kernel then
 * writes each page in two pieces): measured, that was faster in some runs,
 * much slower in others, and slower at the median.
 */
static ssize_t
copy_some(struct af_rewrite *r, loff_t *pos, uint64_t len)
{
	char buf[1 << 16];
	ssize_t n;

	do
		n = copy_file_range(r->a->fd, pos, r->fd, NULL, len, 0);
	while (n < 0 && errno == EINTR);
	if (n > 0)
		r->written += (uint64_t)n;
	if (n >= 0 || (errno != EXDEV && errno != ENOSYS && errno != EINVAL &&
	    errno != EOPNOTSUPP))
		return n;
	if ((n = pread(r->a->fd, buf, len < sizeof(buf) ? len : sizeof(buf), *pos)) > 0 &&
	    !write_all(r, buf, (size_t)n))
		return -1;
	if (n > 0)
		*pos += n;
	return n;
}

/* Starts writing out the chunk just completed: a hint, whose errors show at
 * the fsync. */
static void
send_to_disk(struct af_rewrite *r)
{
	sync_file_range(r->fd, (off_t)(r->written - CHUNK), (off_t)CHUNK,
	    SYNC_FILE_RANGE_WRITE);
}

/* Tells drop_behind how far the artifact has been read, or that the thread
 * is done. */
static void
publish(struct af_rewrite *r, uint64_t read, bool done)
{
	pthread_mutex_lock(&r->lock);
	if (read > r->read)
		r->read = read;
	r->done = r->done || done;
	pthread_cond_signal(&r->progressed);
	pthread_mutex_unlock(&r->lock);
}

/* Copies len bytes at off of the artifact, up to the end of a chunk at a
 * time. */
static bool
copy_range(struct af_rewrite *r, uint64_t off, uint64_t len)
{
	loff_t pos = (loff_t)off;
	uint64_t step;
	ssize_t n;

	while (len > 0) {
		if (atomic_load(&r->stop)) {
			errno = ECANCELED;
			return false;
		}
		step = CHUNK - r->written % CHUNK;
		if ((n = copy_some(r, &pos, len < step ? len : step)) <= 0) {
			if (n == 0)
				errno = EIO;	/* the artifact got shorter */
			return false;
		}
		len -= (uint64_t)n;
		if (r->written % CHUNK == 0) {
			send_to_disk(r);
			publish(r, (uint64_t)pos, false);
		}
	}
	return true;
}

static bool
write_signature(struct af_rewrite *r)
{
	unsigned char block[AF_TAR_BLOCK];
	static const unsigned char zeros[AF_TAR_BLOCK];

	signature_header(block, r->sig_len);
	return write_all(r, block, sizeof(block)) && write_all(r, r->sig, r->sig_len) &&
	    write_all(r, zeros, (AF_TAR_BLOCK - r->sig_len % AF_TAR_BLOCK) % AF_TAR_BLOCK);
}

static bool
write_members(struct af_rewrite *r)
{
	static const unsigned char end[2 * AF_TAR_BLOCK];
	const struct artifact *a = r->a;
	size_t i;
	uint64_t padded;

	for (i = 0; i < a->count; i++) {
		const struct af_member *m = &a->members[i];
		if (m->kind == AF_MEMBER_SIGNATURE)
			continue;	/* replaced */
		if (!af_tar_padded(m->size, &padded) ||
		    !copy_range(r, m->header_offset, m->data_offset - m->header_offset + padded))
			return false;
		if (m->kind == AF_MEMBER_MANIFEST && m->shown && !write_signature(r))
			return false;
	}
	return write_all(r, end, sizeof(end));
}

/* Removes the temporary file, if it still has its name. */
static void
drop_temp(struct af_rewrite *r)
{
	if (r->temp[0] != '\0')
		unlinkat(r->p->dirfd, r->temp, 0);
	r->temp[0] = '\0';
	if (r->fd >= 0)
		close(r->fd);
	r->fd = -1;
}

/* The thread: the whole copy, flushed.  A failed copy is removed at once, so
 * that a full disk gets its space back before the unmount. */
static void *
work(void *arg)
{
	struct af_rewrite *r = arg;

	if (!write_members(r))
		r->failed = "write";
	else if (fsync(r->fd) != 0)
		r->failed = "flush to disk";
	if (r->failed != NULL) {
		r->error = errno;
		drop_temp(r);
	}
	publish(r, 0, true);
	return NULL;
}

/*
 * The owner and group as `cp -p` keeps them: root keeps both; a user keeps
 * the owner (themselves) and the group if they are in it, and otherwise the
 * file keeps the group it was made with, which the note says.  The set-ID
 * bits go with a group that is not kept.
 */
static bool
keep_owner(struct af_rewrite *r, struct af_reason *why)
{
	const struct stat *st = artifact_stat(r->a);
	mode_t mode = st->st_mode & 07777;
	struct stat got;

	if (fchown(r->fd, st->st_uid, st->st_gid) != 0) {
		if (errno == EPERM && st->st_uid != geteuid()) {
			af_reason_set(why, AF_C_RESIGN_FAILED, "cannot keep the owner of the "
			    "artifact (uid %u): only root can give a file to another user; re-sign it "
			    "as uid %u or as root, or mount a copy of your own", (unsigned)st->st_uid,
			    (unsigned)st->st_uid);
			return false;
		}
		if (errno != EPERM || fstat(r->fd, &got) != 0) {
			af_reason_set(why, AF_C_RESIGN_FAILED, "cannot keep the owner of the "
			    "artifact in %s: %s", AF_SHORT(r->p->dir), strerror(errno));
			return false;
		}
		snprintf(r->note, sizeof(r->note), "its group is now %u (was %u): you are not in "
		    "group %u, so, as cp -p does, the new file keeps the group it was made with",
		    (unsigned)got.st_gid, (unsigned)st->st_gid, (unsigned)st->st_gid);
		mode &= ~(mode_t)(S_ISUID | S_ISGID);
	}
	if (fchmod(r->fd, mode) != 0) {
		af_reason_set(why, AF_C_RESIGN_FAILED, "cannot keep the mode of the artifact in "
		    "%s: %s", AF_SHORT(r->p->dir), strerror(errno));
		return false;
	}
	return true;
}

/*
 * A named file next to the artifact, made through the mount-time directory
 * fd.  Not O_TMPFILE: on ext4, copy_file_range into an unnamed file ran
 * several times slower.  A killed run leaves the name; the next mount
 * removes it.
 */
static bool
make_temp(struct af_rewrite *r, struct af_reason *why)
{
	const struct af_place *p = r->p;

	if (p->unwritable != 0) {
		af_reason_set(why, AF_C_RESIGN_FAILED, "cannot open the directory %s, where the "
		    "re-signed artifact must be made: %s", AF_SHORT(p->dir),
		    strerror(p->unwritable));
		return false;
	}
	snprintf(r->temp, sizeof(r->temp), ".%s" TEMP_TAG "%d.tmp", p->base, (int)getpid());
	if ((r->fd = openat(p->dirfd, r->temp, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) < 0) {
		r->temp[0] = '\0';
		af_reason_set(why, AF_C_RESIGN_FAILED, "cannot create a temporary file in %s, "
		    "where the re-signed artifact must be made: %s", AF_SHORT(p->dir), strerror(errno));
		return false;
	}
	return keep_owner(r, why);
}

static struct af_rewrite *
job_new(const struct artifact *a, const struct af_place *p, const char *sig, size_t sig_len)
{
	struct af_rewrite *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	r->a = a;
	r->p = p;
	r->fd = -1;
	atomic_init(&r->stop, false);
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->progressed, NULL);
	r->sig_len = sig_len;
	if ((r->sig = malloc(sig_len)) == NULL) {
		af_rewrite_abort(r);
		return NULL;
	}
	memcpy(r->sig, sig, sig_len);
	return r;
}

/* The copy with the manifest.sig text as given (sig_len bytes, copied). */
static struct af_rewrite *
start_copy(const struct artifact *a, const struct af_place *p, const char *sig,
    size_t sig_len, struct af_reason *why)
{
	struct af_rewrite *r = job_new(a, p, sig, sig_len);
	int err;

	if (r == NULL) {
		af_reason_set(why, AF_C_NO_MEMORY, "out of memory");
		return NULL;
	}
	if (!make_temp(r, why)) {
		af_rewrite_abort(r);
		return NULL;
	}
	if ((err = pthread_create(&r->thread, NULL, work, r)) != 0) {
		af_reason_set(why, AF_C_RESIGN_FAILED, "cannot start a thread to write the "
		    "re-signed artifact: %s", strerror(err));
		af_rewrite_abort(r);
		return NULL;
	}
	r->started = true;
	return r;
}

struct af_rewrite *
af_rewrite_sign(const struct artifact *a, const struct af_place *p, const uint8_t *sig,
    size_t sig_len, enum cr_sig_form form, struct af_reason *why)
{
	struct af_rewrite *r;
	char *text;

	if (form != CR_SIG_RSA && form != CR_SIG_ECDSA_RAW) {
		af_reason_set(why, AF_C_RESIGN_REFUSED, "the signature is %s, which "
		    "mender-artifact does not write (RSA PKCS#1 v1.5 or ECDSA raw r||s)", cr_sig_form_name(form));
		return NULL;
	}
	if ((text = cr_base64_encode(sig, sig_len)) == NULL) {
		af_reason_set(why, AF_C_NO_MEMORY, "out of memory");
		return NULL;
	}
	r = start_copy(a, p, text, strlen(text), why);
	free(text);
	return r;
}

const char *
af_rewrite_note(const struct af_rewrite *r)
{
	return r->note[0] != '\0' ? r->note : NULL;
}

/* Stops the thread if it is still copying; returns once it is gone. */
static void
join(struct af_rewrite *r, bool stop)
{
	if (stop)
		atomic_store(&r->stop, true);
	if (r->started)
		pthread_join(r->thread, NULL);
	r->started = false;
}

void
af_rewrite_abort(struct af_rewrite *r)
{
	if (r == NULL)
		return;
	join(r, true);
	drop_temp(r);
	free(r->sig);
	pthread_cond_destroy(&r->progressed);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

/*
 * Waits for the thread, dropping meanwhile from the page cache the pages of
 * the artifact it has read: once the rename unlinks the artifact, its last
 * close would free them all, after the rename, while this thread is idle
 * until then.  Only at unmount: nothing reads the artifact.
 */
static void
drop_behind(struct af_rewrite *r)
{
	uint64_t dropped = 0, upto;

	pthread_mutex_lock(&r->lock);
	for (;;) {
		while (r->read == dropped && !r->done)
			pthread_cond_wait(&r->progressed, &r->lock);
		if (r->done)
			break;
		upto = r->read;
		pthread_mutex_unlock(&r->lock);
		posix_fadvise(r->a->fd, (off_t)dropped, (off_t)(upto - dropped),
		    POSIX_FADV_DONTNEED);
		dropped = upto;
		pthread_mutex_lock(&r->lock);
	}
	pthread_mutex_unlock(&r->lock);
}

/* The one failure that comes after the re-signed artifact is in place, and
 * the refusal when the artifact changed since the mount. */
static const char AFTER_RENAME[] = "flush the directory";
static const char CHANGED[] = "changed";

/* Everything after the copy, in order: the step that failed (errno says why;
 * changed, what changed), or NULL once the re-signed artifact is on disk. */
static const char *
complete(struct af_rewrite *r, struct af_reason *changed)
{
	/* Checked before the wait, to stop a copy made in vain, and again right
	 * before the rename. */
	if (af_place_changed(r->p, changed)) {
		join(r, true);
		return CHANGED;
	}
	drop_behind(r);
	join(r, false);
	if (r->failed != NULL) {
		errno = r->error;
		return r->failed;
	}
	if (af_place_changed(r->p, changed))
		return CHANGED;
	if (renameat(r->p->dirfd, r->temp, r->p->dirfd, r->p->base) != 0)
		return "rename over the artifact";
	r->temp[0] = '\0';
	if (fsync(r->p->dirfd) != 0)
		return AFTER_RENAME;
	return NULL;
}

enum af_err
af_rewrite_finish(struct af_rewrite *r, struct af_reason *why)
{
	struct af_reason changed;
	const char *failed = complete(r, &changed);
	int saved = errno;

	if (failed == CHANGED)
		af_reason_set(why, AF_C_CHANGED, "not re-signed: the artifact changed on disk "
		    "since it was mounted (%s); it is left as it is", changed.text);
	else if (failed == AFTER_RENAME)
		af_reason_set(why, AF_C_IO, "re-signed, but flushing %s failed: %s; the new "
		    "artifact is in place but may not survive a crash: run sync", AF_SHORT(r->p->dir),
		    strerror(saved));
	else if (failed != NULL)
		af_reason_set(why, AF_C_RESIGN_FAILED, "not re-signed: could not %s in %s: %s; "
		    "the artifact is unchanged", failed, AF_SHORT(r->p->dir), strerror(saved));
	else
		af_reason_set(why, AF_C_NONE, "%s", r->note);
	af_rewrite_abort(r);
	if (failed == NULL)
		return AF_OK;
	return failed == CHANGED ? AF_EFORMAT : AF_EIO;
}

/* ".NAME.artifactfs-PID.tmp" of a process that is gone, or of this one
 * (called before it makes any): a crashed one may have had the same PID. */
static bool
is_stale_temp(const char *entry, const char *base)
{
	size_t n = strlen(base);
	char *end;
	long pid;

	if (entry[0] != '.' || strncmp(entry + 1, base, n) != 0 ||
	    strncmp(entry + 1 + n, TEMP_TAG, strlen(TEMP_TAG)) != 0)
		return false;
	pid = strtol(entry + 1 + n + strlen(TEMP_TAG), &end, 10);
	if (strcmp(end, ".tmp") != 0 || pid <= 0)
		return false;
	return pid == getpid() || (kill((pid_t)pid, 0) != 0 && errno == ESRCH);
}

void
af_rewrite_cleanup(const struct af_place *p)
{
	struct dirent *e;
	DIR *d;
	int fd = openat(p->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0 || (d = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((e = readdir(d)) != NULL)
		if (is_stale_temp(e->d_name, p->base))
			unlinkat(p->dirfd, e->d_name, 0);
	closedir(d);
}
