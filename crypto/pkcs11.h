/*
 * Signing with a key that stays on a PKCS#11 token, named by an RFC 7512
 * URI.  Runs only in the signing child (crypto/sign_child.h): a module's
 * code is never loaded into the daemon.  The URI is parsed by p11-kit, and
 * modules are those p11-kit's registry lists (as Debian's tools find them)
 * unless the URI's module-path names one.  The token gets the SHA-256 digest
 * (CKM_ECDSA, or CKM_RSA_PKCS over a DigestInfo) or the message
 * (CKM_SHA256_RSA_PKCS); only the signature and the public key come back.
 */
#ifndef CR_PKCS11_H
#define CR_PKCS11_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

#define CR_PKCS11_SCHEME "pkcs11:"

/* Whether text (what was written to control/sign-key) is a PKCS#11 URI:
 * "pkcs11:" after leading white space. */
bool cr_pkcs11_is_uri(const char *text, size_t len);

struct cr_pkcs11_result {
	uint8_t *sig;			/* malloc'd: Mender's form (raw r||s, or PKCS#1 v1.5) */
	size_t sig_len;
	unsigned char *spki;		/* OPENSSL_malloc'd DER SubjectPublicKeyInfo */
	int spki_len;
	char source[160];		/* PKCS#11 token "LABEL", object "LABEL" */
};

/*
 * Signs msg with the private key the URI in text names.  text is NUL
 * terminated, in locked memory, and writable: its pin-value is wiped from it
 * here, and the PIN (from pin-value or pin-source) is kept in locked memory
 * only until the token has it.  An error with why (a clause that says what to
 * do, never the PIN) otherwise.
 */
enum af_err cr_pkcs11_sign(char *text, size_t len, const uint8_t *msg, size_t msg_len,
    struct cr_pkcs11_result *out, struct af_reason *why);
void cr_pkcs11_result_clear(struct cr_pkcs11_result *r);

#endif
