/* SPDX-License-Identifier: GPL-3.0-or-later */
/* RFC 9457 problem+json responses: every HTTP error the API returns is built here. */
#include "resolverd/http/problem.h"

#include <stdio.h>
#include <string.h>

static const struct {
	unsigned status;
	const char *title;
} titles[] = {
	{400, "Bad Request"}, {401, "Unauthorized"}, {403, "Forbidden"}, {404, "Not Found"},
	{405, "Method Not Allowed"}, {409, "Conflict"}, {411, "Length Required"},
	{413, "Content Too Large"}, {415, "Unsupported Media Type"}, {429, "Too Many Requests"},
	{500, "Internal Server Error"}, {503, "Service Unavailable"}, {507, "Insufficient Storage"},
};

const char *problem_title(unsigned status)
{
	for (size_t i = 0; i < sizeof(titles) / sizeof(titles[0]); i++)
		if (titles[i].status == status)
			return titles[i].title;
	return "Error";
}

static struct MHD_Response *from_text(char *body, const char *ctype)
{
	if (!body)
		return NULL;
	struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(body);
		return NULL;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	return r;
}

#define JSON_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(6))

struct MHD_Response *json_response_new(json_t *o)
{
	if (!o)
		return NULL;
	char *body = json_dumps(o, JSON_FLAGS);
	json_decref(o);
	return from_text(body, "application/json");
}

struct MHD_Response *problem_new(unsigned status, const char *slug, const char *detail,
				 const char *field)
{
	return problem_new_with(status, slug, detail, field ? "field" : NULL, field);
}

struct MHD_Response *problem_new_with(unsigned status, const char *slug, const char *detail, const char *key,
				      const char *value)
{
	char type[128];
	snprintf(type, sizeof(type), "urn:resolverd:problem:%s", slug);
	json_t *o = json_pack("{s:s, s:s, s:i, s:s}", "type", type, "title", problem_title(status),
			      "status", (int)status, "detail", detail);
	if (!o)
		return NULL;
	if (key && value)
		json_object_set_new(o, key, json_string(value));
	char *body = json_dumps(o, JSON_FLAGS);
	json_decref(o);
	return from_text(body, "application/problem+json");
}
