/*
 * The header member (header.tar<ext>, or header-augment.tar<ext>) once
 * decompressed: its files, kept in memory for the mounted header/ directory,
 * and what header-info and type-info say.  Every rule it breaks becomes a
 * problem, named by the file's path under the mount ("header/header-info").
 */
#ifndef AF_HEADER_H
#define AF_HEADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "artifact/problems.h"

struct af_header_file {
	char *path;		/* "header-info", "scripts/X", "headers/0000/type-info" */
	const uint8_t *data;	/* points into the header's buffer */
	size_t size;
	uint32_t mode;
	int64_t mtime;
};

struct af_header {
	uint8_t *buf;		/* the decompressed header tar */
	size_t buf_len;
	struct af_header_file *files;
	size_t count;
	/* From header-info; NULL or empty when absent or malformed. */
	char *artifact_name;
	char **device_types;
	size_t device_type_count;
	size_t payload_count;
	char *payload_type;	/* NULL for an empty (bootstrap) payload */
	bool has_meta_data;
};

struct af_header_parse_args {
	int format_version;	/* 2 or 3 */
	bool augment;		/* header-augment: no scripts, no meta-data rules */
	const char *dir;	/* mount directory for messages: "header" or "header-augment" */
};

/*
 * Takes ownership of buf (a malloc'd decompressed tar of len bytes) and
 * indexes it.  Fails only on memory exhaustion; rule violations go to problems.
 */
enum af_err af_header_parse(uint8_t *buf, size_t len,
    const struct af_header_parse_args *args, struct af_header *out,
    struct af_problems *problems);
void af_header_clear(struct af_header *header);

const struct af_header_file *af_header_find(const struct af_header *header,
    const char *path);

/* Checks header-info, type-info and meta-data of a parsed header (header_json.c). */
enum af_err af_header_check_json(struct af_header *header,
    const struct af_header_parse_args *args, struct af_problems *problems);

/* Path rules shared by every tar we index: no "..", no leading "/", no NUL,
 * no empty component, at most 255 bytes.  AF_OK (why cleared), or AF_EFORMAT
 * with why (code unsafe-path) saying which rule the path breaks. */
enum af_err af_path_check(const char *path, bool has_nul, struct af_reason *why);

#endif
