#include "fs/status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* "RSA-2048 SHA256:... (from FILE): verified": key i and how it fared. */
static char *
key_line(const struct af_verdict_key *k, const struct af_sigcheck *sig, size_t i)
{
	char *line = NULL;
	int n;

	if (sig->decoded && i < sig->key_count) {
		const struct cr_verify_result *v = &sig->per_key[i];
		n = asprintf(&line, "%s %s (from %s): %s%s%s", k->description, k->fingerprint,
		    k->source, status_word(v->status), v->status == CR_VERIFY_OK ? "" : ": ",
		    v->detail);
	} else if (k->unsupported != NULL) {
		n = asprintf(&line, "%s %s (from %s): %s: the key is %s: %s", k->description,
		    k->fingerprint, k->source, status_word(CR_VERIFY_UNSUPPORTED), k->description,
		    k->unsupported);
	} else {
		n = asprintf(&line, "%s %s (from %s)", k->description, k->fingerprint, k->source);
	}
	return n < 0 ? NULL : line;
}

static void
print_findings(FILE *f, const char *prefix, const struct af_findings *list)
{
	size_t i;

	for (i = 0; i < list->count; i++)
		fprintf(f, "%s: %s\n", prefix, list->items[i].text);
}

/* The lines between the reasons and the warnings: what was looked at. */
static void
print_body(FILE *f, const struct artifact *a, const struct af_sigcheck *sig,
    const struct fs_status *s, const struct af_checks *checks)
{
	const struct af_manifest *man = artifact_manifest(a, false);
	size_t text_len = 0, i;

	fprintf(f, "artifact: %s\n", artifact_path(a));
	artifact_member_bytes(a, AF_MEMBER_SIGNATURE, &text_len);
	if (!sig->present)
		fprintf(f, "signature: none\n");
	else if (!sig->loaded)
		fprintf(f, "signature: unreadable\n");
	else if (!sig->decoded)
		fprintf(f, "signature: not base64 (%zu bytes)\n", text_len);
	else
		fprintf(f, "signature: %s, %zu bytes (%zu bytes base64)\n", sig->guess,
		    sig->sig_len, text_len);
	if (s->key_count == 0)
		fprintf(f, "keys: none (give -o verify_key=FILE, or write a PEM public key "
		    "to control/verify-key)\n");
	for (i = 0; i < s->key_count; i++)
		fprintf(f, "key %zu: %s\n", i + 1, s->key_lines[i]);
	fprintf(f, "manifest: %s\n", man == NULL ? "missing" : man->canonical ?
	    "canonical" : "not canonical (see the reasons)");
	for (i = 0; checks != NULL && i < checks->count; i++) {
		const struct af_check *c = &checks->items[i];
		const char *aug = c->augment ? " (manifest-augment, unsigned)" : "";
		if (c->result == AF_CHECK_OK) {
			fprintf(f, "checksum %s: ok%s\n", c->name, aug);
			continue;
		}
		fprintf(f, "checksum %s: %s%s", c->name, af_check_result_word(c->result), aug);
		if (c->expected[0] != '\0' && c->actual[0] != '\0')
			fprintf(f, ": expected %s, actual %s", c->expected, c->actual);
		fprintf(f, "; %s\n", af_check_hint(c));
	}
}

static char *
render(const struct artifact *a, const struct af_sigcheck *sig, const struct fs_status *s,
    const struct af_checks *checks, const char *pending)
{
	const struct af_verdict *v = &s->verdict;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (f == NULL)
		return NULL;
	fprintf(f, "%s\n", af_verdict_name(v->word));
	print_findings(f, "reason", &v->reasons);
	fputs(pending != NULL ? pending : "", f);
	print_body(f, a, sig, s, checks);
	print_findings(f, "warning", &v->warnings);
	print_findings(f, "note", &v->notes);
	if (fclose(f) != 0) {
		free(text);
		return NULL;
	}
	return text;
}

/* Under the ring's lock: its keys' strings are valid until it is let go. */
static bool
make_locked(const struct artifact *a, struct fs_keyring *ring,
    const struct af_checks *checks, const struct af_sigcheck *sig, const char *changed, const char *pending,
    const char *sign_hint, struct fs_status *out)
{
	size_t n = fs_keyring_count(ring), i;
	struct af_verdict_key *keys = n > 0 ? calloc(n, sizeof(*keys)) : NULL;
	struct af_verdict_input in = { artifact_problems(a), artifact_damage(a), checks, sig,
	    keys, n, changed, sign_hint };
	bool ok = false;

	if (n > 0 && (keys == NULL || (out->key_lines = calloc(n, sizeof(char *))) == NULL))
		goto out;
	for (i = 0; i < n; i++) {
		af_verdict_key_of(fs_keyring_keys(ring)[i], fs_keyring_source(ring, i),
		    fs_keyring_note(ring, i), &keys[i]);
		if ((out->key_lines[i] = key_line(&keys[i], sig, i)) == NULL)
			goto out;
		out->key_count = i + 1;
	}
	ok = af_verdict_decide(&in, &out->verdict) == AF_OK &&
	    (out->text = render(a, sig, out, checks, pending)) != NULL;
out:
	free(keys);
	return ok;
}

bool
fs_status_make(const struct artifact *a, struct fs_keyring *ring,
    const struct af_checks *checks, const char *changed, const char *pending,
    const char *sign_hint, struct fs_status *out)
{
	struct af_sigcheck sig;
	bool ok = false;

	memset(out, 0, sizeof(*out));
	fs_keyring_lock(ring);
	if (af_check_signature(a, fs_keyring_keys(ring), fs_keyring_count(ring), &sig) == AF_OK) {
		ok = make_locked(a, ring, checks, &sig, changed, pending, sign_hint, out);
		af_sigcheck_clear(&sig);
	}
	fs_keyring_unlock(ring);
	return ok;
}

void
fs_status_clear(struct fs_status *s)
{
	size_t i;

	af_verdict_clear(&s->verdict);
	for (i = 0; i < s->key_count; i++)
		free(s->key_lines[i]);
	free(s->key_lines);
	free(s->text);
	memset(s, 0, sizeof(*s));
}

char *
fs_status_report(const struct artifact *a, struct fs_keyring *ring,
    const struct af_checks *checks, const char *changed, const char *pending,
    const char *sign_hint, enum fs_verdict *verdict)
{
	struct fs_status s;
	char *text = NULL;

	if (fs_status_make(a, ring, checks, changed, pending, sign_hint, &s)) {
		*verdict = (enum fs_verdict)s.verdict.word;
		text = s.text;
		s.text = NULL;
	}
	fs_status_clear(&s);
	return text;
}
