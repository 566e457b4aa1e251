/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The REST API's operations on the loop thread: resolve, publish, unpublish, list, submit, status. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "resolverd/core/log.h"
#include "resolverd/http/http_req.h"
#include "resolverd/http/problem.h"

#define RESOLVERD_VERSION "0.1.0"

static const char *const SUBSYS = "api";

void ops_complete_problem(struct http_req *req, unsigned status, const char *slug, const char *detail,
			     const char *field)
{
	http_req_complete(req, status, problem_new(status, slug, detail, field));
}

/* ---- resolve -------------------------------------------------------------- */

/*
 * No live binding, and the URI's scheme belongs to a plugin with a DNS
 * fallback: its answer is a 200 with source "dns". "No such server" is the
 * plain 404; a DNS failure is the 404 too, with "fallback": "timeout" or
 * "error" saying the answer may be incomplete. host.c caches each outcome.
 */
static void on_fallback(void *ud, int status, uint64_t at, const struct rd_target *targets, size_t n)
{
	struct http_req *req = ud;
	unsigned code = 0;
	struct MHD_Response *resp;
	if (status == -ECANCELED) {
		ops_complete_problem(req, MHD_HTTP_SERVICE_UNAVAILABLE, "shutting-down", "the node is shutting down", NULL);
		return;
	}
	if (status == 0) {
		resp = answers_render_fallback(req->parts.uri, at, targets, n, &code);
	} else if (status == -ENOENT) {
		struct cache_view empty = {.kind = RECORD_BINDING, .uri = req->parts.uri, .source = "dht", .now = at};
		resp = answers_render(&empty, &code);
	} else {
		code = MHD_HTTP_NOT_FOUND;
		resp = problem_new_with(code, "no-binding",
					status == -ETIMEDOUT ? "no live binding for this URI; its DNS fallback timed out"
							     : "no live binding for this URI; its DNS fallback failed",
					"fallback", status == -ETIMEDOUT ? "timeout" : "error");
	}
	http_req_complete(req, code, resp);
}

static void on_resolved(void *ud, const struct cache_view *view)
{
	struct http_req *req = ud;
	if (!view) {
		ops_complete_problem(req, MHD_HTTP_SERVICE_UNAVAILABLE, "shutting-down", "the node is shutting down", NULL);
		return;
	}
	if (view->n == 0 && hosts_can_fallback(req->srv->ctx.hosts, view->uri)) {
		answers_forget(&req->srv->answers, view->uri);
		if (hosts_fallback(req->srv->ctx.hosts, &req->parts, on_fallback, req) == 0)
			return;
	}
	unsigned status = 0;
	struct MHD_Response *resp = answers_render(view, &status);
	answers_update(&req->srv->answers, view);
	http_req_complete(req, status, resp);
}

static void op_resolve(struct http_req *req)
{
	struct cache_name n = {.kind = RECORD_BINDING, .name = req->parts.uri, .host = req->parts.host};
	if (cache_lookup(req->srv->ctx.cache, &n, on_resolved, req) < 0)
		ops_complete_problem(req, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal-error", "out of memory", NULL);
}

/* ---- publishing ----------------------------------------------------------- */

static char *escape(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	char *out = malloc(3 * strlen(s) + 1), *o = out;
	if (!out)
		return NULL;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		    strchr("-._~", *p)) {
			*o++ = (char)*p;
		} else {
			*o++ = '%';
			*o++ = hex[*p >> 4];
			*o++ = hex[*p & 15];
		}
	}
	*o = 0;
	return out;
}

static void complete_created(struct http_req *req, const struct record *rec)
{
	json_t *o = answers_binding_json(rec, cache_now(), true);
	if (o && req->op == OP_SUBMIT)
		json_object_set_new(o, "tombstone", json_boolean(rec->tombstone));
	struct MHD_Response *resp = json_response_new(o);
	char *u = escape(rec->uri), *i = escape(rec->instance), *loc = NULL;
	if (resp && u && i && asprintf(&loc, "/v1/bindings?uri=%s&instance=%s", u, i) >= 0) {
		MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, loc);
		free(loc);
	}
	free(u);
	free(i);
	http_req_complete(req, MHD_HTTP_CREATED, resp);
}

void ops_publish_error(struct http_req *req, int rc, const char *reason)
{
	switch (rc) {
	case -EACCES:
		ops_complete_problem(req, MHD_HTTP_FORBIDDEN, "policy-denied",
				 reason ? reason : "the policy does not let this node's key publish for this URI",
				 api_name_field(req));
		break;
	case -ENOSPC:
		ops_complete_problem(req, 507, "storage-full",
				 "this node keeps no more publications (publish.max_publications)", NULL);
		break;
	case -EINVAL:
		ops_complete_problem(req, MHD_HTTP_BAD_REQUEST, "invalid-field",
				 "the binding does not fit in a record (see schemas/record-format.md)", NULL);
		break;
	case -EMSGSIZE:
		ops_complete_problem(req, MHD_HTTP_BAD_REQUEST, reason ? "invalid-record" : "invalid-field",
				 reason ? reason : "the record would be larger than dht.max_record_size bytes",
				 reason ? "record" : NULL);
		break;
	case -EBADMSG:
	case -EKEYREJECTED:
	case -ETIME:
		ops_complete_problem(req, MHD_HTTP_BAD_REQUEST, "invalid-record", reason, "record");
		break;
	case -EALREADY:
		ops_complete_problem(req, MHD_HTTP_CONFLICT, "stale-record", reason, "record");
		break;
	default:
		log_error(SUBSYS, "publishing failed: %s", strerror(-rc));
		ops_complete_problem(req, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal-error",
				 "the publication could not be stored", NULL);
	}
}

static void op_publish(struct http_req *req)
{
	struct publish_req pr = {.kind = RECORD_BINDING, .name = req->parts.uri, .host = req->parts.host,
				 .contact = req->contact, .q = req->q, .expires = req->expires,
				 .instance = req->instance};
	const struct record *rec = NULL;
	int rc = publisher_publish(req->srv->ctx.publisher, &pr, &rec);
	if (rc < 0)
		ops_publish_error(req, rc, NULL);
	else
		complete_created(req, rec);
}

static void op_unpublish(struct http_req *req)
{
	const struct record *rec = NULL;
	int rc = publisher_unpublish(req->srv->ctx.publisher, RECORD_BINDING, req->parts.uri, req->instance, &rec);
	if (rc == -ENOENT) {
		ops_complete_problem(req, MHD_HTTP_NOT_FOUND, "no-publication",
				 "this node publishes no binding for that uri and instance", NULL);
		return;
	}
	if (rc < 0) {
		ops_publish_error(req, rc, NULL);
		return;
	}
	http_req_complete(req, MHD_HTTP_NO_CONTENT,
			  MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT));
}

static void op_submit(struct http_req *req)
{
	const struct record *rec = NULL;
	const char *reason = NULL;
	int rc = publisher_submit(req->srv->ctx.publisher, req->wire, req->wire_len, &rec, &reason);
	if (rc < 0)
		ops_publish_error(req, rc, reason);
	else
		complete_created(req, rec);
}

static void add_binding(void *ud, const struct record *rec)
{
	json_array_append_new(ud, answers_binding_json(rec, cache_now(), true));
}

static void op_list(struct http_req *req)
{
	json_t *list = json_array();
	if (list)
		publisher_foreach(req->srv->ctx.publisher, RECORD_BINDING, add_binding, list);
	http_req_complete(req, MHD_HTTP_OK, json_response_new(json_pack("{s:o}", "bindings", list)));
}

/* ---- status --------------------------------------------------------------- */

struct snapshot {
	char node_id[2 * OVERLAY_KEY_LEN + 1];
	char pub[KEYS_PUB_HEX_LEN + 1];
	struct overlay_stats ov;
	struct cache_stats cache;
	size_t publications;
	uint64_t uptime;
	struct dns_stats dns;
};

static void take_snapshot(const struct http_server *srv, struct snapshot *s)
{
	overlay_node_id(srv->ctx.overlay, s->node_id);
	keys_pub_to_hex(srv->ctx.key->pub, s->pub);
	overlay_get_stats(srv->ctx.overlay, &s->ov);
	cache_get_stats(srv->ctx.cache, &s->cache);
	s->publications = publisher_count(srv->ctx.publisher);
	memset(&s->dns, 0, sizeof(s->dns));
	if (srv->ctx.dns)
		dns_server_get_stats(srv->ctx.dns, &s->dns);
	s->uptime = cache_now() - srv->ctx.started;
}

static void op_status(struct http_req *req)
{
	struct snapshot s;
	take_snapshot(req->srv, &s);
	json_t *o = json_pack(
		"{s:s, s:s, s:s, s:I, s:I,"
		" s:{s:I, s:I, s:I, s:I, s:I, s:I},"
		" s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I},"
		" s:{s:I, s:I, s:I}, s:I}",
		"version", RESOLVERD_VERSION, "node_id", s.node_id, "public_key", s.pub,
		"network", (json_int_t)req->srv->ctx.cfg->dht.network, "uptime", (json_int_t)s.uptime,
		"overlay", "good_nodes", (json_int_t)s.ov.good_nodes, "dubious_nodes",
		(json_int_t)s.ov.dubious_nodes, "known_nodes", (json_int_t)s.ov.known_nodes,
		"stored_values", (json_int_t)s.ov.stored_values, "store_bytes", (json_int_t)s.ov.store_bytes,
		"searches", (json_int_t)s.ov.searches,
		"records", "accepted", (json_int_t)s.cache.accepted, "dropped_malformed",
		(json_int_t)s.cache.dropped_malformed, "dropped_signature", (json_int_t)s.cache.dropped_signature,
		"dropped_policy", (json_int_t)s.cache.dropped_policy, "dropped_expired",
		(json_int_t)s.cache.dropped_expired, "dropped_overflow", (json_int_t)s.cache.dropped_overflow,
		"dropped_name", (json_int_t)s.cache.dropped_name,
		"cache", "entries", (json_int_t)s.cache.entries, "hits", (json_int_t)s.cache.hits, "misses",
		(json_int_t)s.cache.misses, "publications", (json_int_t)s.publications);
	json_t *dns = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
		"udp_queries", (json_int_t)s.dns.udp_queries, "tcp_queries", (json_int_t)s.dns.tcp_queries,
		"doh_queries", (json_int_t)s.dns.doh_queries, "answered_hot", (json_int_t)s.dns.answered_hot,
		"lookups", (json_int_t)s.dns.lookups, "forwarded", (json_int_t)s.dns.forwarded,
		"dropped", (json_int_t)s.dns.dropped, "rrl_dropped", (json_int_t)s.dns.rrl_dropped,
		"rrl_slipped", (json_int_t)s.dns.rrl_slipped, "tcp_refused", (json_int_t)s.dns.tcp_refused,
		"tcp_connections", (json_int_t)s.dns.tcp_connections);
	if (o && dns)
		json_object_set_new(o, "dns", dns);
	else
		json_decref(dns);
	http_req_complete(req, MHD_HTTP_OK, json_response_new(o));
}

static void op_metrics(struct http_req *req)
{
	struct snapshot s;
	take_snapshot(req->srv, &s);
	char *text = NULL;
	int n = asprintf(&text,
		"# TYPE resolverd_uptime_seconds gauge\nresolverd_uptime_seconds %llu\n"
		"# TYPE resolverd_overlay_nodes gauge\n"
		"resolverd_overlay_nodes{state=\"good\"} %u\nresolverd_overlay_nodes{state=\"dubious\"} %u\n"
		"# TYPE resolverd_overlay_stored_values gauge\nresolverd_overlay_stored_values %zu\n"
		"# TYPE resolverd_records_total counter\n"
		"resolverd_records_total{result=\"accepted\"} %llu\n"
		"resolverd_records_total{result=\"malformed\"} %llu\n"
		"resolverd_records_total{result=\"bad_signature\"} %llu\n"
		"resolverd_records_total{result=\"policy\"} %llu\n"
		"resolverd_records_total{result=\"expired\"} %llu\n"
		"resolverd_records_total{result=\"overflow\"} %llu\n"
		"# TYPE resolverd_cache_entries gauge\nresolverd_cache_entries %zu\n"
		"# TYPE resolverd_cache_lookups_total counter\n"
		"resolverd_cache_lookups_total{result=\"hit\"} %llu\nresolverd_cache_lookups_total{result=\"miss\"} %llu\n"
		"# TYPE resolverd_publications gauge\nresolverd_publications %zu\n"
		"# TYPE resolverd_dns_queries_total counter\n"
		"resolverd_dns_queries_total{transport=\"udp\"} %llu\n"
		"resolverd_dns_queries_total{transport=\"tcp\"} %llu\n"
		"resolverd_dns_queries_total{transport=\"doh\"} %llu\n"
		"# TYPE resolverd_dns_rrl_total counter\n"
		"resolverd_dns_rrl_total{action=\"drop\"} %llu\nresolverd_dns_rrl_total{action=\"slip\"} %llu\n",
		(unsigned long long)s.uptime, s.ov.good_nodes, s.ov.dubious_nodes, s.ov.stored_values,
		(unsigned long long)s.cache.accepted, (unsigned long long)s.cache.dropped_malformed,
		(unsigned long long)s.cache.dropped_signature, (unsigned long long)s.cache.dropped_policy,
		(unsigned long long)s.cache.dropped_expired, (unsigned long long)s.cache.dropped_overflow,
		s.cache.entries, (unsigned long long)s.cache.hits, (unsigned long long)s.cache.misses,
		s.publications, (unsigned long long)s.dns.udp_queries, (unsigned long long)s.dns.tcp_queries,
		(unsigned long long)s.dns.doh_queries, (unsigned long long)s.dns.rrl_dropped,
		(unsigned long long)s.dns.rrl_slipped);
	struct MHD_Response *resp = n < 0 ? NULL
		: MHD_create_response_from_buffer((size_t)n, text, MHD_RESPMEM_MUST_FREE);
	if (resp)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; version=0.0.4");
	else
		free(text);
	http_req_complete(req, MHD_HTTP_OK, resp);
}

void api_run(struct loop_job *job, bool cancelled)
{
	struct http_req *req = (struct http_req *)job;
	if (cancelled || atomic_load(&req->srv->stopping)) {
		ops_complete_problem(req, MHD_HTTP_SERVICE_UNAVAILABLE, "shutting-down", "the node is shutting down", NULL);
		return;
	}
	switch (req->op) {
	case OP_RESOLVE: op_resolve(req); break;
	case OP_PUBLISH: op_publish(req); break;
	case OP_UNPUBLISH: op_unpublish(req); break;
	case OP_SUBMIT: op_submit(req); break;
	case OP_LIST: op_list(req); break;
	case OP_STATUS: op_status(req); break;
	case OP_METRICS: op_metrics(req); break;
	case OP_NAME_GET:
	case OP_NAME_PUT:
	case OP_NAME_DELETE: names_run(req); break;
	case OP_DOH: doh_run(req); break;
	default:
		ops_complete_problem(req, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal-error", "unknown operation", NULL);
	}
}
