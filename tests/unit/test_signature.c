/*
 * crypto/signature.c: ECDSA P-256 signatures in their two forms, raw r||s
 * (what mender-artifact writes) and DER (what openssl writes), each way; the
 * strict DER parser; the verify paths of RSA that test_key.c does not take
 * (wrong size, PSS padding, a digest other than SHA-256); cr_signature_guess.
 *
 * The reference each way is independent of the code under test: DER is
 * built here byte by byte from r and s, and checked with OpenSSL's own
 * EVP_DigestVerify or the openssl command.  Keys are the fixtures' (FIXTURES:
 * rsa.pem, ec.pem and their .pub), written by openssl.
 *
 * test_key.c has the two RSA causes ("made by this key over a different
 * manifest" / "not made by this key"), the ECDSA reason and the e=1 forgery.
 */
#include <criterion/criterion.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto/key.h"
#include "crypto/signature.h"
#include "support.h"
#include "tarbuild.h"

#define SCALAR 32

static char *
fixture_text(const char *name, size_t *len)
{
	char path[4096];
	char *text;

	if (fixture_path(name, path, sizeof(path)) == NULL)
		cr_skip_test("fixture %s is absent (FIXTURES)", name);
	text = (char *)read_file(path, len);
	cr_assert_not_null(text, "%s", path);
	return text;
}

static struct cr_key *
private_key(const char *name)
{
	size_t len;
	char *pem = fixture_text(name, &len);
	struct af_reason why = { 0 };
	struct cr_key *k = cr_key_load_private(pem, len, &why);

	cr_assert_not_null(k, "%s: %s", name, why.text);
	free(pem);
	return k;
}

static struct cr_key *
public_key(const char *name)
{
	size_t len;
	char *pem = fixture_text(name, &len);
	struct cr_key *k = one_public_key(pem, len, name);

	free(pem);
	return k;
}

/* The same public key as OpenSSL's own EVP_PKEY, for an independent check. */
static EVP_PKEY *
openssl_public(const char *name)
{
	char path[4096];
	FILE *f;
	EVP_PKEY *p;

	if (fixture_path(name, path, sizeof(path)) == NULL)
		cr_skip_test("fixture %s is absent (FIXTURES)", name);
	cr_assert_not_null(f = fopen(path, "r"));
	p = PEM_read_PUBKEY(f, NULL, NULL, NULL);
	fclose(f);
	cr_assert_not_null(p);
	return p;
}

static bool
openssl_verifies(EVP_PKEY *pub, const char *msg, const uint8_t *sig, size_t len)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int rc = EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pub) == 1 ?
	    EVP_DigestVerify(md, sig, len, (const uint8_t *)msg, strlen(msg)) : -1;

	EVP_MD_CTX_free(md);
	return rc == 1;
}

/* A DER INTEGER of an unsigned big-endian number: minimal, and a 0x00 in
 * front of a set top bit (else it would be negative). */
static size_t
der_uint(uint8_t *out, const uint8_t *n, size_t len)
{
	size_t h = 0;

	while (len > 1 && n[0] == 0)
		n++, len--;
	out[h++] = 0x02;
	out[h++] = (uint8_t)(len + (n[0] & 0x80 ? 1 : 0));
	if (n[0] & 0x80)
		out[h++] = 0;
	memcpy(out + h, n, len);
	return h + len;
}

/* SEQUENCE { r, s } of raw r||s (scalar bytes each). */
static size_t
der_of_raw(uint8_t *out, const uint8_t *raw, size_t scalar)
{
	uint8_t body[2 * 70];
	size_t n = der_uint(body, raw, scalar);

	n += der_uint(body + n, raw + scalar, scalar);
	out[0] = 0x30;
	out[1] = (uint8_t)n;
	memcpy(out + 2, body, n);
	return n + 2;
}

/* cr_verify, which must give status (and form, unless -1). */
static void
verify_is(const struct cr_key *k, const char *msg, const uint8_t *sig, size_t len,
    enum cr_verify_status status, int form, struct cr_verify_result *r)
{
	struct cr_verify_result local;

	if (r == NULL)
		r = &local;
	cr_verify(k, (const uint8_t *)msg, strlen(msg), sig, len, r);
	cr_assert_eq(r->status, status, "%zu-byte signature: status %d, want %d: %s", len,
	    r->status, status, r->detail);
	if (form >= 0)
		cr_assert_eq(r->form, (enum cr_sig_form)form, "%zu-byte signature: form %d, want %d",
		    len, r->form, form);
}

/*
 * cr_sign writes raw r||s, 32 bytes each, left-padded: signed until r and s
 * have each come out short (a leading zero byte, 1 in 256) and with the top
 * bit set (1 in 2).  Each raw signature, turned into DER here, verifies with
 * OpenSSL; and cr_verify takes it in both forms.
 */
Test(signature, ecdsa_raw_and_der_each_way)
{
	struct cr_key *priv = private_key("ec.pem"), *pub = public_key("ec.pub");
	EVP_PKEY *ossl = openssl_public("ec.pub");
	bool r_short = false, s_short = false, r_high = false, s_high = false;
	int i;

	for (i = 0; i < 20000 && !(r_short && s_short && r_high && s_high && i >= 16); i++) {
		char msg[128];
	struct af_reason why = { 0 };
		uint8_t *raw, der[80];
		size_t len, dlen;

		snprintf(msg, sizeof(msg), "%064d  data/0000/rootfs.ext4\n", i);
		raw = cr_sign(priv, (const uint8_t *)msg, strlen(msg), &len, &why);
		cr_assert_not_null(raw, "%s", why.text);
		cr_assert_eq(len, 2 * SCALAR);
		dlen = der_of_raw(der, raw, SCALAR);
		cr_assert(openssl_verifies(ossl, msg, der, dlen),
		    "signature %d: its DER does not verify with OpenSSL", i);
		verify_is(pub, msg, raw, len, CR_VERIFY_OK, CR_SIG_ECDSA_RAW, NULL);
		if (dlen != 2 * SCALAR)	/* 64 bytes of DER are read as raw (as Mender does) */
			verify_is(pub, msg, der, dlen, CR_VERIFY_OK, CR_SIG_ECDSA_DER, NULL);
		r_short |= raw[0] == 0;
		s_short |= raw[SCALAR] == 0;
		r_high |= (raw[0] & 0x80) != 0;
		s_high |= (raw[SCALAR] & 0x80) != 0;
		free(raw);
	}
	cr_assert(r_short && s_short && r_high && s_high, "%d signatures, not every shape", i);
	EVP_PKEY_free(ossl);
	cr_key_free(priv);
	cr_key_free(pub);
}

/* Raw r||s from DER: what `openssl dgst -sign` writes, decoded here. */
static size_t
raw_of_der(const uint8_t *der, size_t len, uint8_t raw[2 * SCALAR])
{
	size_t at = 2, i;

	cr_assert(len >= 8 && der[0] == 0x30 && der[1] == len - 2);
	memset(raw, 0, 2 * SCALAR);
	for (i = 0; i < 2; i++) {
		size_t n = der[at + 1];
		const uint8_t *v = der + at + 2;
		cr_assert_eq(der[at], 0x02);
		if (n == SCALAR + 1) {
			cr_assert_eq(v[0], 0);
			v++, n--;
		}
		cr_assert(n <= SCALAR);
		memcpy(raw + i * SCALAR + SCALAR - n, v, n);
		at += 2 + der[at + 1];
	}
	cr_assert_eq(at, len);
	return 2 * SCALAR;
}

/* openssl's own DER signatures verify, and so does their raw form. */
Test(signature, ecdsa_der_from_the_openssl_command)
{
	struct cr_key *pub = public_key("ec.pub");
	char key[4096], cmd[4400], path[64];
	int i;

	if (fixture_path("ec.pem", key, sizeof(key)) == NULL)
		cr_skip_test("no fixtures");
	for (i = 0; i < 8; i++) {
		char msg[64];
		int fd;
		size_t len;
		uint8_t *der, raw[2 * SCALAR];
		struct cr_verify_result r;

		snprintf(msg, sizeof(msg), "manifest %d\n", i);
		fd = tb_temp_fd(msg, strlen(msg));
		snprintf(cmd, sizeof(cmd), "openssl dgst -sha256 -sign %s %s", key,
		    tb_fd_path(fd, path, sizeof(path)));
		der = run_capture(cmd, &len);
		cr_assert_not_null(der, "%s", cmd);
		close(fd);
		if (len == 2 * SCALAR) {	/* read as raw, rightly refused; 1 in ~10^9 */
			free(der);
			continue;
		}
		verify_is(pub, msg, der, len, CR_VERIFY_OK, CR_SIG_ECDSA_DER, NULL);
		cr_assert_str_eq(cr_signature_guess(der, len), "ECDSA P-256, DER");
		raw_of_der(der, len, raw);
		verify_is(pub, msg, raw, sizeof(raw), CR_VERIFY_OK, CR_SIG_ECDSA_RAW, NULL);
		/* the other message: it fits the key, it does not verify */
		verify_is(pub, "manifest x\n", der, len, CR_VERIFY_BAD, CR_SIG_ECDSA_DER, &r);
		free(der);
	}
	cr_key_free(pub);
}

/* A valid DER signature whose r has no top bit set (so that a 0x00 in front
 * of it is a non-minimal encoding), with its message. */
static size_t
der_sig_low_r(struct cr_key *priv, uint8_t *der, char *msg, size_t msglen)
{
	int i;

	for (i = 0; i < 1000; i++) {
		struct af_reason why = { 0 };
		size_t len;
		uint8_t *raw;

		snprintf(msg, msglen, "manifest %d\n", i);
		raw = cr_sign(priv, (const uint8_t *)msg, strlen(msg), &len, &why);
		cr_assert_not_null(raw, "%s", why.text);
		if ((raw[0] & 0x80) == 0 && raw[0] != 0 && (raw[SCALAR] & 0x80) != 0 &&
		    raw[SCALAR] != 0) {
			size_t dlen = der_of_raw(der, raw, SCALAR);
			free(raw);
			cr_assert_eq(dlen, 2 + 2 + 32 + 2 + 33);	/* 71 bytes */
			return dlen;
		}
		free(raw);
	}
	cr_assert_fail("no such signature in 1000");
	return 0;
}

/* cr_verify refuses bytes that are not a signature this key makes. */
static void
not_a_signature(const struct cr_key *pub, const char *msg, const uint8_t *bad, size_t blen,
    const char *what)
{
	struct cr_verify_result r;

	cr_assert_neq(blen, 2 * SCALAR, "%s: 64 bytes would be read as raw", what);
	cr_verify(pub, (const uint8_t *)msg, strlen(msg), bad, blen, &r);
	cr_assert_eq(r.status, CR_VERIFY_MISMATCH, "%s: status %d: %s", what, r.status, r.detail);
	cr_assert_eq(r.form, CR_SIG_UNKNOWN, "%s", what);
	cr_assert_str_neq(cr_signature_guess(bad, blen), "ECDSA P-256, DER", "%s", what);
}

/* bad = der with n bytes inserted at at (n < 0: removed there). */
static size_t
splice(uint8_t *bad, const uint8_t *der, size_t len, size_t at, int n, const uint8_t *ins)
{
	memcpy(bad, der, at);
	if (n >= 0) {
		memcpy(bad + at, ins, (size_t)n);
		memcpy(bad + at + n, der + at, len - at);
		return len + (size_t)n;
	}
	memcpy(bad + at, der + at - n, len - at + (size_t)n);
	return len - (size_t)-n;
}

/*
 * DER that is not strictly a DER ECDSA-Sig-Value is not a signature: the
 * verdict is MISMATCH (not a signature this key makes), never BAD and never
 * OK.  The valid one is 30 45 { 02 20 r, 02 21 00 s }: 71 bytes, s at 39.
 */
Test(signature, malformed_der_is_refused)
{
	struct cr_key *priv = private_key("ec.pem"), *pub = public_key("ec.pub");
	uint8_t der[80], bad[90];
	static const uint8_t zero[] = { 0x00 }, null[] = { 0x05, 0x00 }, int0[] = { 0x02, 0x01,
	    0x00 }, len69[] = { 69 };
	char msg[64];
	size_t len = der_sig_low_r(priv, der, msg, sizeof(msg)), n;

	verify_is(pub, msg, der, len, CR_VERIFY_OK, CR_SIG_ECDSA_DER, NULL);
	cr_assert_eq(der[0], 0x30);
	cr_assert_eq(der[1], 69);
	cr_assert_eq(der[3], 32);
	cr_assert_eq(der[37], 33);
	cr_assert_eq(der[38], 0);

#define BYTE(i, v, what) do {						\
		memcpy(bad, der, len);					\
		bad[i] = (v);						\
		not_a_signature(pub, msg, bad, len, what);		\
	} while (0)
	/* wrong tags */
	BYTE(0, 0x31, "SET instead of SEQUENCE");
	BYTE(0, 0x10, "SEQUENCE without its constructed bit");
	BYTE(2, 0x03, "BIT STRING instead of INTEGER r");
	BYTE(36, 0x04, "OCTET STRING instead of INTEGER s");
	/* bad lengths */
	BYTE(1, 70, "SEQUENCE length one too long");
	BYTE(1, 68, "SEQUENCE length one too short");
	BYTE(3, 33, "r length one too long");
	BYTE(3, 31, "r length one too short");
	BYTE(37, 34, "s length past the end");
	BYTE(1, 0x80, "indefinite SEQUENCE length");
	not_a_signature(pub, msg, der, len - 1, "cut short by one byte");
	not_a_signature(pub, msg, der, 2, "only the SEQUENCE header");
	not_a_signature(pub, msg, (const uint8_t *)"\x30\x00", 2, "an empty SEQUENCE");
	/* BER, not DER: the SEQUENCE length in long form (30 81 45) */
	n = splice(bad, der, len, 2, 1, len69);
	bad[1] = 0x81;
	not_a_signature(pub, msg, bad, n, "long-form SEQUENCE length");
	/* trailing bytes */
	n = splice(bad, der, len, len, 1, zero);
	not_a_signature(pub, msg, bad, n, "a byte after the SEQUENCE");
	n = splice(bad, der, len, len, 2, null);
	not_a_signature(pub, msg, bad, n, "a NULL after the SEQUENCE");
	n = splice(bad, der, len, len, 2, null);
	bad[1] = 71;
	not_a_signature(pub, msg, bad, n, "a NULL inside the SEQUENCE, after s");
	n = splice(bad, der, len, len, 3, int0);
	bad[1] = 72;
	not_a_signature(pub, msg, bad, n, "a third INTEGER");
	/* negative s: its 00 pad removed (02 20 s, top bit set) */
	n = splice(bad, der, len, 38, -1, NULL);
	bad[1] = 68;
	bad[37] = 32;
	not_a_signature(pub, msg, bad, n, "negative s");
	/* negative r: its top bit set (r < 2^255 had it clear) */
	BYTE(4, der[4] | 0x80, "negative r");
	/* r not minimal: 02 21 00 r, a 00 before a clear top bit */
	n = splice(bad, der, len, 4, 1, zero);
	bad[1] = 70;
	bad[3] = 33;
	not_a_signature(pub, msg, bad, n, "r with a needless leading zero");
	/* s not minimal: 02 22 00 00 s */
	n = splice(bad, der, len, 38, 1, zero);
	bad[1] = 70;
	bad[37] = 34;
	not_a_signature(pub, msg, bad, n, "s with a needless leading zero");
#undef BYTE
	cr_key_free(priv);
	cr_key_free(pub);
}

/* Raw r||s out of range verifies nothing, and does not fail differently. */
Test(signature, raw_scalars_out_of_range)
{
	struct cr_key *pub = public_key("ec.pub");
	uint8_t raw[2 * SCALAR];
	/* the order n of P-256 (FIPS 186-4, D.1.2.3) */
	static const uint8_t n[SCALAR] = { 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00,
	    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17,
	    0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51 };

	memset(raw, 0, sizeof(raw));
	verify_is(pub, "m\n", raw, sizeof(raw), CR_VERIFY_BAD, CR_SIG_ECDSA_RAW, NULL);
	memset(raw, 0xff, sizeof(raw));
	verify_is(pub, "m\n", raw, sizeof(raw), CR_VERIFY_BAD, CR_SIG_ECDSA_RAW, NULL);
	memcpy(raw, n, SCALAR);
	memcpy(raw + SCALAR, n, SCALAR);
	verify_is(pub, "m\n", raw, sizeof(raw), CR_VERIFY_BAD, CR_SIG_ECDSA_RAW, NULL);
	cr_key_free(pub);
}

/* Sizes that no P-256 signature has, raw or DER. */
Test(signature, ecdsa_key_and_a_signature_of_another_size)
{
	struct cr_key *pub = public_key("ec.pub");
	uint8_t sig[512];
	static const size_t sizes[] = { 0, 1, 63, 65, 96, 256 };
	size_t i;

	memset(sig, 0x5a, sizeof(sig));
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct cr_verify_result r;
		char want[32];

		verify_is(pub, "m\n", sig, sizes[i], CR_VERIFY_MISMATCH, CR_SIG_UNKNOWN, &r);
		snprintf(want, sizeof(want), "is %zu bytes (", sizes[i]);
		cr_assert(strstr(r.detail, want) != NULL, "%s", r.detail);
	}
	cr_key_free(pub);
}

Test(signature, guess_by_form_and_length)
{
	static const struct {
		size_t len;
		const char *guess;
	} lengths[] = {
		{ 64, "ECDSA P-256, raw r||s" }, { 96, "ECDSA P-384, raw r||s" },
		{ 132, "ECDSA P-521, raw r||s" }, { 128, "RSA-1024" }, { 256, "RSA-2048" },
		{ 384, "RSA-3072" }, { 512, "RSA-4096" }, { 0, NULL }, { 65, NULL },
		{ 255, NULL },
	};
	uint8_t sig[512], raw[96], der[120];
	size_t i, n;

	memset(sig, 0x5a, sizeof(sig));
	for (i = 0; i < sizeof(lengths) / sizeof(lengths[0]); i++)
		cr_assert_str_eq(cr_signature_guess(sig, lengths[i].len), lengths[i].guess != NULL ?
		    lengths[i].guess : "not a length Mender signatures have", "%zu", lengths[i].len);
	/* DER by the size of r */
	memset(raw, 0x7a, sizeof(raw));
	n = der_of_raw(der, raw, 32);
	cr_assert_str_eq(cr_signature_guess(der, n), "ECDSA P-256, DER");
	n = der_of_raw(der, raw, 48);
	cr_assert_str_eq(cr_signature_guess(der, n), "ECDSA P-384, DER");
	raw[0] = 0;	/* a short r is still P-256 */
	n = der_of_raw(der, raw, 32);
	cr_assert_str_eq(cr_signature_guess(der, n), "ECDSA P-256, DER");
}

/* Runs openssl over msg with the fixture key; returns the signature. */
static uint8_t *
openssl_sign(const char *msg, const char *args, size_t *len)
{
	char key[4096], cmd[4400], path[64];
	int fd = tb_temp_fd(msg, strlen(msg));
	uint8_t *sig;

	if (fixture_path("rsa.pem", key, sizeof(key)) == NULL)
		cr_skip_test("no fixtures");
	snprintf(cmd, sizeof(cmd), args, key, tb_fd_path(fd, path, sizeof(path)));
	sig = run_capture(cmd, len);
	cr_assert_not_null(sig, "%s", cmd);
	close(fd);
	return sig;
}

static const char rsa_msg[] = "0123456789abcdef  header.tar.gz\n";

Test(signature, rsa_pkcs1_from_the_openssl_command)
{
	struct cr_key *pub = public_key("rsa.pub");
	size_t len;
	uint8_t *sig = openssl_sign(rsa_msg, "openssl dgst -sha256 -sign %s %s", &len);

	cr_assert_eq(len, 256);
	verify_is(pub, rsa_msg, sig, len, CR_VERIFY_OK, CR_SIG_RSA, NULL);
	free(sig);
	cr_key_free(pub);
}

Test(signature, rsa_pss_is_named)
{
	struct cr_key *pub = public_key("rsa.pub");
	size_t len;
	uint8_t *sig = openssl_sign(rsa_msg, "openssl dgst -sha256 -sign %s "
	    "-sigopt rsa_padding_mode:pss %s", &len);
	struct cr_verify_result r;

	verify_is(pub, rsa_msg, sig, len, CR_VERIFY_RSA_PSS, CR_SIG_RSA, &r);
	cr_assert(strstr(r.detail, "RSA-PSS") != NULL, "%s", r.detail);
	/* PSS over other bytes: plain BAD, this key's PKCS#1 block it is not */
	verify_is(pub, "edited\n", sig, len, CR_VERIFY_BAD, CR_SIG_RSA, &r);
	free(sig);
	cr_key_free(pub);
}

/* Made by this key, over a digest that is not SHA-256 (or over no DigestInfo). */
Test(signature, rsa_over_another_digest)
{
	struct cr_key *pub = public_key("rsa.pub");
	static const struct {
		const char *args;
		size_t info_len;	/* of the DigestInfo recovered */
	} cases[] = {
		{ "openssl dgst -sha1 -sign %s %s", 35 },
		{ "openssl dgst -sha512 -sign %s %s", 83 },
		/* PKCS#1 v1.5 of the bare SHA-256 digest, no DigestInfo around it */
		{ "openssl dgst -sha256 -binary %2$s | openssl pkeyutl -sign -inkey %1$s", 32 },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len;
		uint8_t *sig = openssl_sign(rsa_msg, cases[i].args, &len);
		struct cr_verify_result r;
		char want[64];

		verify_is(pub, rsa_msg, sig, len, CR_VERIFY_BAD, CR_SIG_RSA, &r);
		snprintf(want, sizeof(want), "(a %zu-byte DigestInfo)", cases[i].info_len);
		cr_assert(strstr(r.detail, "made by this key, but not over a SHA-256") != NULL &&
		    strstr(r.detail, want) != NULL, "%s: %s", cases[i].args, r.detail);
		free(sig);
	}
	cr_key_free(pub);
}

/* A signature of the key's size that is no RSA value under its modulus. */
Test(signature, rsa_value_above_the_modulus)
{
	struct cr_key *pub = public_key("rsa.pub");
	uint8_t sig[256];
	struct cr_verify_result r;

	memset(sig, 0xff, sizeof(sig));
	verify_is(pub, rsa_msg, sig, sizeof(sig), CR_VERIFY_BAD, CR_SIG_RSA, &r);
	cr_assert(strstr(r.detail, "not made by this key") != NULL, "%s", r.detail);
	memset(sig, 0, sizeof(sig));
	verify_is(pub, rsa_msg, sig, sizeof(sig), CR_VERIFY_BAD, CR_SIG_RSA, &r);
	cr_key_free(pub);
}

/* Each algorithm's signature given to the other's key. */
Test(signature, the_other_algorithm)
{
	struct cr_key *rsa = private_key("rsa.pem"), *ec = private_key("ec.pem");
	struct cr_key *rsa_pub = public_key("rsa.pub"), *ec_pub = public_key("ec.pub");
	struct af_reason why = { 0 };
	size_t rlen, elen;
	uint8_t *rsig = cr_sign(rsa, (const uint8_t *)rsa_msg, strlen(rsa_msg), &rlen, &why);
	uint8_t *esig = cr_sign(ec, (const uint8_t *)rsa_msg, strlen(rsa_msg), &elen, &why);
	struct cr_verify_result r;

	cr_assert_not_null(rsig);
	cr_assert_not_null(esig);
	cr_assert_eq(rlen, 256);
	cr_assert_eq(elen, 64);
	verify_is(rsa_pub, rsa_msg, esig, elen, CR_VERIFY_MISMATCH, CR_SIG_UNKNOWN, &r);
	cr_assert(strstr(r.detail, "64 bytes (ECDSA P-256, raw r||s)") != NULL &&
	    strstr(r.detail, "RSA-2048, whose signatures are 256 bytes") != NULL, "%s", r.detail);
	verify_is(ec_pub, rsa_msg, rsig, rlen, CR_VERIFY_MISMATCH, CR_SIG_UNKNOWN, &r);
	cr_assert(strstr(r.detail, "256 bytes (RSA-2048)") != NULL, "%s", r.detail);
	/* and each verifies with its own public key */
	verify_is(rsa_pub, rsa_msg, rsig, rlen, CR_VERIFY_OK, CR_SIG_RSA, NULL);
	verify_is(ec_pub, rsa_msg, esig, elen, CR_VERIFY_OK, CR_SIG_ECDSA_RAW, NULL);
	/* a private key verifies as its public half does */
	verify_is(rsa, rsa_msg, rsig, rlen, CR_VERIFY_OK, CR_SIG_RSA, NULL);
	verify_is(ec, rsa_msg, esig, elen, CR_VERIFY_OK, CR_SIG_ECDSA_RAW, NULL);
	free(rsig);
	free(esig);
	cr_key_free(rsa);
	cr_key_free(ec);
	cr_key_free(rsa_pub);
	cr_key_free(ec_pub);
}

/* cr_sign's RSA output is what `openssl dgst -sha256 -sign` makes: PKCS#1
 * v1.5 is deterministic, so the bytes are the same. */
Test(signature, rsa_sign_matches_openssl)
{
	struct cr_key *k = private_key("rsa.pem");
	struct af_reason why = { 0 };
	size_t len, olen;
	uint8_t *ours = cr_sign(k, (const uint8_t *)rsa_msg, strlen(rsa_msg), &len, &why);
	uint8_t *theirs = openssl_sign(rsa_msg, "openssl dgst -sha256 -sign %s %s", &olen);

	cr_assert_not_null(ours, "%s", why.text);
	cr_assert_eq(len, olen);
	cr_assert_arr_eq(ours, theirs, len);
	free(ours);
	free(theirs);
	cr_key_free(k);
}

Test(signature, sign_needs_a_private_key)
{
	struct cr_key *pub = public_key("ec.pub");
	struct af_reason why = { 0 };
	size_t len = 99;

	cr_assert_null(cr_sign(pub, (const uint8_t *)"m", 1, &len, &why));
	cr_assert_eq(why.code, AF_C_KEY_NOT_PRIVATE, "%s", why.text);
	cr_key_free(pub);
}
