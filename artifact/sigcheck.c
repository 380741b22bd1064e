#include "artifact/sigcheck.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The manifest as mender-artifact rebuilds it before verifying (spec §4.3). */
static char *
rebuilt_manifest(const struct af_manifest *m, size_t *len)
{
	size_t i, n = 1;
	char *text, *p;

	for (i = 0; i < m->count; i++)
		n += strlen(m->entries[i].sum) + 2 + strlen(m->entries[i].name) + 1;
	if ((p = text = malloc(n)) == NULL)
		return NULL;
	for (i = 0; i < m->count; i++)
		p += sprintf(p, "%s  %s\n", m->entries[i].sum, m->entries[i].name);
	*len = (size_t)(p - text);
	return text;
}

static void
try_rebuilt(const struct artifact *a, struct cr_key *const *keys, const uint8_t *sig,
    struct af_sigcheck *out)
{
	const struct af_manifest *m = artifact_manifest(a, false);
	struct cr_verify_result r;
	size_t len, i;
	char *text;

	if (m == NULL || m->canonical || (text = rebuilt_manifest(m, &len)) == NULL)
		return;
	for (i = 0; i < out->key_count && out->verified_rebuilt_by < 0; i++) {
		cr_verify(keys[i], (const uint8_t *)text, len, sig, out->sig_len, &r);
		if (r.status == CR_VERIFY_OK)
			out->verified_rebuilt_by = (int)i;
	}
	free(text);
}

enum af_err
af_check_signature(const struct artifact *a, struct cr_key *const *keys, size_t key_count,
    struct af_sigcheck *out)
{
	const uint8_t *text, *manifest;
	size_t text_len, manifest_len = 0, i;
	uint8_t *sig = NULL;

	memset(out, 0, sizeof(*out));
	out->verified_by = out->verified_rebuilt_by = -1;
	out->present = artifact_member(a, AF_MEMBER_SIGNATURE, 0) != NULL;
	text = artifact_member_bytes(a, AF_MEMBER_SIGNATURE, &text_len);
	out->loaded = text != NULL;
	if (!out->loaded)
		return AF_OK;
	out->decoded = cr_base64_decode((const char *)text, text_len, &sig, &out->sig_len,
	    &out->trailing_newline, &out->base64);
	if (!out->decoded)
		return AF_OK;
	out->guess = cr_signature_guess(sig, out->sig_len);
	manifest = artifact_member_bytes(a, AF_MEMBER_MANIFEST, &manifest_len);
	if (key_count > 0 && (out->per_key = calloc(key_count, sizeof(*out->per_key))) == NULL) {
		free(sig);
		return AF_ENOMEM;
	}
	out->key_count = key_count;
	for (i = 0; i < key_count; i++) {
		cr_verify(keys[i], manifest != NULL ? manifest : (const uint8_t *)"", manifest_len,
		    sig, out->sig_len, &out->per_key[i]);
		if (out->per_key[i].status == CR_VERIFY_OK && out->verified_by < 0)
			out->verified_by = (int)i;
	}
	if (out->verified_by < 0)
		try_rebuilt(a, keys, sig, out);
	free(sig);
	return AF_OK;
}

void
af_sigcheck_clear(struct af_sigcheck *c)
{
	free(c->per_key);
	memset(c, 0, sizeof(*c));
}
