#include "artifact/header.h"

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "artifact/tar.h"

#define MAX_ENTRIES 4096
#define MAX_PATH_LEN 255

/* The C++ client's whitelist, anchored: the strictest reading of a script name. */
static const char script_re[] =
    "^Artifact(Install|Reboot|Rollback|RollbackReboot|Commit|Failure)"
    "_(Enter|Leave|Error)_[0-9][0-9](_[^[:space:]]+)?$";

struct memsrc {
	const uint8_t *buf;
	size_t len;
};

static enum af_err
mem_pread(void *ctx, void *buf, size_t len, uint64_t off, size_t *got)
{
	const struct memsrc *m = ctx;

	*got = 0;
	if (off < m->len) {
		*got = m->len - (size_t)off < len ? m->len - (size_t)off : len;
		memcpy(buf, m->buf + off, *got);
	}
	return AF_OK;
}

static enum af_err
unsafe(struct af_reason *why, const char *how)
{
	return af_fail(why, AF_EFORMAT, AF_C_UNSAFE_PATH, "%s", how);
}

enum af_err
af_path_check(const char *path, bool has_nul, struct af_reason *why)
{
	const char *p;

	af_reason_clear(why);
	if (has_nul)
		return unsafe(why, "contains a NUL byte");
	if (path[0] == '\0')
		return unsafe(why, "is empty");
	if (path[0] == '/')
		return unsafe(why, "is absolute");
	if (strlen(path) > MAX_PATH_LEN)
		return unsafe(why, "is longer than 255 bytes");
	for (p = path; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return unsafe(why, "contains a control character");
	for (p = path; *p != '\0';) {
		size_t n = strcspn(p, "/");
		if (n == 2 && p[0] == '.' && p[1] == '.')
			return unsafe(why, "contains \"..\"");
		if (n == 0 || (n == 1 && p[0] == '.'))
			return unsafe(why, "has an empty or \".\" component");
		p += n;
		if (*p == '/')
			p++;
	}
	return AF_OK;
}

/* Where a path may stand: 0 header-info, 1 scripts, 2 headers/0000/..., -1 none. */
static int
path_rank(const char *path, const struct af_header_parse_args *args)
{
	static const char *v3[] = { "headers/0000/type-info", "headers/0000/meta-data" };
	static const char *v2[] = { "headers/0000/files", "headers/0000/type-info",
	    "headers/0000/meta-data" };
	const char **known = args->format_version == 2 ? v2 : v3;
	size_t i, n = args->format_version == 2 ? 3 : 2;

	if (strcmp(path, "header-info") == 0)
		return 0;
	if (strncmp(path, "scripts/", 8) == 0 && !args->augment)
		return 1;
	for (i = 0; i < n; i++)
		if (strcmp(path, known[i]) == 0)
			return (int)(2 + i);
	return -1;
}

static enum af_err
add_file(struct af_header *h, const struct af_tar_entry *e)
{
	struct af_header_file *f;

	if (h->count % 16 == 0) {
		f = reallocarray(h->files, h->count + 16, sizeof(*f));
		if (f == NULL)
			return AF_ENOMEM;
		h->files = f;
	}
	f = &h->files[h->count];
	if ((f->path = strdup(e->name)) == NULL)
		return AF_ENOMEM;
	f->data = h->buf + e->data_offset;
	f->size = (size_t)e->size;
	f->mode = e->mode;
	f->mtime = e->mtime;
	h->count++;
	return AF_OK;
}

/* Is this entry, at where ("header/NAME"), acceptable at all, and in order?
 * Says why not to problems. */
static bool
entry_allowed_at(const struct af_header *h, const struct af_tar_entry *e, int *last_rank,
    const regex_t *scripts, const struct af_header_parse_args *args,
    struct af_problems *problems, const char *where)
{
	struct af_reason why;
	int rank;

	if (af_path_check(e->name, e->name_has_nul, &why) == AF_OK &&
	    e->name[strlen(e->name) - 1] == '/')
		af_reason_set(&why, AF_C_TAR_TYPE, "ends in '/' but is a regular file");
	if (why.code != AF_C_NONE) {
		af_problem_add(problems, AF_ERROR, why.code, args->dir, "an entry name ('%s') %s; "
		    "it is not shown", e->name, why.text);
		return false;
	}
	if (!af_tar_is_file(e) || e->sparse) {
		af_problem_add(problems, AF_ERROR, AF_C_TAR_TYPE, where, "is %s; a header holds "
		    "only regular files; it is not shown", af_tar_type_word(e));
		return false;
	}
	if (af_header_find(h, e->name) != NULL) {
		af_problem_add(problems, AF_ERROR, AF_C_DUPLICATE, where, "appears twice in the "
		    "header; only the first is shown");
		return false;
	}
	rank = path_rank(e->name, args);
	if (rank < 0) {
		af_problem_add(problems, AF_ERROR, AF_C_UNKNOWN, where, "is not a header file "
		    "Mender knows (header-info, %sheaders/0000/type-info, "
		    "headers/0000/meta-data%s)",
		    args->augment ? "" : "scripts/*, ",
		    args->format_version == 2 ? ", headers/0000/files" : "");
		return true;
	}
	if (rank == 1 && (strchr(e->name + 8, '/') != NULL ||
	    regexec(scripts, e->name + 8, 0, NULL, 0) != 0))
		af_problem_add(problems, AF_ERROR, AF_C_BAD_NAME, where, "is not a state script "
		    "name the Mender client accepts "
		    "(Artifact<State>_<Enter|Leave|Error>_<NN>[_<suffix>])");
	if (rank < *last_rank || (rank == 0 && h->count > 0) || (h->count == 0 && rank != 0))
		af_problem_add(problems, AF_ERROR, AF_C_ORDER, where, "is out of order: a header "
		    "is header-info, then scripts, then headers/0000/%s",
		    args->format_version == 2 ? "files, type-info, meta-data" : "type-info, "
		    "meta-data");
	if (rank > *last_rank)
		*last_rank = rank;
	return true;
}

/* entry_allowed_at with the whole name: an entry name has no length cap. */
static bool
entry_allowed(const struct af_header *h, const struct af_tar_entry *e, int *last_rank,
    const regex_t *scripts, const struct af_header_parse_args *args,
    struct af_problems *problems)
{
	char *where;
	bool allowed;

	if (asprintf(&where, "%s/%s", args->dir, e->name_has_nul ? "?" : e->name) < 0)
		where = NULL;
	allowed = entry_allowed_at(h, e, last_rank, scripts, args, problems,
	    where != NULL ? where : args->dir);
	free(where);
	return allowed;
}

/* Directories: mender-artifact never writes them, and readers differ on their data. */
static bool
is_directory(const struct af_tar_entry *e, const struct af_header_parse_args *args,
    struct af_problems *problems)
{
	size_t n = strlen(e->name);

	if (e->type != '5' && (n == 0 || e->name[n - 1] != '/'))
		return false;
	af_problem_add(problems, AF_ERROR, AF_C_TAR_DIR_ENTRY, args->dir, "has a directory entry "
	    "'%s' at offset %llu; mender-artifact never writes one: rebuild the artifact", e->name,
	    (unsigned long long)e->header_offset);
	return true;
}

static void
judge_end(const struct af_tar *tar, const struct af_header_parse_args *args,
    struct af_problems *problems)
{
	struct af_tar_end end = af_tar_end(tar);

	if (!end.marked)
		af_problem_add(problems, AF_WARNING, AF_C_TAR_END, args->dir, "ends at offset %llu "
		    "without end-of-archive blocks", (unsigned long long)end.offset);
}

static enum af_err
index_entries(struct af_header *h, const struct af_header_parse_args *args,
    struct af_problems *problems)
{
	struct memsrc src = { h->buf, h->buf_len };
	struct af_tar_source source = { mem_pread, &src };
	struct af_tar *tar;
	struct af_tar_entry e;
	int last_rank = 0;
	enum af_err err = AF_OK;
	regex_t scripts;
	struct af_reason why;
	size_t seen = 0;

	if (af_tar_open(&source, &tar) != AF_OK)
		return AF_ENOMEM;
	if (regcomp(&scripts, script_re, REG_EXTENDED | REG_NOSUB) != 0) {
		af_tar_close(tar);
		return AF_ENOMEM;
	}
	while ((err = af_tar_next(tar, &e, &why)) == AF_OK ||
	    (err == AF_EFORMAT && e.name != NULL)) {
		if (err != AF_OK) {	/* one entry refused; read on */
			af_problem_add(problems, AF_ERROR, why.code, args->dir, "%s; it is not "
			    "shown", why.text);
			af_tar_entry_clear(&e);
			err = AF_OK;
			continue;
		}
		if (++seen > MAX_ENTRIES) {
			af_problem_add(problems, AF_ERROR, AF_C_TOO_BIG, args->dir, "has more than "
			    "%d entries; the rest is ignored", MAX_ENTRIES);
			af_tar_entry_clear(&e);
			break;
		}
		if (e.data_offset + e.size > h->buf_len) {
			af_problem_add(problems, AF_ERROR, AF_C_TRUNCATED, args->dir, "the tar "
			    "ends inside '%s'", e.name);
			af_tar_entry_clear(&e);
			break;
		}
		if (!is_directory(&e, args, problems) &&
		    entry_allowed(h, &e, &last_rank, &scripts, args, problems))
			err = add_file(h, &e);
		af_tar_entry_clear(&e);
		if (err != AF_OK)
			break;
	}
	regfree(&scripts);
	if (err == AF_END)
		judge_end(tar, args, problems);
	if (err != AF_END && err != AF_OK && err != AF_ENOMEM)
		af_problem_add(problems, AF_ERROR, why.code, args->dir, af_tar_end(tar).trailer ?
		    "the header tar %s: rebuild the artifact" : "is not a valid tar: %s", why.text);
	af_tar_close(tar);
	if (err == AF_ENOMEM)
		return err;
	return AF_OK;
}

enum af_err
af_header_parse(uint8_t *buf, size_t len, const struct af_header_parse_args *args,
    struct af_header *h, struct af_problems *problems)
{
	enum af_err err;

	memset(h, 0, sizeof(*h));
	h->buf = buf;
	h->buf_len = len;
	if ((err = index_entries(h, args, problems)) != AF_OK)
		return err;
	if (af_header_find(h, "header-info") == NULL) {
		af_problem_add(problems, AF_ERROR, AF_C_MISSING, args->dir, "has no header-info; "
		    "rebuild the artifact with mender-artifact write");
		return AF_OK;
	}
	return af_header_check_json(h, args, problems);
}

void
af_header_clear(struct af_header *h)
{
	size_t i;

	for (i = 0; i < h->count; i++)
		free(h->files[i].path);
	for (i = 0; i < h->device_type_count; i++)
		free(h->device_types[i]);
	free(h->device_types);
	free(h->files);
	free(h->buf);
	free(h->artifact_name);
	free(h->payload_type);
	memset(h, 0, sizeof(*h));
}

const struct af_header_file *
af_header_find(const struct af_header *h, const char *path)
{
	size_t i;

	for (i = 0; i < h->count; i++)
		if (strcmp(h->files[i].path, path) == 0)
			return &h->files[i];
	return NULL;
}
