/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The service and host records of DNS names: PUT, GET and DELETE /v1/services/NAME and /v1/hosts/NAME. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "resolverd/http/http_req.h"
#include "resolverd/http/problem.h"

/* ---- handler thread ------------------------------------------------------ */

/* The name in the URL, lower-cased (DNS names are case-insensitive), without a trailing dot. */
static char *url_name(const struct http_req *req)
{
	const char *prefix = req->kind == RECORD_SERVICE ? "/v1/services/" : "/v1/hosts/";
	char *name = strdup(req->url + strlen(prefix));
	if (!name)
		return NULL;
	size_t n = strlen(name);
	if (n > 1 && name[n - 1] == '.')
		name[n - 1] = 0;
	for (char *p = name; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return name;
}

/* The domain whose policy governs a service name: what follows "_svc._proto.". */
static const char *service_domain(const char *name)
{
	const char *d = strchr(name, '.');
	d = d ? strchr(d + 1, '.') : NULL;
	return d ? d + 1 : NULL;
}

static bool take_name(struct http_req *req, enum MHD_Result *ret)
{
	char *name = url_name(req);
	if (!name || record_name_check(req->kind, name) < 0) {
		free(name);
		*ret = api_reply_problem(req, MHD_HTTP_BAD_REQUEST, "invalid-field",
					 req->kind == RECORD_SERVICE
						 ? "name: a service name such as _sip._udp.example.com"
						 : "name: a host name such as host.example.com",
					 "name");
		return false;
	}
	const char *domain = req->kind == RECORD_SERVICE ? service_domain(name) : name;
	req->parts.uri = name;
	req->parts.host = domain ? strdup(domain) : NULL;
	return true;
}

static bool get_u16(json_t *o, const char *key, unsigned dflt, unsigned *ret)
{
	json_t *v = json_object_get(o, key);
	if (!v) {
		*ret = dflt;
		return true;
	}
	json_int_t i = json_is_integer(v) ? json_integer_value(v) : -1;
	if (i < 0 || i > 65535)
		return false;
	*ret = (unsigned)i;
	return true;
}

/* A service body: {"target", "port", "priority"?, "weight"?, "expires"?, "instance"?} */
static const char *service_value(json_t *o, char **ret_contact, const char **ret_field)
{
	static const char *const known[] = {"target", "port", "priority", "weight", "expires", "instance", NULL};
	const char *extra = api_unknown_member(o, known);
	if (extra) {
		*ret_field = extra;
		return "unknown member";
	}
	unsigned port = 0, prio = 0, weight = 0;
	json_t *t = json_object_get(o, "target");
	if (!json_is_string(t)) {
		*ret_field = "target";
		return "target: a host name (required)";
	}
	if (!json_object_get(o, "port") || !get_u16(o, "port", 0, &port)) {
		*ret_field = "port";
		return "port: an integer from 0 to 65535 (required)";
	}
	if (!get_u16(o, "priority", 0, &prio) || !get_u16(o, "weight", 0, &weight)) {
		*ret_field = json_object_get(o, "priority") && !get_u16(o, "priority", 0, &prio) ? "priority" : "weight";
		return "priority and weight: integers from 0 to 65535";
	}
	char target[260];
	snprintf(target, sizeof(target), "%s", json_string_value(t));
	size_t n = strlen(target);
	if (n > 1 && target[n - 1] == '.')
		target[n - 1] = 0;
	for (char *p = target; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	if (asprintf(ret_contact, "%u %u %u %s", prio, weight, port, target) < 0)
		return "out of memory";
	if (record_value_check(RECORD_SERVICE, *ret_contact) < 0) {
		*ret_field = "target";
		return "target: a host name such as sip.example.com (or \".\" for no service)";
	}
	return NULL;
}

/* A host body: {"address", "expires"?, "instance"?}; the address is stored in canonical form. */
static const char *host_value(json_t *o, char **ret_contact, const char **ret_field)
{
	static const char *const known[] = {"address", "expires", "instance", NULL};
	const char *extra = api_unknown_member(o, known);
	if (extra) {
		*ret_field = extra;
		return "unknown member";
	}
	json_t *a = json_object_get(o, "address");
	uint8_t bin[16];
	char text[INET6_ADDRSTRLEN];
	int af = json_is_string(a) && strchr(json_string_value(a), ':') ? AF_INET6 : AF_INET;
	if (!json_is_string(a) || inet_pton(af, json_string_value(a), bin) != 1 ||
	    !inet_ntop(af, bin, text, sizeof(text))) {
		*ret_field = "address";
		return "address: an IPv4 or IPv6 address (required)";
	}
	*ret_contact = strdup(text);
	return *ret_contact ? NULL : "out of memory";
}

static enum MHD_Result finish_put(struct http_req *req)
{
	enum MHD_Result ret = MHD_NO;
	if (!take_name(req, &ret))
		return ret;
	json_t *o = api_parse_body(req, &ret);
	if (!o)
		return ret;
	const char *field = NULL;
	const char *why = req->kind == RECORD_SERVICE ? service_value(o, &req->contact, &field)
						      : host_value(o, &req->contact, &field);
	if (!why && (why = api_expires(req, o)))
		field = "expires";
	json_t *inst = json_object_get(o, "instance");
	if (!why && inst && (!json_is_string(inst) || !api_printable(json_string_value(inst), RECORD_MAX_INSTANCE))) {
		why = "instance: 1 to 128 printable characters";
		field = "instance";
	}
	if (!why) {
		req->instance = inst ? strdup(json_string_value(inst))
				     : api_default_instance(req->kind == RECORD_SERVICE ? "s" : "a", req->contact);
		if (!req->instance)
			why = "out of memory";
	}
	char detail[200];
	if (why && field && strcmp(why, "unknown member") == 0) {
		snprintf(detail, sizeof(detail), "unknown member '%.100s'", field);
		why = detail;
	}
	ret = why ? api_reply_problem(req, MHD_HTTP_BAD_REQUEST, "invalid-field", why, field) : MHD_YES;
	json_decref(o);
	if (why)
		return ret;
	if (!api_in_scope(req, req->parts.uri, &ret))
		return ret;
	return http_req_suspend(req);
}

enum MHD_Result names_finish(struct http_req *req)
{
	enum MHD_Result ret = MHD_NO;
	if (req->op == OP_NAME_PUT)
		return finish_put(req);
	if (!take_name(req, &ret))
		return ret;
	if (req->op == OP_NAME_DELETE) {
		const char *inst = MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, "instance");
		if (!inst || !api_printable(inst, RECORD_MAX_INSTANCE))
			return api_reply_problem(req, MHD_HTTP_BAD_REQUEST, "invalid-field",
						 "instance: 1 to 128 printable characters", "instance");
		if (!api_in_scope(req, req->parts.uri, &ret))
			return ret;
		if (!(req->instance = strdup(inst)))
			return MHD_NO;
	}
	return http_req_suspend(req);
}

/* ---- loop thread ------------------------------------------------------------ */

/* One record as JSON: the service's fields or the host's address, plus the common ones. */
static json_t *record_json(const struct record *rec, uint64_t now, bool full)
{
	char pub[KEYS_PUB_HEX_LEN + 1];
	keys_pub_to_hex(rec->publisher, pub);
	json_t *o = json_pack("{s:I, s:I, s:s, s:s}", "expires",
			      (json_int_t)(rec->expires > now ? rec->expires - now : 0), "expires_at",
			      (json_int_t)rec->expires, "instance", rec->instance, "publisher", pub);
	if (!o)
		return NULL;
	unsigned prio = 0, weight = 0, port = 0;
	char target[256] = "";
	if (rec->kind == RECORD_SERVICE && sscanf(rec->contact, "%u %u %u %255s", &prio, &weight, &port, target) == 4) {
		json_object_set_new(o, "target", json_string(target));
		json_object_set_new(o, "port", json_integer(port));
		json_object_set_new(o, "priority", json_integer(prio));
		json_object_set_new(o, "weight", json_integer(weight));
	} else if (rec->kind == RECORD_HOST) {
		json_object_set_new(o, "address", json_string(rec->contact));
	}
	if (full) {
		json_object_set_new(o, "name", json_string(rec->uri));
		json_object_set_new(o, "seq", json_integer((json_int_t)rec->seq));
	}
	return o;
}

static void on_viewed(void *ud, const struct cache_view *view)
{
	struct http_req *req = ud;
	if (!view) {
		ops_complete_problem(req, MHD_HTTP_SERVICE_UNAVAILABLE, "shutting-down", "the node is shutting down", NULL);
		return;
	}
	if (view->n == 0) {
		ops_complete_problem(req, MHD_HTTP_NOT_FOUND, "no-record", "no live record for this name", NULL);
		return;
	}
	json_t *list = json_array();
	for (size_t i = 0; list && i < view->n; i++)
		json_array_append_new(list, record_json(view->bindings[i], view->now, false));
	json_t *o = json_pack("{s:s, s:o, s:s}", "name", view->uri, "records", list, "source", view->source);
	http_req_complete(req, MHD_HTTP_OK, json_response_new(o));
}

static void run_put(struct http_req *req)
{
	struct publish_req pr = {.kind = req->kind, .name = req->parts.uri, .host = req->parts.host,
				 .contact = req->contact, .q = 0, .expires = req->expires, .instance = req->instance};
	const struct record *rec = NULL;
	int rc = publisher_publish(req->srv->ctx.publisher, &pr, &rec);
	if (rc < 0) {
		ops_publish_error(req, rc, rc == -EACCES ? "the policy does not let this node's key publish for this name"
							 : NULL);
		return;
	}
	http_req_complete(req, MHD_HTTP_OK, json_response_new(record_json(rec, cache_now(), true)));
}

void names_run(struct http_req *req)
{
	if (req->op == OP_NAME_PUT) {
		run_put(req);
		return;
	}
	if (req->op == OP_NAME_DELETE) {
		const struct record *rec = NULL;
		int rc = publisher_unpublish(req->srv->ctx.publisher, req->kind, req->parts.uri, req->instance, &rec);
		if (rc == -ENOENT)
			ops_complete_problem(req, MHD_HTTP_NOT_FOUND, "no-publication",
					     "this node publishes no record for that name and instance", NULL);
		else if (rc < 0)
			ops_publish_error(req, rc, NULL);
		else
			http_req_complete(req, MHD_HTTP_NO_CONTENT,
					  MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT));
		return;
	}
	struct cache_name n = {.kind = req->kind, .name = req->parts.uri, .host = req->parts.host};
	if (cache_lookup(req->srv->ctx.cache, &n, on_viewed, req) < 0)
		ops_complete_problem(req, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal-error", "out of memory", NULL);
}
