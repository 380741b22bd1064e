/*
 * artifact/verdict.c: each rule of the verdict and each finding, from inputs
 * built here by hand (problems, checksum results, a signature check, key
 * facts), so no artifact, key or signature is needed.  Findings are matched
 * by code and index; the text only where the text is the rule (what a key
 * count or a hint says).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "artifact/verdict.h"

#define SUM_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define SUM_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

/* A test's inputs: everything intact and unsigned, no key, until changed. */
struct fixture {
	struct af_problems *problems;
	struct af_check items[8];
	struct af_checks checks;
	struct cr_verify_result per_key[4];
	struct af_sigcheck sig;
	struct af_verdict_key keys[4];
	struct af_verdict_input in;
	struct af_verdict v;
};

static void
setup(struct fixture *f)
{
	memset(f, 0, sizeof(*f));
	f->problems = af_problems_new();
	cr_assert_not_null(f->problems);
	f->checks.items = f->items;
	f->sig.verified_by = f->sig.verified_rebuilt_by = -1;
	f->sig.per_key = f->per_key;
	f->in.problems = f->problems;
	f->in.checks = &f->checks;
	f->in.sig = &f->sig;
	f->in.keys = f->keys;
}

static void
teardown(struct fixture *f)
{
	af_verdict_clear(&f->v);
	af_problems_free(f->problems);
}

/* Adds a checksum result; name is not copied. */
static void
add_check(struct fixture *f, const char *name, enum af_check_result result)
{
	struct af_check *c = &f->items[f->checks.count++];

	c->name = (char *)name;
	c->result = result;
	if (result != AF_CHECK_UNLISTED)
		strcpy(c->expected, SUM_A);
	if (result == AF_CHECK_OK || result == AF_CHECK_MISMATCH)
		strcpy(c->actual, result == AF_CHECK_OK ? SUM_A : SUM_B);
	if (result != AF_CHECK_OK)
		f->checks.failed++;
}

/* Adds an RSA-3072 key (no warning of its own). */
static struct af_verdict_key *
add_key(struct fixture *f)
{
	struct af_verdict_key *k = &f->keys[f->in.key_count++];

	*k = (struct af_verdict_key){ .description = "RSA-3072", .fingerprint = "SHA256:00",
	    .source = "-o verify_key=k.pub", .type = CR_KEY_RSA, .bits = 3072 };
	return k;
}

/* A manifest.sig that decodes: signed, and each key's outcome as given. */
static void
signed_with(struct fixture *f, size_t keys, int verified_by)
{
	size_t i;

	f->sig.present = f->sig.loaded = f->sig.decoded = true;
	f->sig.sig_len = 384;
	f->sig.guess = "RSA-3072";
	f->sig.key_count = keys;
	for (i = 0; i < keys; i++) {
		f->per_key[i].status = (int)i == verified_by ? CR_VERIFY_OK : CR_VERIFY_BAD;
		f->per_key[i].form = CR_SIG_RSA;
		snprintf(f->per_key[i].detail, sizeof(f->per_key[i].detail), "%s",
		    (int)i == verified_by ? "" : "made by another key");
	}
	f->sig.verified_by = verified_by;
}

static void
decide(struct fixture *f)
{
	af_verdict_clear(&f->v);
	cr_assert_eq(af_verdict_decide(&f->in, &f->v), AF_OK);
}

/* The i-th finding of list has code (and index, unless -2). */
static const struct af_finding *
finding(const struct af_findings *list, size_t i, enum af_code code, int index)
{
	cr_assert_lt(i, list->count, "finding %zu of %zu", i, list->count);
	cr_assert_eq(list->items[i].code, code, "finding %zu: code %d, not %d (%s)", i,
	    list->items[i].code, code, list->items[i].text);
	if (index != -2)
		cr_assert_eq(list->items[i].index, index, "finding %zu: index %d, not %d", i,
		    list->items[i].index, index);
	cr_assert_null(strchr(list->items[i].text, '\n'), "one line: %s", list->items[i].text);
	return &list->items[i];
}

static size_t
count_code(const struct af_findings *list, enum af_code code)
{
	size_t i, n = 0;

	for (i = 0; i < list->count; i++)
		n += list->items[i].code == code;
	return n;
}

#define F struct fixture f; setup(&f)
#define END teardown(&f)

Test(verdict, words)
{
	cr_assert_str_eq(af_verdict_name(AF_VERDICT_VALID), "valid");
	cr_assert_str_eq(af_verdict_name(AF_VERDICT_INVALID), "invalid");
	cr_assert_str_eq(af_verdict_name(AF_VERDICT_UNSIGNED), "unsigned");
	cr_assert_str_eq(af_verdict_name(AF_VERDICT_UNVERIFIED), "unverified");
}

/* Rule: intact, no signature, no key: unsigned, nothing to say. */
Test(verdict, unsigned_without_keys)
{
	F;
	add_check(&f, "version", AF_CHECK_OK);
	decide(&f);
	cr_assert_eq(f.v.word, AF_VERDICT_UNSIGNED);
	cr_assert(f.v.intact);
	cr_assert_not(f.v.authentic);
	cr_assert_eq(f.v.reasons.count, 0);
	cr_assert_eq(f.v.warnings.count, 0);
	cr_assert_eq(f.v.notes.count, 0);
	END;
}

/* Rule: signed, no key: unverified, and a warning that nothing checked it. */
Test(verdict, unverified_without_keys)
{
	F;
	signed_with(&f, 0, -1);
	decide(&f);
	cr_assert_eq(f.v.word, AF_VERDICT_UNVERIFIED);
	cr_assert_eq(f.v.reasons.count, 0);
	cr_assert_eq(f.v.warnings.count, 1);
	cr_assert_str_eq(finding(&f.v.warnings, 0, AF_C_NOT_CHECKED, -1)->text,
	    "the signature was not checked: no verify key is set");
	END;
}

/* Rule: a key verifies the exact manifest: valid. */
Test(verdict, valid_when_a_key_verifies)
{
	F;
	add_key(&f);
	add_key(&f);
	signed_with(&f, 2, 1);
	decide(&f);
	cr_assert_eq(f.v.word, AF_VERDICT_VALID);
	cr_assert(f.v.authentic);
	cr_assert_eq(f.v.reasons.count, 0);
	cr_assert_eq(f.v.warnings.count, 0);
	END;
}

/* Rule: verify keys and no signature: invalid (ArtifactVerifyKey refuses
 * unsigned artifacts); the reason counts the keys and carries the hint. */
Test(verdict, unsigned_with_keys)
{
	F;
	add_key(&f);
	decide(&f);
	cr_assert_eq(f.v.word, AF_VERDICT_INVALID);
	cr_assert_eq(f.v.reasons.count, 1);
	cr_assert_str_eq(finding(&f.v.reasons, 0, AF_C_UNSIGNED_WITH_KEYS, -1)->text,
	    "the artifact is not signed, but 1 verify key is set: a Mender client with "
	    "ArtifactVerifyKey refuses unsigned artifacts");
	add_key(&f);
	f.in.sign_hint = "sign it";
	decide(&f);
	cr_assert_str_eq(finding(&f.v.reasons, 0, AF_C_UNSIGNED_WITH_KEYS, -1)->text,
	    "the artifact is not signed, but 2 verify keys are set: a Mender client with "
	    "ArtifactVerifyKey refuses unsigned artifacts; sign it");
	END;
}

/* Rule: keys, but none verifies: invalid, one reason per key. */
Test(verdict, no_key_verifies)
{
	F;
	add_key(&f);
	add_key(&f)->description = "ECDSA P-256";
	signed_with(&f, 2, -1);
	decide(&f);
	cr_assert_eq(f.v.word, AF_VERDICT_INVALID);
	cr_assert_not(f.v.authentic);
	cr_assert_eq(f.v.reasons.count, 2);
	cr_assert_str_eq(finding(&f.v.reasons, 0, AF_C_SIG_BAD, 0)->text,
	    "signature does not verify with key 1 (RSA-3072): made by another key");
	cr_assert_str_eq(finding(&f.v.reasons, 1, AF_C_SIG_BAD, 1)->text,
	    "signature does not verify with key 2 (ECDSA P-256): made by another key");
	END;
}

/* Rule: a key verifies only the manifest mender-artifact rebuilds: the C++
 * client refuses it, so invalid, and said after the per-key reasons. */
Test(verdict, verifies_only_rebuilt)
{
	F;
	add_key(&f);
	signed_with(&f, 1, -1);
	f.sig.verified_rebuilt_by = 0;
	decide(&f);
	cr_assert_eq(f.v.word, AF_VERDICT_INVALID);
	cr_assert_eq(f.v.reasons.count, 2);
	finding(&f.v.reasons, 0, AF_C_SIG_BAD, 0);
	cr_assert(strstr(finding(&f.v.reasons, 1, AF_C_SIG_REBUILT_ONLY, 0)->text,
	    "key 1 verifies") != NULL);
	END;
}

/* Rule: a damaged manifest.sig is a reason with keys, a warning without
 * (a client with no key never looks at it); the verdict then follows the
 * other rules: unverified without keys (it is signed), invalid with. */
Test(verdict, signature_unreadable)
{
	F;
	f.sig.present = true;
	decide(&f);
	cr_assert_eq(f.v.word, AF_VERDICT_UNVERIFIED);
	cr_assert_eq(f.v.reasons.count, 0);
	finding(&f.v.warnings, 0, AF_C_SIG_UNREADABLE, -1);
	finding(&f.v.warnings, 1, AF_C_NOT_CHECKED, -1);
	cr_assert_eq(f.v.warnings.count, 2);
	add_key(&f);
	decide(&f);
	cr_assert_eq(f.v.word, AF_VERDICT_INVALID);
	cr_assert_eq(f.v.reasons.count, 1);
	finding(&f.v.reasons, 0, AF_C_SIG_UNREADABLE, -1);
	cr_assert_eq(f.v.warnings.count, 0);
	END;
}

Test(verdict, signature_not_base64)
{
	F;
	f.sig.present = f.sig.loaded = true;
	f.sig.base64 = (struct cr_base64_error){ 17, "is not a base64 character" };
	decide(&f);
	cr_assert_eq(f.v.word, AF_VERDICT_UNVERIFIED);
	cr_assert_str_eq(finding(&f.v.warnings, 0, AF_C_SIG_NOT_BASE64, -1)->text,
	    "manifest.sig is not valid base64: at byte 17 it is not a base64 character; the "
	    "signature is damaged: sign the artifact again");
	add_key(&f);
	decide(&f);
	cr_assert_eq(f.v.word, AF_VERDICT_INVALID);
	finding(&f.v.reasons, 0, AF_C_SIG_NOT_BASE64, -1);
	cr_assert_eq(f.v.reasons.count, 1);
	END;
}

/* A trailing newline is only a note: the verdict stands. */
Test(verdict, signature_trailing_newline)
{
	F;
	add_key(&f);
	signed_with(&f, 1, 0);
	f.sig.trailing_newline = true;
	decide(&f);
	cr_assert_eq(f.v.word, AF_VERDICT_VALID);
	cr_assert_eq(f.v.notes.count, 1);
	finding(&f.v.notes, 0, AF_C_SIG_NEWLINE, -1);
	END;
}

/* DER ECDSA that verifies: valid, with a warning (mender-artifact 3.x). */
Test(verdict, der_signature_warns)
{
	F;
	add_key(&f)->type = CR_KEY_EC_P256;
	add_key(&f)->type = CR_KEY_EC_P256;
	signed_with(&f, 2, 1);
	f.per_key[1].form = CR_SIG_ECDSA_DER;
	decide(&f);
	cr_assert_eq(f.v.word, AF_VERDICT_VALID);
	cr_assert_eq(f.v.warnings.count, 1);
	finding(&f.v.warnings, 0, AF_C_SIG_DER, 1);
	f.per_key[1].form = CR_SIG_ECDSA_RAW;
	decide(&f);
	cr_assert_eq(f.v.warnings.count, 0);
	END;
}

/* Rule: a checksum that is not ok makes it invalid, even when signed and
 * verified; each result has its reason and hint. */
Test(verdict, checksum_failure_invalidates)
{
	F;
	add_key(&f);
	signed_with(&f, 1, 0);
	add_check(&f, "version", AF_CHECK_MISMATCH);
	add_check(&f, "header.tar.gz", AF_CHECK_MISMATCH);
	add_check(&f, "data/0000/rootfs.ext4", AF_CHECK_MISMATCH);
	add_check(&f, "data/0000/extra", AF_CHECK_UNLISTED);
	add_check(&f, "data/0000/gone", AF_CHECK_MISSING);
	f.items[4].detail = "no such file in the payload";
	add_check(&f, "data/0000/fine", AF_CHECK_OK);
	decide(&f);
	cr_assert_eq(f.v.word, AF_VERDICT_INVALID);
	cr_assert(f.v.authentic);
	cr_assert_not(f.v.intact);
	cr_assert_eq(f.v.reasons.count, 5);
	cr_assert_str_eq(finding(&f.v.reasons, 0, AF_C_CHECKSUM, 0)->text,
	    "checksum version: MISMATCH; the version member changed after the manifest was "
	    "written");
	cr_assert_str_eq(finding(&f.v.reasons, 1, AF_C_CHECKSUM, 1)->text,
	    "checksum header.tar.gz: MISMATCH; the header changed after the manifest was "
	    "written, or the manifest was edited");
	cr_assert_str_eq(finding(&f.v.reasons, 2, AF_C_CHECKSUM, 2)->text,
	    "checksum data/0000/rootfs.ext4: MISMATCH; the payload file is not what the "
	    "manifest promises: tampered or corrupted");
	cr_assert_str_eq(finding(&f.v.reasons, 3, AF_C_CHECKSUM, 3)->text,
	    "checksum data/0000/extra: NOT IN MANIFEST; the payload has a file no manifest "
	    "lists; Mender refuses the artifact");
	cr_assert_str_eq(finding(&f.v.reasons, 4, AF_C_CHECKSUM, 4)->text,
	    "checksum data/0000/gone: MISSING; no such file in the payload");
	END;
}

Test(verdict, check_hint)
{
	struct af_check c = { .name = "data/0000/x", .result = AF_CHECK_UNREADABLE };

	cr_assert_str_eq(af_check_hint(&c), "");
	c.detail = "gzip data ends early";
	cr_assert_str_eq(af_check_hint(&c), "gzip data ends early");
	c.result = AF_CHECK_MISMATCH;
	cr_assert(strstr(af_check_hint(&c), "tampered or corrupted") != NULL);
}

/* Rule: an error among the problems makes it invalid (also unsigned ones);
 * warnings and notes do not.  Each finding keeps its problem's code. */
Test(verdict, problems_by_severity)
{
	F;
	af_problem_add(f.problems, AF_WARNING, AF_C_FORMAT_VERSION, "version",
	    "is format version %d", 2);
	af_problem_add(f.problems, AF_NOTE, AF_C_JSON, "header", "type is \"\"");
	decide(&f);
	cr_assert_eq(f.v.word, AF_VERDICT_UNSIGNED);
	cr_assert_str_eq(finding(&f.v.warnings, 0, AF_C_FORMAT_VERSION, 0)->text,
	    "version: is format version 2");
	cr_assert_str_eq(finding(&f.v.notes, 0, AF_C_JSON, 1)->text,
	    "header: type is \"\"");
	af_problem_add(f.problems, AF_ERROR, AF_C_MANIFEST_LINE, "manifest",
	    "line 1 is malformed");
	decide(&f);
	cr_assert_eq(f.v.word, AF_VERDICT_INVALID);
	cr_assert_not(f.v.intact);
	cr_assert_str_eq(finding(&f.v.reasons, 0, AF_C_MANIFEST_LINE, 2)->text,
	    "manifest: line 1 is malformed");
	END;
}

/* Rule: a damaged outer tar is the first reason (after a change on disk);
 * the problem that says the same is not repeated. */
Test(verdict, damage_comes_first_once)
{
	F;
	af_problem_add(f.problems, AF_ERROR, AF_C_MISSING, "manifest", "is missing");
	af_problem_add(f.problems, AF_ERROR, AF_C_DAMAGED, "artifact", "the outer tar is damaged");
	f.in.damage = "the outer tar is damaged";
	decide(&f);
	cr_assert_eq(f.v.word, AF_VERDICT_INVALID);
	cr_assert_eq(f.v.reasons.count, 2);
	cr_assert(strncmp(finding(&f.v.reasons, 0, AF_C_DAMAGED, -1)->text,
	    "artifact: the outer tar is damaged; nothing after it could be read", 66) == 0);
	finding(&f.v.reasons, 1, AF_C_MISSING, 0);
	END;
}

/* Rule: a file changed on disk since it was opened is invalid, however
 * valid it was; said first. */
Test(verdict, changed_on_disk)
{
	F;
	add_key(&f);
	signed_with(&f, 1, 0);
	f.in.changed = "it was modified in place";
	f.in.damage = "cut";
	decide(&f);
	cr_assert_eq(f.v.word, AF_VERDICT_INVALID);
	cr_assert(f.v.authentic);
	cr_assert_str_eq(finding(&f.v.reasons, 0, AF_C_CHANGED, -1)->text,
	    "the artifact file changed on disk since it was mounted (it was modified in "
	    "place); unmount and mount it again to check the new one");
	finding(&f.v.reasons, 1, AF_C_DAMAGED, -1);
	END;
}

/* Reasons come in a fixed order: changed, damage, signature, checksums,
 * problems. */
Test(verdict, reason_order)
{
	F;
	add_key(&f);
	signed_with(&f, 1, -1);
	af_problem_add(f.problems, AF_ERROR, AF_C_TAR_HEADER, "header", "broken");
	add_check(&f, "version", AF_CHECK_MISMATCH);
	f.in.changed = "another file was put in its place";
	f.in.damage = "damaged";
	decide(&f);
	cr_assert_eq(f.v.reasons.count, 5);
	finding(&f.v.reasons, 0, AF_C_CHANGED, -1);
	finding(&f.v.reasons, 1, AF_C_DAMAGED, -1);
	finding(&f.v.reasons, 2, AF_C_SIG_BAD, 0);
	finding(&f.v.reasons, 3, AF_C_CHECKSUM, 0);
	finding(&f.v.reasons, 4, AF_C_TAR_HEADER, 0);
	END;
}

/* Each key's warnings, key by key: its form, its parameters, its file, a
 * weak RSA size; they do not change the verdict. */
Test(verdict, key_warnings)
{
	F;
	struct af_verdict_key *k1 = add_key(&f), *k2 = add_key(&f), *k3 = add_key(&f);

	k1->form_warning = "is a PKCS#1 \"RSA PUBLIC KEY\"";
	k1->param_warning = "has public exponent e=3";
	k1->note = "comes from a file of 2 PEM blocks";
	k1->bits = 1024;
	k1->description = "RSA-1024";
	k2->bits = 2048;
	k3->type = CR_KEY_EC_P256;
	k3->bits = 256;
	k3->description = "ECDSA P-256";
	signed_with(&f, 3, 2);
	decide(&f);
	cr_assert_eq(f.v.word, AF_VERDICT_VALID);
	cr_assert_eq(f.v.warnings.count, 4);
	cr_assert_str_eq(finding(&f.v.warnings, 0, AF_C_KEY_FORM, 0)->text,
	    "key 1 is a PKCS#1 \"RSA PUBLIC KEY\"");
	cr_assert_str_eq(finding(&f.v.warnings, 1, AF_C_KEY_PARAM, 0)->text,
	    "key 1 has public exponent e=3");
	cr_assert_str_eq(finding(&f.v.warnings, 2, AF_C_KEY_NOTE, 0)->text,
	    "key 1 comes from a file of 2 PEM blocks");
	cr_assert_str_eq(finding(&f.v.warnings, 3, AF_C_KEY_WEAK, 0)->text,
	    "key 1 is RSA-1024: RSA keys under 2048 bits are weak, and newer Mender tools "
	    "refuse them");
	END;
}

/* Key warnings are given whether or not the artifact is signed. */
Test(verdict, key_warnings_unsigned)
{
	F;
	add_key(&f)->bits = 1024;
	decide(&f);
	cr_assert_eq(f.v.word, AF_VERDICT_INVALID);
	finding(&f.v.reasons, 0, AF_C_UNSIGNED_WITH_KEYS, -1);
	finding(&f.v.warnings, 0, AF_C_KEY_WEAK, 0);
	END;
}

/* Warnings in order: the signature's (without keys), the keys', DER, the
 * problems', and last that the signature was not checked. */
Test(verdict, warning_order)
{
	F;
	f.sig.present = f.sig.loaded = true;
	f.sig.base64 = (struct cr_base64_error){ 0, "is empty" };
	af_problem_add(f.problems, AF_WARNING, AF_C_AUGMENT, "manifest-augment", "not signed");
	decide(&f);
	cr_assert_eq(f.v.word, AF_VERDICT_UNVERIFIED);
	cr_assert_eq(f.v.warnings.count, 3);
	finding(&f.v.warnings, 0, AF_C_SIG_NOT_BASE64, -1);
	finding(&f.v.warnings, 1, AF_C_AUGMENT, 0);
	finding(&f.v.warnings, 2, AF_C_NOT_CHECKED, -1);
	END;
}

/* No checksum results and no problem list: nothing fails for them. */
Test(verdict, absent_inputs)
{
	F;
	f.in.checks = NULL;
	f.in.problems = NULL;
	decide(&f);
	cr_assert_eq(f.v.word, AF_VERDICT_UNSIGNED);
	cr_assert(f.v.intact);
	END;
}

/* Clearing twice, or a verdict never decided, is harmless. */
Test(verdict, clear)
{
	F;
	add_key(&f);
	decide(&f);
	af_verdict_clear(&f.v);
	af_verdict_clear(&f.v);
	cr_assert_eq(f.v.reasons.count, 0);
	cr_assert_eq(count_code(&f.v.reasons, AF_C_UNSIGNED_WITH_KEYS), 0);
	END;
}
