#include "fs/live.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>

#include "fs/ops.h"
#include "fs/status.h"

#define MAX_CONTROL_WRITE (256u << 10)

const char *
fs_artifact_changed(const struct artifact *a, char *buf, size_t len)
{
	const struct stat *then = artifact_stat(a);
	struct stat now;

	if (stat(artifact_path(a), &now) != 0) {
		snprintf(buf, len, "it is gone: %s", strerror(errno));
		return buf;
	}
	if (now.st_dev != then->st_dev || now.st_ino != then->st_ino) {
		snprintf(buf, len, "another file was put in its place");
		return buf;
	}
	if (now.st_size != then->st_size || now.st_mtim.tv_sec != then->st_mtim.tv_sec ||
	    now.st_mtim.tv_nsec != then->st_mtim.tv_nsec ||
	    now.st_ctim.tv_sec != then->st_ctim.tv_sec ||
	    now.st_ctim.tv_nsec != then->st_ctim.tv_nsec) {
		snprintf(buf, len, "it was modified in place");
		return buf;
	}
	return NULL;
}

static char *
status_text(struct fs_mount *m)
{
	const struct af_checks *checks = fs_verifier_wait(m->verifier);
	enum fs_verdict verdict;
	char changed[128], *pending = NULL, *text;

	if (checks == NULL)
		return NULL;
	pthread_mutex_lock(&m->control_lock);
	if (m->control_error[0] != '\0' &&
	    asprintf(&pending, "control: %s\n", m->control_error) < 0)
		pending = NULL;
	pthread_mutex_unlock(&m->control_lock);
	text = fs_status_report(m->artifact, m->keys, checks,
	    fs_artifact_changed(m->artifact, changed, sizeof(changed)), pending, &verdict);
	free(pending);
	return text;
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
		if (h->entry.kind != FS_CONTROL_VERIFY_KEY)
			return -EACCES;
		if (m->read_only)
			return -EROFS;
		h->writable = true;
		return 0;
	}
	switch (h->entry.kind) {
	case FS_STATUS:
		h->text = status_text(m);
		break;
	case FS_CONTROL_VERIFY_KEY:
		h->text = fs_keyring_describe(m->keys, true);
		break;
	case FS_CONTROL_PROGRESS:
		h->text = progress_text(m);
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
		if ((grown = realloc(h->written, cap)) == NULL)
			return -ENOMEM;
		memset(grown + h->written_cap, 0, cap - h->written_cap);
		h->written = grown;
		h->written_cap = cap;
	}
	memcpy(h->written + off, buf, size);
	if (off + size > h->written_len)
		h->written_len = off + size;
	return (int)size;
}

int
fs_live_flush(struct fs_mount *m, struct fs_handle *h)
{
	char why[256];
	bool ok;

	if (!h->writable)
		return 0;
	ok = fs_keyring_set_control(m->keys, h->written != NULL ? h->written : "",
	    h->written_len, why, sizeof(why));
	pthread_mutex_lock(&m->control_lock);
	if (ok)
		m->control_error[0] = '\0';
	else
		snprintf(m->control_error, sizeof(m->control_error), "the last write to "
		    "control/verify-key was refused: it %s", why);
	pthread_mutex_unlock(&m->control_lock);
	if (!ok) {
		syslog(LOG_WARNING, "%s: control/verify-key: %s", artifact_path(m->artifact), why);
		return -EINVAL;
	}
	return 0;
}

void
fs_handle_free(struct fs_handle *h)
{
	if (h == NULL)
		return;
	free(h->text);
	if (h->written != NULL)
		explicit_bzero(h->written, h->written_cap);
	free(h->written);
	free(h);
}
