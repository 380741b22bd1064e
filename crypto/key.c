#include "crypto/key.h"

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/pem.h>
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

int
cr_keys_load_public(const char *pem, size_t len, struct cr_key ***out, char *why,
    size_t whylen)
{
	BIO *bio = len <= INT32_MAX ? BIO_new_mem_buf(pem, (int)len) : NULL;
	char *label = NULL, *header = NULL;
	unsigned char *der = NULL;
	struct cr_key **keys = calloc(MAX_KEYS, sizeof(*keys));
	bool saw_private = false, saw_block = false;
	long der_len;
	int n = 0;

	*out = NULL;
	if (bio == NULL || keys == NULL) {
		BIO_free(bio);
		free(keys);
		return -1;
	}
	while (n < MAX_KEYS && PEM_read_bio(bio, &label, &header, &der, &der_len) == 1) {
		EVP_PKEY *pkey = public_from_block(label, der, der_len);
		saw_block = true;
		saw_private |= is_private_label(label);
		if (pkey != NULL && (keys[n] = wrap(pkey, false)) != NULL)
			keys[n++]->form_warning = form_warning(label);
		OPENSSL_free(label);
		OPENSSL_free(header);
		OPENSSL_free(der);
	}
	ERR_clear_error();
	BIO_free(bio);
	if (saw_private) {	/* a secret where only public keys belong: refuse it all */
		snprintf(why, whylen, "contains a private key; a verify key file holds only public "
		    "keys (openssl pkey -in KEY -pubout)");
		cr_keys_free(keys, (size_t)n);
		return 0;
	}
	if (n == 0) {
		snprintf(why, whylen, "%s", saw_block ? "has no public key in a form Mender uses "
		    "(PEM \"PUBLIC KEY\")" : "is not a PEM public key");
		free(keys);
		return 0;
	}
	*out = keys;
	return n;
}

/* Refuses a passphrase prompt: keys here are never encrypted. */
static int
no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf, (void)size, (void)rwflag, (void)u;
	return -1;
}

struct cr_key *
cr_key_load_private(const char *pem, size_t len, char *why, size_t whylen)
{
	BIO *bio;
	EVP_PKEY *pkey;

	if (len > INT32_MAX || (bio = BIO_new_mem_buf(pem, (int)len)) == NULL) {
		snprintf(why, whylen, "out of memory");
		return NULL;
	}
	/* PEM_read_bio_PrivateKey takes PKCS#1, SEC1 and PKCS#8 and skips an EC
	 * PARAMETERS block in front of the key. */
	pkey = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
	BIO_free(bio);
	if (pkey == NULL) {
		bool encrypted = memmem(pem, len, "ENCRYPTED", 9) != NULL;
		bool public = memmem(pem, len, "PUBLIC KEY-----", 15) != NULL;
		snprintf(why, whylen, "%s", encrypted ? "is encrypted; decrypt it first "
		    "(openssl pkey -in KEY -out PLAIN), in memory or on a RAM disk" : public ?
		    "is a public key; signing needs the private key" :
		    "is not a PEM private key (RSA PRIVATE KEY, EC PRIVATE KEY or PRIVATE KEY)");
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
cr_key_unsupported(const struct cr_key *k)
{
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
