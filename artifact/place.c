/*
 * Where a mounted artifact lives (rewrite.h): its directory, opened once at
 * mount, and the identity of the file under its name then, so that
 * re-signing writes only there and notices a file changed or replaced.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "artifact/place_impl.h"

struct af_place *
af_place_open(const struct artifact *a, struct af_reason *why)
{
	const struct stat *st = artifact_stat(a);
	struct af_place *p = calloc(1, sizeof(*p));
	char *d = strdup(artifact_path(a)), *b = strdup(artifact_path(a));
	struct stat now;

	if (p != NULL)
		p->dirfd = -1;
	if (p == NULL || d == NULL || b == NULL ||
	    (p->dir = strdup(dirname(d))) == NULL || (p->base = strdup(basename(b))) == NULL) {
		af_reason_set(why, AF_C_NO_MEMORY, "out of memory");
		goto fail;
	}
	p->dev = st->st_dev;
	p->ino = st->st_ino;
	p->size = st->st_size;
	p->mtime = st->st_mtim;
	p->ctime = st->st_ctim;
	/* read access makes the fsync possible; without it the artifact can still
	 * be looked at, and staging says why it cannot be re-signed */
	if ((p->dirfd = open(p->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		p->unwritable = errno;
		p->dirfd = open(p->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	}
	if (p->dirfd < 0) {
		af_reason_set(why, AF_C_IO, "cannot open its directory %s: %s", AF_SHORT(p->dir),
		    strerror(errno));
		goto fail;
	}
	/* the name must still be the file opened (the path was resolved once) */
	if (fstatat(p->dirfd, p->base, &now, AT_SYMLINK_NOFOLLOW) != 0 ||
	    now.st_dev != p->dev || now.st_ino != p->ino) {
		af_reason_set(why, AF_C_CHANGED, "was moved or replaced while it was being opened; "
		    "mount it again");
		goto fail;
	}
	free(d);
	free(b);
	return p;
fail:
	free(d);
	free(b);
	af_place_close(p);
	return NULL;
}

void
af_place_close(struct af_place *p)
{
	if (p == NULL)
		return;
	if (p->dirfd >= 0)
		close(p->dirfd);
	free(p->dir);
	free(p->base);
	free(p);
}

static bool
same_time(struct timespec a, struct timespec b)
{
	return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

bool
af_place_changed(const struct af_place *p, struct af_reason *how)
{
	struct stat now;

	if (fstatat(p->dirfd, p->base, &now, AT_SYMLINK_NOFOLLOW) != 0) {
		af_reason_set(how, AF_C_CHANGED, "it is gone: %s", strerror(errno));
		return true;
	}
	if (now.st_dev != p->dev || now.st_ino != p->ino) {
		af_reason_set(how, AF_C_CHANGED, "another file was put in its place");
		return true;
	}
	if (now.st_size != p->size || !same_time(now.st_mtim, p->mtime) ||
	    !same_time(now.st_ctim, p->ctime)) {
		af_reason_set(how, AF_C_CHANGED, "it was modified in place");
		return true;
	}
	af_reason_clear(how);
	return false;
}
