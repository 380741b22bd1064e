/*
 * crypto/sha256.c: the FIPS 180-2 known answers (appendix B: "abc", the
 * 448-bit message, a million 'a'), the empty message, one-shot against
 * incremental at every split, lengths around the padding boundary against
 * sha256sum (run at test time), and cr_hex.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto/sha256.h"
#include "tarbuild.h"

static const struct {
	const char *msg;
	const char *hex;
} fips[] = {
	/* FIPS 180-2, B.1 */
	{ "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
	/* B.2: 448 bits, two blocks once padded */
	{ "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
	    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
	/* the empty message */
	{ "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
};
/* B.3: one million 'a' */
static const char million_a[] =
    "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";

static void
hex_of(const void *data, size_t len, char hex[CR_SHA256_HEX_LEN + 1])
{
	uint8_t d[CR_SHA256_LEN];

	cr_sha256(data, len, d);
	cr_hex(d, sizeof(d), hex);
}

Test(sha256, fips_180_2_one_shot)
{
	char hex[CR_SHA256_HEX_LEN + 1];
	size_t i;

	for (i = 0; i < sizeof(fips) / sizeof(fips[0]); i++) {
		hex_of(fips[i].msg, strlen(fips[i].msg), hex);
		cr_assert_str_eq(hex, fips[i].hex, "\"%s\"", fips[i].msg);
	}
}

Test(sha256, fips_180_2_incremental_at_every_split)
{
	char hex[CR_SHA256_HEX_LEN + 1];
	struct cr_sha256 *c = cr_sha256_new();
	size_t i, split, len;

	cr_assert_not_null(c);
	for (i = 0; i < sizeof(fips) / sizeof(fips[0]); i++) {
		len = strlen(fips[i].msg);
		for (split = 0; split <= len; split++) {
			/* the context is reused: final_hex starts it over */
			cr_sha256_update(c, fips[i].msg, split);
			cr_sha256_update(c, fips[i].msg + split, len - split);
			cr_sha256_final_hex(c, hex);
			cr_assert_str_eq(hex, fips[i].hex, "\"%s\" split at %zu", fips[i].msg, split);
		}
		/* byte by byte */
		for (split = 0; split < len; split++)
			cr_sha256_update(c, fips[i].msg + split, 1);
		cr_sha256_final_hex(c, hex);
		cr_assert_str_eq(hex, fips[i].hex);
	}
	cr_sha256_free(c);
}

Test(sha256, a_million_a)
{
	char *a = malloc(1000000), hex[CR_SHA256_HEX_LEN + 1];
	static const size_t chunks[] = { 1, 3, 55, 56, 63, 64, 65, 1000, 4096, 65537, 1000000 };
	struct cr_sha256 *c = cr_sha256_new();
	size_t i, at;

	memset(a, 'a', 1000000);
	hex_of(a, 1000000, hex);
	cr_assert_str_eq(hex, million_a, "one shot");
	for (i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
		for (at = 0; at < 1000000; at += chunks[i])
			cr_sha256_update(c, a + at, at + chunks[i] <= 1000000 ? chunks[i] :
			    1000000 - at);
		cr_sha256_final_hex(c, hex);
		cr_assert_str_eq(hex, million_a, "in chunks of %zu", chunks[i]);
	}
	cr_sha256_free(c);
	free(a);
}

/* Around the block (64) and padding (55/56) boundaries, and longer. */
Test(sha256, agrees_with_sha256sum)
{
	static const size_t lengths[] = { 1, 55, 56, 57, 63, 64, 65, 119, 120, 128, 1000, 100000 };
	size_t i;

	for (i = 0; i < sizeof(lengths) / sizeof(lengths[0]); i++) {
		uint8_t *data = tb_pattern(lengths[i], (uint32_t)i);
		int fd = tb_temp_fd(data, lengths[i]);
		char cmd[128], path[64], hex[CR_SHA256_HEX_LEN + 1];
		size_t len;
		char *out;

		snprintf(cmd, sizeof(cmd), "sha256sum < %s", tb_fd_path(fd, path, sizeof(path)));
		out = (char *)run_capture(cmd, &len);
		cr_assert_not_null(out);
		cr_assert_geq(len, 64);
		out[64] = '\0';
		hex_of(data, lengths[i], hex);
		cr_assert_str_eq(hex, out, "%zu bytes", lengths[i]);
		close(fd);
		free(out);
		free(data);
	}
}

Test(sha256, hex_digits)
{
	static const uint8_t b[] = { 0x00, 0x01, 0x7f, 0x80, 0xab, 0xff };
	char out[2 * sizeof(b) + 1];

	memset(out, 'x', sizeof(out));
	cr_hex(b, sizeof(b), out);
	cr_assert_str_eq(out, "00017f80abff");
	cr_hex(b, 0, out);
	cr_assert_str_eq(out, "");
}
