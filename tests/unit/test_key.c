/*
 * crypto/key.c, public keys: which keys can prove anything (OpenSSL's
 * public-key check; RSA exponent and modulus; EC explicit parameters), which
 * get a warning, how a key file is read (its first PEM block, as a Mender
 * client reads it), and when two keys are the same.  Keys are made by the
 * openssl command, or built here byte by byte (an RSA SubjectPublicKeyInfo
 * with any modulus and exponent).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/base64.h"
#include "crypto/key.h"
#include "crypto/sha256.h"
#include "crypto/signature.h"
#include "support.h"
#include "tarbuild.h"

/* The stdout of a shell command, which must succeed. */
static char *
sh(const char *cmd)
{
	size_t len;
	char *out = (char *)run_capture(cmd, &len);

	cr_assert_not_null(out, "failed: %s", cmd);
	return out;
}

/* A fresh RSA-2048 public key with exponent e (openssl genrsa), PEM. */
static char *
rsa_pub(int e)
{
	char cmd[200];

	snprintf(cmd, sizeof(cmd), "openssl genrsa %s 2048 2>/dev/null | openssl pkey -pubout",
	    e == 3 ? "-3" : "");
	return sh(cmd);
}

/* One key from PEM text, which must load. */
static struct cr_key *
load1(const char *pem)
{
	return one_public_key(pem, strlen(pem), "a public key");
}

/* DER: tag, length (short or two-byte long form), contents. */
static size_t
der(uint8_t *out, uint8_t tag, const uint8_t *body, size_t len)
{
	size_t h = 0;

	out[h++] = tag;
	if (len < 128) {
		out[h++] = (uint8_t)len;
	} else {
		out[h++] = 0x82;
		out[h++] = (uint8_t)(len >> 8);
		out[h++] = (uint8_t)len;
	}
	memmove(out + h, body, len);
	return h + len;
}

/* A PEM "PUBLIC KEY" of RSA modulus n (big-endian, nlen bytes) and exponent e. */
static char *
rsa_spki(const uint8_t *n, size_t nlen, uint32_t e)
{
	static const uint8_t alg[] = { 0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7,
	    0x0d, 0x01, 0x01, 0x01, 0x05, 0x00 };
	uint8_t ints[600], seq[610], bits[620], all[700], num[700], ebytes[5];
	size_t il = 0, el = 0, sl, bl, al, i;
	char *b64, *pem;

	num[0] = 0;	/* a positive INTEGER: a leading zero if the top bit is set */
	memcpy(num + 1, n, nlen);
	il = der(ints, 0x02, n[0] & 0x80 ? num : num + 1, nlen + (n[0] & 0x80 ? 1 : 0));
	for (i = 0; i < 4; i++)	/* e, minimal, positive */
		if ((e >> (24 - 8 * i)) & 0xff || el > 0)
			ebytes[1 + el++] = (uint8_t)(e >> (24 - 8 * i));
	ebytes[0] = 0;
	if (el == 0)
		ebytes[1 + el++] = 0;
	il += der(ints + il, 0x02, ebytes[1] & 0x80 ? ebytes : ebytes + 1,
	    el + (ebytes[1] & 0x80 ? 1 : 0));
	sl = der(seq + 1, 0x30, ints, il);
	seq[0] = 0;	/* BIT STRING: no unused bits */
	bl = der(bits, 0x03, seq, sl + 1);
	memcpy(num, alg, sizeof(alg));
	memcpy(num + sizeof(alg), bits, bl);
	al = der(all, 0x30, num, sizeof(alg) + bl);
	b64 = cr_base64_encode(all, al);
	cr_assert_not_null(b64);
	cr_assert(asprintf(&pem, "-----BEGIN PUBLIC KEY-----\n%s\n-----END PUBLIC KEY-----\n",
	    b64) > 0);
	free(b64);
	return pem;
}

/* The modulus of a PEM RSA public key, as bytes (via openssl). */
static size_t
modulus_of(const char *pem, uint8_t *n)
{
	char cmd[4096], *hex;
	size_t len = 0;
	unsigned byte;

	snprintf(cmd, sizeof(cmd), "printf '%%s' '%s' | openssl rsa -pubin -modulus -noout | "
	    "cut -d= -f2", pem);
	hex = sh(cmd);
	while (sscanf(hex + 2 * len, "%2x", &byte) == 1 && len < 512)
		n[len++] = (uint8_t)byte;
	free(hex);
	return len;
}

Test(key, rsa_exponent_one_proves_nothing)
{
	char *good = rsa_pub(65537), *pem;
	uint8_t n[512], em[256], digest[CR_SHA256_LEN];
	static const uint8_t info[] = { 0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48,
	    0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20 };
	static const char msg[] = "0123456789abcdef  version\n";
	struct cr_verify_result r;
	size_t nlen = modulus_of(good, n);
	struct cr_key *k;

	cr_assert_eq(nlen, 256);
	pem = rsa_spki(n, nlen, 1);
	k = load1(pem);
	cr_assert_eq(cr_key_type(k), CR_KEY_RSA);
	cr_assert_not_null(cr_key_unsupported(k));
	cr_assert(strstr(cr_key_unsupported(k), "exponent is 1, below 3") != NULL, "%s",
	    cr_key_unsupported(k));
	/* the forgery: EMSA-PKCS1-v1_5 of the digest, which e=1 "verifies" */
	cr_sha256(msg, strlen(msg), digest);
	memset(em, 0xff, sizeof(em));
	em[0] = 0;
	em[1] = 1;
	em[256 - sizeof(info) - sizeof(digest) - 1] = 0;
	memcpy(em + 256 - sizeof(info) - sizeof(digest), info, sizeof(info));
	memcpy(em + 256 - sizeof(digest), digest, sizeof(digest));
	cr_verify(k, (const uint8_t *)msg, strlen(msg), em, sizeof(em), &r);
	cr_assert_eq(r.status, CR_VERIFY_UNSUPPORTED, "the forgery: %s", r.detail);
	cr_key_free(k);
	free(pem);
	free(good);
}

Test(key, rsa_exponent_and_modulus_rules)
{
	char *good = rsa_pub(65537), *pem;
	uint8_t n[512];
	size_t nlen = modulus_of(good, n);
	static const struct {
		uint32_t e;
		bool even_n;
		const char *why;	/* NULL: usable */
	} cases[] = {
		{ 0, false, "exponent is 0, below 3" },
		{ 2, false, "exponent is 2, below 3" },
		{ 4, false, "exponent 4 is even" },
		{ 65538, false, "exponent 65538 is even" },
		{ 65537, true, "modulus is even" },
		{ 65537, false, NULL },
		{ 17, false, NULL },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cr_key *k;
		uint8_t m[512];

		memcpy(m, n, nlen);
		if (cases[i].even_n)
			m[nlen - 1] &= 0xfe;
		pem = rsa_spki(m, nlen, cases[i].e);
		k = load1(pem);
		if (cases[i].why == NULL) {
			cr_assert_null(cr_key_unsupported(k), "e=%u: %s", cases[i].e,
			    cr_key_unsupported(k));
			cr_assert_eq(cr_key_param_warning(k) == NULL, cases[i].e == 65537,
			    "e=%u: a warning unless 65537", cases[i].e);
		} else {
			cr_assert_not_null(cr_key_unsupported(k), "e=%u", cases[i].e);
			cr_assert(strstr(cr_key_unsupported(k), cases[i].why) != NULL, "e=%u: %s",
			    cases[i].e, cr_key_unsupported(k));
		}
		cr_key_free(k);
		free(pem);
	}
	free(good);
}

Test(key, rsa_exponent_three_is_usable_with_a_warning)
{
	char *pem = rsa_pub(3);
	struct cr_key *k = load1(pem);

	cr_assert_null(cr_key_unsupported(k));
	cr_assert_not_null(cr_key_param_warning(k));
	cr_assert(strstr(cr_key_param_warning(k), "e=3, not 65537") != NULL, "%s",
	    cr_key_param_warning(k));
	cr_key_free(k);
	free(pem);
}

Test(key, ec_explicit_parameters)
{
	char *named = sh("openssl ecparam -genkey -name prime256v1 -noout 2>/dev/null | "
	    "openssl ec -pubout 2>/dev/null");
	char *explicit_p256, *k1;
	struct cr_key *a, *b, *c;
	char cmd[2048];

	snprintf(cmd, sizeof(cmd), "printf '%%s' '%s' | openssl ec -pubin -param_enc explicit "
	    "-pubout 2>/dev/null", named);
	explicit_p256 = sh(cmd);
	k1 = sh("openssl ecparam -genkey -name secp256k1 -noout 2>/dev/null | "
	    "openssl ec -param_enc explicit -pubout 2>/dev/null");
	a = load1(named);
	b = load1(explicit_p256);
	c = load1(k1);
	cr_assert_eq(cr_key_type(b), CR_KEY_EC_P256);
	cr_assert_null(cr_key_unsupported(b), "%s", cr_key_unsupported(b));
	cr_assert_not_null(cr_key_param_warning(b));
	cr_assert(strstr(cr_key_param_warning(b), "-param_enc named_curve") != NULL);
	cr_assert_null(cr_key_param_warning(a), "the named form is fine");
	cr_assert(cr_key_same(a, b), "the same key in two encodings");
	cr_assert_str_neq(cr_key_fingerprint(a), cr_key_fingerprint(b),
	    "fingerprints are of the DER as given");
	cr_assert_not_null(cr_key_unsupported(c));
	cr_assert(strstr(cr_key_unsupported(c), "not those of P-256") != NULL, "%s",
	    cr_key_unsupported(c));
	cr_assert_not(cr_key_same(a, c));
	cr_key_free(a);
	cr_key_free(b);
	cr_key_free(c);
	free(named);
	free(explicit_p256);
	free(k1);
}

Test(key, a_key_file_is_its_first_block)
{
	char *one = rsa_pub(65537), *two = rsa_pub(65537), *text, *params;
	struct cr_key *first, *k, **all;
	struct af_reason why = { 0 };
	int blocks = -1;
	size_t n = 0;

	cr_assert(asprintf(&text, "%s%s", one, two) > 0);
	first = load1(one);
	k = cr_key_load_public_file(text, strlen(text), &blocks, &why);
	cr_assert_not_null(k, "%s", why.text);
	cr_assert_eq(blocks, 2);
	cr_assert(cr_key_same(k, first), "the first block's key");
	cr_key_free(k);
	/* control/verify-key takes every block */
	cr_assert_eq(cr_keys_load_public(text, strlen(text), &all, &n, &why), AF_OK, "%s",
	    why.text);
	cr_assert_eq(n, 2);
	cr_keys_free(all, 2);
	free(text);

	/* a first block that is not a public key: the client reads nothing */
	params = sh("openssl ecparam -name prime256v1");
	cr_assert(asprintf(&text, "%s%s", params, one) > 0);
	k = cr_key_load_public_file(text, strlen(text), &blocks, &why);
	cr_assert_null(k);
	cr_assert_eq(why.code, AF_C_KEY_NOT_PUBLIC, "%s", why.text);
	free(text);

	/* one block: nothing to warn about */
	k = cr_key_load_public_file(one, strlen(one), &blocks, &why);
	cr_assert_not_null(k, "%s", why.text);
	cr_assert_eq(blocks, 1);
	cr_key_free(k);
	cr_key_free(first);
	free(params);
	free(one);
	free(two);
}

/* A signature by a fresh key of the given openssl genpkey algorithm options. */
static uint8_t *
sign_with(const char *genpkey, const char *msg, char **pub, size_t *sig_len)
{
	char cmd[8192];
	struct af_reason why = { 0 };
	char *pem;
	struct cr_key *k;
	uint8_t *sig;

	snprintf(cmd, sizeof(cmd), "openssl genpkey %s 2>/dev/null", genpkey);
	pem = sh(cmd);
	k = cr_key_load_private(pem, strlen(pem), &why);
	cr_assert_not_null(k, "%s", why.text);
	sig = cr_sign(k, (const uint8_t *)msg, strlen(msg), sig_len, &why);
	cr_assert_not_null(sig, "%s", why.text);
	snprintf(cmd, sizeof(cmd), "printf '%%s' '%s' | openssl pkey -pubout", pem);
	*pub = sh(cmd);
	cr_key_free(k);
	free(pem);
	return sig;
}

/* RSA verify-recover tells "another key" from "this key, other bytes". */
Test(key, rsa_says_which_of_two_causes)
{
	static const char msg[] = "0123456789abcdef  version\n";
	static const char edited[] = "0123456789abcdef  version\n\n";
	char *pub, *other_pub, hexsum[65];
	size_t len, other_len, i;
	uint8_t *sig = sign_with("-algorithm RSA -pkeyopt rsa_keygen_bits:2048", msg, &pub, &len);
	uint8_t *other = sign_with("-algorithm RSA -pkeyopt rsa_keygen_bits:2048", msg, &other_pub,
	    &other_len);
	uint8_t digest[CR_SHA256_LEN];
	struct cr_key *k = load1(pub);
	struct cr_verify_result r;

	cr_verify(k, (const uint8_t *)msg, strlen(msg), sig, len, &r);
	cr_assert_eq(r.status, CR_VERIFY_OK, "%s", r.detail);
	/* another key's signature: the recovered block is noise */
	cr_verify(k, (const uint8_t *)msg, strlen(msg), other, other_len, &r);
	cr_assert_eq(r.status, CR_VERIFY_BAD);
	cr_assert(strstr(r.detail, "not made by this key") != NULL, "%s", r.detail);
	cr_assert(strstr(r.detail, "different manifest") == NULL, "%s", r.detail);
	/* this key over other bytes: it says so, and which digest it signed */
	cr_verify(k, (const uint8_t *)edited, strlen(edited), sig, len, &r);
	cr_assert_eq(r.status, CR_VERIFY_BAD);
	cr_sha256(msg, strlen(msg), digest);
	for (i = 0; i < sizeof(digest); i++)
		snprintf(hexsum + 2 * i, 3, "%02x", digest[i]);
	cr_assert(strstr(r.detail, "made by this key, over a different manifest") != NULL, "%s",
	    r.detail);
	cr_assert(strstr(r.detail, hexsum) != NULL, "want %s in: %s", hexsum, r.detail);
	cr_key_free(k);
	free(sig);
	free(other);
	free(pub);
	free(other_pub);
}

/* ECDSA cannot tell the two apart, and says so. */
Test(key, ecdsa_says_it_cannot_tell)
{
	static const char msg[] = "0123456789abcdef  version\n";
	char *pub, *other_pub;
	size_t len, other_len;
	uint8_t *sig = sign_with("-algorithm EC -pkeyopt ec_paramgen_curve:P-256", msg, &pub, &len);
	uint8_t *other = sign_with("-algorithm EC -pkeyopt ec_paramgen_curve:P-256", msg,
	    &other_pub, &other_len);
	struct cr_key *k = load1(pub);
	struct cr_verify_result r, r2;

	cr_verify(k, (const uint8_t *)msg, strlen(msg), other, other_len, &r);
	cr_verify(k, (const uint8_t *)"edited", 6, sig, len, &r2);
	cr_assert_eq(r.status, CR_VERIFY_BAD);
	cr_assert_eq(r2.status, CR_VERIFY_BAD);
	cr_assert(strstr(r.detail, "ECDSA cannot tell which") != NULL, "%s", r.detail);
	cr_assert(strstr(r.detail, "check whether the manifest changed") != NULL, "%s", r.detail);
	cr_assert_str_eq(r.detail, r2.detail);
	cr_key_free(k);
	free(sig);
	free(other);
	free(pub);
	free(other_pub);
}

/* A DER key file gets the command that converts it. */
Test(key, der_key_gets_a_conversion_hint)
{
	char *pem = rsa_pub(65537), cmd[4096];
	struct af_reason why = { 0 };
	size_t len;
	uint8_t *der;
	struct cr_key **keys;
	size_t n = 0;
	int blocks;

	snprintf(cmd, sizeof(cmd), "printf '%%s' '%s' | openssl pkey -pubin -outform DER", pem);
	der = run_capture(cmd, &len);
	cr_assert_not_null(der);
	cr_assert_eq(cr_keys_load_public((const char *)der, len, &keys, &n, &why), AF_EFORMAT);
	cr_assert_eq(why.code, AF_C_KEY_NOT_PEM, "%s", why.text);
	/* the hint is the point of this test: its words are checked */
	cr_assert(strstr(why.text, "convert it with openssl pkey -pubin -inform DER") != NULL,
	    "%s", why.text);
	af_reason_clear(&why);
	cr_assert_null(cr_key_load_public_file((const char *)der, len, &blocks, &why));
	cr_assert_eq(why.code, AF_C_KEY_NOT_PEM, "%s", why.text);
	free(der);
	free(pem);
}
