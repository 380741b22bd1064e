/*
 * Re-signing: a copy of the artifact with every member kept byte for byte and
 * manifest.sig added or replaced right after manifest, written next to the
 * artifact, flushed, and renamed over it.  A crash or a full disk at any
 * moment leaves the original untouched.
 *
 * The copy is written by a thread of its own from the moment the signature is
 * known (af_rewrite_start), so that the rename at unmount (af_rewrite_finish)
 * has little or nothing left to wait for.
 */
#ifndef AF_REWRITE_H
#define AF_REWRITE_H

#include <stddef.h>

#include "artifact/artifact.h"

/* A re-signed copy being written next to the artifact. */
struct af_rewrite;

/*
 * Why the artifact cannot be re-signed in place, or NULL if it can: a
 * non-canonical manifest (the new signature would mean different bytes to
 * mender-artifact and the C++ client), no manifest, or a truncated member;
 * af_rewrite_start says whether a file can be made next to it.
 * Checked when a key is staged, so users learn early.
 */
const char *af_rewrite_refusal(const struct artifact *a);

/*
 * Makes the temporary file next to a and starts writing into it, on a thread,
 * the artifact with signature (base64 text, sig_len bytes, copied) as its
 * manifest.sig; a must outlive the job.  NULL with why (a clause: "cannot
 * create a temporary file in DIR, ...") if the file cannot be made there.
 */
struct af_rewrite *af_rewrite_start(const struct artifact *a, const char *signature,
    size_t sig_len, char *why, size_t whylen);

/*
 * Waits for the copy, then renames it over the artifact and flushes the
 * directory: AF_OK once the re-signed artifact is on disk.  Refuses if the
 * file changed since it was opened.  On failure why says what happened; the
 * original is then unchanged.  Frees r.
 */
enum af_err af_rewrite_finish(struct af_rewrite *r, char *why, size_t whylen);

/* Stops the copy and removes the temporary file; the artifact is untouched.
 * Frees r; NULL is a no-op. */
void af_rewrite_abort(struct af_rewrite *r);

/* Removes temporary files a killed re-sign may have left next to path; call
 * it before this process starts one. */
void af_rewrite_cleanup(const char *path);

#endif
