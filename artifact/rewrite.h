/*
 * Re-signing: a copy of the artifact with every member kept byte for byte and
 * manifest.sig added or replaced right after manifest, written next to the
 * artifact, flushed, and renamed over it.  A crash or a full disk at any
 * moment leaves the original untouched.
 *
 * The copy is written by a thread of its own from the moment the signature is
 * known (af_rewrite_sign), so that the rename at unmount (af_rewrite_finish)
 * has little or nothing left to wait for.
 */
#ifndef AF_REWRITE_H
#define AF_REWRITE_H

#include <stddef.h>

#include "artifact/artifact.h"
#include "artifact/verify.h"
#include "crypto/signature.h"

/*
 * The artifact's directory, opened when the artifact is mounted.  From then
 * on every operation on that directory (the temporary file, the cleanup, the
 * re-check before the rename, the rename, the flush) goes through this
 * directory fd and the artifact's bare name: no path is resolved again, so a
 * directory renamed or replaced by a symlink after the mount never receives
 * a file.
 */
struct af_place;

/* Opens a's directory and checks that a's name in it is the file a has open.
 * NULL only on memory exhaustion or when the directory cannot be reached at
 * all (why says so); a directory that cannot be written to is found when a
 * key is staged. */
struct af_place *af_place_open(const struct artifact *a, struct af_reason *why);
void af_place_close(struct af_place *p);
/* Whether the file now under a's name in its mount-time directory differs
 * from the one mounted (device, inode, size, modification and change times;
 * a symlink there counts as another file); if so, how says how (code
 * changed).  A fact about the file rather than a failure, so a bool: a
 * file that is gone has changed too. */
bool af_place_changed(const struct af_place *p, struct af_reason *how);

/* A re-signed copy being written next to the artifact. */
struct af_rewrite;

/*
 * AF_OK if the artifact may be re-signed, else an error and why not:
 * only what verified is signed.  Refused: no manifest, a non-canonical one
 * (the new signature would mean different bytes to mender-artifact and the
 * C++ client), a truncated member, a checksum of checks that is not "ok", a
 * broken format rule (an error in the problems), a manifest.sig that cannot
 * be read or decoded, a file on disk that changed since the mount.  What may
 * stand is only what a new signature replaces: no signature, or one by
 * another key.  af_rewrite_sign says whether a file can be made next to it.
 * Checked when a key is staged, so users learn early.
 */
enum af_err af_rewrite_refusal(const struct artifact *a, const struct af_place *p,
    const struct af_checks *checks, struct af_reason *why);

/*
 * The signed artifact, in one call: makes the temporary file in p's
 * directory and starts writing into it, on a thread, the artifact with sig
 * (sig_len bytes of the algorithm form, as crypto/ made and verified it) as
 * its manifest.sig, base64 as mender-artifact writes it; a and p must
 * outlive the job.  Only what Mender writes is written: RSA PKCS#1 v1.5 or
 * raw ECDSA r||s.  NULL with why (a clause: "cannot create a temporary file
 * in DIR, ...") if the file cannot be made.  The owner and mode are kept as
 * `cp -p` keeps them: a user who is not in the artifact's group gets the
 * file in their own group (af_rewrite_note says so); an artifact owned by
 * someone else can be re-signed only by root.
 */
struct af_rewrite *af_rewrite_sign(const struct artifact *a, const struct af_place *p,
    const uint8_t *sig, size_t sig_len, enum cr_sig_form form, struct af_reason *why);

/* What the re-signed artifact will differ in besides its signature (its
 * group, when the artifact's could not be kept), or NULL. */
const char *af_rewrite_note(const struct af_rewrite *r);

/*
 * Waits for the copy, then renames it over the artifact and flushes the
 * directory: AF_OK once the re-signed artifact is on disk (why then holds
 * af_rewrite_note's text, or is empty).  Refuses if the file under the
 * artifact's name changed since it was opened (checked right before the
 * rename).  On failure why says what happened; the original is then
 * unchanged.  Frees r.
 */
enum af_err af_rewrite_finish(struct af_rewrite *r, struct af_reason *why);

/* Stops the copy and removes the temporary file; the artifact is untouched.
 * Frees r; NULL is a no-op. */
void af_rewrite_abort(struct af_rewrite *r);

/* Removes temporary files a killed re-sign may have left in p's directory;
 * call it before this process starts one. */
void af_rewrite_cleanup(const struct af_place *p);

#endif
