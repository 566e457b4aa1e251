/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Fuzz target: a POST /v1/bindings body, JSON to checked binding (body_parse_binding()). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "resolverd/core/record.h"
#include "resolverd/http/body.h"

#define DEFAULT_EXPIRES 3600
#define MAX_EXPIRES 86400

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* api.c sends @p s as a JSON string (problem_new()): it must be one. */
static void check_json_string(const char *s)
{
	json_t *j = json_string(s);
	if (!j)
		abort();
	json_decref(j);
}

static void check_binding(const struct binding_body *b)
{
	if (!b->parts.uri || strlen(b->parts.uri) > URI_MAX_LEN || !body_valid_contact(b->contact) ||
	    !body_printable(b->instance, RECORD_MAX_INSTANCE) || b->q > RECORD_Q_MAX || b->expires < 1 ||
	    b->expires > MAX_EXPIRES)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct binding_body b;
	char why[BODY_WHY_CAP], *field = NULL;
	/* size 0 stands for a request without a body (api.c passes NULL) */
	const char *json = size ? (const char *)data : NULL;
	int rc = body_parse_binding(json, size, DEFAULT_EXPIRES, MAX_EXPIRES, &b, &field, why, sizeof(why));
	if (rc == 0) {
		check_binding(&b);
		body_binding_deinit(&b);
		return 0;
	}
	if (rc != -EBADMSG && rc != -EINVAL && rc != -ENOMEM)
		abort();
	check_json_string(why);
	if (field)
		check_json_string(field);
	free(field);
	return 0;
}
