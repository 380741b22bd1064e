/*
 * The JSON members (version, header-info, type-info, meta-data and their
 * augment copies), parsed as the Mender C++ client reads them: one JSON value
 * and nothing after it but JSON white space.  mender-artifact ignores what
 * follows the first value; the C++ client's parser refuses it.
 */
#ifndef AF_JSON_H
#define AF_JSON_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

/* The problem text for it: printf arguments extra_len, extra_at. */
#define AF_JSON_EXTRA "has %zu bytes from byte %zu on that are not part of its JSON " \
	"value (only white space may follow it): the Mender client refuses the artifact, " \
	"mender-artifact ignores them; rebuild the artifact"

/*
 * Parses len bytes; NULL if they do not start with a JSON value.  When
 * something other than white space (space, tab, CR, LF) comes before or after
 * the value, *extra_at gets its offset and *extra_len how many bytes from
 * there to the end; otherwise *extra_len is 0.
 */
cJSON *af_json_parse(const uint8_t *data, size_t len, size_t *extra_at, size_t *extra_len);

#endif
