/*
 * Random-access reads of a member's decompressed bytes.
 *
 * The decompressed data is cut into blocks of AF_STREAM_BLOCK bytes.  A
 * decoder makes each block once and publishes it in a cache of the stream's
 * own, after which its bytes never change; readers pin a block, copy it or
 * look at it in place, and unpin it, so no reader ever waits for another's
 * copy.  The cache has a cap and drops the least recently used block.  A
 * stream has a few decoders (one for xz, whose dictionary is 64 MiB), so
 * that reading front to back decompresses once and readers at different
 * places do not restart each other; gzip decoders leave checkpoints on block
 * boundaries, from which a read behind every cached block resumes.  Once
 * reads run in order, a thread of the stream's own decodes a few blocks
 * ahead of them.  An error belongs to the block that failed: the next read
 * of it decodes it again.  An uncompressed member has no blocks: its bytes
 * are read with pread where they are.  Thread-safe; stream.c's head comment
 * has the model, the threads and the lock order.
 */
#ifndef AF_STREAM_H
#define AF_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "artifact/codec.h"
#include "common/error.h"

struct af_stream;

/* A view of length bytes at offset of fd, compressed with comp; fd stays the caller's. */
struct af_stream *af_stream_new(int fd, uint64_t offset, uint64_t length,
    enum af_compression comp);
void af_stream_free(struct af_stream *stream);

/*
 * Reads up to len decompressed bytes at off; *got < len only at the end of the
 * data.  On an error, why says what is wrong (codes io, truncated, corrupt,
 * check-mismatch, trailing-bytes, ...); why may be NULL.
 */
enum af_err af_stream_pread(struct af_stream *stream, void *buf, size_t len,
    uint64_t off, size_t *got, struct af_reason *why);

/*
 * Like af_stream_pread, but hands the bytes to fn in place, in order, in one
 * or more pieces, instead of copying them: fn must not keep the pointer.
 */
typedef void (*af_stream_visit_fn)(void *ctx, const uint8_t *bytes, size_t len);
enum af_err af_stream_visit(struct af_stream *stream, size_t len, uint64_t off,
    af_stream_visit_fn fn, void *ctx, size_t *got, struct af_reason *why);

/* Whether decoding leaves checkpoints to resume from (the default); off for
 * a stream that is read once from front to back. */
void af_stream_keep_checkpoints(struct af_stream *stream, bool keep);

/*
 * The stream will be read once, front to back, and nothing else (artifactfs
 * --status): no checkpoints, one decoder (the one furthest on; the blocks
 * cached stay), and (but for xz, which decodes slower than it is read) a
 * read-ahead that decodes further ahead.  Call before reading from more than
 * one thread.
 */
void af_stream_read_once(struct af_stream *stream);

/* The size of a decoded block. */
#define AF_STREAM_BLOCK (256u << 10)

/* What the stream holds in decoded blocks, in bytes (tests and bench/). */
struct af_stream_memory {
	size_t cached;		/* blocks in the cache */
	size_t cache_cap;	/* the most the cache holds */
	size_t blocks;		/* blocks in use: cached, pinned after they left the
				 * cache, being decoded (the memory held, in 2 MiB
				 * chunks, is the most ever in use: blockmem.h) */
	size_t blocks_peak;	/* the most there ever were */
	size_t decoders;	/* how many decoders the stream may use */
};
void af_stream_memory(const struct af_stream *stream, struct af_stream_memory *out);

/* Decompressed bytes produced so far by all decoders: tests and bench/ use it
 * to show that a sequential read decompresses once. */
uint64_t af_stream_produced(const struct af_stream *stream);

#endif
