/*
 * The values behind a failed integrity check of an xz block or a zstd frame.
 * liblzma says only LZMA_DATA_ERROR and zstd only "checksum wrong", without
 * the stored or the computed value.  On that error (and only then: nothing
 * here runs on the normal path) the member is decoded again from its start
 * with the check ignored, the check is computed over the output and compared
 * with the stored one, so that the reason can give both.
 */
#ifndef AF_RECHECK_H
#define AF_RECHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "artifact/codec.h"

/* Where the compressed input is read from again. */
struct af_recheck_input {
	af_codec_reader read;
	void *ctx;
};

enum af_recheck {
	AF_RECHECK_MISMATCH,	/* decodes, but a stored check differs: detail has both values */
	AF_RECHECK_CORRUPT,	/* xz: it does not decode even with the checks ignored,
				 * or every block matches its check (the index is wrong) */
	AF_RECHECK_UNKNOWN,	/* could not tell (read error, memory, unsupported check) */
};

/*
 * The xz stream at offset start: the first block whose check does not match
 * its data, as "block N (from byte B) does not match its CRC64: expected X
 * (stored), actual Y (data)".  CRCs are printed as numbers, SHA-256 as its
 * bytes, both as `xz -lvv` prints them.
 */
enum af_recheck af_recheck_xz(const struct af_recheck_input *in, uint64_t start,
    char *detail, size_t detail_len);

/*
 * The zstd frame at offset start: its stored content checksum (the low 32 bits
 * of XXH64 of the content) and the computed one, as "expected X (stored),
 * actual Y (data, the low 32 bits of XXH64 Z)".
 */
enum af_recheck af_recheck_zstd(const struct af_recheck_input *in, uint64_t start,
    char *detail, size_t detail_len);

/*
 * The reasons the codec gives, with the values when the member can be read
 * again (in->read set).  For an LZMA_DATA_ERROR in xz stream number member,
 * whose Stream Flags name check: true if a block does not match its check
 * (code check-mismatch; corrupt otherwise).
 */
bool af_recheck_xz_reason(const struct af_recheck_input *in, unsigned member,
    uint64_t start, unsigned check, struct af_reason *why);
/* For ZSTD_error_checksum_wrong in frame number member. */
void af_recheck_zstd_reason(const struct af_recheck_input *in, unsigned member,
    uint64_t start, struct af_reason *why);

#endif
