/*
 * Memory for a stream's decoded blocks: equal buffers carved from 2 MiB
 * chunks, which the kernel may back with one huge page each.
 *
 * Why not malloc: the first write to a fresh 4 KiB page is a page fault,
 * and in the VM this was measured on a fault costs 16 us (the hypervisor
 * handles it), so the 15 MiB of blocks a checksum pass fills as it starts
 * cost its decoding thread about 60 ms, 3% of the pass over a 1.5 GiB
 * image.  A chunk with a huge page takes one fault.  The caller asks for
 * huge pages or not (they made xz slower; see stream.c); where the kernel
 * has none to give, a chunk has small pages.
 *
 * Buffers given back are handed out again most recent first, so the pages
 * in use stay few; chunks are returned to the kernel only by
 * af_blockmem_free: the memory held is the most that was ever in use,
 * rounded up to a chunk.  Not thread-safe: the caller serializes.
 */
#ifndef AF_BLOCKMEM_H
#define AF_BLOCKMEM_H

#include <stdbool.h>
#include <stddef.h>

#define AF_BLOCKMEM_CHUNK ((size_t)2 << 20)

struct af_blockmem;

/* Buffers of size bytes, which must divide AF_BLOCKMEM_CHUNK; huge: ask
 * for huge pages. */
struct af_blockmem *af_blockmem_new(size_t size, bool huge);
/* A buffer, or NULL when no memory is left. */
void *af_blockmem_get(struct af_blockmem *m);
void af_blockmem_put(struct af_blockmem *m, void *buf);
/* How many chunks it holds. */
size_t af_blockmem_chunks(const struct af_blockmem *m);
void af_blockmem_free(struct af_blockmem *m);

#endif
