/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Fuzz target: uri_normalize() (today the generic RFC 3986 normalizer), which must be idempotent. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "resolverd/core/uri.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Equal strings, or both NULL. */
static bool same(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A URI is a C string: an input with a NUL in it says nothing new. */
	if (memchr(data, 0, size))
		return -1;
	char *in = malloc(size + 1);
	if (!in)
		return 0;
	memcpy(in, data, size);
	in[size] = 0;
	struct uri_parts once = {0}, twice = {0};
	const char *reason = NULL;
	int rc = uri_normalize(in, &once, &reason);
	if (rc == 0) {
		if (!once.uri || strlen(once.uri) > URI_MAX_LEN)
			abort();
		/* Every spelling maps to one DHT key only if the normal form is a fixed point. */
		if (uri_normalize(once.uri, &twice, &reason) != 0 || !same(once.uri, twice.uri) ||
		    !same(once.host, twice.host) || !same(once.instance, twice.instance))
			abort();
	} else if (rc == -EINVAL && !reason) {
		abort();
	}
	uri_parts_deinit(&once);
	uri_parts_deinit(&twice);
	free(in);
	return 0;
}
