/* The FUSE operations over the mounted tree. */
#ifndef FS_OPS_H
#define FS_OPS_H

#define FUSE_USE_VERSION 35
#include <fuse.h>
#include <stdbool.h>

#include "artifact/artifact.h"
#include "fs/tree.h"

struct fs_mount {
	struct artifact *artifact;
	struct fs_node *root;
	uid_t uid;
	gid_t gid;
	bool read_only;
};

extern const struct fuse_operations fs_operations;

/* The one place an af_err becomes an errno (negative, for FUSE). */
int fs_errno(enum af_err err);

#endif
