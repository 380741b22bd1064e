/*
 * The JSON members of a header: header-info, headers/0000/type-info and
 * headers/0000/meta-data, checked against the rules both Mender readers
 * enforce (spec §7, §10), reading the strictest of the two where they differ.
 */
#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "artifact/header.h"
#include "artifact/json.h"

#define MAX_JSON (1u << 20)

struct ctx {
	struct af_header *h;
	const struct af_header_parse_args *args;
	struct af_problems *problems;
	char where[64];
};

static void __attribute__((format(printf, 5, 6)))
err_at(struct ctx *c, const char *file, enum af_severity sev, enum af_code code,
    const char *fmt, ...)
{
	char *text = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&text, fmt, ap) < 0)
		text = NULL;
	va_end(ap);
	snprintf(c->where, sizeof(c->where), "%s/%s", c->args->dir, file);
	af_problem_add(c->problems, sev, code, c->where, "%s", text != NULL ? text :
	    "(out of memory)");
	free(text);
}

/* Parses a JSON member; NULL (with a problem) if absent, too big or malformed. */
static cJSON *
load(struct ctx *c, const char *path, bool required)
{
	const struct af_header_file *f = af_header_find(c->h, path);
	size_t extra_at, extra_len;
	cJSON *json;

	if (f == NULL) {
		if (required)
			err_at(c, path, AF_ERROR, AF_C_MISSING, "is missing from the header; "
			    "Mender clients need it");
		return NULL;
	}
	if (f->size > MAX_JSON) {
		err_at(c, path, AF_ERROR, AF_C_TOO_BIG, "is over 1 MiB; no Mender header is this "
		    "large, so it is not parsed");
		return NULL;
	}
	json = af_json_parse(f->data, f->size, &extra_at, &extra_len);
	if (json != NULL && extra_len > 0) {
		err_at(c, path, AF_ERROR, AF_C_JSON_TRAILING, AF_JSON_EXTRA, extra_len, extra_at);
	}
	if (json == NULL)
		err_at(c, path, AF_ERROR, AF_C_JSON, "is not valid JSON (or nested too deeply)");
	else if (!cJSON_IsObject(json)) {
		err_at(c, path, AF_ERROR, AF_C_JSON, "is not a JSON object");
		cJSON_Delete(json);
		json = NULL;
	}
	return json;
}

static bool
is_string_array(const cJSON *a, bool nonempty)
{
	const cJSON *item;

	if (!cJSON_IsArray(a) || (nonempty && cJSON_GetArraySize(a) == 0))
		return false;
	cJSON_ArrayForEach(item, a)
		if (!cJSON_IsString(item))
			return false;
	return true;
}

/* Unknown keys: the C++ client ignores them, mender-artifact 3.9 refuses them. */
static void
unknown_keys(struct ctx *c, const char *file, const cJSON *obj, const char *const *known)
{
	const cJSON *item;
	size_t i;

	cJSON_ArrayForEach(item, obj) {
		for (i = 0; known[i] != NULL; i++)
			if (strcmp(item->string, known[i]) == 0)
				break;
		if (known[i] == NULL) {
			err_at(c, file, AF_ERROR, AF_C_UNKNOWN, "has an unknown key \"%.80s\" "
			    "(mender-artifact 3.9 refuses the artifact; the C++ client ignores it)",
			    item->string);
		}
	}
}

static enum af_err
take_device_types(struct af_header *h, const cJSON *list)
{
	const cJSON *item;
	size_t n = 0;

	h->device_types = calloc((size_t)cJSON_GetArraySize(list) + 1, sizeof(char *));
	if (h->device_types == NULL)
		return AF_ENOMEM;
	cJSON_ArrayForEach(item, list) {
		if ((h->device_types[n] = strdup(item->valuestring)) == NULL)
			return AF_ENOMEM;
		h->device_type_count = ++n;
	}
	return AF_OK;
}

static enum af_err
check_payloads(struct ctx *c, const cJSON *payloads, const char *key)
{
	const cJSON *first, *type;

	if (!cJSON_IsArray(payloads) || cJSON_GetArraySize(payloads) == 0) {
		err_at(c, "header-info", AF_ERROR, AF_C_JSON, "has no \"%s\" list of payloads", key);
		return AF_OK;
	}
	c->h->payload_count = (size_t)cJSON_GetArraySize(payloads);
	if (c->h->payload_count > 1)
		err_at(c, "header-info", AF_ERROR, AF_C_PAYLOAD_MISMATCH, "lists more than one "
		    "payload; Mender clients install exactly one");
	first = cJSON_GetArrayItem(payloads, 0);
	type = cJSON_GetObjectItemCaseSensitive(first, "type");
	if (cJSON_IsNull(type) && c->args->format_version == 3)
		return AF_OK;	/* an empty payload: bootstrap artifact */
	if (!cJSON_IsString(type) || type->valuestring[0] == '\0') {
		err_at(c, "header-info", AF_ERROR, AF_C_JSON, "payload type must be a non-empty "
		    "string (or null for an empty payload)");
		return AF_OK;
	}
	c->h->payload_type = strdup(type->valuestring);
	return c->h->payload_type == NULL ? AF_ENOMEM : AF_OK;
}

/* Where header-info keeps what it says, by format version: 3 nests the name
 * and the device types, 2 has them at the top under other names. */
struct header_info_form {
	const char *const keys[4];	/* the known top-level keys */
	const char *payloads;		/* the payload list */
	const char *provides, *depends;	/* objects holding the next two; NULL: the top */
	const char *devices;		/* the device type list */
	const char *no_name, *no_devices;	/* the problems when they are missing */
};

static const struct header_info_form HEADER_INFO_V2 = {
	{ "artifact_name", "updates", "device_types_compatible", NULL },
	"updates", NULL, NULL, "device_types_compatible",
	"has no artifact_name", "has no device_types_compatible list",
};

static const struct header_info_form HEADER_INFO_V3 = {
	{ "payloads", "artifact_provides", "artifact_depends", NULL },
	"payloads", "artifact_provides", "artifact_depends", "device_type",
	"has no artifact_provides.artifact_name",
	"has no artifact_depends.device_type list; the C++ client refuses such an artifact",
};

static const cJSON *
object_or_top(const cJSON *root, const char *key)
{
	return key != NULL ? cJSON_GetObjectItemCaseSensitive(root, key) : root;
}

static enum af_err
check_header_info(struct ctx *c, const cJSON *root, const struct header_info_form *form)
{
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(object_or_top(root,
	    form->provides), "artifact_name");
	const cJSON *devices = cJSON_GetObjectItemCaseSensitive(object_or_top(root,
	    form->depends), form->devices);
	enum af_err err;

	unknown_keys(c, "header-info", root, form->keys);
	if ((err = check_payloads(c, cJSON_GetObjectItemCaseSensitive(root, form->payloads),
	    form->payloads)) != AF_OK)
		return err;
	if (!cJSON_IsString(name) || name->valuestring[0] == '\0')
		err_at(c, "header-info", AF_ERROR, AF_C_JSON, "%s", form->no_name);
	else if ((c->h->artifact_name = strdup(name->valuestring)) == NULL)
		return AF_ENOMEM;
	if (!is_string_array(devices, true)) {
		err_at(c, "header-info", AF_ERROR, AF_C_JSON, "%s", form->no_devices);
		return AF_OK;
	}
	return take_device_types(c->h, devices);
}

static bool
is_string_map(const cJSON *obj, bool allow_arrays)
{
	const cJSON *item;

	if (!cJSON_IsObject(obj))
		return false;
	cJSON_ArrayForEach(item, obj)
		if (!cJSON_IsString(item) && !(allow_arrays && is_string_array(item, false)))
			return false;
	return true;
}

static void
check_type_info(struct ctx *c, const cJSON *ti)
{
	const cJSON *type = cJSON_GetObjectItemCaseSensitive(ti, "type");
	const cJSON *provides = cJSON_GetObjectItemCaseSensitive(ti, "artifact_provides");
	const cJSON *depends = cJSON_GetObjectItemCaseSensitive(ti, "artifact_depends");
	const cJSON *clears = cJSON_GetObjectItemCaseSensitive(ti, "clears_artifact_provides");
	const char *want = c->h->payload_type;
	const char *file = "headers/0000/type-info";

	if (provides != NULL && !is_string_map(provides, false))
		err_at(c, file, AF_ERROR, AF_C_JSON, "artifact_provides must map strings to "
		    "strings");
	if (depends != NULL && !is_string_map(depends, true))
		err_at(c, file, AF_ERROR, AF_C_JSON, "artifact_depends must map strings to strings "
		    "or lists");
	if (clears != NULL && !is_string_array(clears, false))
		err_at(c, file, AF_ERROR, AF_C_JSON, "clears_artifact_provides must be a list of "
		    "strings");
	if (c->args->augment || c->args->format_version == 2)
		return;
	if (want == NULL) {
		if (!cJSON_IsNull(type))
			err_at(c, file, AF_ERROR, AF_C_PAYLOAD_MISMATCH, "type must be null, as "
			    "header-info says the payload is empty");
	} else if (cJSON_IsString(type) && type->valuestring[0] == '\0' &&
	    strcmp(want, "rootfs-image") == 0) {
		/* what mender-artifact 3.9 writes for every rootfs-image: only a note */
		err_at(c, file, AF_NOTE, AF_C_JSON, "type is \"\", as mender-artifact 3.9 writes "
		    "it for rootfs-image; 3.9 and the C++ client accept it, mender-artifact 4.4 "
		    "reads it as a corrupt artifact (mender-artifact modify rewrites it as "
		    "\"rootfs-image\")");
	} else if (!cJSON_IsString(type) || strcmp(type->valuestring, want) != 0) {
		err_at(c, file, AF_ERROR, AF_C_PAYLOAD_MISMATCH, "type does not match the payload "
		    "type in header-info");
	}
}

static void
check_meta_data(struct ctx *c)
{
	const struct af_header_file *f = af_header_find(c->h, "headers/0000/meta-data");
	const char *file = "headers/0000/meta-data";
	cJSON *json;

	if (f == NULL)
		return;
	c->h->has_meta_data = f->size > 0;
	if (!c->args->augment && c->h->payload_count > 0 && c->h->payload_type == NULL)
		err_at(c, file, AF_ERROR, AF_C_PAYLOAD_MISMATCH, "must not exist in an "
		    "empty-payload artifact; Mender clients refuse it");
	if (f->size == 0)
		return;
	if (c->h->payload_type != NULL && strcmp(c->h->payload_type, "rootfs-image") == 0 &&
	    !c->args->augment)
		err_at(c, file, AF_ERROR, AF_C_PAYLOAD_MISMATCH, "is not empty, but a rootfs-image "
		    "carries no meta-data");
	if ((json = load(c, file, false)) != NULL)
		cJSON_Delete(json);
}

enum af_err
af_header_check_json(struct af_header *h, const struct af_header_parse_args *args,
    struct af_problems *problems)
{
	struct ctx c = { h, args, problems, "" };
	cJSON *info, *ti;
	enum af_err err = AF_OK;

	if ((info = load(&c, "header-info", true)) != NULL) {
		err = check_header_info(&c, info, args->format_version == 2 ? &HEADER_INFO_V2 :
		    &HEADER_INFO_V3);
		cJSON_Delete(info);
		if (err != AF_OK)
			return err;
	}
	if (args->format_version == 2) {
		cJSON *files = load(&c, "headers/0000/files", true);
		if (files != NULL && !is_string_array(cJSON_GetObjectItemCaseSensitive(files,
		    "files"), false))
			err_at(&c, "headers/0000/files", AF_ERROR, AF_C_JSON, "must hold a "
			    "\"files\" list");
		cJSON_Delete(files);
	}
	if ((ti = load(&c, "headers/0000/type-info", true)) != NULL) {
		check_type_info(&c, ti);
		cJSON_Delete(ti);
	}
	check_meta_data(&c);
	return AF_OK;
}
