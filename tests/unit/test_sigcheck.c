/*
 * artifact/sigcheck.c, the signature check of an artifact: manifest.sig read
 * and decoded (a base64 error keeps its byte offset), tried with each key in
 * turn, the first that verifies wins, every key's outcome kept; a manifest
 * that is not canonical is tried as mender-artifact rebuilds it.  Artifacts
 * are synthetic (support.h), signed here with the fixtures' rsa.pem and
 * ec.pem (FIXTURES).  What the verdict makes of the outcome is
 * test_verdict.c's.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "artifact/manifest.h"
#include "artifact/sigcheck.h"
#include "crypto/base64.h"
#include "crypto/signature.h"
#include "support.h"

static struct cr_key *
key(const char *name, bool private)
{
	char path[4096];
	struct af_reason why = { 0 };
	size_t len;
	char *pem;
	struct cr_key *k;

	if (fixture_path(name, path, sizeof(path)) == NULL)
		cr_skip_test("fixture %s is absent (FIXTURES)", name);
	pem = (char *)read_file(path, &len);
	cr_assert_not_null(pem);
	if (private) {
		k = cr_key_load_private(pem, len, &why);
	} else {
		k = one_public_key(pem, len, name);
	}
	cr_assert_not_null(k, "%s: %s", name, why.text);
	free(pem);
	return k;
}

/* The base64 signature of text by the fixture key (rsa.pem or ec.pem). */
static char *
sign_b64(const char *key_name, const char *text, size_t len)
{
	struct cr_key *k = key(key_name, true);
	struct af_reason why = { 0 };
	char *b64;
	size_t sig_len;
	uint8_t *sig = cr_sign(k, (const uint8_t *)text, len, &sig_len, &why);

	cr_assert_not_null(sig, "%s", why.text);
	b64 = cr_base64_encode(sig, sig_len);
	free(sig);
	cr_key_free(k);
	return b64;
}

/* The synthetic artifact's manifest text. */
static const char *
manifest_of(const struct synth *s, size_t *len)
{
	int i = synth_index(s, "manifest");

	cr_assert_geq(i, 0);
	*len = s->m[i].len;
	return (const char *)s->m[i].data;
}

/* Opens s with manifest.sig holding sig_text (NULL: no manifest.sig) and
 * checks its signature with keys. */
static struct artifact *
check(struct synth *s, const char *sig_text, struct cr_key *const *keys, size_t nkeys,
    struct af_sigcheck *out)
{
	struct artifact *a;

	if (sig_text != NULL)
		synth_insert(s, 2, "manifest.sig", sig_text, strlen(sig_text));
	a = synth_open_ok(s);
	cr_assert_eq(af_check_signature(a, keys, nkeys, out), AF_OK);
	return a;
}

/* A test's synthetic artifact, its manifest text, and that text signed. */
struct signed_synth {
	struct synth s;
	const char *text;
	size_t len;
	char *b64;
};

/* The default synthetic artifact, its manifest signed by key_name (rsa.pem
 * or ec.pem). */
static void
signed_default(struct signed_synth *t, enum af_compression comp, const char *key_name)
{
	synth_default(&t->s, comp);
	t->text = manifest_of(&t->s, &t->len);
	t->b64 = sign_b64(key_name, t->text, t->len);
}

/* Frees the check, the artifact it was made on and the fixture. */
static void
done(struct af_sigcheck *c, struct artifact *a, struct signed_synth *t)
{
	af_sigcheck_clear(c);
	artifact_close(a);
	synth_free(&t->s);
	free(t->b64);
}

Test(sigcheck, unsigned_artifact)
{
	struct synth s;
	struct cr_key *rsa = key("rsa.pub", false);
	struct af_sigcheck c;
	struct artifact *a;

	synth_default(&s, AF_COMP_GZIP);
	a = check(&s, NULL, &rsa, 1, &c);
	cr_assert_not(c.present);
	cr_assert_not(c.loaded);
	cr_assert_not(c.decoded);
	cr_assert_eq(c.verified_by, -1);
	cr_assert_eq(c.verified_rebuilt_by, -1);
	af_sigcheck_clear(&c);
	artifact_close(a);
	synth_free(&s);
	cr_key_free(rsa);
}

/* The first key that verifies wins; every key's outcome is kept. */
Test(sigcheck, each_key_in_turn)
{
	struct signed_synth t;
	struct cr_key *rsa = key("rsa.pub", false), *ec = key("ec.pub", false);
	struct cr_key *keys[3] = { ec, rsa, rsa };
	struct af_sigcheck c;
	struct artifact *a;

	signed_default(&t, AF_COMP_GZIP, "rsa.pem");
	a = check(&t.s, t.b64, keys, 3, &c);
	cr_assert(c.present && c.loaded && c.decoded);
	cr_assert_not(c.trailing_newline);
	cr_assert_eq(c.sig_len, 256);
	cr_assert_str_eq(c.guess, "RSA-2048");
	cr_assert_eq(c.key_count, 3);
	cr_assert_eq(c.per_key[0].status, CR_VERIFY_MISMATCH, "%s", c.per_key[0].detail);
	cr_assert_eq(c.per_key[1].status, CR_VERIFY_OK);
	cr_assert_eq(c.per_key[2].status, CR_VERIFY_OK);
	cr_assert_eq(c.verified_by, 1, "the first that verifies");
	cr_assert_eq(c.verified_rebuilt_by, -1);
	af_sigcheck_clear(&c);
	cr_assert_null(c.per_key);
	/* no keys: decoded and guessed, verified by none */
	cr_assert_eq(af_check_signature(a, NULL, 0, &c), AF_OK);
	cr_assert(c.decoded);
	cr_assert_eq(c.key_count, 0);
	cr_assert_eq(c.verified_by, -1);
	cr_assert_str_eq(c.guess, "RSA-2048");
	done(&c, a, &t);
	cr_key_free(rsa);
	cr_key_free(ec);
}

Test(sigcheck, ecdsa_raw_and_a_trailing_newline)
{
	struct signed_synth t;
	struct cr_key *ec = key("ec.pub", false);
	struct af_sigcheck c;
	struct artifact *a;
	char *with_nl;

	signed_default(&t, AF_COMP_NONE, "ec.pem");
	cr_assert(asprintf(&with_nl, "%s\n", t.b64) > 0);
	a = check(&t.s, with_nl, &ec, 1, &c);
	cr_assert(c.decoded);
	cr_assert(c.trailing_newline, "accepted, and reported");
	cr_assert_eq(c.sig_len, 64);
	cr_assert_str_eq(c.guess, "ECDSA P-256, raw r||s");
	cr_assert_eq(c.per_key[0].form, CR_SIG_ECDSA_RAW);
	cr_assert_eq(c.verified_by, 0);
	done(&c, a, &t);
	free(with_nl);
	cr_key_free(ec);
}

/* A manifest.sig that is not base64: not decoded, and the offset kept. */
Test(sigcheck, base64_errors_keep_their_offset)
{
	static const struct {
		size_t at;	/* where the signature text is changed */
		char to;	/* 0: cut there */
		size_t offset;
	} cases[] = {
		{ 100, '*', 100 }, { 0, ' ', 0 }, { 200, '\n', 200 }, { 343, 0, 343 },
		{ 341, 0, 341 }, { 8, '=', 8 },
	};
	struct cr_key *rsa = key("rsa.pub", false);
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct signed_synth t;
		struct af_sigcheck c;
		struct artifact *a;

		signed_default(&t, AF_COMP_GZIP, "rsa.pem");
		cr_assert_eq(strlen(t.b64), 344);
		if (cases[i].to == 0)
			t.b64[cases[i].at] = '\0';
		else
			t.b64[cases[i].at] = cases[i].to;
		a = check(&t.s, t.b64, &rsa, 1, &c);
		cr_assert(c.present && c.loaded, "case %zu", i);
		cr_assert_not(c.decoded, "case %zu decoded", i);
		cr_assert_eq(c.base64.offset, cases[i].offset, "case %zu: offset %zu (%s)", i,
		    c.base64.offset, c.base64.what);
		cr_assert_eq(c.verified_by, -1);
		cr_assert_null(c.per_key, "no key is tried");
		done(&c, a, &t);
	}
	cr_key_free(rsa);
}

/* Signed over other bytes: each key says so, none verifies. */
Test(sigcheck, signed_over_another_manifest)
{
	struct signed_synth t;
	struct cr_key *rsa = key("rsa.pub", false);
	struct af_sigcheck c;
	struct artifact *a;
	char *other;

	signed_default(&t, AF_COMP_GZIP, "rsa.pem");
	other = strndup(t.text, t.len);
	other[0] = other[0] == 'a' ? 'b' : 'a';	/* another checksum */
	free(t.b64);
	t.b64 = sign_b64("rsa.pem", other, t.len);
	a = check(&t.s, t.b64, &rsa, 1, &c);
	cr_assert_eq(c.per_key[0].status, CR_VERIFY_BAD);
	cr_assert_eq(c.verified_by, -1);
	cr_assert_eq(c.verified_rebuilt_by, -1, "the manifest is canonical: nothing to rebuild");
	done(&c, a, &t);
	free(other);
	cr_key_free(rsa);
}

/*
 * A manifest that is not canonical (here, a blank line at its end), signed
 * as mender-artifact rebuilds it: the raw bytes do not verify, the rebuilt
 * text does, and the check says which key verified it.
 */
Test(sigcheck, a_manifest_verified_only_as_rebuilt)
{
	struct signed_synth t;
	struct cr_key *rsa = key("rsa.pub", false), *ec = key("ec.pub", false);
	struct cr_key *keys[2] = { ec, rsa };
	struct af_sigcheck c;
	struct artifact *a;
	char *loose;

	signed_default(&t, AF_COMP_GZIP, "rsa.pem");
	cr_assert(asprintf(&loose, "%.*s\n", (int)t.len, t.text) > 0);
	synth_set(&t.s, "manifest", loose, strlen(loose));
	a = check(&t.s, t.b64, keys, 2, &c);
	cr_assert_not(artifact_manifest(a, false)->canonical);
	cr_assert_eq(c.per_key[1].status, CR_VERIFY_BAD);
	cr_assert_eq(c.verified_by, -1);
	cr_assert_eq(c.verified_rebuilt_by, 1);
	done(&c, a, &t);
	free(loose);
	cr_key_free(rsa);
	cr_key_free(ec);
}
