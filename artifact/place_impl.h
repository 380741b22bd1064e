/* The inside of struct af_place (rewrite.h), for place.c and rewrite.c only. */
#ifndef AF_PLACE_IMPL_H
#define AF_PLACE_IMPL_H

#include <sys/types.h>
#include <time.h>

#include "artifact/rewrite.h"

struct af_place {
	int dirfd;		/* the directory, opened at mount */
	char *dir, *base;	/* its path (for messages only) and the artifact's name */
	dev_t dev;		/* the artifact mounted: identity and size */
	ino_t ino;
	off_t size;
	struct timespec mtime, ctime;
	int unwritable;		/* errno when the directory could only be opened O_PATH */
};

#endif
