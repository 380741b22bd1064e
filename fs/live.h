/*
 * The files of a mount that are not the artifact's bytes: signature-status
 * and control/.  Their content is made when they are opened, so every open
 * sees the current state, and control/ writes take effect when closed.
 */
#ifndef FS_LIVE_H
#define FS_LIVE_H

#include <stdbool.h>
#include <stddef.h>

#include "fs/tree.h"

struct fs_mount;

struct fs_handle {
	struct fs_entry entry;
	char *text;		/* what a live file reads as */
	size_t text_len;
	char *written;		/* what was written to a control file (locked memory) */
	size_t written_len, written_cap;
	bool writable;
	bool unapplied;		/* opened for writing or written since the last flush */
};

/* Fills h->text for reading, or prepares h for writing; a negative errno. */
int fs_live_open(struct fs_mount *m, struct fs_handle *h, int flags);
int fs_live_write(struct fs_handle *h, const char *buf, size_t size, size_t off);
/* Applies what was written; the result is what close(2) returns. */
int fs_live_flush(struct fs_mount *m, struct fs_handle *h);
void fs_handle_free(struct fs_handle *h);

#endif
