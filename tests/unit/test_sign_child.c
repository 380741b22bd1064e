/*
 * cr_sign_in_child: the key is parsed and used by the built artifactfs run
 * as a child process (ARTIFACTFS), which returns the signature and the
 * public key; the parent checks the signature.  Refusals come back with the
 * child's reason, and a child that fails or cannot start is reaped and
 * reported.  Keys are the fixtures' (FIXTURES), written by openssl.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "crypto/pkcs11.h"
#include "crypto/sign_child.h"
#include "crypto/signature.h"
#include "support.h"

static const uint8_t message[] = "0123456789abcdef  data/0000/rootfs.ext4\n";

static char *
slurp(const char *name, size_t *len)
{
	char path[4096];
	FILE *f;
	char *buf = malloc(1 << 16);

	snprintf(path, sizeof(path), "%s/%s", getenv("FIXTURES"), name);
	cr_assert_not_null(f = fopen(path, "rb"), "%s", path);
	*len = fread(buf, 1, 1 << 16, f);
	fclose(f);
	return buf;
}

static const char *
exe(void)
{
	const char *p = getenv("ARTIFACTFS");

	cr_assert_not_null(p, "ARTIFACTFS must name the built binary");
	return p;
}

/* No child is left behind, running or unreaped. */
static void
assert_no_child(void)
{
	cr_assert_eq(waitpid(-1, NULL, WNOHANG), -1, "a child was left unreaped");
}

static void
signs(const char *key, const char *pub_name, const char *description, size_t sig_len)
{
	struct cr_signed s;
	struct cr_key *pub_key;
	struct cr_verify_result r;
	struct af_reason why = { 0 };
	char *pem, *pub;
	size_t len, pub_len;

	pem = slurp(key, &len);
	cr_assert_eq(cr_sign_in_child(exe(), pem, len, message, sizeof(message) - 1, &s, &why),
	    AF_OK, "%s: %s", key, why.text);
	cr_assert_eq(s.sig_len, sig_len);
	cr_assert_str_eq(cr_key_description(s.key), description);
	/* the returned public key is the fixture's: same fingerprint, and the
	 * signature verifies with the fixture's public key file */
	pub = slurp(pub_name, &pub_len);
	pub_key = one_public_key(pub, pub_len, pub_name);
	cr_assert_str_eq(cr_key_fingerprint(s.key), cr_key_fingerprint(pub_key));
	cr_verify(pub_key, message, sizeof(message) - 1, s.sig, s.sig_len, &r);
	cr_assert_eq(r.status, CR_VERIFY_OK, "%s", r.detail);
	cr_key_free(pub_key);
	cr_signed_clear(&s);
	free(pem);
	free(pub);
	assert_no_child();
}

Test(sign_child, rsa)
{
	signs("rsa.pem", "rsa.pub", "RSA-2048", 256);
}

Test(sign_child, ecdsa_raw)
{
	signs("ec.pem", "ec.pub", "ECDSA P-256", 64);
}

Test(sign_child, public_key_refused_with_the_childs_reason)
{
	struct cr_signed s;
	struct af_reason why = { 0 };
	char *pem;
	size_t len;

	pem = slurp("rsa.pub", &len);
	cr_assert_neq(cr_sign_in_child(exe(), pem, len, message, sizeof(message) - 1, &s, &why),
	    AF_OK);
	cr_assert_eq(why.code, AF_C_KEY_NOT_PRIVATE, "%s", why.text);
	cr_assert_null(s.key);
	cr_assert_null(s.sig);
	free(pem);
	assert_no_child();
}

Test(sign_child, garbage_refused)
{
	struct cr_signed s;
	struct af_reason why = { 0 };

	cr_assert_neq(cr_sign_in_child(exe(), "not a key", 9, message, sizeof(message) - 1, &s,
	    &why), AF_OK);
	cr_assert_eq(why.code, AF_C_KEY_NOT_PEM, "%s", why.text);
	assert_no_child();
}

/* A program that is not the signer: it exits without reading or answering.
 * The 1 MiB message outlasts the socket's buffer, so the sending fails
 * (EPIPE, and no SIGPIPE, which would end this process). */
Test(sign_child, a_failing_child_is_reaped_and_reported)
{
	struct cr_signed s;
	struct af_reason why = { 0 };
	uint8_t *big = calloc(1, 1 << 20);

	cr_assert_neq(cr_sign_in_child("/bin/false", "x", 1, big, 1 << 20, &s, &why), AF_OK);
	cr_assert_eq(why.code, AF_C_SIGN_CHILD, "%s", why.text);
	assert_no_child();
	free(big);
}

Test(sign_child, no_such_program)
{
	struct cr_signed s;
	struct af_reason why = { 0 };

	cr_assert_neq(cr_sign_in_child("/nonexistent/artifactfs", "x", 1, message,
	    sizeof(message) - 1, &s, &why), AF_OK);
	cr_assert_eq(why.code, AF_C_SIGN_CHILD, "%s", why.text);
	cr_assert_not_null(strstr(why.text, "/nonexistent/artifactfs"), "%s", why.text);
	assert_no_child();
}

/* PKCS#11 URIs go to the child too (tests/integration/pkcs11.sh signs with a
 * SoftHSM2 token); refusals that need no token come back as clauses that say
 * what to do, and never hold the PIN. */
static void
uri_refused(const char *uri, enum af_code code, const char *expect)
{
	struct cr_signed s;
	struct af_reason why = { 0 };

	cr_assert_neq(cr_sign_in_child(exe(), uri, strlen(uri), message, sizeof(message) - 1, &s,
	    &why), AF_OK, "%s", uri);
	cr_assert_eq(why.code, code, "%s: %s", uri, why.text);
	cr_assert_not_null(strstr(why.text, expect), "%s: %s", uri, why.text);
	cr_assert_null(strstr(why.text, "s3cret"), "%s", why.text);
	cr_assert_null(s.key);
	cr_assert_str_eq(s.source, "");
	assert_no_child();
}

Test(sign_child, pkcs11_uri_refusals)
{
	cr_assert(cr_pkcs11_is_uri("\n pkcs11:token=x", 15));
	cr_assert_not(cr_pkcs11_is_uri("-----BEGIN PRIVATE KEY-----", 27));
	/* expect: what the reason must name (the URI's part at fault), beside its code */
	uri_refused("pkcs11:token=%zz?pin-value=s3cret", AF_C_PKCS11_URI, "pkcs11:");
	uri_refused("pkcs11:token=a;object=b?pin-value=s3cret&module-path=/nonexistent/m.so\n",
	    AF_C_PKCS11_MODULE, "module-path=/nonexistent/m.so");
	uri_refused("pkcs11:token=a?pin-value=s3cret%zz", AF_C_PKCS11_PIN, "pin-value");
	uri_refused("pkcs11:token=a?pin-source=|/bin/cat", AF_C_PKCS11_PIN, "pin-source=|/bin/cat");
	uri_refused("pkcs11:token=a;object=b;pin-value=s3cret?module-name=no-such-module-17",
	    AF_C_PKCS11_MODULE, "module-name=no-such-module-17");
}
