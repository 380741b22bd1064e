/*
 * The verdict on an artifact: valid, invalid, unsigned or unverified, and
 * the reasons, warnings and notes that make it so, as data (a stable code
 * and one line of text each).  Every rule of it is here: which finding
 * makes an artifact invalid, which only warns, what Mender's clients and
 * tools accept.  It is decided from what is already known: the artifact's
 * problems, its checksum results, its signature check (artifact/sigcheck.h)
 * and what the verification keys are, as plain facts.  fs/status.c renders
 * it as signature-status and --status text, fs/report.c as JSON; neither
 * decides anything.
 */
#ifndef AF_VERDICT_H
#define AF_VERDICT_H

#include <stdbool.h>
#include <stddef.h>

#include "artifact/artifact.h"
#include "artifact/sigcheck.h"
#include "artifact/verify.h"
#include "crypto/key.h"

enum af_verdict_word {
	AF_VERDICT_VALID,	/* signed, and a verify key verifies it; intact */
	AF_VERDICT_INVALID,	/* a reason says why */
	AF_VERDICT_UNSIGNED,	/* intact, no signature and no verify key */
	AF_VERDICT_UNVERIFIED,	/* intact, signed, but no verify key to check it */
};

/* code: what a finding is about, from common/error.h's verdict group
 * (AF_C_SIG_BAD, ...); stable, for tests and programs to match. */
struct af_finding {
	enum af_code code;
	int index;	/* the key, checksum or problem it is about (0-based), or -1 */
	char *text;	/* one line, no newline, no "reason: " */
};

struct af_findings {
	struct af_finding *items;
	size_t count;
};

struct af_verdict {
	enum af_verdict_word word;
	bool authentic;		/* a verify key verifies the exact manifest bytes */
	bool intact;		/* every checksum ok, no error among the problems */
	struct af_findings reasons;	/* why it is invalid; empty otherwise */
	struct af_findings warnings;	/* what a client may still accept */
	struct af_findings notes;	/* how other Mender versions read it */
};

/* What the verdict knows of a verification key: plain facts, which
 * af_verdict_key_of takes from a crypto/ key (tests write them by hand). */
struct af_verdict_key {
	const char *description;	/* "RSA-3072", "ECDSA P-256" */
	const char *fingerprint;	/* "SHA256:<hex>" */
	const char *source;		/* where it came from (a file name) */
	enum cr_key_type type;
	int bits;
	const char *form_warning;	/* cr_key_form_warning, or NULL */
	const char *param_warning;	/* cr_key_param_warning, or NULL */
	const char *unsupported;	/* cr_key_unsupported, or NULL */
	const char *note;		/* about the file it came from, or NULL */
};

struct af_verdict_input {
	const struct af_problems *problems;	/* artifact_problems(), or NULL */
	const char *damage;		/* artifact_damage(), or NULL */
	const struct af_checks *checks;	/* the checksum results, or NULL for none */
	const struct af_sigcheck *sig;	/* af_check_signature with keys, in order */
	const struct af_verdict_key *keys;	/* the keys sig was checked with */
	size_t key_count;
	const char *changed;	/* how the file on disk changed since open, or NULL */
	const char *sign_hint;	/* how to sign an unsigned artifact, or NULL */
};

/* The verdict on in, in out (to be cleared); AF_ENOMEM is the only failure. */
enum af_err af_verdict_decide(const struct af_verdict_input *in, struct af_verdict *out);
void af_verdict_clear(struct af_verdict *v);

/* "valid", "invalid", "unsigned", "unverified". */
const char *af_verdict_name(enum af_verdict_word word);

/* The facts of key, with where it came from and a note about that (or NULL);
 * the strings are the key's and the caller's: they live as long as those. */
void af_verdict_key_of(const struct cr_key *key, const char *source, const char *note,
    struct af_verdict_key *out);

/* What a checksum result that is not ok means, for a person: "the payload
 * file is not what the manifest promises: tampered or corrupted". */
const char *af_check_hint(const struct af_check *check);

#endif
