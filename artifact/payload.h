/*
 * A payload member (data/NNNN.tar<ext>): the files of its inner tar, found by
 * scanning tar headers through the decompressed stream only as far as a
 * caller needs, and read at any offset.  Thread-safe.
 */
#ifndef AF_PAYLOAD_H
#define AF_PAYLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "artifact/problems.h"
#include "artifact/stream.h"

struct af_payload_file {
	char *name;		/* base name, e.g. "rootfs.ext4" */
	uint64_t size;
	uint32_t mode;
	int64_t mtime;
	uint64_t data_offset;	/* in the decompressed stream */
	size_t index;		/* in tar order among the files shown (af_payload_get) */
};

struct af_payload;

/*
 * Takes ownership of stream.  dir ("data/0000") names files in problems, and
 * member ("data/0000.tar.gz") the compressed stream when it cannot be decoded.
 */
struct af_payload *af_payload_new(struct af_stream *stream, const char *dir,
    const char *member, struct af_problems *problems);
void af_payload_free(struct af_payload *payload);

/* Scans until name is found (AF_OK) or the tar ends (AF_ENOENT).  Lookups
 * by name are hashed, and never wait for a scan another thread runs unless
 * they need it to go on. */
enum af_err af_payload_find(struct af_payload *payload, const char *name,
    const struct af_payload_file **out);
/* Only among the files found so far: never decompresses. */
const struct af_payload_file *af_payload_find_scanned(struct af_payload *payload,
    const char *name);
/* Scans every header.  Only the first pass over a payload decompresses it. */
enum af_err af_payload_scan_all(struct af_payload *payload);

/* The i-th file in tar order, scanning as far as needed; AF_END past the
 * last.  Walking i upwards while reading each file reads the payload once. */
enum af_err af_payload_at(struct af_payload *payload, size_t i,
    const struct af_payload_file **out);

/* The i-th file found so far (i < af_payload_count); stable until free. */
size_t af_payload_count(struct af_payload *payload);
const struct af_payload_file *af_payload_get(struct af_payload *payload, size_t i);

enum af_err af_payload_read(struct af_payload *payload,
    const struct af_payload_file *file, void *buf, size_t len, uint64_t off,
    size_t *got, struct af_reason *why);
/* The same bytes handed to fn in place (af_stream_visit), without a copy. */
enum af_err af_payload_visit(struct af_payload *payload,
    const struct af_payload_file *file, size_t len, uint64_t off,
    af_stream_visit_fn fn, void *ctx, size_t *got, struct af_reason *why);

struct af_stream *af_payload_stream(struct af_payload *payload);

#endif
