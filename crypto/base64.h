/*
 * Standard base64 (RFC 4648, "+/", "=" padding), decoded strictly so that a
 * bad manifest.sig can be reported by byte offset.
 */
#ifndef CR_BASE64_H
#define CR_BASE64_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cr_base64_error {
	size_t offset;		/* of the first offending byte */
	const char *what;	/* "is not a base64 character", ... */
};

/*
 * Decodes len bytes of text into a malloc'd *out.  A single trailing newline
 * is tolerated and reported through *trailing_newline (Go's decoder accepts
 * it, the C++ client's does not).  False on malformed input, with err set.
 */
bool cr_base64_decode(const char *text, size_t len, uint8_t **out, size_t *out_len,
    bool *trailing_newline, struct cr_base64_error *err);
/* Encodes into a malloc'd NUL-terminated string, no line breaks. */
char *cr_base64_encode(const uint8_t *bytes, size_t len);

#endif
