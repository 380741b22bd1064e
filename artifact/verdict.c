#include "artifact/verdict.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIN_GOOD_RSA_BITS 2048

/* Building a verdict: the first memory failure sticks, and is returned. */
struct build {
	struct af_verdict *v;
	bool nomem;
};

static void add(struct build *b, struct af_findings *list, enum af_code code,
    int index, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void
add(struct build *b, struct af_findings *list, enum af_code code, int index,
    const char *fmt, ...)
{
	struct af_finding *grown;
	va_list ap;
	char *text;
	int n;

	if (b->nomem)
		return;
	va_start(ap, fmt);
	n = vasprintf(&text, fmt, ap);
	va_end(ap);
	if (n < 0 || (grown = reallocarray(list->items, list->count + 1,
	    sizeof(*grown))) == NULL) {
		if (n >= 0)
			free(text);
		b->nomem = true;
		return;
	}
	list->items = grown;
	list->items[list->count++] = (struct af_finding){ code, index, text };
}

const char *
af_verdict_name(enum af_verdict_word word)
{
	switch (word) {
	case AF_VERDICT_VALID: return "valid";
	case AF_VERDICT_INVALID: return "invalid";
	case AF_VERDICT_UNSIGNED: return "unsigned";
	case AF_VERDICT_UNVERIFIED: return "unverified";
	}
	return "invalid";
}

void
af_verdict_key_of(const struct cr_key *key, const char *source, const char *note,
    struct af_verdict_key *out)
{
	out->description = cr_key_description(key);
	out->fingerprint = cr_key_fingerprint(key);
	out->source = source;
	out->type = cr_key_type(key);
	out->bits = cr_key_bits(key);
	out->form_warning = cr_key_form_warning(key);
	out->param_warning = cr_key_param_warning(key);
	out->unsupported = cr_key_unsupported(key);
	out->note = note;
}

const char *
af_check_hint(const struct af_check *c)
{
	if (c->result == AF_CHECK_UNLISTED)
		return "the payload has a file no manifest lists; Mender refuses the artifact";
	if (c->result != AF_CHECK_MISMATCH)
		return c->detail != NULL ? c->detail : "";
	if (strcmp(c->name, "version") == 0)
		return "the version member changed after the manifest was written";
	if (strncmp(c->name, "data/", 5) == 0)
		return "the payload file is not what the manifest promises: tampered or corrupted";
	return "the header changed after the manifest was written, or the manifest was edited";
}

/* What each key is worth knowing, in key order. */
static void
key_warnings(struct build *b, const struct af_verdict_input *in)
{
	struct af_findings *w = &b->v->warnings;
	size_t i;

	for (i = 0; i < in->key_count; i++) {
		const struct af_verdict_key *k = &in->keys[i];
		if (k->form_warning != NULL)
			add(b, w, AF_C_KEY_FORM, (int)i, "key %zu %s", i + 1, k->form_warning);
		if (k->param_warning != NULL)
			add(b, w, AF_C_KEY_PARAM, (int)i, "key %zu %s", i + 1, k->param_warning);
		if (k->note != NULL)
			add(b, w, AF_C_KEY_NOTE, (int)i, "key %zu %s", i + 1, k->note);
		if (k->type == CR_KEY_RSA && k->bits < MIN_GOOD_RSA_BITS)
			add(b, w, AF_C_KEY_WEAK, (int)i, "key %zu is %s: RSA keys under 2048 bits "
			    "are weak, and newer Mender tools refuse them", i + 1, k->description);
	}
}

/*
 * The signature's findings; returns whether it is authentic.  With verify
 * keys a Mender client (ArtifactVerifyKey) refuses an artifact whose
 * signature is missing, damaged or verifies with none of them; without one
 * it never looks at the signature, so a damaged one only warns.
 */
static bool
signature_findings(struct build *b, const struct af_verdict_input *in)
{
	const struct af_sigcheck *sig = in->sig;
	size_t n = in->key_count, i;
	struct af_findings *verdict_line = n > 0 ? &b->v->reasons : &b->v->warnings;

	if (!sig->present) {
		if (n > 0)
			add(b, &b->v->reasons, AF_C_UNSIGNED_WITH_KEYS, -1, "the artifact is not "
			    "signed, but %zu verify key%s set: a Mender client with ArtifactVerifyKey "
			    "refuses unsigned artifacts%s%s", n, n == 1 ? " is" : "s are",
			    in->sign_hint != NULL ? "; " : "",
			    in->sign_hint != NULL ? in->sign_hint : "");
		key_warnings(b, in);
		return false;
	}
	if (!sig->loaded)
		add(b, verdict_line, AF_C_SIG_UNREADABLE, -1, "manifest.sig cannot be read (see "
		    "the problems)");
	else if (!sig->decoded)
		add(b, verdict_line, AF_C_SIG_NOT_BASE64, -1, "manifest.sig is not valid base64: "
		    "at byte %zu it %s; the signature is damaged: sign the artifact again",
		    sig->base64.offset, sig->base64.what);
	else if (sig->trailing_newline)
		add(b, &b->v->notes, AF_C_SIG_NEWLINE, -1, "manifest.sig ends in a newline: "
		    "mender-artifact accepts it, the C++ client's decoder may not; re-sign to drop "
		    "it");
	key_warnings(b, in);
	if (!sig->decoded || n == 0)
		return false;
	if (sig->verified_by >= 0) {
		if (sig->per_key[sig->verified_by].form == CR_SIG_ECDSA_DER)
			add(b, &b->v->warnings, AF_C_SIG_DER, sig->verified_by, "the signature is "
			    "DER-encoded ECDSA: Mender client 4+ and mender-artifact 4+ accept it, "
			    "mender-artifact 3.x refuses it (\"invalid ecdsa key size\"); re-sign to "
			    "write raw r||s");
		return true;
	}
	for (i = 0; i < sig->key_count && i < n; i++)
		add(b, &b->v->reasons, AF_C_SIG_BAD, (int)i, "signature does not verify with key "
		    "%zu (%s): %s", i + 1, in->keys[i].description, sig->per_key[i].detail);
	if (sig->verified_rebuilt_by >= 0)
		add(b, &b->v->reasons, AF_C_SIG_REBUILT_ONLY, sig->verified_rebuilt_by, "key %d "
		    "verifies the manifest only as mender-artifact rebuilds it, not its exact bytes: "
		    "the C++ client refuses it; rewrite the manifest canonically and sign again",
		    sig->verified_rebuilt_by + 1);
	return false;
}

static void
checksum_findings(struct build *b, const struct af_checks *checks)
{
	size_t i;

	for (i = 0; checks != NULL && i < checks->count; i++) {
		const struct af_check *c = &checks->items[i];
		if (c->result != AF_CHECK_OK)
			add(b, &b->v->reasons, AF_C_CHECKSUM, (int)i, "checksum %s: %s; %s",
			    c->name, af_check_result_word(c->result), af_check_hint(c));
	}
}

/* Every problem at its severity, but the damage: the first reason already. */
static void
problem_findings(struct build *b, const struct af_verdict_input *in)
{
	size_t i, n = in->problems != NULL ? af_problems_count(in->problems) : 0;

	for (i = 0; i < n; i++) {
		const struct af_problem *p = af_problems_get(in->problems, i);
		if (in->damage != NULL && strcmp(p->where, "artifact") == 0 &&
		    strcmp(p->text, in->damage) == 0)
			continue;
		add(b, p->severity == AF_ERROR ? &b->v->reasons : p->severity == AF_NOTE ?
		    &b->v->notes : &b->v->warnings, p->code, (int)i, "%s: %s", p->where,
		    p->text);
	}
}

/*
 * The rules, in the order their findings are listed: a file changed on disk
 * or anything not intact (a checksum, a broken format rule) makes it
 * invalid; with verify keys it is valid only if one verifies the exact
 * manifest; without, it is unverified when signed and unsigned otherwise.
 */
enum af_err
af_verdict_decide(const struct af_verdict_input *in, struct af_verdict *out)
{
	struct build b = { out, false };
	struct af_verdict *v = out;

	memset(v, 0, sizeof(*v));
	if (in->changed != NULL)
		add(&b, &v->reasons, AF_C_CHANGED, -1, "the artifact file changed on disk "
		    "since it was mounted (%s); unmount and mount it again to check the new one",
		    in->changed);
	/* a damaged outer tar hides what follows it: that is the cause of the rest */
	if (in->damage != NULL)
		add(&b, &v->reasons, AF_C_DAMAGED, -1, "artifact: %s; nothing after it could "
		    "be read, and the reasons below follow from that: the artifact is corrupt, "
		    "copy it again", in->damage);
	v->authentic = signature_findings(&b, in);
	checksum_findings(&b, in->checks);
	problem_findings(&b, in);
	v->intact = (in->checks == NULL || in->checks->failed == 0) &&
	    (in->problems == NULL || af_problems_errors(in->problems) == 0);
	if (in->changed != NULL || !v->intact)
		v->word = AF_VERDICT_INVALID;
	else if (in->key_count > 0)
		v->word = v->authentic ? AF_VERDICT_VALID : AF_VERDICT_INVALID;
	else
		v->word = in->sig->present ? AF_VERDICT_UNVERIFIED : AF_VERDICT_UNSIGNED;
	if (v->word == AF_VERDICT_UNVERIFIED)
		add(&b, &v->warnings, AF_C_NOT_CHECKED, -1, "the signature was not checked: no "
		    "verify key is set");
	if (b.nomem) {
		af_verdict_clear(v);
		return AF_ENOMEM;
	}
	return AF_OK;
}

static void
clear_list(struct af_findings *list)
{
	size_t i;

	for (i = 0; i < list->count; i++)
		free(list->items[i].text);
	free(list->items);
	list->items = NULL;
	list->count = 0;
}

void
af_verdict_clear(struct af_verdict *v)
{
	clear_list(&v->reasons);
	clear_list(&v->warnings);
	clear_list(&v->notes);
}
