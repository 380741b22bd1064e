#include "artifact/json.h"

#include <stdbool.h>

static bool
json_space(uint8_t b)
{
	return b == ' ' || b == '\t' || b == '\n' || b == '\r';
}

cJSON *
af_json_parse(const uint8_t *data, size_t len, size_t *extra_at, size_t *extra_len)
{
	const char *end = NULL;
	cJSON *json;
	size_t i = 0;

	*extra_at = *extra_len = 0;
	if (len >= 3 && data[0] == 0xef && data[1] == 0xbb && data[2] == 0xbf)
		i = 3;	/* a UTF-8 byte order mark: both parsers skip it */
	/* cJSON also skips control characters before the value; JSON does not */
	while (i < len && json_space(data[i]))
		i++;
	if (i < len && data[i] < 0x20) {
		*extra_at = i;
		*extra_len = len - i;
	}
	json = cJSON_ParseWithLengthOpts((const char *)data, len, &end, false);
	if (json == NULL || *extra_len > 0)
		return json;
	for (i = (size_t)((const uint8_t *)end - data); i < len && json_space(data[i]); i++)
		;
	if (i < len) {
		*extra_at = i;
		*extra_len = len - i;
	}
	return json;
}
