/* SPDX-License-Identifier: GPL-3.0-or-later */
/* RFC 9457 problem+json responses: every HTTP error the API returns is built here. */
#pragma once

#include <jansson.h>
#include <microhttpd.h>

/**
 * A problem response: {"type":"urn:resolverd:problem:SLUG","title",
 * "status","detail"[,"field"]} with Content-Type application/problem+json.
 * @param field the request member at fault, or NULL.
 * @return a new response (the caller destroys its reference) or NULL.
 * Any thread.
 */
struct MHD_Response *problem_new(unsigned status, const char *slug, const char *detail,
				 const char *field);

/** problem_new() with one more string member @p key: @p value (e.g. "fallback": "timeout"). Any thread. */
struct MHD_Response *problem_new_with(unsigned status, const char *slug, const char *detail, const char *key,
				      const char *value);

/** The reason phrase of @p status ("Not Found"), used as the problem's title. */
const char *problem_title(unsigned status);

/**
 * A JSON response (Content-Type application/json) of @p o, which it takes
 * ownership of. Reals are printed with at most 6 significant digits.
 * @return a new response or NULL. Any thread.
 */
struct MHD_Response *json_response_new(json_t *o);
