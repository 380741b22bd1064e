/*
 * Checksums: every manifest entry against the bytes a Mender client hashes
 * (the raw version and header members, each payload file decompressed), and
 * every payload file against the manifests.  One pass over each payload.
 */
#ifndef AF_VERIFY_H
#define AF_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "artifact/artifact.h"

enum af_check_result {
	AF_CHECK_OK,
	AF_CHECK_MISMATCH,	/* hashed, and the sum differs */
	AF_CHECK_MISSING,	/* listed, but there is no such file */
	AF_CHECK_UNLISTED,	/* a payload file no manifest lists */
	AF_CHECK_UNREADABLE,	/* could not be read or decompressed */
};

struct af_check {
	char *name;		/* as the manifest names it: "data/0000/rootfs.ext4" */
	bool augment;		/* listed in manifest-augment (not signed) */
	enum af_check_result result;
	char expected[65];	/* from the manifest; empty when unlisted */
	char actual[65];	/* computed; empty when not hashed */
	char *detail;		/* why unreadable, or NULL */
};

struct af_checks {
	struct af_check *items;
	size_t count;
	size_t failed;		/* items whose result is not AF_CHECK_OK */
};

/* Called as hashing goes; name is what is being hashed.  Returning false
 * stops the work: af_verify_checksums then returns AF_ECANCELED. */
typedef bool (*af_progress_fn)(void *ctx, const char *name, uint64_t done,
    uint64_t total);

/* Fails only on memory exhaustion or cancellation; every other failure is a
 * check result. */
enum af_err af_verify_checksums(struct artifact *a, af_progress_fn progress,
    void *ctx, struct af_checks *out);
void af_checks_clear(struct af_checks *checks);

const char *af_check_result_word(enum af_check_result result);

#endif
