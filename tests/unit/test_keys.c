/*
 * fs/keys.c, the keyring of a mount: -o verify_key= files first, in order,
 * each read as a Mender client reads it (its first PEM block); a key given
 * twice, in any form, listed once; control/verify-key keys after them,
 * replaced by each write, removed by an empty one, and all dropped by a
 * refused one.  Keys are the fixtures' rsa.pub and ec.pub (FIXTURES) and
 * others made here by openssl.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs/keys.h"
#include "support.h"
#include "tarbuild.h"

TestSuite(keys, .init = test_dir_make, .fini = test_dir_remove);

/* A path in the test's directory. */
static const char *
in_dir(const char *name)
{
	static char paths[8][512];
	static int next;
	char *p = paths[next++ % 8];

	snprintf(p, 512, "%s/%s", test_dir, name);
	return p;
}

/* Runs a shell command (FIX is the fixtures, DIR the test's directory). */
static void
sh(const char *cmd)
{
	char full[2048];
	size_t len;
	uint8_t *out;

	if (getenv("FIXTURES") == NULL)
		cr_skip_test("no fixtures (FIXTURES)");
	snprintf(full, sizeof(full), "FIX='%s' DIR='%s'; %s", getenv("FIXTURES"), test_dir, cmd);
	out = run_capture(full, &len);
	cr_assert_not_null(out, "failed: %s", cmd);
	free(out);
}

static char *
text_of(const char *path, size_t *len)
{
	char *t = (char *)read_file(path, len);

	cr_assert_not_null(t, "%s", path);
	return t;
}

static void
add_ok(struct fs_keyring *r, const char *path)
{
	struct af_reason why = { 0 };

	cr_assert(fs_keyring_add_file(r, path, &why), "%s: %s", path, why.text);
}

static void
add_refused(struct fs_keyring *r, const char *path, enum af_code code)
{
	struct af_reason why = { 0 };
	size_t before = fs_keyring_count(r);

	cr_assert_not(fs_keyring_add_file(r, path, &why), "%s added", path);
	cr_assert_eq(why.code, code, "%s: %s (\"%s\"), want %s", path, af_code_name(why.code),
	    why.text, af_code_name(code));
	cr_assert_eq(fs_keyring_count(r), before, "a refused file adds nothing");
}

/* The key sources, one a line: "-o verify_key=...|control/verify-key". */
static const char *
sources(struct fs_keyring *r)
{
	static char s[2048];
	size_t i, n = 0;

	s[0] = '\0';
	fs_keyring_lock(r);
	for (i = 0; i < fs_keyring_count(r); i++)
		n += (size_t)snprintf(s + n, sizeof(s) - n, "%s%s", i > 0 ? "|" : "",
		    fs_keyring_source(r, i));
	fs_keyring_unlock(r);
	return s;
}

Test(keys, files_in_order)
{
	struct fs_keyring *r = fs_keyring_new();
	char want[1200];

	sh("cp \"$FIX/rsa.pub\" \"$FIX/ec.pub\" \"$DIR\"");
	add_ok(r, in_dir("rsa.pub"));
	add_ok(r, in_dir("ec.pub"));
	cr_assert_eq(fs_keyring_count(r), 2);
	snprintf(want, sizeof(want), "-o verify_key=%s|-o verify_key=%s", in_dir("rsa.pub"),
	    in_dir("ec.pub"));
	cr_assert_str_eq(sources(r), want);
	cr_assert_eq(cr_key_type(fs_keyring_keys(r)[0]), CR_KEY_RSA);
	cr_assert_eq(cr_key_type(fs_keyring_keys(r)[1]), CR_KEY_EC_P256);
	cr_assert_null(fs_keyring_note(r, 0));
	cr_assert_null(fs_keyring_note(r, 1));
	fs_keyring_free(r);
}

/* The same key twice, by the same file or in another form: listed once,
 * where it came first. */
Test(keys, a_key_given_twice_is_listed_once)
{
	struct fs_keyring *r = fs_keyring_new();
	char want[600];

	sh("cp \"$FIX/rsa.pub\" \"$FIX/ec.pub\" \"$DIR\" && "
	    "openssl rsa -pubin -in \"$FIX/rsa.pub\" -RSAPublicKey_out -out \"$DIR/pkcs1.pub\" 2>/dev/null && "
	    "openssl req -new -x509 -key \"$FIX/rsa.pem\" -subj /CN=t -days 2 -out \"$DIR/c.pem\"");
	add_ok(r, in_dir("rsa.pub"));
	add_ok(r, in_dir("rsa.pub"));
	add_ok(r, in_dir("pkcs1.pub"));
	add_ok(r, in_dir("c.pem"));
	cr_assert_eq(fs_keyring_count(r), 1);
	snprintf(want, sizeof(want), "-o verify_key=%s", in_dir("rsa.pub"));
	cr_assert_str_eq(sources(r), want);
	add_ok(r, in_dir("ec.pub"));
	cr_assert_eq(fs_keyring_count(r), 2);
	fs_keyring_free(r);
}

Test(keys, a_file_of_two_blocks_gives_its_first_key_and_a_note)
{
	struct fs_keyring *r = fs_keyring_new();
	struct fs_keyring *ec_only = fs_keyring_new();
	const char *note;

	sh("cat \"$FIX/ec.pub\" \"$FIX/rsa.pub\" > \"$DIR/both.pub\" && cp \"$FIX/ec.pub\" \"$DIR\"");
	add_ok(r, in_dir("both.pub"));
	add_ok(ec_only, in_dir("ec.pub"));
	cr_assert_eq(fs_keyring_count(r), 1);
	cr_assert(cr_key_same(fs_keyring_keys(r)[0], fs_keyring_keys(ec_only)[0]));
	note = fs_keyring_note(r, 0);
	cr_assert_not_null(note);
	cr_assert(strstr(note, "2 PEM blocks") != NULL && strstr(note, "csplit") != NULL &&
	    strstr(note, in_dir("both.pub")) != NULL, "%s", note);
	fs_keyring_free(r);
	fs_keyring_free(ec_only);
}

Test(keys, files_that_are_refused)
{
	struct fs_keyring *r = fs_keyring_new();

	sh("cp \"$FIX/rsa.pem\" \"$DIR/private.pem\" && mkdir \"$DIR/sub\" && "
	    "head -c 300000 /dev/zero > \"$DIR/big\" && printf 'not a key\\n' > \"$DIR/text\" && "
	    "openssl pkey -pubin -in \"$FIX/rsa.pub\" -outform DER -out \"$DIR/rsa.der\" && "
	    "openssl ecparam -name prime256v1 > \"$DIR/params.pem\" && "
	    "cat \"$DIR/params.pem\" \"$FIX/rsa.pub\" > \"$DIR/params-first.pem\"");
	add_refused(r, in_dir("missing.pub"), AF_C_IO);
	add_refused(r, in_dir("sub"), AF_C_IO);
	add_refused(r, in_dir("big"), AF_C_KEY_TOO_BIG);
	add_refused(r, in_dir("private.pem"), AF_C_KEY_PRIVATE);
	add_refused(r, in_dir("text"), AF_C_KEY_NOT_PEM);
	add_refused(r, in_dir("rsa.der"), AF_C_KEY_NOT_PEM);
	add_refused(r, in_dir("params-first.pem"), AF_C_KEY_NOT_PUBLIC);
	cr_assert_eq(fs_keyring_count(r), 0);
	fs_keyring_free(r);
}

static void
control_ok(struct fs_keyring *r, const char *pem, size_t len)
{
	struct af_reason why = { 0 };

	cr_assert(fs_keyring_set_control(r, pem, len, &why), "%s", why.text);
}

Test(keys, control_keys_come_after_the_files_and_are_replaced)
{
	struct fs_keyring *r = fs_keyring_new();
	size_t lrsa, lec, lboth;
	char *rsa, *ec, *both, want[600], *d;

	sh("cp \"$FIX/rsa.pub\" \"$FIX/ec.pub\" \"$DIR\" && cat \"$FIX/ec.pub\" \"$FIX/rsa.pub\" "
	    "> \"$DIR/both.pub\"");
	rsa = text_of(in_dir("rsa.pub"), &lrsa);
	ec = text_of(in_dir("ec.pub"), &lec);
	both = text_of(in_dir("both.pub"), &lboth);
	add_ok(r, in_dir("rsa.pub"));
	/* every block of a control write is a key; one the files gave is not listed again */
	control_ok(r, both, lboth);
	cr_assert_eq(fs_keyring_count(r), 2);
	snprintf(want, sizeof(want), "-o verify_key=%s|control/verify-key", in_dir("rsa.pub"));
	cr_assert_str_eq(sources(r), want);
	cr_assert_eq(cr_key_type(fs_keyring_keys(r)[1]), CR_KEY_EC_P256);
	d = fs_keyring_describe(r, true);
	cr_assert_not_null(d);
	cr_assert(strncmp(d, "ECDSA P-256 SHA256:", 19) == 0 &&
	    strstr(d, " (from control/verify-key)\n") != NULL && strchr(d, '\n')[1] == '\0',
	    "one line, the control key: %s", d);
	free(d);
	d = fs_keyring_describe(r, false);
	cr_assert(strncmp(d, "RSA-2048 SHA256:", 16) == 0, "%s", d);
	cr_assert(strstr(d, "\nECDSA P-256 SHA256:") != NULL, "%s", d);
	free(d);
	/* a write replaces the control keys */
	control_ok(r, ec, lec);
	cr_assert_eq(fs_keyring_count(r), 2);
	control_ok(r, rsa, lrsa);	/* the file's key: nothing to add */
	cr_assert_eq(fs_keyring_count(r), 1);
	d = fs_keyring_describe(r, true);
	cr_assert_str_eq(d, "");
	free(d);
	control_ok(r, ec, lec);
	/* an empty write removes them; the files' keys stay */
	control_ok(r, "", 0);
	cr_assert_eq(fs_keyring_count(r), 1);
	snprintf(want, sizeof(want), "-o verify_key=%s", in_dir("rsa.pub"));
	cr_assert_str_eq(sources(r), want);
	fs_keyring_free(r);
	free(rsa);
	free(ec);
	free(both);
}

/* A refused write leaves no control key at all, not the ones before. */
Test(keys, a_refused_control_write_leaves_none)
{
	struct fs_keyring *r = fs_keyring_new();
	size_t lec, led, lpriv;
	char *ec, *ed, *priv;
	struct af_reason why = { 0 };
	static const char garbage[] = "not a key\n";

	sh("cp \"$FIX/ec.pub\" \"$FIX/rsa.pub\" \"$DIR\" && "
	    "openssl genpkey -algorithm ED25519 | openssl pkey -pubout > \"$DIR/ed.pub\" && "
	    "cat \"$FIX/ec.pub\" \"$DIR/ed.pub\" > \"$DIR/ec-ed.pub\" && "
	    "cat \"$FIX/ec.pub\" \"$FIX/rsa.pem\" > \"$DIR/ec-priv.pem\"");
	ec = text_of(in_dir("ec.pub"), &lec);
	ed = text_of(in_dir("ec-ed.pub"), &led);
	priv = text_of(in_dir("ec-priv.pem"), &lpriv);
	add_ok(r, in_dir("rsa.pub"));

	control_ok(r, ec, lec);
	cr_assert_eq(fs_keyring_count(r), 2);
	/* a usable key and an Ed25519 one: the second is named, and neither kept */
	cr_assert_not(fs_keyring_set_control(r, ed, led, &why));
	cr_assert_eq(why.code, AF_C_KEY_UNSUPPORTED, "%s", why.text);
	cr_assert(strstr(why.text, "key 2 (Ed25519 SHA256:") != NULL, "%s", why.text);
	cr_assert_eq(fs_keyring_count(r), 1, "the control keys before are gone too");

	control_ok(r, ec, lec);
	cr_assert_not(fs_keyring_set_control(r, priv, lpriv, &why));
	cr_assert_eq(why.code, AF_C_KEY_PRIVATE, "%s", why.text);
	cr_assert_eq(fs_keyring_count(r), 1);

	control_ok(r, ec, lec);
	cr_assert_not(fs_keyring_set_control(r, garbage, strlen(garbage), &why));
	cr_assert_eq(why.code, AF_C_KEY_NOT_PEM, "%s", why.text);
	cr_assert_eq(fs_keyring_count(r), 1);
	cr_assert_eq(cr_key_type(fs_keyring_keys(r)[0]), CR_KEY_RSA, "the file's key stays");
	fs_keyring_free(r);
	free(ec);
	free(ed);
	free(priv);
}

/* A key Mender cannot verify with is refused as a control key (the RSA
 * exponent and modulus rules that make a key unusable are test_key.c's). */
Test(keys, a_key_mender_cannot_use_is_refused_as_control_key)
{
	struct fs_keyring *r = fs_keyring_new();
	char *pem;
	struct af_reason why = { 0 };
	size_t len;

	sh("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 | "
	    "openssl pkey -pubout > \"$DIR/p384.pub\"");
	pem = text_of(in_dir("p384.pub"), &len);
	cr_assert_not(fs_keyring_set_control(r, pem, len, &why));
	cr_assert_eq(why.code, AF_C_KEY_UNSUPPORTED, "%s", why.text);
	cr_assert(strstr(why.text, "key 1 (ECDSA P-384 SHA256:") != NULL, "%s", why.text);
	cr_assert_eq(fs_keyring_count(r), 0);
	fs_keyring_free(r);
	free(pem);
}
