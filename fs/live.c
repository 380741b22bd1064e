#include "fs/live.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

#include "crypto/secure.h"
#include "fs/log.h"
#include "fs/ops.h"
#include "fs/status.h"

/* Key files are a few KiB; the buffer lives in the small locked arena. */
#define MAX_CONTROL_WRITE (64u << 10)

static char *
status_text(struct fs_mount *m, const struct af_checks *checks)
{
	enum fs_verdict verdict;
	struct af_reason changed;
	char *pending = NULL, *text, *staged;

	if (checks == NULL)
		return NULL;
	staged = fs_signer_pending(m->signer, m->artifact, m->keys);
	pthread_mutex_lock(&m->control_lock);
	if (asprintf(&pending, "%s%s%s%s", staged != NULL ? staged : "",
	    m->control_error[0] != '\0' ? "control: " : "", m->control_error,
	    m->control_error[0] != '\0' ? "\n" : "") < 0)
		pending = NULL;
	pthread_mutex_unlock(&m->control_lock);
	/* the hint to sign only where signing is possible and not yet done */
	text = fs_status_report(m->artifact, m->keys, checks,
	    af_place_changed(m->place, &changed) ? changed.text : NULL, pending,
	    m->read_only || staged != NULL ? NULL : "sign it (write a private key to "
	    "control/sign-key)", &verdict);
	free(staged);
	free(pending);
	return text;
}

size_t
fs_live_status_size(struct fs_mount *m, bool *known)
{
	const struct af_checks *checks = fs_verifier_result(m->verifier);
	char *text = checks != NULL ? status_text(m, checks) : NULL;
	size_t len = text != NULL ? strlen(text) : 0;

	*known = text != NULL;
	free(text);
	return len;
}

static char *
progress_text(struct fs_mount *m)
{
	char line[400];

	fs_verifier_progress(m->verifier, line, sizeof(line));
	return strdup(line);
}

int
fs_live_open(struct fs_mount *m, struct fs_handle *h, int flags)
{
	if ((flags & O_ACCMODE) != O_RDONLY) {
		if (!fs_kind_is_writable(h->entry.kind))
			return -EROFS;
		if (m->read_only)
			return -EROFS;
		/* no core dump or ptrace may see a private key on its way in */
		if (h->entry.kind == FS_CONTROL_SIGN_KEY)
			prctl(PR_SET_DUMPABLE, 0);
		h->writable = true;
		h->unapplied = true;
		return 0;
	}
	switch (h->entry.kind) {
	case FS_STATUS:
		h->text = status_text(m, fs_verifier_wait(m->verifier));
		break;
	case FS_CONTROL_VERIFY_KEY:
		h->text = fs_keyring_describe(m->keys, true);
		break;
	case FS_CONTROL_SIGN_KEY:
		h->text = fs_signer_describe(m->signer);
		break;
	case FS_CONTROL_PROGRESS:
		h->text = progress_text(m);
		break;
	case FS_CONTROL_DAEMON:
		h->text = fs_outcome_describe(&m->outcome);
		break;
	default:
		return -EINVAL;
	}
	if (h->text == NULL)
		return -ENOMEM;
	h->text_len = strlen(h->text);
	return 0;
}

int
fs_live_write(struct fs_handle *h, const char *buf, size_t size, size_t off)
{
	char *grown;
	size_t cap;

	if (!h->writable)
		return -EBADF;
	if (off > MAX_CONTROL_WRITE || size > MAX_CONTROL_WRITE - off)
		return -EFBIG;
	if (off + size > h->written_cap) {
		cap = off + size < 4096 ? 4096 : (off + size) * 2;
		if (cap > MAX_CONTROL_WRITE)
			cap = MAX_CONTROL_WRITE;
		if ((grown = cr_secure_realloc(h->written, h->written_cap, cap)) == NULL)
			return -ENOMEM;
		h->written = grown;
		h->written_cap = cap;
	}
	cr_secure_copy(h->written + off, buf, size);
	h->unapplied = true;
	if (off + size > h->written_len)
		h->written_len = off + size;
	return (int)size;
}

int
fs_live_resize(struct fs_handle *h, size_t size)
{
	static const char zeros[4096];
	size_t at;
	int rc;

	if (size <= h->written_len) {
		if (h->written != NULL)
			explicit_bzero(h->written + size, h->written_len - size);
		h->written_len = size;
		h->unapplied = true;
		return 0;
	}
	for (at = h->written_len; at < size; at += (size_t)rc)
		if ((rc = fs_live_write(h, zeros, size - at < sizeof(zeros) ? size - at :
		    sizeof(zeros), at)) < 0)
			return rc;
	return 0;
}

/* Clears and frees what was written (cr_secure_free wipes it). */
static void
wipe_written(struct fs_handle *h)
{
	cr_secure_free(h->written, h->written_cap);
	h->written = NULL;
	h->written_len = h->written_cap = 0;
}

static void
set_control_error(struct fs_mount *m, const char *file, const char *why)
{
	pthread_mutex_lock(&m->control_lock);
	if (why == NULL)
		m->control_error[0] = '\0';
	else
		snprintf(m->control_error, sizeof(m->control_error), "the last write to %s was "
		    "refused: it %s", file, why);
	pthread_mutex_unlock(&m->control_lock);
	if (why != NULL)
		fs_log(LOG_WARNING, "%s: %s: %s", artifact_path(m->artifact), file, why);
}

void
fs_live_clear(struct fs_mount *m, enum fs_kind kind)
{
	struct af_reason why;

	if (kind == FS_CONTROL_SIGN_KEY) {
		fs_signer_cancel(m->signer);
		set_control_error(m, "control/sign-key", NULL);
	} else if (kind == FS_CONTROL_VERIFY_KEY) {
		fs_keyring_set_control(m->keys, "", 0, &why);
		set_control_error(m, "control/verify-key", NULL);
	}
}

int
fs_live_flush(struct fs_mount *m, struct fs_handle *h)
{
	const char *text = h->written != NULL ? h->written : "";
	const struct af_checks *checks;
	const char *file;
	struct af_reason why;
	bool ok;

	if (!h->writable || !h->unapplied)
		return 0;	/* a second close of the same open file: nothing new */
	h->unapplied = false;
	if (h->entry.kind == FS_CONTROL_SIGN_KEY && h->written_len == 0) {
		file = "control/sign-key";	/* emptied: same as rm */
		fs_signer_cancel(m->signer);
		ok = true;
	} else if (h->entry.kind == FS_CONTROL_SIGN_KEY) {
		file = "control/sign-key";
		/* only what verified is signed: wait for the checksum pass (its
		 * progress is in control/progress) */
		if ((checks = fs_verifier_wait(m->verifier)) == NULL) {
			fs_signer_cancel(m->signer);
			af_reason_set(&why, AF_C_NO_MEMORY, "could not be used: out of memory while "
			    "checking the artifact");
			ok = false;
		} else {
			ok = fs_signer_stage(m->signer, m->artifact, m->place, checks, text,
			    h->written_len, &why);
		}
		/* a signature no verify key accepts would make the artifact
		 * invalid for the devices that trust those keys */
		if (ok && !m->allow_new_key &&
		    fs_signer_unverifiable(m->signer, m->artifact, m->keys)) {
			fs_signer_cancel(m->signer);
			af_reason_set(&why, AF_C_RESIGN_REFUSED, "was not staged: its signature "
			    "verifies with none of the verify keys, so devices that trust them would "
			    "refuse the re-signed artifact; write the matching key, add its public key "
			    "to control/verify-key first, or mount with -o allow_new_key");
			ok = false;
		}
	} else {
		file = "control/verify-key";
		ok = fs_keyring_set_control(m->keys, text, h->written_len, &why);
	}
	/* a key is used once: its bytes are wiped now, not at release */
	wipe_written(h);
	set_control_error(m, file, ok ? NULL : why.text);
	return ok ? 0 : -EINVAL;
}

void
fs_handle_free(struct fs_handle *h)
{
	if (h == NULL)
		return;
	free(h->text);
	wipe_written(h);
	free(h);
}
