/*
 * Signing with a private key in a process of its own.  The daemon never
 * parses a private key: OpenSSL's PEM and DER decoders copy the key through
 * buffers they free without clearing, so the parsing and the signing happen
 * in a short-lived child (this same program, run as `artifactfs
 * --sign-child`), which receives the PEM text and the message over a socket
 * and returns only the signature and the public key.  The parent checks the
 * signature with that public key before it trusts it.  The text may also
 * be an RFC 7512 PKCS#11 URI (crypto/pkcs11.h): the child then loads the
 * token's module and the token signs, so no module code runs in the daemon.
 */
#ifndef CR_SIGN_CHILD_H
#define CR_SIGN_CHILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/key.h"
#include "crypto/signature.h"

/* The argument that makes main() run cr_sign_child_main() and nothing else. */
#define CR_SIGN_CHILD_ARG "--sign-child"

struct cr_signed {
	struct cr_key *key;	/* the public half of the key that signed */
	uint8_t *sig;		/* as cr_sign makes it */
	size_t sig_len;
	enum cr_sig_form form;	/* what sig is, as its verification found */
	char source[160];	/* "" for a PEM key; PKCS#11 token "T", object "O" */
};

/*
 * Runs exe (normally "/proc/self/exe") with CR_SIGN_CHILD_ARG, sends it pem
 * (PEM text, or a pkcs11: URI) and msg, and waits for it (killing it after
 * 30 s).  AF_OK with out filled when the child signed and the signature
 * verifies with the public key it returned; otherwise an error with why (a
 * clause, as cr_key_load_private and cr_sign word it, with their code when
 * the child refused).  pem is read, never copied.
 */
enum af_err cr_sign_in_child(const char *exe, const char *pem, size_t pem_len, const uint8_t *msg,
    size_t msg_len, struct cr_signed *out, struct af_reason *why);
void cr_signed_clear(struct cr_signed *s);

/* The child: reads the request on stdin, writes the reply on stdout, and
 * returns the exit status.  Only the signature and the public key leave it. */
int cr_sign_child_main(void);

#endif
