/*
 * The signature-status report: the verdict of artifact/verdict.h rendered as
 * text, the verdict word on line 1, then its reasons, "key: value" lines
 * about the signature, the keys and the checksums, its warnings and its
 * notes.  It renders only: every rule is in artifact/verdict.c.  Knows no
 * FUSE, so --status prints the same text.
 */
#ifndef FS_STATUS_H
#define FS_STATUS_H

#include <stdbool.h>
#include <stddef.h>

#include "artifact/artifact.h"
#include "artifact/verdict.h"
#include "artifact/verify.h"
#include "fs/keys.h"

/* fs_status_report's verdict: artifact/verdict.h's words. */
enum fs_verdict {
	FS_VALID = AF_VERDICT_VALID,
	FS_INVALID = AF_VERDICT_INVALID,
	FS_UNSIGNED = AF_VERDICT_UNSIGNED,
	FS_UNVERIFIED = AF_VERDICT_UNVERIFIED,
};

/* One artifact's verdict, and how it reads. */
struct fs_status {
	struct af_verdict verdict;
	char *text;		/* the report */
	char **key_lines;	/* key i's line of the report, without "key N: " */
	size_t key_count;
};

/*
 * Checks a's signature with the ring's keys (locking it), decides the
 * verdict and renders it; false on memory exhaustion.  changed: how the file
 * on disk changed since open, or NULL; pending: lines about a staged
 * re-sign, put after the reasons, or NULL; sign_hint: how to sign an
 * unsigned artifact (a mount with no key staged says "write a private key
 * to control/sign-key"), or NULL.  out is to be cleared either way.
 */
bool fs_status_make(const struct artifact *a, struct fs_keyring *ring,
    const struct af_checks *checks, const char *changed, const char *pending,
    const char *sign_hint, struct fs_status *out);
void fs_status_clear(struct fs_status *s);

/* The report alone, malloc'd; NULL on memory exhaustion. */
char *fs_status_report(const struct artifact *a, struct fs_keyring *ring,
    const struct af_checks *checks, const char *changed, const char *pending,
    const char *sign_hint, enum fs_verdict *verdict);

#endif
