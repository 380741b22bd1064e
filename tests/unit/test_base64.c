/*
 * crypto/base64.c: the RFC 4648 section 10 vectors, round trips of every
 * length against coreutils base64 and openssl base64 (run at test time), and
 * every refusal of the strict decoder with the byte offset it names.
 *
 * What the decoder takes, as the code defines it: the standard alphabet with
 * "=" padding, one line, and at most one trailing '\n' (reported, since the
 * Go client accepts it and the C++ one does not).  Anything else is refused
 * at the first offending byte; a length that is not a multiple of 4 is
 * named at the end of the text (less the trailing newline).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto/base64.h"
#include "tarbuild.h"

/*
 * The refusals, by the one fragment of cr_base64_error.what that tells them
 * apart.  The decoder has no reason codes yet: when it gets them, this table
 * is the one place to change.
 */
#define E_EMPTY "is empty"
#define E_ALPHABET "outside the base64 alphabet"
#define E_LINE_BREAK "line break inside"
#define E_PADDING "'=' padding before the end"
#define E_LENGTH "not a multiple of 4"

/* Decodes text (len bytes), which must succeed; returns the bytes. */
static uint8_t *
decode_ok(const char *text, size_t len, size_t *out_len, bool *newline)
{
	struct cr_base64_error err = { 0, NULL };
	uint8_t *out = (uint8_t *)"not set";
	bool nl = false;

	cr_assert(cr_base64_decode(text, len, &out, out_len, &nl, &err),
	    "'%.*s' refused at %zu: %s", (int)len, text, err.offset, err.what);
	cr_assert_not_null(out);
	if (newline != NULL)
		*newline = nl;
	return out;
}

/* Decodes text, which must be refused at offset for the reason fragment. */
static void
refused_at(const char *text, size_t len, size_t offset, const char *fragment)
{
	struct cr_base64_error err = { 12345, NULL };
	uint8_t *out = (uint8_t *)"not set";
	size_t out_len = 777;
	bool nl;

	cr_assert_not(cr_base64_decode(text, len, &out, &out_len, &nl, &err),
	    "'%.*s' decoded", (int)len, text);
	cr_assert_null(out, "no bytes handed out on a refusal");
	cr_assert_eq(out_len, 0);
	cr_assert_not_null(err.what);
	cr_assert_eq(err.offset, offset, "'%.*s': offset %zu, want %zu (%s)", (int)len, text,
	    err.offset, offset, err.what);
	cr_assert(strstr(err.what, fragment) != NULL, "'%.*s': \"%s\", want \"%s\"", (int)len,
	    text, err.what, fragment);
}

#define REFUSED_AT(lit, off, frag) refused_at(lit, sizeof(lit) - 1, off, frag)

/* RFC 4648, section 10. */
static const struct {
	const char *plain, *encoded;
} rfc4648[] = {
	{ "", "" },
	{ "f", "Zg==" },
	{ "fo", "Zm8=" },
	{ "foo", "Zm9v" },
	{ "foob", "Zm9vYg==" },
	{ "fooba", "Zm9vYmE=" },
	{ "foobar", "Zm9vYmFy" },
};

Test(base64, rfc4648_vectors_encode)
{
	size_t i;

	for (i = 0; i < sizeof(rfc4648) / sizeof(rfc4648[0]); i++) {
		char *s = cr_base64_encode((const uint8_t *)rfc4648[i].plain,
		    strlen(rfc4648[i].plain));
		cr_assert_not_null(s);
		cr_assert_str_eq(s, rfc4648[i].encoded, "BASE64(\"%s\")", rfc4648[i].plain);
		free(s);
	}
}

Test(base64, rfc4648_vectors_decode)
{
	size_t i, len;

	/* the empty text is a refusal here: an empty manifest.sig signs nothing */
	REFUSED_AT("", 0, E_EMPTY);
	for (i = 1; i < sizeof(rfc4648) / sizeof(rfc4648[0]); i++) {
		bool nl = true;
		uint8_t *b = decode_ok(rfc4648[i].encoded, strlen(rfc4648[i].encoded), &len, &nl);
		cr_assert_eq(len, strlen(rfc4648[i].plain), "\"%s\"", rfc4648[i].encoded);
		cr_assert_arr_eq(b, rfc4648[i].plain, len, "\"%s\"", rfc4648[i].encoded);
		cr_assert_not(nl);
		free(b);
	}
}

/* Every byte value at every position of the last group, every length 0..300. */
Test(base64, round_trip_every_length)
{
	uint8_t data[301];
	size_t n, i, len;

	for (i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 151 + 7);	/* 151 is odd: all 256 values */
	for (n = 0; n <= 300; n++) {
		char *s = cr_base64_encode(data, n);
		uint8_t *back;

		cr_assert_not_null(s);
		cr_assert_eq(strlen(s), (n + 2) / 3 * 4, "n=%zu", n);
		if (n == 0) {
			free(s);
			continue;
		}
		back = decode_ok(s, strlen(s), &len, NULL);
		cr_assert_eq(len, n);
		cr_assert_arr_eq(back, data, n, "n=%zu", n);
		free(back);
		free(s);
	}
}

/* The same text as `base64 -w0` and `openssl base64 -A`, and their outputs decode. */
Test(base64, agrees_with_coreutils_and_openssl)
{
	static const size_t lengths[] = { 1, 2, 3, 4, 5, 31, 32, 33, 64, 255, 256, 344, 1000 };
	size_t i, k;

	for (i = 0; i < sizeof(lengths) / sizeof(lengths[0]); i++) {
		uint8_t *data = tb_pattern(lengths[i], (uint32_t)i + 1);
		int fd = tb_temp_fd(data, lengths[i]);
		char path[64], cmd[256];
		const char *tools[] = { "base64 -w0 %s", "openssl base64 -A -in %s" };
		char *ours = cr_base64_encode(data, lengths[i]);

		tb_fd_path(fd, path, sizeof(path));
		for (k = 0; k < 2; k++) {
			size_t len, out_len;
			char *theirs;
			uint8_t *back;

			snprintf(cmd, sizeof(cmd), tools[k], path);
			theirs = (char *)run_capture(cmd, &len);
			cr_assert_not_null(theirs, "%s", cmd);
			while (len > 0 && theirs[len - 1] == '\n')	/* openssl -A ends a line */
				theirs[--len] = '\0';
			cr_assert_str_eq(ours, theirs, "%zu bytes: %s", lengths[i], cmd);
			back = decode_ok(theirs, len, &out_len, NULL);
			cr_assert_eq(out_len, lengths[i]);
			cr_assert_arr_eq(back, data, out_len);
			free(back);
			free(theirs);
		}
		free(ours);
		close(fd);
		free(data);
	}
}

/* What the wrapping tools write by default is refused at the first line break. */
Test(base64, wrapped_output_is_refused_at_the_first_break)
{
	uint8_t *data = tb_pattern(200, 9);
	int fd = tb_temp_fd(data, 200);
	char path[64], cmd[128];
	size_t len;
	char *text;

	tb_fd_path(fd, path, sizeof(path));
	snprintf(cmd, sizeof(cmd), "base64 %s", path);	/* 76 a line */
	text = (char *)run_capture(cmd, &len);
	cr_assert_not_null(text);
	refused_at(text, len, 76, E_LINE_BREAK);
	free(text);
	snprintf(cmd, sizeof(cmd), "openssl base64 -in %s", path);	/* 64 a line */
	text = (char *)run_capture(cmd, &len);
	cr_assert_not_null(text);
	refused_at(text, len, 64, E_LINE_BREAK);
	free(text);
	close(fd);
	free(data);
}

Test(base64, one_trailing_newline_is_taken_and_reported)
{
	size_t len;
	bool nl = false;
	uint8_t *b = decode_ok("Zm9vYmFy\n", 9, &len, &nl);

	cr_assert(nl);
	cr_assert_eq(len, 6);
	cr_assert_arr_eq(b, "foobar", 6);
	free(b);
	b = decode_ok("Zg==\n", 5, &len, &nl);
	cr_assert(nl);
	cr_assert_eq(len, 1);
	free(b);
	/* a newline alone is empty text, and the offset is 0 */
	REFUSED_AT("\n", 0, E_EMPTY);
	/* a second newline, or a CRLF, is a line break inside */
	REFUSED_AT("Zm9vYmFy\n\n", 8, E_LINE_BREAK);
	REFUSED_AT("Zm9vYmFy\r\n", 8, E_LINE_BREAK);
	REFUSED_AT("Zm9vYmFy\r", 8, E_LINE_BREAK);
	REFUSED_AT("Zm9v\nYmFy", 4, E_LINE_BREAK);
	REFUSED_AT("\nZm9vYmFy", 0, E_LINE_BREAK);
}

Test(base64, characters_outside_the_alphabet)
{
	/* whitespace is not skipped */
	REFUSED_AT(" Zm9vYmFy", 0, E_ALPHABET);
	REFUSED_AT("Zm9v YmFy", 4, E_ALPHABET);
	REFUSED_AT("Zm9vYmFy ", 8, E_ALPHABET);
	REFUSED_AT("Zm9v\tYmFy", 4, E_ALPHABET);
	/* the URL-safe alphabet is another encoding */
	REFUSED_AT("Zm9v-_Fy", 4, E_ALPHABET);
	REFUSED_AT("Zm9vY_Fy", 5, E_ALPHABET);
	REFUSED_AT("Zm9vYm.y", 6, E_ALPHABET);
	/* bytes with the high bit set (a signed char must not index anything) */
	REFUSED_AT("Zm9vYmF\xff", 7, E_ALPHABET);
	REFUSED_AT("\x80Zm9", 0, E_ALPHABET);
	/* a NUL inside the text is a byte like any other, not its end */
	refused_at("Zm9v\0mFy", 8, 4, E_ALPHABET);
	refused_at("\0", 1, 0, E_ALPHABET);
	/* the first bad byte is named, not a later one */
	REFUSED_AT("Zm*vYm!y", 2, E_ALPHABET);
	/* the alphabet is checked before the length */
	REFUSED_AT("Zm9v*", 4, E_ALPHABET);
}

Test(base64, padding_only_at_the_end)
{
	size_t len;
	uint8_t *b;

	REFUSED_AT("====", 0, E_PADDING);
	REFUSED_AT("Z===", 1, E_PADDING);
	REFUSED_AT("Zm=v", 2, E_PADDING);
	REFUSED_AT("Zg==Zm9v", 2, E_PADDING);	/* two encodings concatenated */
	REFUSED_AT("Zm8=Zm9v", 3, E_PADDING);
	REFUSED_AT("Zm9vYmE=\n\n", 7, E_PADDING);	/* '=' then a second newline */
	/* one or two '=' at the very end are padding */
	b = decode_ok("Zm8=", 4, &len, NULL);
	cr_assert_eq(len, 2);
	free(b);
	b = decode_ok("Zg==", 4, &len, NULL);
	cr_assert_eq(len, 1);
	free(b);
	/* padding that makes the length wrong: named at the end */
	REFUSED_AT("Zm8", 3, E_LENGTH);
	REFUSED_AT("Zg=", 3, E_LENGTH);
	REFUSED_AT("Zm9vY===", 5, E_PADDING);
}

Test(base64, truncated_input_is_named_at_its_end)
{
	REFUSED_AT("Z", 1, E_LENGTH);
	REFUSED_AT("Zm", 2, E_LENGTH);
	REFUSED_AT("Zm9vYmF", 7, E_LENGTH);
	REFUSED_AT("Zm9vY", 5, E_LENGTH);
	/* the trailing newline is not counted */
	REFUSED_AT("Zm9vYmF\n", 7, E_LENGTH);
	REFUSED_AT("Zm9vYmE==", 9, E_LENGTH);	/* one '=' too many */
}

/* A manifest.sig as mender-artifact writes it: an RSA-2048 signature is 344
 * characters; cut anywhere it is refused at its new end, never decoded short. */
Test(base64, a_cut_signature_is_refused)
{
	uint8_t *sig = tb_pattern(256, 3);
	char *text = cr_base64_encode(sig, 256);
	size_t cut, len;
	uint8_t *b;

	cr_assert_eq(strlen(text), 344);
	for (cut = 1; cut < 344; cut++) {
		if (cut % 4 == 0) {	/* a whole number of groups: decodes, shorter */
			b = decode_ok(text, cut, &len, NULL);
			cr_assert_eq(len, cut / 4 * 3);
			cr_assert_arr_eq(b, sig, len);
			free(b);
		} else {
			refused_at(text, cut, cut, E_LENGTH);
		}
	}
	free(text);
	free(sig);
}

/*
 * The bits below the last byte of a padded group are ignored, as Go's
 * StdEncoding (the Mender client) ignores them: "Zh==" is 'f' as "Zg==" is.
 */
Test(base64, nonzero_pad_bits_are_ignored)
{
	size_t len;
	uint8_t *a = decode_ok("Zh==", 4, &len, NULL);

	cr_assert_eq(len, 1);
	cr_assert_eq(a[0], 'f');
	free(a);
	a = decode_ok("Zm9=", 4, &len, NULL);
	cr_assert_eq(len, 2);
	cr_assert_arr_eq(a, "fo", 2);
	free(a);
}
