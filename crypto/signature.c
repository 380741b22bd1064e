#include "crypto/signature.h"

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/key_impl.h"

#define P256_SCALAR 32
#define MIN_SIGN_RSA_BITS 2048

/* A strict DER ECDSA signature: parses, and re-encodes to the same bytes. */
static ECDSA_SIG *
parse_der(const uint8_t *sig, size_t len)
{
	const unsigned char *p = sig;
	unsigned char *again = NULL;
	ECDSA_SIG *s = d2i_ECDSA_SIG(NULL, &p, (long)len);
	int n;

	if (s == NULL)
		return NULL;
	n = i2d_ECDSA_SIG(s, &again);
	if (p != sig + len || n != (int)len || memcmp(again, sig, len) != 0) {
		ECDSA_SIG_free(s);
		s = NULL;
	}
	OPENSSL_free(again);
	return s;
}

const char *
cr_signature_guess(const uint8_t *sig, size_t len)
{
	ECDSA_SIG *der = parse_der(sig, len);

	if (der != NULL) {
		int bits = BN_num_bits(ECDSA_SIG_get0_r(der));
		ECDSA_SIG_free(der);
		ERR_clear_error();
		return bits <= 256 ? "ECDSA P-256, DER" : bits <= 384 ? "ECDSA P-384, DER" :
		    "ECDSA, DER";
	}
	ERR_clear_error();
	switch (len) {
	case 64: return "ECDSA P-256, raw r||s";
	case 96: return "ECDSA P-384, raw r||s";
	case 132: return "ECDSA P-521, raw r||s";
	case 128: return "RSA-1024";
	case 256: return "RSA-2048";
	case 384: return "RSA-3072";
	case 512: return "RSA-4096";
	default: return "not a length Mender signatures have";
	}
}

const char *
cr_sig_form_name(enum cr_sig_form form)
{
	switch (form) {
	case CR_SIG_RSA: return "RSA PKCS#1 v1.5";
	case CR_SIG_ECDSA_RAW: return "ECDSA raw r||s";
	case CR_SIG_ECDSA_DER: return "ECDSA DER";
	case CR_SIG_UNKNOWN: break;
	}
	return "an unknown form";
}

static int
digest_verify(EVP_PKEY *pkey, int padding, const uint8_t *msg, size_t msg_len,
    const uint8_t *sig, size_t sig_len)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	int rc = -1;

	if (md != NULL && EVP_DigestVerifyInit(md, &pctx, EVP_sha256(), NULL, pkey) == 1 &&
	    (padding == 0 || (EVP_PKEY_CTX_set_rsa_padding(pctx, padding) == 1 &&
	    (padding != RSA_PKCS1_PSS_PADDING ||
	    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_AUTO) == 1))))
		rc = EVP_DigestVerify(md, sig, sig_len, msg, msg_len);
	EVP_MD_CTX_free(md);
	ERR_clear_error();
	return rc;
}

/* The DER DigestInfo prefix of a SHA-256 digest (RFC 8017, 9.2 note 1). */
static const uint8_t SHA256_INFO[] = { 0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48,
    0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20 };

static void
hex(const uint8_t *b, size_t n, char *out)
{
	size_t i;

	for (i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
}

/*
 * Why an RSA signature fails: undoing it with the public key (verify-recover)
 * gives, for a signature this key made, a valid PKCS#1 v1.5 block holding the
 * DigestInfo of what it signed; for one made by another key, noise that is
 * not such a block (but with negligible probability).
 */
static void
explain_rsa(const struct cr_key *k, const uint8_t *msg, size_t msg_len,
    const uint8_t *sig, size_t sig_len, struct cr_verify_result *r)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(k->pkey, NULL);
	uint8_t block[1024], digest[32];
	char signed_hex[65], actual_hex[65];
	size_t len = sizeof(block);
	unsigned int dlen = 0;
	bool recovered = ctx != NULL && sig_len <= sizeof(block) &&
	    EVP_PKEY_verify_recover_init(ctx) == 1 &&
	    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1 &&
	    EVP_PKEY_verify_recover(ctx, block, &len, sig, sig_len) == 1;

	EVP_PKEY_CTX_free(ctx);
	ERR_clear_error();
	if (!recovered) {
		snprintf(r->detail, sizeof(r->detail), "not made by this key: undone with it, "
		    "the %s signature is not a PKCS#1 v1.5 block; it was signed with another key "
		    "(compare the key fingerprints)", k->description);
		return;
	}
	if (len != sizeof(SHA256_INFO) + sizeof(digest) ||
	    memcmp(block, SHA256_INFO, sizeof(SHA256_INFO)) != 0) {
		snprintf(r->detail, sizeof(r->detail), "made by this key, but not over a SHA-256 "
		    "digest (a %zu-byte DigestInfo): Mender signs the SHA-256 of the manifest", len);
		return;
	}
	if (EVP_Digest(msg, msg_len, digest, &dlen, EVP_sha256(), NULL) != 1 ||
	    dlen != sizeof(digest)) {
		ERR_clear_error();
		snprintf(r->detail, sizeof(r->detail), "made by this key over another manifest");
		return;
	}
	hex(block + sizeof(SHA256_INFO), sizeof(digest), signed_hex);
	hex(digest, sizeof(digest), actual_hex);
	snprintf(r->detail, sizeof(r->detail), "made by this key, over a different manifest: "
	    "it signed SHA-256 %s, the manifest's is %s; the manifest changed after signing",
	    signed_hex, actual_hex);
}

static void
verify_rsa(const struct cr_key *k, const uint8_t *msg, size_t msg_len,
    const uint8_t *sig, size_t sig_len, struct cr_verify_result *r)
{
	size_t want = (size_t)(EVP_PKEY_get_bits(k->pkey) + 7) / 8;

	r->form = CR_SIG_RSA;
	if (sig_len != want) {
		r->status = CR_VERIFY_MISMATCH;
		r->form = CR_SIG_UNKNOWN;
		snprintf(r->detail, sizeof(r->detail), "the signature is %zu bytes (%s) but the "
		    "key is %s, whose signatures are %zu bytes", sig_len,
		    cr_signature_guess(sig, sig_len), k->description, want);
		return;
	}
	if (digest_verify(k->pkey, RSA_PKCS1_PADDING, msg, msg_len, sig, sig_len) == 1) {
		r->status = CR_VERIFY_OK;
		return;
	}
	if (digest_verify(k->pkey, RSA_PKCS1_PSS_PADDING, msg, msg_len, sig, sig_len) == 1) {
		r->status = CR_VERIFY_RSA_PSS;
		snprintf(r->detail, sizeof(r->detail), "the signature uses RSA-PSS padding; Mender "
		    "verifies only PKCS#1 v1.5 (openssl dgst -sha256 -sign KEY, without "
		    "-sigopt rsa_padding_mode:pss)");
		return;
	}
	r->status = CR_VERIFY_BAD;
	explain_rsa(k, msg, msg_len, sig, sig_len, r);
}

/* Raw r||s to DER, for OpenSSL. */
static unsigned char *
raw_to_der(const uint8_t *sig, int *der_len)
{
	ECDSA_SIG *s = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(sig, P256_SCALAR, NULL);
	BIGNUM *ss = BN_bin2bn(sig + P256_SCALAR, P256_SCALAR, NULL);
	unsigned char *der = NULL;

	*der_len = -1;
	if (s != NULL && r != NULL && ss != NULL && ECDSA_SIG_set0(s, r, ss) == 1) {
		r = ss = NULL;
		*der_len = i2d_ECDSA_SIG(s, &der);
	}
	BN_free(r);
	BN_free(ss);
	ECDSA_SIG_free(s);
	return *der_len > 0 ? der : NULL;
}

static void
verify_p256(const struct cr_key *k, const uint8_t *msg, size_t msg_len,
    const uint8_t *sig, size_t sig_len, struct cr_verify_result *r)
{
	ECDSA_SIG *der = NULL;
	unsigned char *converted = NULL;
	int converted_len = 0, rc = -1;

	if (sig_len == 2 * P256_SCALAR) {
		r->form = CR_SIG_ECDSA_RAW;
		if ((converted = raw_to_der(sig, &converted_len)) != NULL)
			rc = digest_verify(k->pkey, 0, msg, msg_len, converted, (size_t)converted_len);
		OPENSSL_free(converted);
	} else if ((der = parse_der(sig, sig_len)) != NULL) {
		r->form = CR_SIG_ECDSA_DER;
		ECDSA_SIG_free(der);
		rc = digest_verify(k->pkey, 0, msg, msg_len, sig, sig_len);
	} else {
		ERR_clear_error();
		r->status = CR_VERIFY_MISMATCH;
		r->form = CR_SIG_UNKNOWN;
		snprintf(r->detail, sizeof(r->detail), "the signature is %zu bytes (%s) but the "
		    "key is ECDSA P-256, whose signatures are 64 bytes (raw r||s) or DER",
		    sig_len, cr_signature_guess(sig, sig_len));
		return;
	}
	if (rc == 1) {
		r->status = CR_VERIFY_OK;
		return;
	}
	r->status = CR_VERIFY_BAD;
	snprintf(r->detail, sizeof(r->detail), "an ECDSA P-256 signature that this key does "
	    "not verify: signed with another key, or by this key over a different manifest "
	    "(ECDSA cannot tell which); check whether the manifest changed since it was "
	    "signed (compare it with the build's, or the artifact's history)");
}

void
cr_verify(const struct cr_key *k, const uint8_t *msg, size_t msg_len,
    const uint8_t *sig, size_t sig_len, struct cr_verify_result *r)
{
	const char *unsupported = cr_key_unsupported(k);

	memset(r, 0, sizeof(*r));
	if (unsupported != NULL) {
		r->status = CR_VERIFY_UNSUPPORTED;
		snprintf(r->detail, sizeof(r->detail), "the key is %s: %s", k->description,
		    unsupported);
		return;
	}
	if (k->type == CR_KEY_RSA)
		verify_rsa(k, msg, msg_len, sig, sig_len, r);
	else
		verify_p256(k, msg, msg_len, sig, sig_len, r);
}

static unsigned char *
digest_sign(EVP_PKEY *pkey, const uint8_t *msg, size_t msg_len, size_t *len)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char *sig = NULL;

	*len = 0;
	if (md != NULL && EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, pkey) == 1 &&
	    EVP_DigestSign(md, NULL, len, msg, msg_len) == 1 &&
	    (sig = OPENSSL_malloc(*len)) != NULL &&
	    EVP_DigestSign(md, sig, len, msg, msg_len) != 1) {
		OPENSSL_free(sig);
		sig = NULL;
	}
	EVP_MD_CTX_free(md);
	return sig;
}

/* DER ECDSA signature to the raw 64-byte r||s mender-artifact writes. */
static uint8_t *
der_to_raw(const unsigned char *der, size_t der_len)
{
	const unsigned char *p = der;
	ECDSA_SIG *s = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
	uint8_t *raw = s != NULL ? malloc(2 * P256_SCALAR) : NULL;

	if (raw != NULL &&
	    (BN_bn2binpad(ECDSA_SIG_get0_r(s), raw, P256_SCALAR) != P256_SCALAR ||
	    BN_bn2binpad(ECDSA_SIG_get0_s(s), raw + P256_SCALAR, P256_SCALAR) != P256_SCALAR)) {
		free(raw);
		raw = NULL;
	}
	ECDSA_SIG_free(s);
	return raw;
}

uint8_t *
cr_sign(const struct cr_key *k, const uint8_t *msg, size_t msg_len, size_t *sig_len,
    struct af_reason *why)
{
	const char *unsupported = cr_key_unsupported(k);
	struct cr_verify_result check;
	unsigned char *sig;
	uint8_t *out;
	size_t len;

	if (!k->is_private) {
		af_reason_set(why, AF_C_KEY_NOT_PRIVATE, "is a public key; signing needs the private key");
		return NULL;
	}
	if (unsupported != NULL) {
		af_reason_set(why, AF_C_KEY_UNSUPPORTED, "is %s: %s", k->description, unsupported);
		return NULL;
	}
	if (k->type == CR_KEY_RSA && EVP_PKEY_get_bits(k->pkey) < MIN_SIGN_RSA_BITS) {
		af_reason_set(why, AF_C_KEY_WEAK, "is %s; artifactfs signs only with RSA keys of 2048 bits "
		    "or more (openssl genrsa 3072)", k->description);
		return NULL;
	}
	if ((sig = digest_sign(k->pkey, msg, msg_len, &len)) == NULL) {
		af_reason_set(why, AF_C_SIGN_FAILED, "could not sign with this %s key", k->description);
		ERR_clear_error();
		return NULL;
	}
	if (k->type == CR_KEY_RSA) {
		out = malloc(len);
		if (out != NULL)
			memcpy(out, sig, len);
	} else {
		out = der_to_raw(sig, len);
		len = 2 * P256_SCALAR;
	}
	OPENSSL_free(sig);
	if (out == NULL) {
		af_reason_set(why, AF_C_NO_MEMORY, "out of memory");
		return NULL;
	}
	*sig_len = len;
	/* Never hand out a signature the key's own public half rejects. */
	cr_verify(k, msg, msg_len, out, len, &check);
	if (check.status != CR_VERIFY_OK) {
		af_reason_set(why, AF_C_KEY_DAMAGED, "made a signature its own public key does not verify: "
		    "the key is damaged");
		free(out);
		return NULL;
	}
	return out;
}
