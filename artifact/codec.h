/*
 * Streaming decompression of one member: gzip, xz, zstd or stored.  The
 * compression is decided by the member's name suffix, as mender-artifact does.
 */
#ifndef AF_CODEC_H
#define AF_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

enum af_compression {
	AF_COMP_NONE,
	AF_COMP_GZIP,
	AF_COMP_XZ,
	AF_COMP_ZSTD,
};

/*
 * The compression named by the suffix after ".tar" in a member name
 * ("header.tar.gz" gives gzip); suffix_out, if not NULL, gets the suffix
 * (".tar.gz").  Returns false when the name has no ".tar" suffix we know.
 */
bool af_compression_from_name(const char *name, enum af_compression *out,
    const char **suffix_out);
const char *af_compression_name(enum af_compression comp);

/*
 * Decoder memory is set by the compressed data: cap it.  mender-artifact
 * writes xz with a 64 MiB dictionary and zstd with windows of at most 8 MiB;
 * beyond these a payload is refused rather than trusted with the memory.
 */
#define AF_XZ_MEMLIMIT (80ull << 20)
#define AF_ZSTD_WINDOW_LOG_MAX 25	/* 32 MiB */

struct af_codec;

/*
 * Reads up to len bytes of the compressed input at off (counted from its
 * start) into buf; *got is short at the end of the input.  False on a read
 * error.
 */
typedef bool (*af_codec_reader)(void *ctx, uint64_t off, void *buf, size_t len,
    size_t *got);

struct af_codec *af_codec_new(enum af_compression comp);
void af_codec_free(struct af_codec *codec);
/* Back to the start of a stream. */
enum af_err af_codec_reset(struct af_codec *codec);
/*
 * Lets the codec read its input again, from where the failing member starts,
 * to put the stored and computed values in the reason when an xz block or a
 * zstd frame fails its check.  Without it the reason has no values.
 */
void af_codec_set_reader(struct af_codec *codec, af_codec_reader read, void *ctx);

/*
 * Decompresses from *in (advancing it and *in_len) into *out (advancing it and
 * *out_len).  Sets *done when the input is over and ended with a complete
 * stream.  A call with *in_len == 0 says the input is over: it flushes what
 * is pending and sets *done only if the stream was complete, so a caller that
 * gets neither output nor *done then has a truncated stream.  On AF_ECORRUPT,
 * why says what the decoder reported, its code whether the data is corrupt,
 * fails its own check (check-mismatch) or is followed by bytes that are not
 * another member (trailing-bytes).  why must not be NULL.
 *
 * Integrity is checked end to end: a gzip member's CRC32 and ISIZE (computed
 * by ISA-L as it inflates), the checks of xz blocks and the content checksums
 * of zstd frames.  A stream may be several complete members (gzip members, xz
 * streams with their padding, zstd frames); anything else after the first is
 * an error too, for which af_codec_trailing says where it starts.
 */
enum af_err af_codec_run(struct af_codec *codec, const uint8_t **in,
    size_t *in_len, uint8_t **out, size_t *out_len, bool *done,
    struct af_reason *why);

/*
 * After AF_ECORRUPT: whether the error is in the bytes after the last complete
 * member (they are not another whole member of the format); *at gets their
 * offset in the compressed input.  The caller knows how long the input is.
 */
bool af_codec_trailing(const struct af_codec *codec, uint64_t *at);

/*
 * Whether every byte output so far belongs to a member that ended, its check
 * passed.  After a trailing error it tells bytes after the data (true) from
 * a later member that had begun to decode, damaged or cut short (false):
 * the bytes it gave were never checked.
 */
bool af_codec_output_checked(const struct af_codec *codec);

/*
 * Checkpoints: a copy of a decoder's whole state between two calls, from
 * which decoding resumes at the same input and output position.  Only gzip
 * has them (its ISA-L state is self-contained, about 85 KiB); xz and zstd
 * members are written as one block or frame by Mender tools, so reading them
 * at an offset means decoding from the start.  0: no checkpoints.
 */
size_t af_codec_snapshot_size(const struct af_codec *codec);
/* Fills buf (af_codec_snapshot_size bytes); false if there is nothing to save. */
bool af_codec_snapshot(const struct af_codec *codec, void *buf);
void af_codec_restore(struct af_codec *codec, const void *buf);

#endif
