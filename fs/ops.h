/* The FUSE operations over the mounted tree. */
#ifndef FS_OPS_H
#define FS_OPS_H

#define FUSE_USE_VERSION 35
#include <fuse.h>
#include <stdbool.h>

#include <pthread.h>

#include "artifact/artifact.h"
#include "artifact/rewrite.h"
#include "fs/keys.h"
#include "fs/signer.h"
#include "fs/tree.h"
#include "fs/unmount.h"
#include "fs/verifier.h"

struct fs_mount {
	struct artifact *artifact;
	struct af_place *place;		/* its directory, opened at mount */
	struct fs_node *root;
	struct fs_keyring *keys;
	struct fs_verifier *verifier;
	struct fs_signer *signer;
	uid_t uid;
	gid_t gid;
	bool read_only;
	bool allow_new_key;		/* -o allow_new_key: stage a key no verify key accepts */
	pthread_mutex_t control_lock;
	char control_error[AF_REASON_MAX + 64];	/* why the last control/ write was refused */
	struct fs_outcome outcome;	/* where artifactfs -u waits for the end */
	bool mounted;			/* the kernel mount was made (init ran) */
	/* Under control_lock: what each live file read as when last opened (its
	 * st_size until the next open), and which control files were removed
	 * (rm, as install(1) does before it creates the file again). */
	size_t live_size[FS_LIVE_KINDS];
	bool control_gone[FS_LIVE_KINDS];
	/* Every handle open() made and release() has not freed yet: the kernel
	 * sends RELEASE asynchronously, and one still queued at unmount is
	 * never delivered, so what is left here is freed after fuse_main. */
	pthread_mutex_t handle_lock;
	struct fs_handle *open_handles;
};

extern const struct fuse_operations fs_operations;

/* Frees the handles the kernel never released; only after fuse_main. */
void fs_mount_free_handles(struct fs_mount *m);

/* The one place an af_err becomes an errno (negative, for FUSE). */
int fs_errno(enum af_err err);

#endif
