/*
 * crypto/secure.c, memory for secrets, as far as a test can see it: the
 * arena is OpenSSL's secure heap, mapped never-dumped and (as root, or under
 * a large enough RLIMIT_MEMLOCK) locked; allocations come zeroed; a freed or
 * reallocated block is wiped (read back through the arena, which stays
 * mapped: the first 16 bytes of a free block hold OpenSSL's free-list links,
 * so the wipe is checked from there on); cr_secure_copy copies exactly.
 */
#include <criterion/criterion.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "crypto/secure.h"

#define LINKS 16	/* OpenSSL's SH_LIST in a free block: two pointers */

static void
init(void)
{
	cr_assert(cr_secure_init());
	cr_assert(cr_secure_init(), "a second init is a no-op");
}

/* The VmFlags line of the mapping that holds p (/proc/self/smaps). */
static void
vmflags_of(const void *p, char *flags, size_t len)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[512];
	bool in = false;

	cr_assert_not_null(f);
	flags[0] = '\0';
	while (fgets(line, sizeof(line), f) != NULL) {
		unsigned long lo, hi;
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') < strchr(line, ' '))
			in = (uintptr_t)p >= lo && (uintptr_t)p < hi;
		else if (in && strncmp(line, "VmFlags:", 8) == 0) {
			snprintf(flags, len, "%.400s", line + 8);
			break;
		}
	}
	fclose(f);
	cr_assert_neq(flags[0], '\0', "no mapping holds %p", p);
}

static bool
has_flag(const char *flags, const char *flag)
{
	char padded[8];

	snprintf(padded, sizeof(padded), " %s", flag);
	return strstr(flags, padded) != NULL;
}

static bool
zero_from(const unsigned char *p, size_t from, size_t len)
{
	size_t i;

	for (i = from; i < len; i++)
		if (p[i] != 0)
			return false;
	return true;
}

Test(secure, the_arena_is_not_dumped_and_locked)
{
	unsigned char *p;
	char flags[512];
	struct rlimit rl;

	init();
	p = cr_secure_alloc(100);
	cr_assert_not_null(p);
	cr_assert(CRYPTO_secure_allocated(p), "in the secure arena");
	vmflags_of(p, flags, sizeof(flags));
	cr_assert(has_flag(flags, "dd"), "not marked do-not-dump: %s", flags);
	if (geteuid() == 0 || (getrlimit(RLIMIT_MEMLOCK, &rl) == 0 && rl.rlim_cur >= (1u << 20)))
		cr_assert(has_flag(flags, "lo"), "not locked: %s", flags);
	cr_secure_free(p, 100);
}

Test(secure, allocations_are_zeroed)
{
	static const size_t sizes[] = { 1, 16, 17, 100, 4096, 20000 };
	size_t i;

	init();
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		unsigned char *p = cr_secure_alloc(sizes[i]);
		cr_assert_not_null(p);
		cr_assert(zero_from(p, 0, sizes[i]), "%zu bytes", sizes[i]);
		memset(p, 0xa5, sizes[i]);
		cr_secure_free(p, sizes[i]);
		/* the same size again: very likely the same block, zeroed anew */
		p = cr_secure_alloc(sizes[i]);
		cr_assert(zero_from(p, 0, sizes[i]), "%zu bytes, again", sizes[i]);
		cr_secure_free(p, sizes[i]);
	}
}

Test(secure, free_wipes)
{
	unsigned char *p, *keep;

	init();
	keep = cr_secure_alloc(64);	/* so that the block is not the arena's last */
	p = cr_secure_alloc(512);
	cr_assert_not_null(p);
	memset(p, 0xa5, 512);
	cr_secure_free(p, 512);
	/* the arena stays mapped, and the block is not handed out again yet */
	cr_assert(zero_from(p, LINKS, 512), "freed bytes are not wiped");
	cr_secure_free(keep, 64);
	cr_secure_free(NULL, 10);	/* nothing */
}

Test(secure, realloc_keeps_the_bytes_and_wipes_the_old_block)
{
	unsigned char *p, *q, *r;
	size_t i;

	init();
	p = cr_secure_alloc(300);
	for (i = 0; i < 300; i++)
		p[i] = (unsigned char)(i + 1);
	q = cr_secure_realloc(p, 300, 5000);
	cr_assert_not_null(q);
	cr_assert_neq(q, p);
	cr_assert(CRYPTO_secure_allocated(q));
	for (i = 0; i < 300; i++)
		cr_assert_eq(q[i], (unsigned char)(i + 1), "byte %zu", i);
	cr_assert(zero_from(q, 300, 5000), "the grown part is zeroed");
	cr_assert(zero_from(p, LINKS, 300), "the old block is wiped");
	/* shrinking keeps the first bytes */
	r = cr_secure_realloc(q, 5000, 10);
	cr_assert_not_null(r);
	for (i = 0; i < 10; i++)
		cr_assert_eq(r[i], (unsigned char)(i + 1));
	cr_assert(zero_from(q, LINKS, 5000), "the old block is wiped");
	cr_secure_free(r, 10);
	/* from nothing */
	r = cr_secure_realloc(NULL, 0, 32);
	cr_assert_not_null(r);
	cr_assert(zero_from(r, 0, 32));
	cr_secure_free(r, 32);
}

Test(secure, copy_is_exact)
{
	unsigned char src[80], dst[96];
	size_t len, i;

	for (i = 0; i < sizeof(src); i++)
		src[i] = (unsigned char)(0x40 + i);
	for (len = 0; len <= sizeof(src); len++) {
		memset(dst, 0xee, sizeof(dst));
		cr_secure_copy(dst + 8, src, len);
		cr_assert_arr_eq(dst + 8, src, len, "len %zu", len);
		for (i = 0; i < 8; i++)
			cr_assert_eq(dst[i], 0xee, "len %zu: written before", len);
		for (i = 8 + len; i < sizeof(dst); i++)
			cr_assert_eq(dst[i], 0xee, "len %zu: written past the end", len);
	}
}
