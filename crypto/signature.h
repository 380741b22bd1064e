/*
 * Signatures over a manifest, as Mender makes them: RSA PKCS#1 v1.5 with
 * SHA-256, or ECDSA P-256 with SHA-256 as a raw 64-byte r||s (DER accepted
 * when verifying, as newer Mender readers do).  Verification says not just
 * "no" but which kind of no, so a person can act on it.
 */
#ifndef CR_SIGNATURE_H
#define CR_SIGNATURE_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/key.h"

enum cr_sig_form {
	CR_SIG_UNKNOWN,
	CR_SIG_RSA,
	CR_SIG_ECDSA_RAW,	/* 64-byte r||s: what mender-artifact writes */
	CR_SIG_ECDSA_DER,	/* ASN.1 SEQUENCE { r, s } */
};

enum cr_verify_status {
	CR_VERIFY_OK,
	CR_VERIFY_BAD,		/* fits the key but does not verify: wrong key or changed bytes
				 * (for RSA the detail says which) */
	CR_VERIFY_MISMATCH,	/* not a signature this key's algorithm makes */
	CR_VERIFY_RSA_PSS,	/* verifies only with PSS padding, which Mender refuses */
	CR_VERIFY_UNSUPPORTED,	/* a key Mender cannot use */
};

struct cr_verify_result {
	enum cr_verify_status status;
	enum cr_sig_form form;
	char detail[400];	/* one clause for a person, no trailing period */
};

void cr_verify(const struct cr_key *key, const uint8_t *msg, size_t msg_len,
    const uint8_t *sig, size_t sig_len, struct cr_verify_result *result);

/* The algorithm and encoding of a form, as a person reads it:
 * "RSA PKCS#1 v1.5", "ECDSA raw r||s". */
const char *cr_sig_form_name(enum cr_sig_form form);

/* What a signature of these bytes looks like: "ECDSA P-256, raw r||s". */
const char *cr_signature_guess(const uint8_t *sig, size_t sig_len);

/*
 * Signs msg with a private key the way mender-artifact does (RSA PKCS#1 v1.5
 * or ECDSA P-256 raw r||s, SHA-256).  Returns a malloc'd signature, or NULL
 * with why set (a key Mender cannot use, RSA under 2048 bits, ...).
 */
uint8_t *cr_sign(const struct cr_key *key, const uint8_t *msg, size_t msg_len,
    size_t *sig_len, struct af_reason *why);

#endif
