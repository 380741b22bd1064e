/*
 * SHA-256 on a thread of its own, fed buffer by buffer, so that hashing a
 * payload file overlaps its decompression: verification then runs at the
 * speed of the decompressor alone.
 */
#ifndef AF_HASHER_H
#define AF_HASHER_H

#include <stddef.h>
#include <stdint.h>

struct af_hasher;

struct af_hasher *af_hasher_new(size_t buffer_size);
void af_hasher_free(struct af_hasher *h);

/* The next free buffer to fill (waits for one); buffer_size bytes. */
uint8_t *af_hasher_buffer(struct af_hasher *h);
/* Hands the buffer from af_hasher_buffer over, with len bytes in it. */
void af_hasher_submit(struct af_hasher *h, size_t len);
/* Waits for everything submitted, writes the hex digest, starts over. */
void af_hasher_finish(struct af_hasher *h, char hex[65]);
/* Drops what was submitted since the last finish (after a read error). */
void af_hasher_abandon(struct af_hasher *h);

#endif
