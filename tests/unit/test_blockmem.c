/* Block memory: buffers from aligned chunks, reused most recent first. */
#include <criterion/criterion.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "artifact/blockmem.h"

#define KiB ((size_t)1 << 10)
#define PER_CHUNK (AF_BLOCKMEM_CHUNK / (256 * KiB))

Test(blockmem, sizes_that_do_not_divide_a_chunk_are_refused)
{
	cr_assert_null(af_blockmem_new(3 * 100 * KiB));
	cr_assert_null(af_blockmem_new(4));
}

Test(blockmem, buffers_are_distinct_and_a_chunk_holds_them_all)
{
	struct af_blockmem *m = af_blockmem_new(256 * KiB);
	uint8_t *buf[2 * PER_CHUNK];
	size_t i, j;

	cr_assert_not_null(m);
	cr_assert_eq(af_blockmem_chunks(m), 0, "memory taken before it was asked for");
	for (i = 0; i < 2 * PER_CHUNK; i++) {
		cr_assert_not_null(buf[i] = af_blockmem_get(m));
		memset(buf[i], (int)i, 256 * KiB);
		cr_assert_eq((uintptr_t)buf[i] % 4096, 0, "buffer %zu is not page-aligned", i);
		cr_assert_eq(af_blockmem_chunks(m), i / PER_CHUNK + 1, "%zu buffers", i + 1);
	}
	for (i = 0; i < 2 * PER_CHUNK; i++) {
		for (j = 0; j < 256 * KiB; j += 4096)
			cr_assert_eq(buf[i][j], (uint8_t)i, "buffer %zu was overwritten", i);
		/* a chunk's buffers share its aligned 2 MiB */
		cr_assert_eq((uintptr_t)buf[i] / AF_BLOCKMEM_CHUNK,
		    (uintptr_t)buf[i - i % PER_CHUNK] / AF_BLOCKMEM_CHUNK);
	}
	af_blockmem_free(m);
}

Test(blockmem, the_buffer_given_back_last_comes_first_and_no_chunk_is_added)
{
	struct af_blockmem *m = af_blockmem_new(256 * KiB);
	void *a, *b, *c;

	cr_assert_not_null(m);
	a = af_blockmem_get(m);
	b = af_blockmem_get(m);
	cr_assert(a != NULL && b != NULL && a != b);
	af_blockmem_put(m, a);
	af_blockmem_put(m, b);
	c = af_blockmem_get(m);
	cr_assert_eq(c, b);
	cr_assert_eq(af_blockmem_get(m), a);
	cr_assert_eq(af_blockmem_chunks(m), 1);
	af_blockmem_free(m);
}

/* The chunk is advised as huge-page memory: its mapping is eligible for
 * transparent huge pages wherever the kernel offers them at all. */
Test(blockmem, chunks_may_have_huge_pages)
{
	FILE *mode = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
	char line[256], setting[128] = "";
	struct af_blockmem *m;
	uintptr_t lo, hi, at;
	bool inside = false, eligible = false, seen = false;
	FILE *maps;
	uint8_t *buf;

	if (mode == NULL || fgets(setting, sizeof(setting), mode) == NULL ||
	    strstr(setting, "[never]") != NULL) {
		if (mode != NULL)
			fclose(mode);
		cr_skip_test("this kernel offers no transparent huge pages (%s)", setting);
	}
	fclose(mode);
	cr_assert_not_null(m = af_blockmem_new(256 * KiB));
	cr_assert_not_null(buf = af_blockmem_get(m));
	buf[0] = 1;
	at = (uintptr_t)buf;
	cr_assert_not_null(maps = fopen("/proc/self/smaps", "r"));
	while (fgets(line, sizeof(line), maps) != NULL) {
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2) {
			inside = lo <= at && at < hi;
			if (inside)
				cr_assert_geq(hi - lo, AF_BLOCKMEM_CHUNK, "the chunk's mapping was split");
		} else if (inside && strncmp(line, "THPeligible:", 12) == 0) {
			seen = true;
			eligible = strtol(line + 12, NULL, 10) == 1;
		}
	}
	fclose(maps);
	cr_assert(seen, "no THPeligible line for the chunk in /proc/self/smaps");
	cr_assert(eligible, "the chunk may not have huge pages (THP: %s)", setting);
	af_blockmem_free(m);
}
