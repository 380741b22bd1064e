#include "crypto/key.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/key_impl.h"
#include "crypto/sha256.h"

#define MAX_KEYS 64

static void
describe(struct cr_key *k)
{
	char group[64] = "";
	size_t glen = 0;
	int id = EVP_PKEY_get_base_id(k->pkey);

	switch (id) {
	case EVP_PKEY_RSA:
		k->type = CR_KEY_RSA;
		snprintf(k->description, sizeof(k->description), "RSA-%d", EVP_PKEY_get_bits(k->pkey));
		break;
	case EVP_PKEY_EC:
		EVP_PKEY_get_utf8_string_param(k->pkey, OSSL_PKEY_PARAM_GROUP_NAME, group,
		    sizeof(group), &glen);
		k->type = strcmp(group, "prime256v1") == 0 ? CR_KEY_EC_P256 : CR_KEY_EC_OTHER;
		snprintf(k->description, sizeof(k->description), "ECDSA %s",
		    k->type == CR_KEY_EC_P256 ? "P-256" : strcmp(group, "secp384r1") == 0 ?
		    "P-384" : strcmp(group, "secp521r1") == 0 ? "P-521" : group);
		break;
	case EVP_PKEY_ED25519:
		k->type = CR_KEY_ED25519;
		snprintf(k->description, sizeof(k->description), "Ed25519");
		break;
	case EVP_PKEY_RSA_PSS:
		k->type = CR_KEY_OTHER;
		snprintf(k->description, sizeof(k->description), "RSA-PSS-%d",
		    EVP_PKEY_get_bits(k->pkey));
		break;
	default:
		k->type = CR_KEY_OTHER;
		snprintf(k->description, sizeof(k->description), "%s",
		    OBJ_nid2sn(id) != NULL ? OBJ_nid2sn(id) : "unknown");
		break;
	}
}

static void
fingerprint(struct cr_key *k)
{
	unsigned char *der = NULL;
	uint8_t digest[CR_SHA256_LEN];
	int len = i2d_PUBKEY(k->pkey, &der);

	memcpy(k->fingerprint, "SHA256:", 7);
	if (len <= 0) {
		snprintf(k->fingerprint + 7, sizeof(k->fingerprint) - 7, "?");
		return;
	}
	cr_sha256(der, (size_t)len, digest);
	cr_hex(digest, sizeof(digest), k->fingerprint + 7);
	OPENSSL_free(der);
}

static struct cr_key *
wrap(EVP_PKEY *pkey, bool is_private)
{
	struct cr_key *k;

	if (pkey == NULL)
		return NULL;
	if ((k = calloc(1, sizeof(*k))) == NULL) {
		EVP_PKEY_free(pkey);
		return NULL;
	}
	k->pkey = pkey;
	k->is_private = is_private;
	describe(k);
	fingerprint(k);
	return k;
}

/* The public key of one PEM block, or NULL if it holds none. */
static EVP_PKEY *
public_from_block(const char *label, const unsigned char *der, long len)
{
	const unsigned char *p = der;
	EVP_PKEY *pkey = NULL;
	X509 *cert;

	if (strcmp(label, "PUBLIC KEY") == 0) {
		pkey = d2i_PUBKEY(NULL, &p, len);
	} else if (strcmp(label, "RSA PUBLIC KEY") == 0) {
		pkey = d2i_PublicKey(EVP_PKEY_RSA, NULL, &p, len);
	} else if (strcmp(label, "CERTIFICATE") == 0) {
		if ((cert = d2i_X509(NULL, &p, len)) != NULL) {
			pkey = X509_get_pubkey(cert);
			X509_free(cert);
		}
	}
	return pkey;
}

/*
 * An RSA public key with e < 3, an even e or an even n verifies what nobody
 * signed (with e = 1 a "signature" is just the padded digest): say why it is
 * unusable.  An odd e other than 65537 works, but is worth a warning.
 */
static void
check_rsa(struct cr_key *k)
{
	BIGNUM *e = NULL, *n = NULL;
	char *dec = NULL;

	if (EVP_PKEY_get_bn_param(k->pkey, OSSL_PKEY_PARAM_RSA_E, &e) != 1 ||
	    EVP_PKEY_get_bn_param(k->pkey, OSSL_PKEY_PARAM_RSA_N, &n) != 1 ||
	    (dec = BN_bn2dec(e)) == NULL)
		snprintf(k->unusable, sizeof(k->unusable), "its modulus and exponent cannot be read");
	else if (BN_cmp(e, BN_value_one()) <= 0 || (BN_is_word(e, 2)))
		snprintf(k->unusable, sizeof(k->unusable), "its public exponent is %.20s, below 3: "
		    "it proves nothing (with e=1 the padded digest itself verifies, and anyone can "
		    "make that); use the real public key of the signer", dec);
	else if (!BN_is_odd(e))
		snprintf(k->unusable, sizeof(k->unusable), "its public exponent %.20s is even: no "
		    "RSA key has one", dec);
	else if (!BN_is_odd(n))
		snprintf(k->unusable, sizeof(k->unusable), "its modulus is even: not an RSA "
		    "modulus");
	else if (!BN_is_word(e, RSA_F4))
		snprintf(k->param_warning, sizeof(k->param_warning), "has public exponent "
		    "e=%.40s%s, not 65537: it verifies, but openssl and other common tools make "
		    "65537, and some verifiers refuse other exponents; make a new key pair "
		    "(openssl genrsa 3072)", dec, strlen(dec) > 40 ? "..." : "");
	OPENSSL_free(dec);
	BN_free(e);
	BN_free(n);
}

/* An EC key with explicit curve parameters: OpenSSL names the curve only
 * when they are exactly a known one (describe() then sees P-256). */
static void
check_ec(struct cr_key *k)
{
	char encoding[32] = "";
	size_t len = 0;

	if (EVP_PKEY_get_utf8_string_param(k->pkey, OSSL_PKEY_PARAM_EC_ENCODING, encoding,
	    sizeof(encoding), &len) != 1 || strcmp(encoding, OSSL_PKEY_EC_ENCODING_EXPLICIT) != 0)
		return;
	if (k->type != CR_KEY_EC_P256) {
		snprintf(k->unusable, sizeof(k->unusable), "its curve is given by explicit "
		    "parameters that are not those of P-256");
		k->type = CR_KEY_EC_OTHER;
		return;
	}
	snprintf(k->param_warning, sizeof(k->param_warning), "gives the P-256 curve by "
	    "explicit parameters: mender-artifact refuses that form; convert it to the named "
	    "curve: openssl ec -pubin -in KEY -param_enc named_curve -pubout -out KEY.pub");
}

/* What a public key can be trusted to do: OpenSSL's public-key check, and
 * the rules above. */
static void
check_public(struct cr_key *k)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, k->pkey, NULL);
	unsigned long e;

	if (k->type == CR_KEY_RSA)
		check_rsa(k);
	else if (k->type == CR_KEY_EC_P256 || k->type == CR_KEY_EC_OTHER)
		check_ec(k);
	ERR_clear_error();
	if (k->unusable[0] == '\0' && (ctx == NULL || EVP_PKEY_public_check(ctx) != 1)) {
		e = ERR_peek_last_error();
		snprintf(k->unusable, sizeof(k->unusable), "it fails OpenSSL's public-key check "
		    "(%s)", e != 0 && ERR_reason_error_string(e) != NULL ?
		    ERR_reason_error_string(e) : "not a valid public key");
	}
	ERR_clear_error();
	EVP_PKEY_CTX_free(ctx);
}

/* mender-artifact and the C++ client read only SubjectPublicKeyInfo. */
static const char *
form_warning(const char *label)
{
	if (strcmp(label, "RSA PUBLIC KEY") == 0)
		return "is a PKCS#1 \"RSA PUBLIC KEY\": mender-artifact and the Mender client "
		    "refuse that form; convert it: openssl pkey -pubin -in KEY -out KEY.pub";
	if (strcmp(label, "CERTIFICATE") == 0)
		return "comes from a certificate: mender-artifact and the Mender client need the "
		    "bare key: openssl x509 -in CERT -pubkey -noout > KEY.pub";
	return NULL;
}

static bool
is_private_label(const char *label)
{
	size_t n = strlen(label);

	return n >= 11 && strcmp(label + n - 11, "PRIVATE KEY") == 0;
}

/*
 * The public keys of at most max PEM blocks of pem (the first max that hold
 * one, or with first_only just the first block); *blocks gets how many
 * blocks there are in all.  As cr_keys_load_public.
 */
/* A DER key is an ASN.1 SEQUENCE: 0x30, then a long-form length. */
static bool
looks_der(const char *bytes, size_t len)
{
	return len >= 4 && (unsigned char)bytes[0] == 0x30 &&
	    ((unsigned char)bytes[1] == 0x81 || (unsigned char)bytes[1] == 0x82 ||
	    ((unsigned char)bytes[1] < 0x80 && (size_t)(unsigned char)bytes[1] + 2 == len));
}

static enum af_err
load_public(const char *pem, size_t len, int max, bool first_only, int *blocks,
    struct cr_key ***out, size_t *count, struct af_reason *why)
{
	BIO *bio = len <= INT32_MAX ? BIO_new_mem_buf(pem, (int)len) : NULL;
	char *label = NULL, *header = NULL;
	unsigned char *der = NULL;
	struct cr_key **keys = calloc(MAX_KEYS, sizeof(*keys));
	bool saw_private = false, saw_block = false, first_refused = false;
	long der_len;
	int n = 0;

	*out = NULL;
	if (bio == NULL || keys == NULL) {
		BIO_free(bio);
		free(keys);
		return af_fail(why, AF_ENOMEM, AF_C_NO_MEMORY, "out of memory");
	}
	*blocks = 0;
	while (PEM_read_bio(bio, &label, &header, &der, &der_len) == 1) {
		EVP_PKEY *pkey = n < max && (!first_only || *blocks == 0) ?
		    public_from_block(label, der, der_len) : NULL;
		saw_block = true;
		saw_private |= is_private_label(label);
		if (first_only && *blocks == 0 && pkey == NULL) {
			first_refused = true;
			af_reason_set(why, AF_C_KEY_NOT_PUBLIC, "its first PEM block (\"%.40s\") is not a public key, "
			    "and Mender clients read only the first block", label);
		}
		++*blocks;
		if (pkey != NULL && (keys[n] = wrap(pkey, false)) != NULL) {
			keys[n]->form_warning = form_warning(label);
			check_public(keys[n++]);
		}
		OPENSSL_free(label);
		OPENSSL_free(header);
		OPENSSL_free(der);
	}
	ERR_clear_error();
	BIO_free(bio);
	if (saw_private) {	/* a secret where only public keys belong: refuse it all */
		af_reason_set(why, AF_C_KEY_PRIVATE, "contains a private key; a verify key file "
		    "holds only public keys (openssl pkey -in KEY -pubout)");
		cr_keys_free(keys, (size_t)n);
		return AF_EFORMAT;
	}
	if (n == 0) {
		if (!saw_block && looks_der(pem, len))
			af_reason_set(why, AF_C_KEY_NOT_PEM, "is DER, not PEM: convert it with openssl pkey -pubin "
			    "-inform DER -in KEY -out KEY.pem");
		else if (!first_only || !saw_block)
			af_reason_set(why, saw_block ? AF_C_KEY_NOT_PUBLIC : AF_C_KEY_NOT_PEM, "%s",
			    saw_block ? "has no public key in a form Mender uses (PEM \"PUBLIC KEY\")" :
			    "is not a PEM public key");
		free(keys);
		if (first_only && saw_block && !first_refused)	/* its key, lost to memory */
			return af_fail(why, AF_ENOMEM, AF_C_NO_MEMORY, "out of memory");
		return AF_EFORMAT;
	}
	*out = keys;
	*count = (size_t)n;
	return AF_OK;
}

enum af_err
cr_keys_load_public(const char *pem, size_t len, struct cr_key ***out, size_t *count,
    struct af_reason *why)
{
	int blocks;

	return load_public(pem, len, MAX_KEYS, false, &blocks, out, count, why);
}

struct cr_key *
cr_key_load_public_file(const char *pem, size_t len, int *blocks, struct af_reason *why)
{
	struct cr_key **keys, *k;
	size_t count;

	if (load_public(pem, len, 1, true, blocks, &keys, &count, why) != AF_OK)
		return NULL;
	k = keys[0];
	free(keys);
	return k;
}

/* Refuses a passphrase prompt: keys here are never encrypted. */
static int
no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf, (void)size, (void)rwflag, (void)u;
	return -1;
}

struct cr_key *
cr_key_load_private(const char *pem, size_t len, struct af_reason *why)
{
	BIO *bio;
	EVP_PKEY *pkey;

	if (len > INT32_MAX || (bio = BIO_new_mem_buf(pem, (int)len)) == NULL) {
		af_reason_set(why, AF_C_NO_MEMORY, "out of memory");
		return NULL;
	}
	/* PEM_read_bio_PrivateKey takes PKCS#1, SEC1 and PKCS#8 and skips an EC
	 * PARAMETERS block in front of the key. */
	pkey = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
	BIO_free(bio);
	if (pkey == NULL) {
		bool encrypted = memmem(pem, len, "ENCRYPTED", 9) != NULL;
		bool public = memmem(pem, len, "PUBLIC KEY-----", 15) != NULL;
		if (encrypted)
			af_reason_set(why, AF_C_KEY_ENCRYPTED, "is encrypted; decrypt it first "
			    "(openssl pkey -in KEY -out PLAIN), in memory or on a RAM disk");
		else if (public)
			af_reason_set(why, AF_C_KEY_NOT_PRIVATE, "is a public key; signing needs "
			    "the private key");
		else if (looks_der(pem, len))
			af_reason_set(why, AF_C_KEY_NOT_PEM, "is DER, not PEM: convert it with "
			    "openssl pkey -inform DER -in KEY, in memory or on a RAM disk");
		else
			af_reason_set(why, AF_C_KEY_NOT_PEM, "is not a PEM private key (RSA PRIVATE "
			    "KEY, EC PRIVATE KEY or PRIVATE KEY)");
		ERR_clear_error();
		return NULL;
	}
	/* A damaged key (halves that disagree) is caught where it matters: cr_sign
	 * verifies every signature with the key's own public half. */
	return wrap(pkey, true);
}

struct cr_key *
cr_key_load_spki(const uint8_t *der, size_t len)
{
	const unsigned char *p = der;
	EVP_PKEY *pkey = len <= INT32_MAX ? d2i_PUBKEY(NULL, &p, (long)len) : NULL;

	ERR_clear_error();
	if (pkey != NULL && p != der + len) {	/* bytes after the key */
		EVP_PKEY_free(pkey);
		return NULL;
	}
	return wrap(pkey, false);
}

void
cr_key_free(struct cr_key *k)
{
	if (k == NULL)
		return;
	EVP_PKEY_free(k->pkey);
	free(k);
}

void
cr_keys_free(struct cr_key **keys, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		cr_key_free(keys[i]);
	free(keys);
}

enum cr_key_type cr_key_type(const struct cr_key *k) { return k->type; }
int cr_key_bits(const struct cr_key *k) { return EVP_PKEY_get_bits(k->pkey); }
bool cr_key_is_private(const struct cr_key *k) { return k->is_private; }
const char *cr_key_description(const struct cr_key *k) { return k->description; }
const char *cr_key_fingerprint(const struct cr_key *k) { return k->fingerprint; }

const char *
cr_key_form_warning(const struct cr_key *k)
{
	return k->form_warning;
}

const char *
cr_key_param_warning(const struct cr_key *k)
{
	return k->param_warning[0] != '\0' ? k->param_warning : NULL;
}

bool
cr_key_same(const struct cr_key *a, const struct cr_key *b)
{
	bool same = EVP_PKEY_eq(a->pkey, b->pkey) == 1;

	ERR_clear_error();
	return same;
}

const char *
cr_key_unsupported(const struct cr_key *k)
{
	if (k->unusable[0] != '\0')
		return k->unusable;
	switch (k->type) {
	case CR_KEY_RSA:
	case CR_KEY_EC_P256:
		return NULL;
	case CR_KEY_EC_OTHER:
		return "Mender supports only the P-256 curve for ECDSA";
	case CR_KEY_ED25519:
		return "Mender does not support Ed25519; use RSA (2048 bits or more) or ECDSA P-256";
	default:
		return "Mender supports only RSA (PKCS#1 v1.5) and ECDSA P-256 keys";
	}
}
