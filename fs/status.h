/*
 * The signature-status report: a verdict word on line 1, then "key: value"
 * lines that explain it.  Built from the artifact's problems, its checksums
 * and its signature check; knows no FUSE, so --status prints the same text.
 */
#ifndef FS_STATUS_H
#define FS_STATUS_H

#include "artifact/artifact.h"
#include "artifact/sigcheck.h"
#include "artifact/verify.h"
#include "fs/keys.h"

enum fs_verdict {
	FS_VALID,
	FS_INVALID,
	FS_UNSIGNED,
	FS_UNVERIFIED,
};

struct fs_status_input {
	const struct artifact *artifact;
	const struct af_checks *checks;
	const struct af_sigcheck *sig;
	const struct fs_keyring *ring;	/* locked by the caller */
	const char *changed;		/* how the file on disk changed since open, or NULL */
	const char *pending;		/* lines about a staged re-sign, or NULL */
	const char *sign_hint;		/* how to sign it, for an unsigned one, or NULL */
};

/* A malloc'd report; NULL on memory exhaustion. */
char *fs_status_render(const struct fs_status_input *in, enum fs_verdict *verdict);
const char *fs_verdict_word(enum fs_verdict verdict);

/* Checks the signature with the ring's keys (locking it) and renders. */
char *fs_status_report(const struct artifact *a, struct fs_keyring *ring,
    const struct af_checks *checks, const char *changed, const char *pending,
    enum fs_verdict *verdict);
/* The same, with a hint on how to sign an unsigned artifact (a mount with no
 * key staged says "write a private key to control/sign-key"); NULL for none. */
char *fs_status_report_hint(const struct artifact *a, struct fs_keyring *ring,
    const struct af_checks *checks, const char *changed, const char *pending,
    const char *sign_hint, enum fs_verdict *verdict);

#endif
