/*
 * af_header_parse: what mender-artifact writes parses cleanly and agrees with
 * GNU tar and cJSON's reading of the same bytes; each header rule of spec §7
 * is reported, on the file concerned.
 */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "artifact/header.h"
#include "support.h"

struct hdr {
	struct af_header h;
	struct af_problems *p;
};

/* Parses the tar in t (taking it). */
static void
parse_tb(struct hdr *r, struct tb *t, int version, bool augment)
{
	struct af_header_parse_args args = { version, augment, augment ? "header-augment" : "header" };
	size_t len;
	uint8_t *buf;

	tb_end(t);
	buf = tb_take(t, &len);
	r->p = af_problems_new();
	cr_assert_not_null(r->p);
	cr_assert_eq(af_header_parse(buf, len, &args, &r->h, r->p), AF_OK);
}

static void
hdr_free(struct hdr *r)
{
	af_header_clear(&r->h);
	af_problems_free(r->p);
}

static void
expect_clean(const struct hdr *r)
{
	cr_assert_eq(af_problems_count(r->p), 0, "problems:\n%s", problems_str(r->p));
}

static void
expect_error(const struct hdr *r, const char *where, const char *text)
{
	cr_assert(has_problem(r->p, AF_ERROR, where, text), "no error at %s saying \"%s\"; "
	    "problems:\n%s", where != NULL ? where : "(any)", text, problems_str(r->p));
}

/* header-info, an optional script, type-info, meta-data. */
static void
standard(struct tb *t, const char *header_info, const char *script, const char *type_info,
    const char *meta_data)
{
	tb_init(t);
	tb_add_str(t, "header-info", header_info);
	if (script != NULL)
		tb_add_str(t, script, "#!/bin/sh\nexit 0\n");
	tb_add_str(t, "headers/0000/type-info", type_info);
	if (meta_data != NULL)
		tb_add_str(t, "headers/0000/meta-data", meta_data);
}

#define ROOTFS_INFO "{\"payloads\":[{\"type\":\"rootfs-image\"}]," \
	"\"artifact_provides\":{\"artifact_name\":\"rel-9\"}," \
	"\"artifact_depends\":{\"device_type\":[\"devA\",\"devB\"]}}"

Test(header, synthetic_module_header)
{
	static const char meta[] = "{\"a\":\"b\",\"n\":[1,2]}";
	struct hdr r;
	struct tb t;
	const struct af_header_file *f;

	standard(&t, SYNTH_HEADER_INFO, "scripts/ArtifactInstall_Enter_00_hello",
	    SYNTH_TYPE_INFO, meta);
	parse_tb(&r, &t, 3, false);
	expect_clean(&r);
	cr_assert_str_eq(r.h.artifact_name, SYNTH_NAME);
	cr_assert_eq(r.h.device_type_count, 1);
	cr_assert_str_eq(r.h.device_types[0], SYNTH_DEVICE);
	cr_assert_str_eq(r.h.payload_type, SYNTH_TYPE);
	cr_assert_eq(r.h.payload_count, 1);
	cr_assert(r.h.has_meta_data);
	cr_assert_eq(r.h.count, 4);
	f = af_header_find(&r.h, "headers/0000/meta-data");
	cr_assert_not_null(f);
	cr_assert_eq(f->size, strlen(meta));
	cr_assert_eq(memcmp(f->data, meta, f->size), 0);
	cr_assert_not_null(af_header_find(&r.h, "scripts/ArtifactInstall_Enter_00_hello"));
	cr_assert_null(af_header_find(&r.h, "scripts"));
	hdr_free(&r);
}

Test(header, rootfs_two_devices_and_empty_meta)
{
	struct hdr r;
	struct tb t;

	standard(&t, ROOTFS_INFO, NULL, "{\"type\":\"rootfs-image\"}", "");
	parse_tb(&r, &t, 3, false);
	expect_clean(&r);
	cr_assert_str_eq(r.h.artifact_name, "rel-9");
	cr_assert_eq(r.h.device_type_count, 2);
	cr_assert_str_eq(r.h.device_types[0], "devA");
	cr_assert_str_eq(r.h.device_types[1], "devB");
	cr_assert_str_eq(r.h.payload_type, "rootfs-image");
	cr_assert_not(r.h.has_meta_data);
	hdr_free(&r);
}

Test(header, rootfs_empty_type_is_only_a_note)
{
	struct hdr r;
	struct tb t;

	standard(&t, ROOTFS_INFO, NULL, "{\"type\":\"\"}", "");
	parse_tb(&r, &t, 3, false);
	cr_assert_eq(af_problems_errors(r.p), 0, "%s", problems_str(r.p));
	cr_assert_eq(af_problems_count(r.p), 1, "%s", problems_str(r.p));
	cr_assert(has_problem(r.p, AF_NOTE, "header/headers/0000/type-info", "\"\""),
	    "%s", problems_str(r.p));
	hdr_free(&r);
}

Test(header, module_empty_type_is_an_error)
{
	struct hdr r;
	struct tb t;

	standard(&t, SYNTH_HEADER_INFO, NULL, "{\"type\":\"\"}", NULL);
	parse_tb(&r, &t, 3, false);
	expect_error(&r, "header/headers/0000/type-info", "does not match");
	hdr_free(&r);
}

Test(header, type_info_type_mismatch)
{
	struct hdr r;
	struct tb t;

	standard(&t, SYNTH_HEADER_INFO, NULL, "{\"type\":\"other-module\"}", NULL);
	parse_tb(&r, &t, 3, false);
	expect_error(&r, "header/headers/0000/type-info", "does not match");
	cr_assert_eq(af_problems_errors(r.p), 1, "%s", problems_str(r.p));
	hdr_free(&r);
}

Test(header, header_info_not_first)
{
	struct hdr r;
	struct tb t;

	tb_init(&t);
	tb_add_str(&t, "headers/0000/type-info", SYNTH_TYPE_INFO);
	tb_add_str(&t, "header-info", SYNTH_HEADER_INFO);
	parse_tb(&r, &t, 3, false);
	expect_error(&r, NULL, "out of order");
	cr_assert(has_problem(r.p, AF_ERROR, "header/headers/0000/type-info", "out of order") ||
	    has_problem(r.p, AF_ERROR, "header/header-info", "out of order"), "%s",
	    problems_str(r.p));
	/* both files are still there to look at */
	cr_assert_not_null(af_header_find(&r.h, "header-info"));
	cr_assert_str_eq(r.h.artifact_name, SYNTH_NAME);
	hdr_free(&r);
}

Test(header, script_after_type_info)
{
	struct hdr r;
	struct tb t;

	standard(&t, SYNTH_HEADER_INFO, NULL, SYNTH_TYPE_INFO, NULL);
	tb_add_str(&t, "scripts/ArtifactCommit_Leave_10", "#!/bin/sh\n");
	parse_tb(&r, &t, 3, false);
	expect_error(&r, "header/scripts/ArtifactCommit_Leave_10", "out of order");
	hdr_free(&r);
}

Test(header, meta_data_before_type_info)
{
	struct hdr r;
	struct tb t;

	tb_init(&t);
	tb_add_str(&t, "header-info", SYNTH_HEADER_INFO);
	tb_add_str(&t, "headers/0000/meta-data", "{}");
	tb_add_str(&t, "headers/0000/type-info", SYNTH_TYPE_INFO);
	parse_tb(&r, &t, 3, false);
	expect_error(&r, "header/headers/0000/type-info", "out of order");
	hdr_free(&r);
}

Test(header, unknown_entries)
{
	static const char *const extras[] = { "extra", "headers/0000/extra", "headers/0001/type-info",
	    "headers/0000/files" /* v2 only */ };
	size_t i;

	for (i = 0; i < sizeof(extras) / sizeof(extras[0]); i++) {
		char where[128];
		struct hdr r;
		struct tb t;

		standard(&t, SYNTH_HEADER_INFO, NULL, SYNTH_TYPE_INFO, NULL);
		tb_add_str(&t, extras[i], "{}");
		parse_tb(&r, &t, 3, false);
		snprintf(where, sizeof(where), "header/%s", extras[i]);
		expect_error(&r, where, "not a header file");
		hdr_free(&r);
	}
}

Test(header, duplicate_entry)
{
	struct hdr r;
	struct tb t;
	const struct af_header_file *f;

	standard(&t, SYNTH_HEADER_INFO, NULL, SYNTH_TYPE_INFO, NULL);
	tb_add_str(&t, "headers/0000/type-info", "{\"type\":\"second\"}");
	parse_tb(&r, &t, 3, false);
	expect_error(&r, "header/headers/0000/type-info", "twice");
	f = af_header_find(&r.h, "headers/0000/type-info");
	cr_assert_not_null(f);
	cr_assert_eq(f->size, strlen(SYNTH_TYPE_INFO));	/* the first is kept */
	cr_assert_eq(r.h.count, 2);
	hdr_free(&r);
}

Test(header, script_names)
{
	static const char *const good[] = { "ArtifactInstall_Enter_00",
	    "ArtifactRollbackReboot_Error_99_cleanup", "ArtifactFailure_Leave_42_x.sh",
	    "ArtifactCommit_Enter_01" };
	static const char *const bad[] = { "ArtifactInstall_Enter_5", "Download_Enter_00",
	    "x-ArtifactInstall_Enter_00", "ArtifactInstall_Enter_00_", "ArtifactInstall_Begin_00",
	    "sub/ArtifactInstall_Enter_00" };
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		char path[128];
		struct hdr r;
		struct tb t;

		snprintf(path, sizeof(path), "scripts/%s", good[i]);
		standard(&t, SYNTH_HEADER_INFO, path, SYNTH_TYPE_INFO, NULL);
		parse_tb(&r, &t, 3, false);
		cr_assert_eq(af_problems_count(r.p), 0, "%s: %s", path, problems_str(r.p));
		cr_assert_not_null(af_header_find(&r.h, path));
		hdr_free(&r);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char path[128];
		struct hdr r;
		struct tb t;

		snprintf(path, sizeof(path), "scripts/%s", bad[i]);
		standard(&t, SYNTH_HEADER_INFO, path, SYNTH_TYPE_INFO, NULL);
		parse_tb(&r, &t, 3, false);
		expect_error(&r, NULL, "state script name");
		cr_assert(has_problem(r.p, AF_ERROR, NULL, "state script") &&
		    count_problems(r.p, AF_ERROR, NULL, NULL) == 1, "%s: %s", path,
		    problems_str(r.p));
		hdr_free(&r);
	}
}

Test(header, scripts_not_allowed_in_augment)
{
	struct hdr r;
	struct tb t;

	standard(&t, SYNTH_HEADER_INFO, "scripts/ArtifactInstall_Enter_00", SYNTH_TYPE_INFO, NULL);
	parse_tb(&r, &t, 3, true);
	expect_error(&r, "header-augment/scripts/ArtifactInstall_Enter_00", "not a header file");
	hdr_free(&r);
}

Test(header, symlink_and_other_types)
{
	static const char types[] = { '2', '1', '3', '4', '6', 'S' };
	size_t i;

	for (i = 0; i < sizeof(types); i++) {
		struct tb_entry link = { .name = "headers/0000/meta-data", .type = types[i] };
		struct hdr r;
		struct tb t;

		standard(&t, SYNTH_HEADER_INFO, NULL, SYNTH_TYPE_INFO, NULL);
		tb_add_entry(&t, &link);
		parse_tb(&r, &t, 3, false);
		if (types[i] == 'S')	/* refused by the tar lint, before the header rules */
			expect_error(&r, "header", "typeflag 'S'");
		else
			expect_error(&r, "header/headers/0000/meta-data", "only regular files");
		cr_assert_null(af_header_find(&r.h, "headers/0000/meta-data"), "type %c", types[i]);
		hdr_free(&r);
	}
}

Test(header, symlink_problem_names_the_type)
{
	struct tb_entry link = { .name = "headers/0000/meta-data", .type = '2' };
	struct hdr r;
	struct tb t;

	standard(&t, SYNTH_HEADER_INFO, NULL, SYNTH_TYPE_INFO, NULL);
	tb_add_entry(&t, &link);
	parse_tb(&r, &t, 3, false);
	expect_error(&r, "header/headers/0000/meta-data", "symbolic link");
	hdr_free(&r);
}

/* mender-artifact writes none, and readers differ on a directory's data: refused. */
Test(header, directory_entries_refused)
{
	struct tb_entry d1 = { .name = "headers/", .type = '5', .mode = 0755 };
	struct tb_entry d2 = { .name = "headers/0000/", .type = '5', .mode = 0755 };
	struct hdr r;
	struct tb t;

	tb_init(&t);
	tb_add_str(&t, "header-info", SYNTH_HEADER_INFO);
	tb_add_entry(&t, &d1);
	tb_add_entry(&t, &d2);
	tb_add_str(&t, "headers/0000/type-info", SYNTH_TYPE_INFO);
	parse_tb(&r, &t, 3, false);
	expect_error(&r, "header", "directory entry 'headers/' at offset 1024");
	expect_error(&r, "header", "directory entry 'headers/0000/' at offset 1536");
	cr_assert_eq(r.h.count, 2);
	hdr_free(&r);
}

Test(header, unsafe_names)
{
	static const char *const names[] = { "headers/../../etc/passwd", "../header-info",
	    "/header-info", "headers//0000/type-info", "./header-info" };
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct hdr r;
		struct tb t;
		size_t k;

		standard(&t, SYNTH_HEADER_INFO, NULL, SYNTH_TYPE_INFO, NULL);
		tb_add_str(&t, names[i], "{}");
		parse_tb(&r, &t, 3, false);
		cr_assert(count_problems(r.p, AF_ERROR, "header", "entry name") == 1, "%s: %s",
		    names[i], problems_str(r.p));
		for (k = 0; k < r.h.count; k++)
			cr_assert_str_neq(r.h.files[k].path, names[i]);
		cr_assert_eq(r.h.count, 2);
		hdr_free(&r);
	}
}

Test(header, dotdot_name_says_so)
{
	struct hdr r;
	struct tb t;

	standard(&t, SYNTH_HEADER_INFO, NULL, SYNTH_TYPE_INFO, NULL);
	tb_add_str(&t, "headers/../../etc/passwd", "root::0:0::/:/bin/sh\n");
	parse_tb(&r, &t, 3, false);
	expect_error(&r, "header", "\"..\"");
	hdr_free(&r);
}

Test(header, missing_header_info)
{
	struct hdr r;
	struct tb t;

	tb_init(&t);
	tb_add_str(&t, "headers/0000/type-info", SYNTH_TYPE_INFO);
	parse_tb(&r, &t, 3, false);
	expect_error(&r, "header", "no header-info");
	cr_assert_null(r.h.artifact_name);
	hdr_free(&r);
}

Test(header, header_info_rules)
{
	static const struct {
		const char *json, *text;
	} cases[] = {
		{ "not json", "not valid JSON" },
		{ "[1,2]", "not a JSON object" },
		{ "{\"payloads\":[],\"artifact_provides\":{\"artifact_name\":\"a\"},"
		  "\"artifact_depends\":{\"device_type\":[\"d\"]}}", "payloads" },
		{ "{\"payloads\":[{\"type\":\"\"}],\"artifact_provides\":{\"artifact_name\":\"a\"},"
		  "\"artifact_depends\":{\"device_type\":[\"d\"]}}", "non-empty" },
		{ "{\"payloads\":[{\"type\":\"m\"}],\"artifact_provides\":{},"
		  "\"artifact_depends\":{\"device_type\":[\"d\"]}}", "artifact_name" },
		{ "{\"payloads\":[{\"type\":\"m\"}],\"artifact_provides\":{\"artifact_name\":\"a\"}}",
		  "device_type" },
		{ "{\"payloads\":[{\"type\":\"m\"}],\"artifact_provides\":{\"artifact_name\":\"a\"},"
		  "\"artifact_depends\":{\"device_type\":[]}}", "device_type" },
		{ "{\"payloads\":[{\"type\":\"m\"},{\"type\":\"m\"}],\"artifact_provides\":"
		  "{\"artifact_name\":\"a\"},\"artifact_depends\":{\"device_type\":[\"d\"]}}",
		  "more than one payload" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct hdr r;
		struct tb t;

		standard(&t, cases[i].json, NULL, "{\"type\":\"m\"}", NULL);
		parse_tb(&r, &t, 3, false);
		cr_assert(has_problem(r.p, AF_ERROR, "header/header-info", cases[i].text),
		    "case %zu: want \"%s\"; got:\n%s", i, cases[i].text, problems_str(r.p));
		hdr_free(&r);
	}
}

/* mender-artifact 3.9 refuses unknown keys, so they are errors. */
Test(header, unknown_key_is_an_error)
{
	static const char info[] = "{\"payloads\":[{\"type\":\"" SYNTH_TYPE "\"}],"
	    "\"artifact_provides\":{\"artifact_name\":\"a\"},"
	    "\"artifact_depends\":{\"device_type\":[\"d\"]},\"extra_key\":1}";
	struct hdr r;
	struct tb t;

	standard(&t, info, NULL, SYNTH_TYPE_INFO, NULL);
	parse_tb(&r, &t, 3, false);
	cr_assert_eq(af_problems_errors(r.p), 1, "%s", problems_str(r.p));
	cr_assert(has_problem(r.p, AF_ERROR, "header/header-info", "extra_key"), "%s",
	    problems_str(r.p));
	hdr_free(&r);
}

Test(header, bootstrap_rules)
{
	static const char info[] = "{\"payloads\":[{\"type\":null}],"
	    "\"artifact_provides\":{\"artifact_name\":\"boot\"},"
	    "\"artifact_depends\":{\"device_type\":[\"d\"]}}";
	struct hdr r;
	struct tb t;

	standard(&t, info, NULL, "{\"type\":null}", NULL);
	parse_tb(&r, &t, 3, false);
	expect_clean(&r);
	cr_assert_null(r.h.payload_type);
	cr_assert_eq(r.h.payload_count, 1);
	hdr_free(&r);

	standard(&t, info, NULL, "{\"type\":null}", "{}");
	parse_tb(&r, &t, 3, false);
	expect_error(&r, "header/headers/0000/meta-data", "empty-payload");
	hdr_free(&r);

	standard(&t, info, NULL, "{\"type\":\"x\"}", NULL);
	parse_tb(&r, &t, 3, false);
	expect_error(&r, "header/headers/0000/type-info", "null");
	hdr_free(&r);
}

Test(header, rootfs_with_meta_data)
{
	struct hdr r;
	struct tb t;

	standard(&t, ROOTFS_INFO, NULL, "{\"type\":\"rootfs-image\"}", "{\"a\":\"b\"}");
	parse_tb(&r, &t, 3, false);
	expect_error(&r, "header/headers/0000/meta-data", "rootfs-image");
	hdr_free(&r);
}

Test(header, meta_data_must_be_object)
{
	struct hdr r;
	struct tb t;

	standard(&t, SYNTH_HEADER_INFO, NULL, SYNTH_TYPE_INFO, "[1]");
	parse_tb(&r, &t, 3, false);
	expect_error(&r, "header/headers/0000/meta-data", "object");
	hdr_free(&r);
}

/* Each JSON member holds one value and nothing after it but white space. */
Test(header, json_members_with_bytes_after_the_value)
{
	static const char *const files[] = { "header-info", "headers/0000/type-info",
	    "headers/0000/meta-data" };
	char info[400], type[200], meta[100], where[80], want[80];
	const char *aug;
	size_t i, at;
	int augment;

	for (augment = 0; augment < 2; augment++) {
		for (i = 0; i < 3; i++) {
			struct hdr r;
			struct tb t;

			aug = augment ? "header-augment" : "header";
			snprintf(info, sizeof(info), "%s%s", SYNTH_HEADER_INFO, i == 0 ? " x" : "\n");
			snprintf(type, sizeof(type), "%s%s", SYNTH_TYPE_INFO, i == 1 ? "{}" : "  ");
			snprintf(meta, sizeof(meta), "{\"a\":1}%s", i == 2 ? "\r\n]" : "\r\n");
			standard(&t, info, NULL, type, meta);
			parse_tb(&r, &t, 3, augment);
			snprintf(where, sizeof(where), "%s/%s", aug, files[i]);
			at = i == 0 ? strlen(SYNTH_HEADER_INFO) + 1 : i == 1 ?
			    strlen(SYNTH_TYPE_INFO) : strlen("{\"a\":1}\r\n");
			snprintf(want, sizeof(want), "from byte %zu on", at);
			expect_error(&r, where, want);
			cr_assert_eq(af_problems_errors(r.p), 1, "only %s; problems:\n%s", where,
			    problems_str(r.p));
			hdr_free(&r);
		}
	}
}

Test(header, json_members_with_white_space_after_the_value)
{
	struct hdr r;
	struct tb t;

	standard(&t, SYNTH_HEADER_INFO "\n", NULL, SYNTH_TYPE_INFO " \t", "{\"a\":1}\r\n");
	parse_tb(&r, &t, 3, false);
	expect_clean(&r);
	hdr_free(&r);
}

Test(header, type_info_maps)
{
	static const struct {
		const char *json, *text;
	} cases[] = {
		{ "{\"type\":\"" SYNTH_TYPE "\",\"artifact_provides\":{\"a\":1}}", "artifact_provides" },
		{ "{\"type\":\"" SYNTH_TYPE "\",\"artifact_depends\":{\"a\":{}}}", "artifact_depends" },
		{ "{\"type\":\"" SYNTH_TYPE "\",\"clears_artifact_provides\":\"x\"}", "clears" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct hdr r;
		struct tb t;

		standard(&t, SYNTH_HEADER_INFO, NULL, cases[i].json, NULL);
		parse_tb(&r, &t, 3, false);
		expect_error(&r, "header/headers/0000/type-info", cases[i].text);
		hdr_free(&r);
	}
}

#define V2_INFO "{\"artifact_name\":\"rel-v2\",\"updates\":[{\"type\":\"rootfs-image\"}]," \
	"\"device_types_compatible\":[\"dev1\"]}"

static void
v2_layout(struct tb *t, const char *info, bool with_files)
{
	tb_init(t);
	tb_add_str(t, "header-info", info);
	if (with_files)
		tb_add_str(t, "headers/0000/files", "{\"files\":[\"rootfs.ext4\"]}");
	tb_add_str(t, "headers/0000/type-info", "{\"type\":\"rootfs-image\"}");
	tb_add_str(t, "headers/0000/meta-data", "");
}

Test(header, v2_layout)
{
	struct hdr r;
	struct tb t;

	v2_layout(&t, V2_INFO, true);
	parse_tb(&r, &t, 2, false);
	expect_clean(&r);
	cr_assert_str_eq(r.h.artifact_name, "rel-v2");
	cr_assert_eq(r.h.device_type_count, 1);
	cr_assert_str_eq(r.h.device_types[0], "dev1");
	cr_assert_str_eq(r.h.payload_type, "rootfs-image");
	cr_assert_not_null(af_header_find(&r.h, "headers/0000/files"));
	hdr_free(&r);
}

Test(header, v2_layout_without_files)
{
	struct hdr r;
	struct tb t;

	v2_layout(&t, V2_INFO, false);
	parse_tb(&r, &t, 2, false);
	expect_error(&r, "header/headers/0000/files", "missing");
	hdr_free(&r);
}

Test(header, v2_header_read_as_v3)
{
	struct hdr r;
	struct tb t;

	v2_layout(&t, V2_INFO, true);
	parse_tb(&r, &t, 3, false);
	expect_error(&r, "header/headers/0000/files", "not a header file");
	expect_error(&r, "header/header-info", "payloads");
	hdr_free(&r);
}

Test(header, v3_header_read_as_v2)
{
	struct hdr r;
	struct tb t;

	standard(&t, SYNTH_HEADER_INFO, NULL, SYNTH_TYPE_INFO, NULL);
	parse_tb(&r, &t, 2, false);
	expect_error(&r, "header/header-info", "updates");
	expect_error(&r, "header/headers/0000/files", "missing");
	hdr_free(&r);
}

static char *
big_json(size_t size)
{
	/* {"k":"aaaa..."} of exactly size bytes: valid JSON, just too big */
	char *s = malloc(size + 1);

	cr_assert_not_null(s);
	memset(s, 'a', size);
	memcpy(s, "{\"k\":\"", 6);
	memcpy(s + size - 2, "\"}", 2);
	s[size] = '\0';
	return s;
}

Test(header, json_over_one_mib)
{
	char *big = big_json((1u << 20) + 1), *ok = big_json(1u << 20);
	cJSON *check = cJSON_Parse(big);
	struct hdr r;
	struct tb t;

	cr_assert_not_null(check, "the test JSON itself must be valid");
	cJSON_Delete(check);

	standard(&t, SYNTH_HEADER_INFO, NULL, SYNTH_TYPE_INFO, big);
	parse_tb(&r, &t, 3, false);
	expect_error(&r, "header/headers/0000/meta-data", "1 MiB");
	hdr_free(&r);

	standard(&t, SYNTH_HEADER_INFO, NULL, SYNTH_TYPE_INFO, ok);
	parse_tb(&r, &t, 3, false);
	expect_clean(&r);	/* exactly 1 MiB is allowed */
	hdr_free(&r);

	standard(&t, big, NULL, SYNTH_TYPE_INFO, NULL);
	parse_tb(&r, &t, 3, false);
	expect_error(&r, "header/header-info", "1 MiB");
	cr_assert_null(r.h.artifact_name);
	hdr_free(&r);
	free(big);
	free(ok);
}

Test(header, truncated_and_garbage_tars)
{
	struct af_header_parse_args args = { 3, false, "header" };
	struct af_header h;
	struct af_problems *p;
	uint8_t *buf;
	size_t len;
	struct tb t;

	/* cut inside the type-info data */
	standard(&t, SYNTH_HEADER_INFO, NULL, SYNTH_TYPE_INFO, NULL);
	buf = tb_take(&t, &len);
	p = af_problems_new();
	cr_assert_eq(af_header_parse(buf, len - 512 + 5, &args, &h, p), AF_OK);
	cr_assert(has_problem(p, AF_ERROR, "header", "type-info"), "%s", problems_str(p));
	cr_assert_not_null(af_header_find(&h, "header-info"));
	af_header_clear(&h);
	af_problems_free(p);

	/* not a tar at all */
	buf = (uint8_t *)strdup("this is not a tar archive, just words");
	p = af_problems_new();
	cr_assert_eq(af_header_parse(buf, strlen((char *)buf), &args, &h, p), AF_OK);
	cr_assert(has_problem(p, AF_ERROR, "header", "not a valid tar"), "%s", problems_str(p));
	cr_assert_eq(h.count, 0);
	af_header_clear(&h);
	af_problems_free(p);

	/* empty */
	buf = malloc(1);
	p = af_problems_new();
	cr_assert_eq(af_header_parse(buf, 0, &args, &h, p), AF_OK);
	cr_assert(has_problem(p, AF_ERROR, "header", "header-info"), "%s", problems_str(p));
	af_header_clear(&h);
	af_problems_free(p);
}

/* A path that breaks a rule is refused with the code unsafe-path. */
static void
unsafe(const char *path, bool has_nul)
{
	struct af_reason why;

	cr_assert_eq(af_path_check(path, has_nul, &why), AF_EFORMAT, "%s", path);
	cr_assert_eq(why.code, AF_C_UNSAFE_PATH, "%s: %s", path, af_code_name(why.code));
	cr_assert(why.text[0] != '\0');
}

Test(header, path_unsafe_rules)
{
	char longpath[300];

	memset(longpath, 'a', 256);
	longpath[256] = '\0';
	cr_assert_eq(af_path_check("header-info", false, NULL), AF_OK);
	cr_assert_eq(af_path_check("data/0000.tar.gz", false, NULL), AF_OK);
	cr_assert_eq(af_path_check("a..b/..c", false, NULL), AF_OK);
	unsafe("..", false);
	unsafe("a/../b", false);
	unsafe("a/..", false);
	unsafe("/abs", false);
	unsafe("", false);
	unsafe("a//b", false);
	unsafe("./a", false);
	unsafe("ok", true);
	unsafe(longpath, false);
	longpath[255] = '\0';
	cr_assert_eq(af_path_check(longpath, false, NULL), AF_OK);
}

/* ---- headers mender-artifact wrote (support.h: mender_fixtures) ---- */

ParameterizedTestParameters(header, fixture_headers)
{
	return cr_make_param_array(struct fixture_param, mender_fixtures, mender_fixture_count);
}

static cJSON *
json_of(const uint8_t *text, size_t len)
{
	cJSON *j = cJSON_ParseWithLength((const char *)text, len);

	cr_assert_not_null(j, "fixture JSON does not parse: %.*s", (int)len, (const char *)text);
	return j;
}

/* Checks one header member (header.tar* or header-augment.tar*) of a fixture. */
static void
check_fixture_header(const char *path, const char *member, int version, bool augment)
{
	struct af_header_parse_args args = { version, augment, augment ? "header-augment" : "header" };
	char cmd[8192];
	uint8_t *tarbuf, *list, *info_text;
	size_t tarlen, listlen, infolen, files = 0;
	struct af_problems *p = af_problems_new();
	struct af_header h;
	char *line, *save = NULL;
	cJSON *info, *name, *devs, *types;

	snprintf(cmd, sizeof(cmd), "tar -xOf '%s' '%s' | %s", path, member, decompress_cmd(member));
	tarbuf = run_capture(cmd, &tarlen);
	cr_assert_not_null(tarbuf, "%s", cmd);
	snprintf(cmd, sizeof(cmd), "tar -xOf '%s' '%s' | %s | tar -t", path, member,
	    decompress_cmd(member));
	list = run_capture(cmd, &listlen);
	cr_assert_not_null(list, "%s", cmd);
	snprintf(cmd, sizeof(cmd), "tar -xOf '%s' '%s' | %s | tar -xO header-info", path, member,
	    decompress_cmd(member));
	info_text = run_capture(cmd, &infolen);
	cr_assert_not_null(info_text, "%s", cmd);

	cr_assert_eq(af_header_parse(tarbuf, tarlen, &args, &h, p), AF_OK);
	cr_assert_eq(af_problems_errors(p), 0, "%s %s:\n%s", path, member, problems_str(p));

	/* every file GNU tar lists is there, byte for byte */
	for (line = strtok_r((char *)list, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		const struct af_header_file *f = af_header_find(&h, line);
		uint8_t *want;
		size_t wantlen;

		cr_assert_not_null(f, "%s: %s not found", member, line);
		snprintf(cmd, sizeof(cmd), "tar -xOf '%s' '%s' | %s | tar -xO '%s'", path, member,
		    decompress_cmd(member), line);
		want = run_capture(cmd, &wantlen);
		cr_assert_not_null(want, "%s", cmd);
		cr_assert_eq(f->size, wantlen, "%s: size %zu, tar says %zu", line, f->size, wantlen);
		cr_assert_eq(memcmp(f->data, want, wantlen), 0, "%s differs", line);
		free(want);
		files++;
	}
	cr_assert_eq(h.count, files);

	/* what header-info says, read by cJSON */
	info = json_of(info_text, infolen);
	if (version == 2) {
		name = cJSON_GetObjectItem(info, "artifact_name");
		devs = cJSON_GetObjectItem(info, "device_types_compatible");
		types = cJSON_GetObjectItem(info, "updates");
	} else {
		name = cJSON_GetObjectItem(cJSON_GetObjectItem(info, "artifact_provides"),
		    "artifact_name");
		devs = cJSON_GetObjectItem(cJSON_GetObjectItem(info, "artifact_depends"),
		    "device_type");
		types = cJSON_GetObjectItem(info, "payloads");
	}
	cr_assert(cJSON_IsString(name));
	cr_assert_str_eq(h.artifact_name, name->valuestring);
	cr_assert_eq(h.device_type_count, (size_t)cJSON_GetArraySize(devs));
	for (int i = 0; i < cJSON_GetArraySize(devs); i++)
		cr_assert_str_eq(h.device_types[i], cJSON_GetArrayItem(devs, i)->valuestring);
	cr_assert_eq(h.payload_count, (size_t)cJSON_GetArraySize(types));
	{
		cJSON *type = cJSON_GetObjectItem(cJSON_GetArrayItem(types, 0), "type");
		if (cJSON_IsNull(type))
			cr_assert_null(h.payload_type);
		else
			cr_assert_str_eq(h.payload_type, type->valuestring);
	}
	{
		const struct af_header_file *md = af_header_find(&h, "headers/0000/meta-data");
		cr_assert_eq(h.has_meta_data, md != NULL && md->size > 0);
	}
	cJSON_Delete(info);
	free(info_text);
	free(list);
	af_header_clear(&h);
	af_problems_free(p);
}

ParameterizedTest(struct fixture_param *param, header, fixture_headers)
{
	char path[4096], cmd[8192];
	uint8_t *members, *version_text;
	size_t len, vlen;
	char *line, *save = NULL;
	int version, headers = 0;
	cJSON *v;

	if (fixture_path(param->name, path, sizeof(path)) == NULL)
		cr_skip_test("fixture %s is absent", param->name);
	snprintf(cmd, sizeof(cmd), "tar -xOf '%s' version", path);
	version_text = run_capture(cmd, &vlen);
	cr_assert_not_null(version_text);
	v = json_of(version_text, vlen);
	version = cJSON_GetObjectItem(v, "version")->valueint;
	cJSON_Delete(v);
	free(version_text);

	snprintf(cmd, sizeof(cmd), "tar -tf '%s'", path);
	members = run_capture(cmd, &len);
	cr_assert_not_null(members);
	for (line = strtok_r((char *)members, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "header.tar", 10) == 0) {
			check_fixture_header(path, line, version, false);
			headers++;
		} else if (strncmp(line, "header-augment.tar", 18) == 0) {
			check_fixture_header(path, line, version, true);
			headers++;
		}
	}
	cr_assert_geq(headers, 1);
	free(members);
}
