#include "crypto/sha256.h"

#include <openssl/evp.h>
#include <stdlib.h>

struct cr_sha256 {
	EVP_MD_CTX *md;
};

struct cr_sha256 *
cr_sha256_new(void)
{
	struct cr_sha256 *c = malloc(sizeof(*c));

	if (c == NULL)
		return NULL;
	if ((c->md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(c->md, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(c->md);
		free(c);
		return NULL;
	}
	return c;
}

void
cr_sha256_free(struct cr_sha256 *c)
{
	if (c == NULL)
		return;
	EVP_MD_CTX_free(c->md);
	free(c);
}

void
cr_sha256_update(struct cr_sha256 *c, const void *data, size_t len)
{
	EVP_DigestUpdate(c->md, data, len);
}

void
cr_hex(const uint8_t *bytes, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; i++) {
		out[2 * i] = digits[bytes[i] >> 4];
		out[2 * i + 1] = digits[bytes[i] & 15];
	}
	out[2 * len] = '\0';
}

void
cr_sha256_final_hex(struct cr_sha256 *c, char hex[CR_SHA256_HEX_LEN + 1])
{
	uint8_t digest[CR_SHA256_LEN];

	EVP_DigestFinal_ex(c->md, digest, NULL);
	cr_hex(digest, sizeof(digest), hex);
	EVP_DigestInit_ex(c->md, EVP_sha256(), NULL);
}

void
cr_sha256(const void *data, size_t len, uint8_t out[CR_SHA256_LEN])
{
	EVP_Digest(data, len, out, NULL, EVP_sha256(), NULL);
}
