#include "crypto/secure.h"

#include <openssl/crypto.h>
#include <string.h>

/* Big enough for a few PEM texts and the key material OpenSSL derives. */
#define ARENA_SIZE (1u << 18)
#define MIN_BLOCK 16

bool
cr_secure_init(void)
{
	/* 1: locked; 2: allocated but mlock failed (still MADV_DONTDUMP). */
	return CRYPTO_secure_malloc_initialized() ||
	    CRYPTO_secure_malloc_init(ARENA_SIZE, MIN_BLOCK) != 0;
}

void *
cr_secure_alloc(size_t len)
{
	return OPENSSL_secure_zalloc(len);
}

void *
cr_secure_realloc(void *p, size_t old_len, size_t new_len)
{
	void *q = OPENSSL_secure_zalloc(new_len);

	if (q == NULL)
		return NULL;
	if (p != NULL) {
		cr_secure_copy(q, p, old_len < new_len ? old_len : new_len);
		OPENSSL_secure_clear_free(p, old_len);
	}
	return q;
}

void
cr_secure_copy(void *dst, const void *src, size_t len)
{
	volatile unsigned char *d = dst;
	const volatile unsigned char *s = src;

	/* byte by byte through volatile pointers: never vectorized */
	while (len-- > 0)
		*d++ = *s++;
}

void
cr_secure_free(void *p, size_t len)
{
	if (p != NULL)
		OPENSSL_secure_clear_free(p, len);
}
