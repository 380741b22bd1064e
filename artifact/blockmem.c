/* Block memory in huge-page chunks (see blockmem.h). */
#include "artifact/blockmem.h"

#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

struct free_buf {
	struct free_buf *next;
};

struct af_blockmem {
	size_t size;
	bool huge;
	struct free_buf *free;	/* given back, most recent first */
	uint8_t *fresh;		/* the newest chunk's buffers never handed out */
	size_t fresh_left;
	void **chunks;
	size_t chunk_count, chunk_cap;
};

struct af_blockmem *
af_blockmem_new(size_t size, bool huge)
{
	struct af_blockmem *m;

	if (size < sizeof(struct free_buf) || AF_BLOCKMEM_CHUNK % size != 0)
		return NULL;
	if ((m = calloc(1, sizeof(*m))) == NULL)
		return NULL;
	m->size = size;
	m->huge = huge;
	return m;
}

/* A chunk aligned on its size, the condition for a huge page: twice the
 * size is mapped and the ends around the aligned middle are unmapped. */
static void *
chunk_map(bool huge)
{
	size_t span = 2 * AF_BLOCKMEM_CHUNK, head;
	uint8_t *p = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	head = (AF_BLOCKMEM_CHUNK - (uintptr_t)p % AF_BLOCKMEM_CHUNK) % AF_BLOCKMEM_CHUNK;
	if (head > 0)
		munmap(p, head);
	munmap(p + head + AF_BLOCKMEM_CHUNK, AF_BLOCKMEM_CHUNK - head);
	/* advice only: without transparent huge pages the chunk has small ones */
	if (huge)
		(void)madvise(p + head, AF_BLOCKMEM_CHUNK, MADV_HUGEPAGE);
	return p + head;
}

static int
chunk_add(struct af_blockmem *m)
{
	void **grown;
	void *chunk;

	if (m->chunk_count == m->chunk_cap) {
		size_t cap = m->chunk_cap ? 2 * m->chunk_cap : 8;

		if ((grown = realloc(m->chunks, cap * sizeof(*grown))) == NULL)
			return -1;
		m->chunks = grown;
		m->chunk_cap = cap;
	}
	if ((chunk = chunk_map(m->huge)) == NULL)
		return -1;
	m->chunks[m->chunk_count++] = chunk;
	m->fresh = chunk;
	m->fresh_left = AF_BLOCKMEM_CHUNK / m->size;
	return 0;
}

void *
af_blockmem_get(struct af_blockmem *m)
{
	void *buf;

	if (m->free != NULL) {
		buf = m->free;
		m->free = m->free->next;
		return buf;
	}
	if (m->fresh_left == 0 && chunk_add(m) != 0)
		return NULL;
	buf = m->fresh;
	m->fresh += m->size;
	m->fresh_left--;
	return buf;
}

void
af_blockmem_put(struct af_blockmem *m, void *buf)
{
	struct free_buf *f = buf;

	f->next = m->free;
	m->free = f;
}

size_t
af_blockmem_chunks(const struct af_blockmem *m)
{
	return m->chunk_count;
}

void
af_blockmem_free(struct af_blockmem *m)
{
	size_t i;

	if (m == NULL)
		return;
	for (i = 0; i < m->chunk_count; i++)
		munmap(m->chunks[i], AF_BLOCKMEM_CHUNK);
	free(m->chunks);
	free(m);
}
