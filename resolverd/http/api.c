/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The REST API v1: routing and checks on handler threads, operations on the loop thread. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "resolverd/http/body.h"
#include "resolverd/http/http_req.h"
#include "resolverd/http/problem.h"

/** One path (or, ending in '/', a path prefix followed by a name) and the methods it takes. */
struct route {
	const char *path;
	const char *allow; /**< the Allow header for 405 */
	struct {
		const char *method;
		enum api_op op;
		bool write; /**< needs a bearer token; otherwise the read ACL applies */
	} m[3];
};

static const struct route routes[] = {
	{"/healthz", "GET, HEAD", {{"GET", OP_HEALTH, false}}},
	{"/v1/resolve", "GET, HEAD", {{"GET", OP_RESOLVE, false}}},
	{"/v1/bindings", "GET, HEAD, POST, DELETE",
	 {{"GET", OP_LIST, false}, {"POST", OP_PUBLISH, true}, {"DELETE", OP_UNPUBLISH, true}}},
	{"/v1/records", "POST", {{"POST", OP_SUBMIT, true}}},
	{"/v1/status", "GET, HEAD", {{"GET", OP_STATUS, false}}},
	{"/metrics", "GET, HEAD", {{"GET", OP_METRICS, false}}},
	{"/dns-query", "GET, HEAD, POST", {{"GET", OP_DOH, false}, {"POST", OP_DOH, false}}},
	{"/v1/services/", "GET, HEAD, PUT, DELETE",
	 {{"GET", OP_NAME_GET, false}, {"PUT", OP_NAME_PUT, true}, {"DELETE", OP_NAME_DELETE, true}}},
	{"/v1/hosts/", "GET, HEAD, PUT, DELETE",
	 {{"GET", OP_NAME_GET, false}, {"PUT", OP_NAME_PUT, true}, {"DELETE", OP_NAME_DELETE, true}}},
};

static struct MHD_Response *fail(unsigned *ret_status, unsigned status, const char *slug,
				 const char *detail, const char *field)
{
	*ret_status = status;
	return problem_new(status, slug, detail, field);
}

enum MHD_Result api_reply_problem(struct http_req *req, unsigned status, const char *slug,
				     const char *detail, const char *field)
{
	return http_queue(req->conn, status, problem_new(status, slug, detail, field));
}

/* ---- handler thread: headers ------------------------------------------- */

static const struct route *find_route(const char *url)
{
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		const char *path = routes[i].path;
		size_t n = strlen(path);
		if (path[n - 1] != '/' && strcmp(url, path) == 0)
			return &routes[i];
		/* "/v1/hosts/NAME": a non-empty name follows, with no further '/' */
		if (path[n - 1] == '/' && strncmp(url, path, n) == 0 && url[n] && !strchr(url + n, '/'))
			return &routes[i];
	}
	return NULL;
}

static struct MHD_Response *check_token(struct http_req *req, unsigned *ret_status)
{
	const char *auth = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	if (auth && strncasecmp(auth, "Bearer ", 7) == 0) {
		const char *t = auth + 7;
		while (*t == ' ')
			t++;
		req->token = tokens_find(req->srv->ctx.tokens, t);
	}
	if (req->token >= 0)
		return NULL;
	struct MHD_Response *r = fail(ret_status, MHD_HTTP_UNAUTHORIZED, "unauthorized",
				      auth ? "the bearer token is not valid" : "this request needs a bearer token",
				      NULL);
	if (r)
		MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"resolverd\"");
	return r;
}

static struct MHD_Response *check_body_headers(struct http_req *req, const char *want, unsigned *ret_status)
{
	struct MHD_Connection *c = req->conn;
	const char *ctype = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
	size_t n = strlen(want);
	if (!ctype || strncasecmp(ctype, want, n) != 0 || (ctype[n] && ctype[n] != ';' && ctype[n] != ' ')) {
		char detail[96];
		snprintf(detail, sizeof(detail), "the body must be %s", want);
		return fail(ret_status, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, "unsupported-media-type", detail, NULL);
	}
	const char *clen = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	const char *te = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING);
	if (!clen && !te)
		return fail(ret_status, MHD_HTTP_LENGTH_REQUIRED, "length-required",
			    "send Content-Length (or a chunked body)", NULL);
	if (clen && strtoull(clen, NULL, 10) > req->srv->ctx.cfg->http.max_body)
		return fail(ret_status, MHD_HTTP_CONTENT_TOO_LARGE, "body-too-large",
			    "the request body exceeds http.max_body", NULL);
	return NULL;
}

struct MHD_Response *api_begin(struct http_req *req, const char *url, const char *method,
			       unsigned *ret_status)
{
	const struct route *r = find_route(url);
	if (!r)
		return fail(ret_status, MHD_HTTP_NOT_FOUND, "not-found", "no such resource", NULL);
	const char *m = strcmp(method, "HEAD") == 0 ? "GET" : method;
	size_t i = 0;
	while (i < 3 && r->m[i].method && strcmp(r->m[i].method, m) != 0)
		i++;
	if (i == 3 || !r->m[i].method) {
		struct MHD_Response *resp = fail(ret_status, MHD_HTTP_METHOD_NOT_ALLOWED, "method-not-allowed",
						 "this resource does not take that method", NULL);
		if (resp)
			MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, r->allow);
		return resp;
	}
	req->op = r->m[i].op;
	/* After routing and 405, before the ACL: /healthz stays open to probes. */
	struct MHD_Response *limited = req->op != OP_HEALTH ? http_rate_limit(req, ret_status) : NULL;
	if (limited)
		return limited;
	req->url = url;
	req->post = strcmp(m, "POST") == 0;
	req->kind = RECORD_BINDING;
	if (strncmp(url, "/v1/services/", 13) == 0)
		req->kind = RECORD_SERVICE;
	else if (strncmp(url, "/v1/hosts/", 10) == 0)
		req->kind = RECORD_HOST;
	if (!r->m[i].write) {
		if (req->op != OP_HEALTH && !http_client_allowed(req->srv, req->conn))
			return fail(ret_status, MHD_HTTP_FORBIDDEN, "forbidden",
				    "the client address is not in http.read_acl", NULL);
		if (req->op == OP_DOH && strcmp(m, "POST") == 0)
			return check_body_headers(req, "application/dns-message", ret_status);
		return NULL;
	}
	struct MHD_Response *resp = check_token(req, ret_status);
	if (!resp && (strcmp(m, "POST") == 0 || strcmp(m, "PUT") == 0))
		resp = check_body_headers(req, "application/json", ret_status);
	return resp;
}

/* ---- handler thread: validation ---------------------------------------- */

static const char *query(struct http_req *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

/* Normalize @p uri into req->parts; queue a 400 naming @p field on failure. */
static bool take_uri(struct http_req *req, const char *uri, const char *field, enum MHD_Result *ret)
{
	const char *why = "missing";
	if (uri && *uri && uri_normalize(uri, &req->parts, &why) == 0)
		return true;
	char detail[160];
	snprintf(detail, sizeof(detail), "%s: %s", field, uri && *uri ? why : "required");
	*ret = api_reply_problem(req, MHD_HTTP_BAD_REQUEST, "invalid-field", detail, field);
	return false;
}

const char *api_name_field(const struct http_req *req)
{
	return req->kind == RECORD_BINDING ? "uri" : "name";
}

bool api_in_scope(struct http_req *req, const char *uri, enum MHD_Result *ret)
{
	if (tokens_allows(req->srv->ctx.tokens, req->token, uri))
		return true;
	*ret = api_reply_problem(req, MHD_HTTP_FORBIDDEN, "out-of-scope",
				 req->kind == RECORD_BINDING ? "the token's scopes do not cover this URI"
							     : "the token's scopes do not cover this name",
				 api_name_field(req));
	return false;
}

bool api_printable(const char *s, size_t max)
{
	return body_printable(s, max);
}

char *api_default_instance(const char *prefix, const char *value)
{
	return body_default_instance(prefix, value);
}

json_t *api_parse_body(struct http_req *req, enum MHD_Result *ret)
{
	char detail[BODY_WHY_CAP];
	json_t *o = body_load_object(req->body, req->body_len, detail, sizeof(detail));
	if (!o)
		*ret = api_reply_problem(req, MHD_HTTP_BAD_REQUEST, "invalid-json", detail, NULL);
	return o;
}

const char *api_unknown_member(json_t *o, const char *const *known)
{
	return body_unknown_member(o, known);
}

const char *api_expires(struct http_req *req, json_t *o)
{
	const struct rd_config *cfg = req->srv->ctx.cfg;
	unsigned secs = 0;
	const char *why = body_expires(o, cfg->publish.default_expires, cfg->publish.max_expires, &secs);
	if (!why)
		req->expires = cache_now() + secs;
	return why;
}

/* The body checks are body_parse_binding()'s; the token's scope is checked here. */
static enum MHD_Result finish_publish(struct http_req *req)
{
	const struct rd_config *cfg = req->srv->ctx.cfg;
	struct binding_body b;
	char why[BODY_WHY_CAP], *field = NULL;
	enum MHD_Result ret = MHD_NO;
	int rc = body_parse_binding(req->body, req->body_len, cfg->publish.default_expires,
				    cfg->publish.max_expires, &b, &field, why, sizeof(why));
	if (rc < 0) {
		ret = api_reply_problem(req, MHD_HTTP_BAD_REQUEST, rc == -EBADMSG ? "invalid-json" : "invalid-field",
					why, field);
		free(field);
		return ret;
	}
	req->parts = b.parts;
	req->contact = b.contact;
	req->instance = b.instance;
	req->q = b.q;
	req->expires = cache_now() + b.expires;
	if (!api_in_scope(req, req->parts.uri, &ret))
		return ret;
	return http_req_suspend(req);
}

static enum MHD_Result finish_unpublish(struct http_req *req)
{
	enum MHD_Result ret = MHD_NO;
	if (!take_uri(req, query(req, "uri"), "uri", &ret))
		return ret;
	const char *inst = query(req, "instance");
	if (!inst || !api_printable(inst, RECORD_MAX_INSTANCE))
		return api_reply_problem(req, MHD_HTTP_BAD_REQUEST, "invalid-field",
				     "instance: 1 to 128 printable characters", "instance");
	if (!api_in_scope(req, req->parts.uri, &ret))
		return ret;
	if (!(req->instance = strdup(inst)))
		return MHD_NO;
	return http_req_suspend(req);
}

static int base64_decode(const char *in, uint8_t **ret, size_t *ret_len)
{
	size_t n = strlen(in);
	if (n == 0 || n % 4 != 0 || n > 4 * ((RECORD_MAX_SIZE + 2) / 3))
		return -EINVAL;
	uint8_t *out = malloc(n / 4 * 3 + 1);
	if (!out)
		return -ENOMEM;
	int len = EVP_DecodeBlock(out, (const unsigned char *)in, (int)n);
	if (len < 0) {
		free(out);
		return -EINVAL;
	}
	len -= (in[n - 1] == '=') + (in[n - 2] == '=');
	*ret = out;
	*ret_len = (size_t)len;
	return 0;
}

static enum MHD_Result finish_submit(struct http_req *req)
{
	static const char *const known[] = {"record", NULL};
	enum MHD_Result ret = MHD_NO;
	json_t *o = api_parse_body(req, &ret);
	if (!o)
		return ret;
	json_t *r = json_object_get(o, "record");
	const char *extra = api_unknown_member(o, known);
	if (extra) {
		char detail[160];
		snprintf(detail, sizeof(detail), "unknown member '%.100s'", extra);
		ret = api_reply_problem(req, MHD_HTTP_BAD_REQUEST, "invalid-field", detail, extra);
		json_decref(o);
		return ret;
	}
	int rc = json_is_string(r) ? base64_decode(json_string_value(r), &req->wire, &req->wire_len) : -EINVAL;
	json_decref(o);
	if (rc < 0)
		return api_reply_problem(req, MHD_HTTP_BAD_REQUEST, "invalid-field",
					 "record: the standard base64 of one signed record", "record");
	struct record *rec = NULL;
	rc = record_decode(req->wire, req->wire_len, &rec);
	if (rc < 0)
		return api_reply_problem(req, MHD_HTTP_BAD_REQUEST, "invalid-record",
					 rc == -EKEYREJECTED ? "record: the signature does not verify"
							     : "record: not a valid format v1 record",
					 "record");
	bool ok = api_in_scope(req, rec->uri, &ret);
	record_free(rec);
	return ok ? http_req_suspend(req) : ret;
}

static enum MHD_Result finish_resolve(struct http_req *req)
{
	enum MHD_Result ret = MHD_NO;
	if (!take_uri(req, query(req, "uri"), "uri", &ret))
		return ret;
	if (answers_try_serve(&req->srv->answers, req->conn, req->parts.uri, cache_now()))
		return MHD_YES;
	return http_req_suspend(req);
}

enum MHD_Result api_finish(struct http_req *req)
{
	switch (req->op) {
	case OP_HEALTH:
		return http_queue(req->conn, MHD_HTTP_OK, json_response_new(json_pack("{s:s}", "status", "ok")));
	case OP_RESOLVE:
		return finish_resolve(req);
	case OP_PUBLISH:
		return finish_publish(req);
	case OP_UNPUBLISH:
		return finish_unpublish(req);
	case OP_SUBMIT:
		return finish_submit(req);
	case OP_LIST:
	case OP_STATUS:
	case OP_METRICS:
		return http_req_suspend(req);
	case OP_NAME_GET:
	case OP_NAME_PUT:
	case OP_NAME_DELETE:
		return names_finish(req);
	case OP_DOH:
		return doh_finish(req);
	case OP_NONE:
		break;
	}
	return MHD_NO;
}
