/*
 * A staged re-sign.  When a private key is written to control/sign-key, the
 * manifest is signed at once and the key is wiped: from then on only the
 * signature (public) and the key's description are kept.  The re-signed copy
 * is written next to the artifact from then on, and renamed over it when the
 * filesystem is unmounted; cancelling or staging another key removes it.
 */
#ifndef FS_SIGNER_H
#define FS_SIGNER_H

#include <stdbool.h>
#include <stddef.h>

#include "artifact/artifact.h"
#include "artifact/rewrite.h"
#include "fs/keys.h"

struct fs_signer;

struct fs_signer *fs_signer_new(void);
void fs_signer_free(struct fs_signer *s);

/* Signs a's manifest with the private key in pem; replaces what was staged.
 * checks is the finished checksum pass: an artifact that did not verify
 * (af_rewrite_refusal) is not signed.  False with why (a clause: "is
 * RSA-1024; ...") if the key or the artifact cannot be used; what was staged
 * before is then dropped too. */
bool fs_signer_stage(struct fs_signer *s, const struct artifact *a,
    const struct af_place *place, const struct af_checks *checks, const char *pem,
    size_t len, struct af_reason *why);
void fs_signer_cancel(struct fs_signer *s);
bool fs_signer_staged(struct fs_signer *s);

/* What control/sign-key reads as: the staged key's type and fingerprint. */
char *fs_signer_describe(struct fs_signer *s);
/* The "pending:" line of signature-status, or NULL when nothing is staged;
 * says whether the new signature verifies with the ring's keys (locked). */
char *fs_signer_pending(struct fs_signer *s, const struct artifact *a,
    struct fs_keyring *ring);

/* True when verify keys are set and the staged signature verifies with none. */
bool fs_signer_unverifiable(struct fs_signer *s, const struct artifact *a,
    struct fs_keyring *ring);

/* At unmount: puts the re-signed artifact in place if a signature is staged,
 * once the copy is complete and on disk.  Returns false with why if that
 * failed; true (and *written) otherwise. */
bool fs_signer_commit(struct fs_signer *s, bool *written, struct af_reason *why);

#endif
