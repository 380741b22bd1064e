/*
 * Public and private keys from PEM text, in every form people have, and what
 * Mender can do with them.  A key is opaque; what callers may know of it is
 * its type, its size and its fingerprint.
 */
#ifndef CR_KEY_H
#define CR_KEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

enum cr_key_type {
	CR_KEY_RSA,
	CR_KEY_EC_P256,
	CR_KEY_EC_OTHER,	/* P-384, P-521, secp256k1, ...: Mender refuses */
	CR_KEY_ED25519,
	CR_KEY_OTHER,		/* DSA, RSA-PSS-only keys, ... */
};

struct cr_key;

/* "SHA256:" + 64 hex digits of the DER SubjectPublicKeyInfo, as
 * `openssl pkey -pubin -outform DER | sha256sum` gives. */
#define CR_FINGERPRINT_LEN (7 + 64)

/*
 * Loads every public key in PEM text: PUBLIC KEY (SPKI), RSA PUBLIC KEY
 * (PKCS#1) and CERTIFICATE blocks; other blocks are skipped.  AF_OK with
 * *count (at least 1) keys in *keys (a malloc'd array); AF_EFORMAT with why
 * set when there is none (a private key, garbage, ...); AF_ENOMEM.
 */
enum af_err cr_keys_load_public(const char *pem, size_t len, struct cr_key ***keys,
    size_t *count, struct af_reason *why);

/*
 * Loads a verify-key file the way a Mender client reads one: its first PEM
 * block only, which must hold a public key (forms as above).  *blocks gets
 * the number of PEM blocks in the text (the client ignores all but the
 * first).  NULL with why set on failure.
 */
struct cr_key *cr_key_load_public_file(const char *pem, size_t len, int *blocks,
    struct af_reason *why);

/*
 * Loads one private key: RSA PRIVATE KEY (PKCS#1), EC PRIVATE KEY (SEC1, with
 * or without an EC PARAMETERS block before it), PRIVATE KEY (PKCS#8).
 * Encrypted keys are refused.  NULL with why set on failure.
 */
struct cr_key *cr_key_load_private(const char *pem, size_t len, struct af_reason *why);

/* The public half of a signing key, as DER SubjectPublicKeyInfo (what the
 * signing child returns, crypto/sign_child.h); NULL if it is not one. */
struct cr_key *cr_key_load_spki(const uint8_t *der, size_t len);

void cr_key_free(struct cr_key *key);
void cr_keys_free(struct cr_key **keys, size_t n);

enum cr_key_type cr_key_type(const struct cr_key *key);
int cr_key_bits(const struct cr_key *key);
bool cr_key_is_private(const struct cr_key *key);
/* "RSA-3072", "ECDSA P-256", "ECDSA secp384r1", "Ed25519", ... */
const char *cr_key_description(const struct cr_key *key);
const char *cr_key_fingerprint(const struct cr_key *key);
/* Why Mender's own tools could not load this key as given (a PKCS#1 public
 * key, a certificate), or NULL. */
const char *cr_key_form_warning(const struct cr_key *key);
/* Why Mender cannot verify with this key, or NULL if it can: a type Mender
 * does not use, or (public keys) one that fails OpenSSL's public-key check,
 * an RSA exponent under 3 or even, an even modulus, explicit EC parameters
 * that are not P-256. */
const char *cr_key_unsupported(const struct cr_key *key);
/* A usable public key in an unusual form (RSA e other than 65537, P-256 by
 * explicit parameters): what to do about it, or NULL. */
const char *cr_key_param_warning(const struct cr_key *key);
/* The same public key (whatever the PEM form it came in). */
bool cr_key_same(const struct cr_key *a, const struct cr_key *b);

#endif
