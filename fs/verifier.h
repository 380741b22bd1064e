/*
 * The checksum pass of a mount, run once on a thread of its own the first
 * time someone asks, and kept: its result does not change while the artifact
 * does not.  Readers wait for it; anyone can watch its progress meanwhile.
 */
#ifndef FS_VERIFIER_H
#define FS_VERIFIER_H

#include <stddef.h>

#include "artifact/verify.h"

struct fs_verifier;

struct fs_verifier *fs_verifier_new(struct artifact *a);
/* Stops a running pass and frees everything. */
void fs_verifier_free(struct fs_verifier *v);

/* Starts the pass if needed and waits for it; NULL on memory exhaustion.
 * The result stays valid until fs_verifier_free. */
const struct af_checks *fs_verifier_wait(struct fs_verifier *v);

/* The result if the pass is done, else NULL; never starts or waits for it. */
const struct af_checks *fs_verifier_result(struct fs_verifier *v);
/* One line: "idle", "checking data/0000/rootfs.ext4: 512 MiB of 1.5 GiB (33%)",
 * or "done in 3.2 s". */
void fs_verifier_progress(struct fs_verifier *v, char *buf, size_t len);

#endif
