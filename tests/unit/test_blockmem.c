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
	cr_assert_null(af_blockmem_new(3 * 100 * KiB, true));
	cr_assert_null(af_blockmem_new(4, true));
}

Test(blockmem, buffers_are_distinct_and_a_chunk_holds_them_all)
{
	struct af_blockmem *m = af_blockmem_new(256 * KiB, true);
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
	struct af_blockmem *m = af_blockmem_new(256 * KiB, true);
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

/* THP's mode, the bracketed word of the sysfs file; "" if unknown. */
static void
thp_mode(char *mode, size_t len)
{
	FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
	char line[256] = "", *open, *close;

	mode[0] = '\0';
	if (f == NULL)
		return;
	if (fgets(line, sizeof(line), f) != NULL && (open = strchr(line, '[')) != NULL &&
	    (close = strchr(open, ']')) != NULL)
		snprintf(mode, len, "%.*s", (int)(close - open - 1), open + 1);
	fclose(f);
}

/* The THPeligible field of the mapping that holds at, from /proc/self/smaps. */
static int
thp_eligible(const void *at)
{
	FILE *maps = fopen("/proc/self/smaps", "r");
	char line[256];
	unsigned long lo, hi;
	bool inside = false;
	int eligible = -1;

	cr_assert_not_null(maps);
	while (eligible < 0 && fgets(line, sizeof(line), maps) != NULL) {
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2)
			inside = lo <= (uintptr_t)at && (uintptr_t)at < hi;
		else if (inside && strncmp(line, "THPeligible:", 12) == 0)
			eligible = (int)strtol(line + 12, NULL, 10);
	}
	fclose(maps);
	cr_assert_geq(eligible, 0, "no THPeligible line for %p in /proc/self/smaps", at);
	return eligible;
}

/* Huge pages are asked for where the caller says so, and only there
 * (where THP is on for every mapping, both are eligible). */
Test(blockmem, huge_pages_where_asked)
{
	struct af_blockmem *huge, *small;
	uint8_t *h, *s;
	char mode[32];

	thp_mode(mode, sizeof(mode));
	if (strcmp(mode, "always") != 0 && strcmp(mode, "madvise") != 0)
		cr_skip_test("this kernel offers no transparent huge pages (mode \"%s\")", mode);
	cr_assert_not_null(huge = af_blockmem_new(256 * KiB, true));
	cr_assert_not_null(small = af_blockmem_new(256 * KiB, false));
	cr_assert_not_null(h = af_blockmem_get(huge));
	cr_assert_not_null(s = af_blockmem_get(small));
	h[0] = s[0] = 1;
	cr_assert_eq(thp_eligible(h), 1, "the chunk may not have huge pages (THP: %s)", mode);
	if (strcmp(mode, "madvise") == 0)
		cr_assert_eq(thp_eligible(s), 0, "huge pages where none were asked for");
	af_blockmem_free(huge);
	af_blockmem_free(small);
}
