#include "crypto/base64.h"

#include <stdlib.h>
#include <string.h>

static const char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int
value_of(char c)
{
	const char *p = c != '\0' ? strchr(alphabet, c) : NULL;

	return p != NULL ? (int)(p - alphabet) : -1;
}

static bool
fail(struct cr_base64_error *err, size_t offset, const char *what)
{
	err->offset = offset;
	err->what = what;
	return false;
}

bool
cr_base64_decode(const char *text, size_t len, uint8_t **out, size_t *out_len,
    bool *trailing_newline, struct cr_base64_error *err)
{
	size_t i, n = 0, pad = 0;
	uint32_t acc = 0;
	uint8_t *buf;

	*out = NULL;
	*out_len = 0;
	*trailing_newline = len > 0 && text[len - 1] == '\n';
	if (*trailing_newline)
		len--;
	if (len == 0)
		return fail(err, 0, "is empty");
	for (i = 0; i < len; i++) {
		if (text[i] == '=') {
			if (i + 2 < len || (i + 2 == len && text[i + 1] != '='))
				return fail(err, i, "has '=' padding before the end");
			pad = len - i;
			break;
		}
		if (value_of(text[i]) < 0)
			return fail(err, i, text[i] == '\n' || text[i] == '\r' ?
			    "has a line break inside" : "has a character outside the base64 alphabet");
	}
	if (len % 4 != 0)
		return fail(err, len, "has a length that is not a multiple of 4 (cut short?)");
	if ((buf = malloc(len / 4 * 3)) == NULL)
		return fail(err, 0, "is too large");
	for (i = 0; i < len - pad; i++) {
		acc = acc << 6 | (uint32_t)value_of(text[i]);
		if (i % 4 == 3) {
			buf[n++] = (uint8_t)(acc >> 16);
			buf[n++] = (uint8_t)(acc >> 8);
			buf[n++] = (uint8_t)acc;
			acc = 0;
		}
	}
	if (pad == 1) {
		buf[n++] = (uint8_t)(acc >> 10);
		buf[n++] = (uint8_t)(acc >> 2);
	} else if (pad == 2) {
		buf[n++] = (uint8_t)(acc >> 4);
	}
	*out = buf;
	*out_len = n;
	return true;
}

char *
cr_base64_encode(const uint8_t *bytes, size_t len)
{
	char *s = malloc((len + 2) / 3 * 4 + 1), *p = s;
	size_t i;

	if (s == NULL)
		return NULL;
	for (i = 0; i + 2 < len; i += 3) {
		uint32_t v = (uint32_t)bytes[i] << 16 | (uint32_t)bytes[i + 1] << 8 | bytes[i + 2];
		*p++ = alphabet[v >> 18];
		*p++ = alphabet[(v >> 12) & 63];
		*p++ = alphabet[(v >> 6) & 63];
		*p++ = alphabet[v & 63];
	}
	if (i < len) {
		uint32_t v = (uint32_t)bytes[i] << 16 | (i + 1 < len ? (uint32_t)bytes[i + 1] << 8 : 0);
		*p++ = alphabet[v >> 18];
		*p++ = alphabet[(v >> 12) & 63];
		*p++ = i + 1 < len ? alphabet[(v >> 6) & 63] : '=';
		*p++ = '=';
	}
	*p = '\0';
	return s;
}
