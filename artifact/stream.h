/*
 * Random-access reads of a member's decompressed bytes.
 *
 * A stream keeps a few decoders ("cursors"), each at some position of the
 * decompressed data with a window of the bytes it produced last.  A read is
 * served by the cursor that has the bytes in its window or stands closest
 * before them, so reading front to back decompresses once, out-of-order
 * kernel readahead hits a window, and two readers at different places do not
 * restart each other.  Once reads run in order, a thread of the stream's own
 * decodes a little ahead of them, so that decoding overlaps delivery.  A
 * cursor that fails is moved back by the next read through it, which
 * decodes again: an error is never the stream's for good.  An uncompressed
 * member has no cursors: its bytes are read with pread where they are.
 * Thread-safe.
 */
#ifndef AF_STREAM_H
#define AF_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "artifact/codec.h"
#include "artifact/error.h"

struct af_stream;

/* A view of length bytes at offset of fd, compressed with comp; fd stays the caller's. */
struct af_stream *af_stream_new(int fd, uint64_t offset, uint64_t length,
    enum af_compression comp);
void af_stream_free(struct af_stream *stream);

/*
 * Reads up to len decompressed bytes at off; *got < len only at the end of the
 * data.  On an error, why says what is wrong.
 */
enum af_err af_stream_pread(struct af_stream *stream, void *buf, size_t len,
    uint64_t off, size_t *got, char *why, size_t whylen);

/*
 * Like af_stream_pread, but hands the bytes to fn in place, in order, in one
 * or more pieces, instead of copying them: fn must not keep the pointer.
 */
typedef void (*af_stream_visit_fn)(void *ctx, const uint8_t *bytes, size_t len);
enum af_err af_stream_visit(struct af_stream *stream, size_t len, uint64_t off,
    af_stream_visit_fn fn, void *ctx, size_t *got, char *why, size_t whylen);

/* Whether decoding leaves checkpoints to resume from (the default); off for
 * a stream that is read once from front to back. */
void af_stream_keep_checkpoints(struct af_stream *stream, bool keep);

/*
 * The stream will be read once, front to back, and nothing else (artifactfs
 * --status): no checkpoints, one cursor, and (but for xz, which decodes
 * slower than it is read) a larger window that decodes further ahead.  Call
 * before reading from more than one thread.
 */
void af_stream_read_once(struct af_stream *stream);

/* Decompressed bytes produced so far by all cursors: tests and bench/ use it
 * to show that a sequential read decompresses once. */
uint64_t af_stream_produced(const struct af_stream *stream);

#endif
