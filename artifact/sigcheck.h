/*
 * The signature check: manifest.sig decoded and tried over the exact manifest
 * bytes with each verification key in turn, the first that verifies wins (as
 * the Mender client's ArtifactVerifyKeys).  Every key's outcome is kept, so a
 * report can say why each one failed.
 */
#ifndef AF_SIGCHECK_H
#define AF_SIGCHECK_H

#include <stdbool.h>
#include <stddef.h>

#include "artifact/artifact.h"
#include "crypto/base64.h"
#include "crypto/key.h"
#include "crypto/signature.h"

struct af_sigcheck {
	bool present;			/* the artifact has a manifest.sig */
	bool loaded;			/* ... and it could be read (not over its cap, not cut) */
	bool decoded;			/* ... and it is valid base64 */
	struct cr_base64_error base64;	/* when !decoded */
	bool trailing_newline;		/* accepted by mender-artifact, not by the C++ client */
	size_t sig_len;			/* decoded bytes */
	const char *guess;		/* what the signature looks like */
	struct cr_verify_result *per_key;	/* one per key, when decoded */
	size_t key_count;
	int verified_by;		/* index of the first key that verifies, or -1 */
	/* the raw manifest does not verify but mender-artifact's rebuilt (canonical)
	 * text does: that key's index, or -1 */
	int verified_rebuilt_by;
};

enum af_err af_check_signature(const struct artifact *a, struct cr_key *const *keys,
    size_t key_count, struct af_sigcheck *out);
void af_sigcheck_clear(struct af_sigcheck *check);

#endif
