/*
 * The verification keys of a mount: those given with -o verify_key=FILE,
 * fixed, then those written to control/verify-key, replaceable at any time.
 * Tried in that order, like the Mender client's ArtifactVerifyKeys.
 */
#ifndef FS_KEYS_H
#define FS_KEYS_H

#include <stdbool.h>
#include <stddef.h>

#include "crypto/key.h"

struct fs_keyring;

struct fs_keyring *fs_keyring_new(void);
void fs_keyring_free(struct fs_keyring *ring);

/* Adds the public key of a PEM file (its first block, as a Mender client reads
 * it); false with why (one clause) on failure.  A key given twice is listed once. */
bool fs_keyring_add_file(struct fs_keyring *ring, const char *path, struct af_reason *why);
/* Replaces the control/verify-key keys by those in pem (every PEM block a key);
 * empty text removes them.  Refuses keys that can verify nothing, and then
 * leaves no control key at all. */
bool fs_keyring_set_control(struct fs_keyring *ring, const char *pem, size_t len,
    struct af_reason *why);

/* Hold the lock while using the keys below; they may change otherwise. */
void fs_keyring_lock(struct fs_keyring *ring);
void fs_keyring_unlock(struct fs_keyring *ring);
size_t fs_keyring_count(const struct fs_keyring *ring);
struct cr_key *const *fs_keyring_keys(const struct fs_keyring *ring);
const char *fs_keyring_source(const struct fs_keyring *ring, size_t i);
/* What to know about the file key i came from (more PEM blocks), or NULL. */
const char *fs_keyring_note(const struct fs_keyring *ring, size_t i);

/* "RSA-3072 SHA256:<hex> (from ...)" lines of the control keys, or of all. */
char *fs_keyring_describe(struct fs_keyring *ring, bool control_only);

#endif
