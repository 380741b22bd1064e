#include "fs/signer.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "artifact/rewrite.h"
#include "crypto/sign_child.h"
#include "crypto/signature.h"

/* The signing child is this program, run again (see main.c). */
#define SELF "/proc/self/exe"

struct fs_signer {
	pthread_mutex_t lock;
	bool staged;
	char description[48];
	char source[160];	/* "" for a PEM key, else the PKCS#11 token and object */
	char fingerprint[CR_FINGERPRINT_LEN + 1];
	uint8_t *signature;	/* binary */
	size_t signature_len;
	enum cr_sig_form form;	/* what it is, as crypto/ says */
	size_t verified;	/* checksums that matched before it was signed */
	struct af_rewrite *job;	/* the re-signed copy, written since staging */
};

struct fs_signer *
fs_signer_new(void)
{
	struct fs_signer *s = calloc(1, sizeof(*s));

	if (s != NULL)
		pthread_mutex_init(&s->lock, NULL);
	return s;
}

static void
cancel_locked(struct fs_signer *s)
{
	af_rewrite_abort(s->job);
	s->job = NULL;
	free(s->signature);
	s->signature = NULL;
	s->signature_len = 0;
	s->staged = false;
}

void
fs_signer_free(struct fs_signer *s)
{
	if (s == NULL)
		return;
	cancel_locked(s);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

void
fs_signer_cancel(struct fs_signer *s)
{
	pthread_mutex_lock(&s->lock);
	cancel_locked(s);
	pthread_mutex_unlock(&s->lock);
}

bool
fs_signer_staged(struct fs_signer *s)
{
	bool staged;

	pthread_mutex_lock(&s->lock);
	staged = s->staged;
	pthread_mutex_unlock(&s->lock);
	return staged;
}

/*
 * Signs and starts writing the re-signed copy; what was staged is gone.  The
 * key is parsed and used in a child process (crypto/sign_child.h): this
 * process only passes its PEM text (or a PKCS#11 URI, which the child hands to
 * the token) on, from locked memory, and gets back the signature and the
 * public key.
 */
static bool
stage_locked(struct fs_signer *s, const struct artifact *a, const struct af_place *place,
    const struct af_checks *checks, const char *pem, size_t len, struct af_reason *why)
{
	const uint8_t *manifest;
	size_t manifest_len = 0;
	struct cr_signed signed_ = { 0 };
	struct af_reason inner;

	if (af_rewrite_refusal(a, place, checks, &inner) != AF_OK) {
		af_reason_set(why, inner.code, "cannot be used: %s", inner.text);
		return false;
	}
	manifest = artifact_member_bytes(a, AF_MEMBER_MANIFEST, &manifest_len);
	if (cr_sign_in_child(SELF, pem, len, manifest, manifest_len, &signed_, why) != AF_OK)
		return false;
	if ((s->job = af_rewrite_sign(a, place, signed_.sig, signed_.sig_len, signed_.form,
	    &inner)) == NULL)
		af_reason_set(why, inner.code, "cannot be used: %s", inner.text);
	if (s->job != NULL) {
		snprintf(s->description, sizeof(s->description), "%s",
		    cr_key_description(signed_.key));
		snprintf(s->fingerprint, sizeof(s->fingerprint), "%s",
		    cr_key_fingerprint(signed_.key));
		snprintf(s->source, sizeof(s->source), "%s", signed_.source);
		s->signature = signed_.sig;
		s->signature_len = signed_.sig_len;
		s->form = signed_.form;
		s->verified = checks->count;
		s->staged = true;
		signed_.sig = NULL;
	}
	cr_signed_clear(&signed_);
	return s->staged;
}

/* Under the lock throughout: a staging replaces the copy that the one before
 * started, so two of them must not overlap. */
bool
fs_signer_stage(struct fs_signer *s, const struct artifact *a, const struct af_place *place,
    const struct af_checks *checks, const char *pem, size_t len, struct af_reason *why)
{
	bool ok;

	pthread_mutex_lock(&s->lock);
	cancel_locked(s);
	ok = stage_locked(s, a, place, checks, pem, len, why);
	pthread_mutex_unlock(&s->lock);
	return ok;
}

char *
fs_signer_describe(struct fs_signer *s)
{
	char *text = NULL;

	pthread_mutex_lock(&s->lock);
	if (!s->staged)
		text = strdup("");
	else if (asprintf(&text, "%s %s: staged%s%s%s; the artifact is re-signed at unmount\n",
	    s->description, s->fingerprint, s->source[0] != '\0' ? " (" : "", s->source,
	    s->source[0] != '\0' ? ")" : "") < 0)
		text = NULL;
	pthread_mutex_unlock(&s->lock);
	return text;
}

/* Which configured key verifies the new signature: "key 1 (from ...)"; its
 * index, -1 if none does, -2 if there is no key. */
static int
verifier_of(struct fs_signer *s, const struct artifact *a, struct fs_keyring *ring,
    char *buf, size_t len)
{
	int found = -2;
	size_t manifest_len = 0, i, n;
	const uint8_t *manifest = artifact_member_bytes(a, AF_MEMBER_MANIFEST, &manifest_len);
	struct cr_verify_result r;

	fs_keyring_lock(ring);
	n = fs_keyring_count(ring);
	snprintf(buf, len, n == 0 ? "no verify key is set to check it" :
	    "it verifies with none of the %zu verify keys: with them the re-signed artifact "
	    "will be invalid", n);
	for (i = 0, found = n > 0 ? -1 : -2; i < n; i++) {
		cr_verify(fs_keyring_keys(ring)[i], manifest, manifest_len, s->signature,
		    s->signature_len, &r);
		if (r.status == CR_VERIFY_OK) {
			snprintf(buf, len, "it verifies with key %zu (from %s)", i + 1,
			    AF_SHORT(fs_keyring_source(ring, i)));
			found = (int)i;
			break;
		}
	}
	fs_keyring_unlock(ring);
	return found;
}

bool
fs_signer_unverifiable(struct fs_signer *s, const struct artifact *a,
    struct fs_keyring *ring)
{
	char buf[AF_REASON_MAX];
	bool none;

	pthread_mutex_lock(&s->lock);
	none = s->staged && verifier_of(s, a, ring, buf, sizeof(buf)) == -1;
	pthread_mutex_unlock(&s->lock);
	return none;
}

char *
fs_signer_pending(struct fs_signer *s, const struct artifact *a, struct fs_keyring *ring)
{
	char *text = NULL, verdict[AF_REASON_MAX];	/* a key named by a shortened path */
	const char *note;

	pthread_mutex_lock(&s->lock);
	if (s->staged) {
		verifier_of(s, a, ring, verdict, sizeof(verdict));
		note = af_rewrite_note(s->job);
		if (asprintf(&text, "pending: re-sign at unmount with %s %s%s%s (%s, %zu bytes); the "
		    "%zu checksums were verified first; %s%s%s\n", s->description, s->fingerprint,
		    s->source[0] != '\0' ? " on " : "", s->source, cr_sig_form_name(s->form),
		    s->signature_len, s->verified, verdict, note != NULL ? "; " : "",
		    note != NULL ? note : "") < 0)
			text = NULL;
	}
	pthread_mutex_unlock(&s->lock);
	return text;
}

bool
fs_signer_commit(struct fs_signer *s, bool *written, struct af_reason *why)
{
	bool ok = true;

	*written = false;
	pthread_mutex_lock(&s->lock);
	if (s->staged) {
		ok = af_rewrite_finish(s->job, why) == AF_OK;
		s->job = NULL;
		*written = ok;
		cancel_locked(s);
	}
	pthread_mutex_unlock(&s->lock);
	return ok;
}
