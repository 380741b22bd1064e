#include "fs/status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIN_GOOD_RSA_BITS 2048

struct report {
	FILE *reasons, *body, *warnings, *notes;
	char *reasons_text, *body_text, *warnings_text, *notes_text;
	size_t reasons_len, body_len, warnings_len, notes_len;
};

const char *
fs_verdict_word(enum fs_verdict v)
{
	switch (v) {
	case FS_VALID: return "valid";
	case FS_INVALID: return "invalid";
	case FS_UNSIGNED: return "unsigned";
	case FS_UNVERIFIED: return "unverified";
	}
	return "invalid";
}

static const char *
check_hint(const struct af_check *c)
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

static void
render_checks(struct report *r, const struct af_checks *checks)
{
	size_t i;

	for (i = 0; i < checks->count; i++) {
		const struct af_check *c = &checks->items[i];
		const char *aug = c->augment ? " (manifest-augment, unsigned)" : "";
		if (c->result == AF_CHECK_OK) {
			fprintf(r->body, "checksum %s: ok%s\n", c->name, aug);
			continue;
		}
		fprintf(r->body, "checksum %s: %s%s", c->name, af_check_result_word(c->result), aug);
		if (c->expected[0] != '\0' && c->actual[0] != '\0')
			fprintf(r->body, ": expected %s, actual %s", c->expected, c->actual);
		fprintf(r->body, "; %s\n", check_hint(c));
		fprintf(r->reasons, "reason: checksum %s: %s; %s\n", c->name,
		    af_check_result_word(c->result), check_hint(c));
	}
}

static const char *
status_word(enum cr_verify_status s)
{
	switch (s) {
	case CR_VERIFY_OK: return "verified";
	case CR_VERIFY_BAD: return "does not verify";
	case CR_VERIFY_MISMATCH: return "algorithm mismatch";
	case CR_VERIFY_RSA_PSS: return "wrong padding (RSA-PSS)";
	case CR_VERIFY_UNSUPPORTED: return "unusable key";
	}
	return "?";
}

static void
render_keys(struct report *r, const struct fs_status_input *in)
{
	const struct af_sigcheck *sig = in->sig;
	size_t i, n = fs_keyring_count(in->ring);
	struct cr_key *const *keys = fs_keyring_keys(in->ring);

	if (n == 0)
		fprintf(r->body, "keys: none (give -o verify_key=FILE, or write a PEM public key "
		    "to control/verify-key)\n");
	for (i = 0; i < n; i++) {
		fprintf(r->body, "key %zu: %s %s (from %s)", i + 1, cr_key_description(keys[i]),
		    cr_key_fingerprint(keys[i]), fs_keyring_source(in->ring, i));
		if (cr_key_form_warning(keys[i]) != NULL)
			fprintf(r->warnings, "warning: key %zu %s\n", i + 1,
			    cr_key_form_warning(keys[i]));
		if (cr_key_param_warning(keys[i]) != NULL)
			fprintf(r->warnings, "warning: key %zu %s\n", i + 1,
			    cr_key_param_warning(keys[i]));
		if (fs_keyring_note(in->ring, i) != NULL)
			fprintf(r->warnings, "warning: key %zu %s\n", i + 1,
			    fs_keyring_note(in->ring, i));
		if (cr_key_type(keys[i]) == CR_KEY_RSA && cr_key_bits(keys[i]) < MIN_GOOD_RSA_BITS)
			fprintf(r->warnings, "warning: key %zu is %s: RSA keys under 2048 bits are "
			    "weak, and newer Mender tools refuse them\n", i + 1,
			    cr_key_description(keys[i]));
		if (sig->decoded && i < sig->key_count) {
			const struct cr_verify_result *v = &sig->per_key[i];
			fprintf(r->body, ": %s%s%s\n", status_word(v->status),
			    v->status == CR_VERIFY_OK ? "" : ": ", v->detail);
		} else if (cr_key_unsupported(keys[i]) != NULL) {
			fprintf(r->body, ": %s: the key is %s: %s\n", status_word(CR_VERIFY_UNSUPPORTED),
			    cr_key_description(keys[i]), cr_key_unsupported(keys[i]));
		} else {
			fputc('\n', r->body);
		}
	}
}

/* Signature lines and reasons; returns whether the signature is authentic. */
static bool
render_signature(struct report *r, const struct fs_status_input *in)
{
	const struct af_sigcheck *sig = in->sig;
	size_t n = fs_keyring_count(in->ring), i;
	size_t text_len = 0;

	if (!sig->present) {
		fprintf(r->body, "signature: none\n");
		if (n > 0)
			fprintf(r->reasons, "reason: the artifact is not signed, but %zu verify "
			    "key%s set: a Mender client with ArtifactVerifyKey refuses unsigned "
			    "artifacts%s%s\n", n, n == 1 ? " is" : "s are",
			    in->sign_hint != NULL ? "; " : "",
			    in->sign_hint != NULL ? in->sign_hint : "");
		render_keys(r, in);
		return false;
	}
	artifact_member_bytes(in->artifact, AF_MEMBER_SIGNATURE, &text_len);
	/* with no key a client never looks at the signature: only worth a warning */
	FILE *verdict_line = n > 0 ? r->reasons : r->warnings;
	const char *word = n > 0 ? "reason" : "warning";

	if (!sig->loaded) {
		fprintf(r->body, "signature: unreadable\n");
		fprintf(verdict_line, "%s: manifest.sig cannot be read (see the problems)\n", word);
	} else if (!sig->decoded) {
		fprintf(r->body, "signature: not base64 (%zu bytes)\n", text_len);
		fprintf(verdict_line, "%s: manifest.sig is not valid base64: at byte %zu it %s; "
		    "the signature is damaged: sign the artifact again\n", word, sig->base64.offset,
		    sig->base64.what);
	} else {
		fprintf(r->body, "signature: %s, %zu bytes (%zu bytes base64)\n", sig->guess,
		    sig->sig_len, text_len);
		if (sig->trailing_newline)
			fprintf(r->notes, "note: manifest.sig ends in a newline: mender-artifact "
			    "accepts it, the C++ client's decoder may not; re-sign to drop it\n");
	}
	render_keys(r, in);
	if (!sig->decoded || n == 0)
		return false;
	if (sig->verified_by >= 0) {
		if (sig->per_key[sig->verified_by].form == CR_SIG_ECDSA_DER)
			fprintf(r->warnings, "warning: the signature is DER-encoded ECDSA: Mender "
			    "client 4+ and mender-artifact 4+ accept it, mender-artifact 3.x refuses it "
			    "(\"invalid ecdsa key size\"); re-sign to write raw r||s\n");
		return true;
	}
	for (i = 0; i < sig->key_count; i++)
		fprintf(r->reasons, "reason: signature does not verify with key %zu (%s): %s\n",
		    i + 1, cr_key_description(fs_keyring_keys(in->ring)[i]), sig->per_key[i].detail);
	if (sig->verified_rebuilt_by >= 0)
		fprintf(r->reasons, "reason: key %d verifies the manifest only as mender-artifact "
		    "rebuilds it, not its exact bytes: the C++ client refuses it; rewrite the "
		    "manifest canonically and sign again\n", sig->verified_rebuilt_by + 1);
	return false;
}

static void
render_problems(struct report *r, const struct artifact *a)
{
	const struct af_problems *list = artifact_problems(a);
	const char *damage = artifact_damage(a);
	size_t i, n = af_problems_count(list);

	for (i = 0; i < n; i++) {
		const struct af_problem *p = af_problems_get(list, i);
		if (damage != NULL && strcmp(p->where, "artifact") == 0 &&
		    strcmp(p->text, damage) == 0)
			continue;	/* the first reason already */
		fprintf(p->severity == AF_ERROR ? r->reasons : p->severity == AF_NOTE ?
		    r->notes : r->warnings, "%s: %s: %s\n", p->severity == AF_ERROR ? "reason" :
		    p->severity == AF_NOTE ? "note" : "warning", p->where, p->text);
	}
}

static enum fs_verdict
decide(const struct fs_status_input *in, bool authentic, bool intact)
{
	if (in->changed != NULL || !intact)
		return FS_INVALID;
	if (fs_keyring_count(in->ring) > 0)
		return authentic ? FS_VALID : FS_INVALID;
	return in->sig->present ? FS_UNVERIFIED : FS_UNSIGNED;
}

char *
fs_status_render(const struct fs_status_input *in, enum fs_verdict *verdict)
{
	struct report r = { 0 };
	char *text = NULL;
	bool authentic, intact;
	const struct af_manifest *man = artifact_manifest(in->artifact, false);

	r.reasons = open_memstream(&r.reasons_text, &r.reasons_len);
	r.body = open_memstream(&r.body_text, &r.body_len);
	r.warnings = open_memstream(&r.warnings_text, &r.warnings_len);
	r.notes = open_memstream(&r.notes_text, &r.notes_len);
	if (r.reasons == NULL || r.body == NULL || r.warnings == NULL || r.notes == NULL)
		goto out;
	if (in->changed != NULL)
		fprintf(r.reasons, "reason: the artifact file changed on disk since it was mounted "
		    "(%s); unmount and mount it again to check the new one\n", in->changed);
	/* a damaged outer tar hides what follows it: that is the cause of the rest */
	if (artifact_damage(in->artifact) != NULL)
		fprintf(r.reasons, "reason: artifact: %s; nothing after it could be read, and "
		    "the reasons below follow from that: the artifact is corrupt, copy it again\n",
		    artifact_damage(in->artifact));
	fprintf(r.body, "artifact: %s\n", artifact_path(in->artifact));
	authentic = render_signature(&r, in);
	fprintf(r.body, "manifest: %s\n", man == NULL ? "missing" : man->canonical ?
	    "canonical" : "not canonical (see the reasons)");
	render_checks(&r, in->checks);
	render_problems(&r, in->artifact);
	intact = in->checks->failed == 0 && af_problems_errors(artifact_problems(in->artifact)) == 0;
	*verdict = decide(in, authentic, intact);
	if (*verdict == FS_UNVERIFIED)
		fprintf(r.warnings, "warning: the signature was not checked: no verify key is set\n");
	fflush(r.reasons);
	fflush(r.body);
	fflush(r.warnings);
	fflush(r.notes);
	if (asprintf(&text, "%s\n%s%s%s%s%s", fs_verdict_word(*verdict), r.reasons_text,
	    in->pending != NULL ? in->pending : "", r.body_text, r.warnings_text,
	    r.notes_text) < 0)
		text = NULL;
out:
	if (r.reasons != NULL)
		fclose(r.reasons);
	if (r.body != NULL)
		fclose(r.body);
	if (r.warnings != NULL)
		fclose(r.warnings);
	if (r.notes != NULL)
		fclose(r.notes);
	free(r.reasons_text);
	free(r.body_text);
	free(r.warnings_text);
	free(r.notes_text);
	return text;
}

char *
fs_status_report_hint(const struct artifact *a, struct fs_keyring *ring,
    const struct af_checks *checks, const char *changed, const char *pending,
    const char *sign_hint, enum fs_verdict *verdict)
{
	struct fs_status_input in = { a, checks, NULL, ring, changed, pending, sign_hint };
	struct af_sigcheck sig;
	char *text = NULL;

	fs_keyring_lock(ring);
	if (af_check_signature(a, fs_keyring_keys(ring), fs_keyring_count(ring), &sig) == AF_OK) {
		in.sig = &sig;
		text = fs_status_render(&in, verdict);
		af_sigcheck_clear(&sig);
	}
	fs_keyring_unlock(ring);
	return text;
}

char *
fs_status_report(const struct artifact *a, struct fs_keyring *ring,
    const struct af_checks *checks, const char *changed, const char *pending,
    enum fs_verdict *verdict)
{
	return fs_status_report_hint(a, ring, checks, changed, pending, NULL, verdict);
}
