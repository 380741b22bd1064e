/*
 * libFuzzer harness for crypto/: the input as PEM public keys
 * (cr_keys_load_public), as a PEM private key (cr_key_load_private), as
 * base64 (cr_base64_decode), and as a signature over a fixed manifest checked
 * with a fixed RSA-2048 and a fixed P-256 public key (cr_verify).  Keys that
 * load are used: described, fingerprinted, made to verify, and private keys
 * to sign (and the signature must then verify with the same key, since that
 * is what the re-signer writes into artifacts).
 *
 * AF_FUZZ_SKIP=selfsign in the environment turns off that last check (to fuzz
 * on past a known bug; fuzz/README.md).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/base64.h"
#include "crypto/key.h"
#include "crypto/signature.h"

static const char rsa_pub[] =
    "-----BEGIN PUBLIC KEY-----\n"
    "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAteCjRsBFaCwX6BHBYqZV\n"
    "DfZJej1aznZ30960S7f+OAtTPh12U5e546eEhWfmR0yVh6b5m/m2nPWrc9a4VGSS\n"
    "qMtZxOSzAPX5BAzRLCMQfm+WopniXT1YeFhpMP+9h9cSSzfH/aKld7nD54W2HEXI\n"
    "9Z4UchuPDK0dB6uSFNNY0IOikoZ2wVCYZ/nXB6ZNm1iphGLkKiEp/Re/FGMMX2ow\n"
    "eB4UJ0yAHi6yjRPnmNv7Ifww+n+qFmUyWD+ezoMTC9bjz7zjHsZBYDieUZ1fvINw\n"
    "4iWu0+jROqPbr0vq80VztEkUR6TkKM5qN1rZr8k2QBH68KGwcBXSMkPR9ydC21zM\n"
    "RQIDAQAB\n"
    "-----END PUBLIC KEY-----\n";

static const char ec_pub[] =
    "-----BEGIN PUBLIC KEY-----\n"
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEIhuPp2NtNHz1MTHtOJXNRFqa9bp0\n"
    "QiC+NLYJvSTZkpIAGnDTUSqDQVP4ZUZfY/b6stcZBThr39Xuaecdau9jaw==\n"
    "-----END PUBLIC KEY-----\n";

/* The message the seed signatures in fuzz/seeds/keys/ sign. */
static const char message[] =
    "0000000000000000000000000000000000000000000000000000000000000000  version\n";

static struct cr_key *fixed[2];
static bool selfsign_check = true;
static volatile uint64_t sink;

static void
die(const char *what, const char *detail)
{
	fprintf(stderr, "fuzz_keys: contract broken: %s: [%s]\n", what,
	    detail != NULL ? detail : "(null)");
	abort();
}

static struct cr_key *
load_one(const char *pem)
{
	struct cr_key **keys;
	struct cr_key *k;
	struct af_reason why = { 0 };
	size_t n = 0;

	if (cr_keys_load_public(pem, strlen(pem), &keys, &n, &why) != AF_OK || n != 1) {
		fprintf(stderr, "fuzz_keys: an embedded key does not load: %s\n", why.text);
		abort();
	}
	k = keys[0];
	free(keys);
	return k;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *skip = getenv("AF_FUZZ_SKIP");

	(void)argc, (void)argv;
	selfsign_check = skip == NULL || strstr(skip, "selfsign") == NULL;
	fixed[0] = load_one(rsa_pub);
	fixed[1] = load_one(ec_pub);
	return 0;
}

static void
verify(const struct cr_key *k, const uint8_t *sig, size_t len)
{
	struct cr_verify_result r;

	cr_verify(k, (const uint8_t *)message, sizeof(message) - 1, sig, len, &r);
	if (memchr(r.detail, '\0', sizeof(r.detail)) == NULL)
		die("cr_verify", "detail not terminated");
	sink += (uint64_t)r.status + (uint64_t)r.form + strlen(r.detail);
}

static void
describe(const struct cr_key *k)
{
	const char *s;

	sink += (uint64_t)cr_key_type(k) + (uint64_t)cr_key_bits(k) + cr_key_is_private(k);
	sink += strlen(cr_key_description(k));
	if (strncmp(cr_key_fingerprint(k), "SHA256:", 7) != 0)
		die("cr_key_fingerprint", cr_key_fingerprint(k));
	if ((s = cr_key_form_warning(k)) != NULL)
		sink += strlen(s);
	if ((s = cr_key_unsupported(k)) != NULL)
		sink += strlen(s);
}

static void
public_keys(const uint8_t *data, size_t size)
{
	static const uint8_t zeros[512];
	struct cr_key **keys = NULL;
	struct af_reason why = { 0 };
	size_t i, n = 0;
	enum af_err err = cr_keys_load_public((const char *)data, size, &keys, &n, &why);

	if (err != AF_OK) {
		if (keys != NULL)
			die("cr_keys_load_public", "no keys but an array");
		if (err == AF_EFORMAT && (why.code == AF_C_NONE || why.text[0] == '\0'))
			die("cr_keys_load_public", "no keys and no reason");
		return;
	}
	if (n == 0)
		die("cr_keys_load_public", "AF_OK without a key");
	for (i = 0; i < n; i++) {
		if (cr_key_is_private(keys[i]))
			die("cr_keys_load_public", "returned a private key");
		describe(keys[i]);
		verify(keys[i], zeros, 64);
		verify(keys[i], zeros, (size_t)(cr_key_bits(keys[i]) + 7) / 8 > sizeof(zeros) ?
		    sizeof(zeros) : (size_t)(cr_key_bits(keys[i]) + 7) / 8);
	}
	cr_keys_free(keys, n);
}

static void
private_key(const uint8_t *data, size_t size)
{
	struct cr_verify_result r;
	struct cr_key *k;
	struct af_reason why = { 0 };
	uint8_t *sig;
	size_t len;

	if ((k = cr_key_load_private((const char *)data, size, &why)) == NULL) {
		if (why.code == AF_C_NONE || why.text[0] == '\0')
			die("cr_key_load_private", "failed without a reason");
		return;
	}
	if (!cr_key_is_private(k))
		die("cr_key_load_private", "not private");
	describe(k);
	/* Big RSA keys sign slowly and teach nothing new. */
	if (cr_key_type(k) != CR_KEY_RSA || cr_key_bits(k) <= 4096) {
		sig = cr_sign(k, (const uint8_t *)message, sizeof(message) - 1, &len, &why);
		if (sig != NULL) {
			cr_verify(k, (const uint8_t *)message, sizeof(message) - 1, sig, len, &r);
			if (selfsign_check && r.status != CR_VERIFY_OK)
				die("cr_sign made a signature its own key does not verify", r.detail);
			if (cr_key_type(k) == CR_KEY_EC_P256 && len != 64)
				die("cr_sign", "ECDSA P-256 signature is not raw r||s");
			free(sig);
		} else if (why.code == AF_C_NONE) {
			die("cr_sign", "failed without a reason");
		}
	}
	cr_key_free(k);
}

static void
base64(const uint8_t *data, size_t size)
{
	struct cr_base64_error err = { 0, NULL };
	uint8_t *out = NULL, *again = NULL;
	size_t len = 0, len2 = 0;
	bool nl, nl2;
	char *text;

	if (!cr_base64_decode((const char *)data, size, &out, &len, &nl, &err)) {
		if (out != NULL || err.what == NULL || err.offset > size)
			die("cr_base64_decode", "bad failure report");
		return;
	}
	if (len > size / 4 * 3)
		die("cr_base64_decode", "more bytes out than the text can hold");
	/* encode and decode again: the same bytes */
	if ((text = cr_base64_encode(out, len)) == NULL)
		abort();
	if (!cr_base64_decode(text, strlen(text), &again, &len2, &nl2, &err) || len2 != len ||
	    memcmp(again, out, len) != 0 || nl2)
		die("cr_base64 round trip", text);
	free(text);
	free(again);
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	public_keys(data, size);
	private_key(data, size);
	base64(data, size);
	verify(fixed[0], data, size);
	verify(fixed[1], data, size);
	sink += strlen(cr_signature_guess(data, size));
	return 0;
}
