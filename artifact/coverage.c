/*
 * Static agreement between the manifests, the members and header-info: what
 * can be checked at mount without decompressing a payload.  Whether each
 * payload file is listed and intact needs the payload and comes with
 * verification.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "artifact/artifact_impl.h"

/* "data/0000/rootfs.ext4": index 0, file "rootfs.ext4". */
static bool
split_data_path(const char *name, unsigned *index, const char **file)
{
	if (strncmp(name, "data/", 5) != 0 || strspn(name + 5, "0123456789") != 4 ||
	    name[9] != '/' || name[10] == '\0' || strchr(name + 10, '/') != NULL)
		return false;
	*index = (unsigned)strtoul(name + 5, NULL, 10);
	*file = name + 10;
	return true;
}

static void
check_entry(struct artifact *a, const struct af_manifest_entry *e, bool augment)
{
	const char *where = augment ? "manifest-augment" : "manifest";
	const struct af_member *header = artifact_member(a, augment ?
	    AF_MEMBER_HEADER_AUGMENT : AF_MEMBER_HEADER, 0);
	const char *file;
	unsigned index;

	if (strcmp(e->name, "version") == 0 && !augment)
		return;
	if (header != NULL && strcmp(e->name, header->name) == 0)
		return;
	if (split_data_path(e->name, &index, &file)) {
		if (artifact_member(a, AF_MEMBER_DATA, index) == NULL)
			af_problem_add(a->problems, AF_ERROR, AF_C_COVERAGE, where, "line %u lists "
			    "'%s', but the artifact has no data/%04u.tar* member", e->line, e->name,
			    index);
		if (augment && a->has_manifest[0] &&
		    af_manifest_find(&a->manifest[0], e->name) != NULL)
			af_problem_add(a->problems, AF_ERROR, AF_C_DUPLICATE, where, "line %u "
			    "lists '%s', which the manifest lists too; mender-artifact refuses "
			    "that", e->line, e->name);
		return;
	}
	af_problem_add(a->problems, AF_ERROR, AF_C_COVERAGE, where, "line %u lists '%s', which is "
	    "not part of the artifact", e->line, e->name);
}

static void
check_required(struct artifact *a, bool augment)
{
	const struct af_member *header = artifact_member(a, augment ?
	    AF_MEMBER_HEADER_AUGMENT : AF_MEMBER_HEADER, 0);
	const struct af_manifest *m = &a->manifest[augment];
	const char *where = augment ? "manifest-augment" : "manifest";

	if (!augment && af_manifest_find(m, "version") == NULL)
		af_problem_add(a->problems, AF_ERROR, AF_C_COVERAGE, where, "has no line for "
		    "'version', so nothing vouches for it; rebuild the artifact");
	if (header != NULL && af_manifest_find(m, header->name) == NULL)
		af_problem_add(a->problems, AF_ERROR, AF_C_COVERAGE, where, "has no line for '%s', "
		    "so nothing vouches for the header; rebuild the artifact", header->name);
}

static void
check_augment_pair(struct artifact *a)
{
	bool man = artifact_member(a, AF_MEMBER_MANIFEST_AUGMENT, 0) != NULL;
	const struct af_member *hdr = artifact_member(a, AF_MEMBER_HEADER_AUGMENT, 0);
	const struct af_member *main_hdr = artifact_member(a, AF_MEMBER_HEADER, 0);

	if (man != (hdr != NULL))
		af_problem_add(a->problems, AF_ERROR, AF_C_AUGMENT,
		    man ? "manifest-augment" : hdr->name, "comes without its partner: "
		    "manifest-augment and header-augment.tar* go together");
	if (hdr != NULL && main_hdr != NULL && hdr->comp != main_hdr->comp)
		af_problem_add(a->problems, AF_ERROR, AF_C_AUGMENT, hdr->name, "is compressed "
		    "differently from %s; mender-artifact requires the same", main_hdr->name);
	if ((man || hdr != NULL) && a->version == 2)
		af_problem_add(a->problems, AF_ERROR, AF_C_AUGMENT, "version", "is format version "
		    "2, which has no augmented parts");
	if (man || hdr != NULL)
		af_problem_add(a->problems, AF_WARNING, AF_C_AUGMENT, "manifest-augment",
		    "augmented parts are not covered by the signature, and the C++ client refuses "
		    "augmented artifacts");
}

static void
check_payload_members(struct artifact *a)
{
	const struct af_header *h = artifact_header(a, false);
	size_t i, declared = h != NULL ? h->payload_count : 0;

	for (i = 0; i < a->count; i++) {
		const struct af_member *m = &a->members[i];
		if (m->shown && m->kind == AF_MEMBER_DATA && m->index >= declared)
			af_problem_add(a->problems, AF_ERROR, AF_C_PAYLOAD_MISMATCH, m->name, "has "
			    "no payload in header-info (it declares %zu); it is ignored by Mender",
			    declared);
	}
	for (i = 0; i < declared && i < 10000; i++)
		if (artifact_member(a, AF_MEMBER_DATA, (unsigned)i) == NULL)
			af_problem_add(a->problems, AF_WARNING, AF_C_PAYLOAD_MISMATCH, "artifact",
			    "has no data/%04zu.tar* member for payload %zu; the C++ client refuses "
			    "it (\"expected 'data/0000.tar\"', mender src/artifact/parser.cpp) "
			    "unless the payload type is empty: rebuild it with mender-artifact "
			    "write", i, i);
}

void
artifact_check_coverage(struct artifact *a)
{
	size_t i;
	int aug;

	check_augment_pair(a);
	for (aug = 0; aug < 2; aug++) {
		if (!a->has_manifest[aug])
			continue;
		check_required(a, aug);
		for (i = 0; i < a->manifest[aug].count; i++)
			check_entry(a, &a->manifest[aug].entries[i], aug);
	}
	check_payload_members(a);
}
