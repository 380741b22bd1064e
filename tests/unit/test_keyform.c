/*
 * crypto/key.c, the forms a key file comes in: each PEM form of a private
 * key (PKCS#1 and PKCS#8 RSA, SEC1 with and without its EC PARAMETERS, PKCS#8
 * EC, explicit EC parameters), each of a public key (SPKI, PKCS#1 "RSA PUBLIC
 * KEY", a certificate), and the refusals: DER, encrypted, a public key where
 * a private one belongs and the reverse, key types Mender does not use, RSA
 * under 2048 bits for signing.  Every form is made at test time by the
 * openssl command from the fixtures' rsa.pem and ec.pem (FIXTURES).
 *
 * test_key.c has the rest: RSA exponent and modulus rules (e=1, even e, even
 * n), explicit EC parameters of a public key, a verify-key file of two PEM
 * blocks, a DER public key.
 */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto/key.h"
#include "crypto/signature.h"
#include "tarbuild.h"

/* The stdout of an openssl command line, in which @RSA and @EC stand for the
 * fixture keys' paths; it must succeed.  *len gets its length. */
static char *
openssl(size_t *len, const char *fmt, ...)
{
	char rsa[2048], ec[2048], line[1024], cmd[8192], *out;
	const char *p;
	size_t n = 0, local;
	va_list ap;

	if (fixture_path("rsa.pem", rsa, sizeof(rsa)) == NULL ||
	    fixture_path("ec.pem", ec, sizeof(ec)) == NULL)
		cr_skip_test("no fixture keys (FIXTURES)");
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	for (p = line; *p != '\0' && n + 2100 < sizeof(cmd); p++) {
		if (strncmp(p, "@RSA", 4) == 0) {
			n += (size_t)snprintf(cmd + n, sizeof(cmd) - n, "%s", rsa);
			p += 3;
		} else if (strncmp(p, "@EC", 3) == 0) {
			n += (size_t)snprintf(cmd + n, sizeof(cmd) - n, "%s", ec);
			p += 2;
		} else {
			cmd[n++] = *p;
		}
	}
	cmd[n] = '\0';
	out = (char *)run_capture(cmd, len != NULL ? len : &local);
	cr_assert_not_null(out, "failed: %s", cmd);
	return out;
}

static struct cr_key *
private_ok(const char *pem, size_t len, const char *form)
{
	struct af_reason why = { 0 };
	struct cr_key *k = cr_key_load_private(pem, len, &why);

	cr_assert_not_null(k, "%s: %s", form, why.text);
	cr_assert(cr_key_is_private(k), "%s", form);
	return k;
}

static void
private_refused(const char *pem, size_t len, enum af_code code, const char *form)
{
	struct af_reason why = { 0 };

	cr_assert_null(cr_key_load_private(pem, len, &why), "%s loaded", form);
	cr_assert_eq(why.code, code, "%s: %s (\"%s\"), want %s", form, af_code_name(why.code),
	    why.text, af_code_name(code));
}

static struct cr_key *
public_ok(const char *pem, size_t len, const char *form)
{
	struct cr_key **keys, *k;
	struct af_reason why = { 0 };

	size_t n = 0;

	cr_assert_eq(cr_keys_load_public(pem, len, &keys, &n, &why), AF_OK, "%s: %s", form,
	    why.text);
	cr_assert_eq(n, 1, "%s", form);
	k = keys[0];
	free(keys);
	cr_assert_not(cr_key_is_private(k), "%s", form);
	return k;
}

static void
public_refused(const char *pem, size_t len, enum af_code code, const char *form)
{
	struct cr_key **keys = NULL;
	struct af_reason why = { 0 };
	size_t n = 0;

	cr_assert_eq(cr_keys_load_public(pem, len, &keys, &n, &why), AF_EFORMAT, "%s", form);
	cr_assert_null(keys);
	cr_assert_eq(why.code, code, "%s: %s (\"%s\"), want %s", form, af_code_name(why.code),
	    why.text, af_code_name(code));
}

/* The key signs, and its signature verifies with the public key pub. */
static void
signs_for(const struct cr_key *k, const struct cr_key *pub, size_t sig_len, const char *form)
{
	static const char msg[] = "0123456789abcdef  version\n";
	struct af_reason why = { 0 };
	struct cr_verify_result r;
	size_t len;
	uint8_t *sig = cr_sign(k, (const uint8_t *)msg, strlen(msg), &len, &why);

	cr_assert_not_null(sig, "%s: %s", form, why.text);
	cr_assert_eq(len, sig_len, "%s", form);
	cr_verify(pub, (const uint8_t *)msg, strlen(msg), sig, len, &r);
	cr_assert_eq(r.status, CR_VERIFY_OK, "%s: %s", form, r.detail);
	free(sig);
}

/* "SHA256:" and the sha256sum of `openssl pkey -pubout -outform DER`. */
static void
fingerprint_is_openssls(const struct cr_key *k, const char *pkey_args)
{
	char *sum = openssl(NULL, "openssl pkey %s -pubout -outform DER | sha256sum | "
	    "cut -c1-64 | tr -d '\\n'", pkey_args);
	char want[CR_FINGERPRINT_LEN + 1];

	snprintf(want, sizeof(want), "SHA256:%s", sum);
	cr_assert_str_eq(cr_key_fingerprint(k), want);
	free(sum);
}

Test(keyform, rsa_private_pkcs1_and_pkcs8)
{
	size_t l1, l8, lp;
	char *pkcs1 = openssl(&l1, "cat @RSA");
	char *pkcs8 = openssl(&l8, "openssl pkey -in @RSA");
	char *pub_pem = openssl(&lp, "openssl pkey -in @RSA -pubout");
	struct cr_key *a, *b, *pub;

	cr_assert(strstr(pkcs1, "-----BEGIN RSA PRIVATE KEY-----") != NULL);
	cr_assert(strstr(pkcs8, "-----BEGIN PRIVATE KEY-----") != NULL);
	a = private_ok(pkcs1, l1, "PKCS#1");
	b = private_ok(pkcs8, l8, "PKCS#8");
	pub = public_ok(pub_pem, lp, "SPKI");
	cr_assert_eq(cr_key_type(a), CR_KEY_RSA);
	cr_assert_eq(cr_key_type(b), CR_KEY_RSA);
	cr_assert_str_eq(cr_key_description(a), "RSA-2048");
	cr_assert_eq(cr_key_bits(a), 2048);
	cr_assert(cr_key_same(a, b));
	cr_assert(cr_key_same(a, pub), "a private key is the same key as its public half");
	cr_assert_str_eq(cr_key_fingerprint(a), cr_key_fingerprint(pub));
	fingerprint_is_openssls(a, "-in @RSA");
	cr_assert_null(cr_key_unsupported(a));
	signs_for(a, pub, 256, "PKCS#1");
	signs_for(b, pub, 256, "PKCS#8");
	cr_key_free(a);
	cr_key_free(b);
	cr_key_free(pub);
	free(pkcs1);
	free(pkcs8);
	free(pub_pem);
}

Test(keyform, ec_private_sec1_pkcs8_and_with_parameters)
{
	size_t ls, l8, lpar, le, lp;
	char *sec1 = openssl(&ls, "cat @EC");
	char *pkcs8 = openssl(&l8, "openssl pkey -in @EC");
	/* what `openssl ecparam -genkey` writes without -noout: the curve first */
	char *with_params = openssl(&lpar, "openssl ecparam -name prime256v1 && cat @EC");
	char *explicit = openssl(&le, "openssl ec -in @EC -param_enc explicit 2>/dev/null");
	char *pub_pem = openssl(&lp, "openssl pkey -in @EC -pubout");
	struct cr_key *keys[4], *pub = public_ok(pub_pem, lp, "SPKI");
	const char *forms[4] = { "SEC1", "PKCS#8", "SEC1 after EC PARAMETERS",
	    "SEC1, explicit parameters" };
	size_t i;

	cr_assert(strstr(sec1, "-----BEGIN EC PRIVATE KEY-----") != NULL);
	cr_assert(strstr(pkcs8, "-----BEGIN PRIVATE KEY-----") != NULL);
	cr_assert(strstr(with_params, "-----BEGIN EC PARAMETERS-----") == with_params);
	keys[0] = private_ok(sec1, ls, forms[0]);
	keys[1] = private_ok(pkcs8, l8, forms[1]);
	keys[2] = private_ok(with_params, lpar, forms[2]);
	keys[3] = private_ok(explicit, le, forms[3]);
	for (i = 0; i < 4; i++) {
		cr_assert_eq(cr_key_type(keys[i]), CR_KEY_EC_P256, "%s", forms[i]);
		cr_assert_str_eq(cr_key_description(keys[i]), "ECDSA P-256", "%s", forms[i]);
		cr_assert_eq(cr_key_bits(keys[i]), 256);
		cr_assert(cr_key_same(keys[i], pub), "%s", forms[i]);
		/* the signature is mender-artifact's: raw r||s */
		signs_for(keys[i], pub, 64, forms[i]);
		cr_key_free(keys[i]);
	}
	fingerprint_is_openssls(pub, "-in @EC");
	cr_key_free(pub);
	free(sec1);
	free(pkcs8);
	free(with_params);
	free(explicit);
	free(pub_pem);
}

/* Explicit parameters of another curve: the key loads, and signs nothing. */
Test(keyform, ec_private_explicit_other_curve)
{
	size_t len;
	char *pem = openssl(&len, "openssl ecparam -genkey -name secp256k1 -noout | "
	    "openssl ec -param_enc explicit 2>/dev/null");
	struct cr_key *k = private_ok(pem, len, "secp256k1, explicit");
	struct af_reason why = { 0 };
	size_t sig_len;

	cr_assert_neq(cr_key_type(k), CR_KEY_EC_P256);
	cr_assert_not_null(cr_key_unsupported(k));
	cr_assert_null(cr_sign(k, (const uint8_t *)"m", 1, &sig_len, &why));
	cr_assert_eq(why.code, AF_C_KEY_UNSUPPORTED, "%s", why.text);
	cr_key_free(k);
	free(pem);
}

Test(keyform, public_forms)
{
	size_t ls, l1, lc, le;
	char *spki = openssl(&ls, "openssl pkey -in @RSA -pubout");
	char *pkcs1 = openssl(&l1, "openssl rsa -in @RSA -RSAPublicKey_out 2>/dev/null");
	char *cert = openssl(&lc, "openssl req -new -x509 -key @RSA -subj /CN=artifactfs-test "
	    "-days 2 2>/dev/null");
	char *ec = openssl(&le, "openssl pkey -in @EC -pubout");
	struct cr_key *a, *b, *c, *e;

	cr_assert(strstr(pkcs1, "-----BEGIN RSA PUBLIC KEY-----") != NULL);
	cr_assert(strstr(cert, "-----BEGIN CERTIFICATE-----") != NULL);
	a = public_ok(spki, ls, "SPKI");
	b = public_ok(pkcs1, l1, "PKCS#1 public");
	c = public_ok(cert, lc, "certificate");
	e = public_ok(ec, le, "EC SPKI");
	/* the same key in each form; only SPKI is one Mender's tools read */
	cr_assert(cr_key_same(a, b));
	cr_assert(cr_key_same(a, c));
	cr_assert_str_eq(cr_key_fingerprint(a), cr_key_fingerprint(b));
	cr_assert_str_eq(cr_key_fingerprint(a), cr_key_fingerprint(c));
	fingerprint_is_openssls(a, "-in @RSA");
	cr_assert_null(cr_key_form_warning(a));
	cr_assert_null(cr_key_form_warning(e));
	cr_assert_not_null(cr_key_form_warning(b));
	cr_assert(strstr(cr_key_form_warning(b), "PKCS#1") != NULL, "%s", cr_key_form_warning(b));
	cr_assert_not_null(cr_key_form_warning(c));
	cr_assert(strstr(cr_key_form_warning(c), "certificate") != NULL, "%s",
	    cr_key_form_warning(c));
	/* usable all the same */
	cr_assert_null(cr_key_unsupported(b));
	cr_assert_null(cr_key_unsupported(c));
	cr_assert_eq(cr_key_type(e), CR_KEY_EC_P256);
	cr_assert_str_eq(cr_key_description(e), "ECDSA P-256");
	cr_assert_not(cr_key_same(a, e));
	cr_key_free(a);
	cr_key_free(b);
	cr_key_free(c);
	cr_key_free(e);
	free(spki);
	free(pkcs1);
	free(cert);
	free(ec);
}

Test(keyform, der_private_key_gets_a_conversion_hint)
{
	size_t len;
	char *der = openssl(&len, "openssl pkey -in @RSA -outform DER");
	char *ec_der = NULL;
	struct af_reason why;

	private_refused(der, len, AF_C_KEY_NOT_PEM, "RSA DER");
	/* the hint is the point of this test: its words are checked */
	cr_assert_null(cr_key_load_private(der, len, &why));
	cr_assert(strstr(why.text, "convert it with openssl pkey -inform DER") != NULL, "%s",
	    why.text);
	free(der);
	ec_der = openssl(&len, "openssl pkey -in @EC -outform DER");
	private_refused(ec_der, len, AF_C_KEY_NOT_PEM, "EC DER");
	free(ec_der);
}

Test(keyform, encrypted_private_keys_are_refused)
{
	static const char *const how[] = {
		"openssl pkey -in @RSA -aes256 -passout pass:secret",	/* ENCRYPTED PRIVATE KEY */
		"openssl rsa -in @RSA -aes256 -passout pass:secret -traditional 2>/dev/null",
		"openssl ec -in @EC -aes256 -passout pass:secret 2>/dev/null",	/* Proc-Type */
	};
	size_t i, len;

	for (i = 0; i < sizeof(how) / sizeof(how[0]); i++) {
		char *pem = openssl(&len, "%s", how[i]);
		cr_assert(strstr(pem, "ENCRYPTED") != NULL, "%s", how[i]);
		private_refused(pem, len, AF_C_KEY_ENCRYPTED, how[i]);
		free(pem);
	}
}

/* A private key file is its first key, as PEM_read_bio_PrivateKey reads it. */
Test(keyform, two_private_keys_the_first_is_read)
{
	size_t lre, ler, lr, le;
	char *rsa_ec = openssl(&lre, "cat @RSA @EC"), *ec_rsa = openssl(&ler, "cat @EC @RSA");
	char *rsa_pem = openssl(&lr, "cat @RSA"), *ec_pem = openssl(&le, "cat @EC");
	struct cr_key *a = private_ok(rsa_ec, lre, "RSA then EC");
	struct cr_key *b = private_ok(ec_rsa, ler, "EC then RSA");
	struct cr_key *rsa = private_ok(rsa_pem, lr, "RSA");
	struct cr_key *ec = private_ok(ec_pem, le, "EC");

	cr_assert(cr_key_same(a, rsa));
	cr_assert(cr_key_same(b, ec));
	cr_key_free(a);
	cr_key_free(b);
	cr_key_free(rsa);
	cr_key_free(ec);
	free(rsa_ec);
	free(ec_rsa);
	free(rsa_pem);
	free(ec_pem);
}

Test(keyform, the_wrong_half)
{
	size_t lpub, lpriv, lboth;
	char *pub = openssl(&lpub, "openssl pkey -in @RSA -pubout");
	char *priv = openssl(&lpriv, "openssl pkey -in @EC");
	char *both = openssl(&lboth, "openssl pkey -in @RSA -pubout && openssl pkey -in @EC");
	int blocks;
	struct af_reason why = { 0 };

	private_refused(pub, lpub, AF_C_KEY_NOT_PRIVATE,
	    "a public key as sign key");
	public_refused(priv, lpriv, AF_C_KEY_PRIVATE, "a private key as verify key");
	/* one secret among public keys: the whole file is refused */
	public_refused(both, lboth, AF_C_KEY_PRIVATE, "public then private");
	cr_assert_null(cr_key_load_public_file(both, lboth, &blocks, &why));
	cr_assert_eq(why.code, AF_C_KEY_PRIVATE, "%s", why.text);
	free(pub);
	free(priv);
	free(both);
}

Test(keyform, not_keys)
{
	size_t len;
	char *params = openssl(&len, "openssl ecparam -name prime256v1");
	static const char garbage[] = "hello, I am not a key\n";

	public_refused(garbage, sizeof(garbage) - 1, AF_C_KEY_NOT_PEM, "text");
	public_refused("", 0, AF_C_KEY_NOT_PEM, "empty");
	private_refused(garbage, sizeof(garbage) - 1, AF_C_KEY_NOT_PEM, "text");
	private_refused("", 0, AF_C_KEY_NOT_PEM, "empty");
	public_refused(params, len, AF_C_KEY_NOT_PUBLIC, "EC PARAMETERS");
	private_refused(params, len, AF_C_KEY_NOT_PEM, "EC PARAMETERS");
	free(params);
}

/* Loaded and described, but Mender cannot use them: verify says so, sign refuses. */
Test(keyform, types_mender_does_not_use)
{
	static const struct {
		const char *gen;
		enum cr_key_type type;
		const char *description;
		const char *unsupported;	/* in cr_key_unsupported's words */
	} cases[] = {
		{ "openssl genpkey -algorithm ED25519", CR_KEY_ED25519, "Ed25519",
		    "does not support Ed25519" },
		{ "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384", CR_KEY_EC_OTHER,
		    "ECDSA P-384", "only the P-256 curve" },
		{ "openssl genpkey -algorithm X25519", CR_KEY_OTHER, "X25519",
		    "only RSA (PKCS#1 v1.5) and ECDSA P-256" },
		{ "openssl genpkey -algorithm RSA-PSS -pkeyopt rsa_keygen_bits:2048",
		    CR_KEY_OTHER, "RSA-PSS-2048", "only RSA (PKCS#1 v1.5) and ECDSA P-256" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len, plen, sig_len;
		char *priv = openssl(&len, "%s 2>/dev/null", cases[i].gen);
		char *pub, path[64];
		struct af_reason why = { 0 };
		struct cr_key *k = private_ok(priv, len, cases[i].description), *p;
		struct cr_verify_result r;
		uint8_t sig[64] = { 0 };
		int fd = tb_temp_fd(priv, len);

		pub = openssl(&plen, "openssl pkey -pubout -in %s", tb_fd_path(fd, path,
		    sizeof(path)));
		close(fd);
		p = public_ok(pub, plen, cases[i].description);
		cr_assert_eq(cr_key_type(k), cases[i].type, "%s", cases[i].gen);
		cr_assert_eq(cr_key_type(p), cases[i].type, "%s", cases[i].gen);
		cr_assert(cr_key_same(k, p), "%s", cases[i].gen);
		cr_assert_str_eq(cr_key_description(k), cases[i].description);
		cr_assert_not_null(cr_key_unsupported(p));
		cr_assert(strstr(cr_key_unsupported(p), cases[i].unsupported) != NULL, "%s",
		    cr_key_unsupported(p));
		cr_verify(p, (const uint8_t *)"m", 1, sig, sizeof(sig), &r);
		cr_assert_eq(r.status, CR_VERIFY_UNSUPPORTED, "%s: %s", cases[i].gen, r.detail);
		cr_assert(strstr(r.detail, cases[i].description) != NULL, "%s", r.detail);
		cr_assert_null(cr_sign(k, (const uint8_t *)"m", 1, &sig_len, &why),
		    "%s signed", cases[i].gen);
		cr_assert_eq(why.code, AF_C_KEY_UNSUPPORTED, "%s", why.text);
		cr_key_free(k);
		cr_key_free(p);
		free(priv);
		free(pub);
	}
}

/* Under 2048 bits: artifactfs does not sign with it, but verifies what it signed. */
Test(keyform, rsa_under_2048_bits)
{
	size_t len, plen, sig_len;
	char *pem = openssl(&len, "openssl genrsa 1024 2>/dev/null");
	char *pub_pem, path[64];
	struct af_reason why = { 0 };
	struct cr_key *k = private_ok(pem, len, "RSA-1024"), *pub;
	static const char msg[] = "0123456789abcdef  version\n";
	int kfd = tb_temp_fd(pem, len), mfd = tb_temp_fd(msg, strlen(msg));
	char kpath[64];
	uint8_t *sig;
	struct cr_verify_result r;

	cr_assert_str_eq(cr_key_description(k), "RSA-1024");
	cr_assert_eq(cr_key_bits(k), 1024);
	cr_assert_null(cr_sign(k, (const uint8_t *)msg, strlen(msg), &sig_len, &why));
	cr_assert_eq(why.code, AF_C_KEY_WEAK, "%s", why.text);
	pub_pem = openssl(&plen, "openssl pkey -pubout -in %s", tb_fd_path(kfd, kpath,
	    sizeof(kpath)));
	pub = public_ok(pub_pem, plen, "RSA-1024 public");
	cr_assert_null(cr_key_unsupported(pub));
	sig = (uint8_t *)openssl(&sig_len, "openssl dgst -sha256 -sign %s %s", kpath,
	    tb_fd_path(mfd, path, sizeof(path)));
	cr_assert_eq(sig_len, 128);
	cr_verify(pub, (const uint8_t *)msg, strlen(msg), sig, sig_len, &r);
	cr_assert_eq(r.status, CR_VERIFY_OK, "%s", r.detail);
	close(kfd);
	close(mfd);
	free(sig);
	free(pem);
	free(pub_pem);
	cr_key_free(k);
	cr_key_free(pub);
}

/* The DER SubjectPublicKeyInfo the signing child returns. */
Test(keyform, spki_der)
{
	size_t len, plen;
	uint8_t *der = (uint8_t *)openssl(&len, "openssl pkey -in @EC -pubout -outform DER");
	char *pem = openssl(&plen, "openssl pkey -in @EC -pubout");
	struct cr_key *k = cr_key_load_spki(der, len), *p = public_ok(pem, plen, "EC SPKI");
	uint8_t longer[512];

	cr_assert_not_null(k);
	cr_assert(cr_key_same(k, p));
	cr_assert_str_eq(cr_key_fingerprint(k), cr_key_fingerprint(p));
	cr_assert_not(cr_key_is_private(k));
	cr_assert_null(cr_key_load_spki(der, len - 1), "cut short");
	memcpy(longer, der, len);
	longer[len] = 0;
	cr_assert_null(cr_key_load_spki(longer, len + 1), "a byte after the key");
	cr_assert_null(cr_key_load_spki((const uint8_t *)"\x30\x00", 2));
	cr_key_free(k);
	cr_key_free(p);
	free(der);
	free(pem);
}
