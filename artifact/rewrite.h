/*
 * Re-signing: a copy of the artifact with every member kept byte for byte and
 * manifest.sig added or replaced right after manifest, written next to the
 * artifact, flushed, and renamed over it.  A crash or a full disk at any
 * moment leaves the original untouched.
 */
#ifndef AF_REWRITE_H
#define AF_REWRITE_H

#include <stddef.h>

#include "artifact/artifact.h"

/*
 * Why the artifact cannot be re-signed in place, or NULL if it can: a
 * non-canonical manifest (the new signature would mean different bytes to
 * mender-artifact and the C++ client), no manifest, or a directory where no
 * file can be made.  Checked when a key is staged, so users learn early.
 */
const char *af_rewrite_refusal(const struct artifact *a, char *buf, size_t len);

/*
 * Writes the artifact with signature (base64 text, sig_len bytes) as its
 * manifest.sig.  Refuses if the file changed since it was opened.  On
 * failure why says what happened; the original is then unchanged.
 */
enum af_err af_rewrite_signed(const struct artifact *a, const char *signature,
    size_t sig_len, char *why, size_t whylen);

/* Removes temporary files a killed re-sign may have left next to path. */
void af_rewrite_cleanup(const char *path);

#endif
