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
	struct fs_handle *prev, *next;	/* in fs_mount's open_handles, under handle_lock */
};

/* Fills h->text for reading, or prepares h for writing; a negative errno. */
int fs_live_open(struct fs_mount *m, struct fs_handle *h, int flags);
/* The length signature-status reads as now, if that is known without waiting
 * for the checksum pass (*known false otherwise). */
size_t fs_live_status_size(struct fs_mount *m, bool *known);
int fs_live_write(struct fs_handle *h, const char *buf, size_t size, size_t off);
/* ftruncate of a handle open for writing: cut, or extend with zeros. */
int fs_live_resize(struct fs_handle *h, size_t size);
/* Empties a control file: cancels the re-sign, or drops the control keys. */
void fs_live_clear(struct fs_mount *m, enum fs_kind kind);
/* Applies what was written; the result is what close(2) returns. */
int fs_live_flush(struct fs_mount *m, struct fs_handle *h);
void fs_handle_free(struct fs_handle *h);

#endif
