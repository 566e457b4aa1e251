/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Internal to the HTTP front end: the server, per-request state and the answers table. */
#pragma once

#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "resolverd/core/acl.h"
#include "resolverd/core/map.h"
#include "resolverd/core/uri.h"
#include "resolverd/dns/rrl.h"
#include "resolverd/http/http.h"

/**
 * Precomputed resolve answers, read by handler threads under the read lock,
 * written by the loop thread under the write lock.
 */
struct answers {
	pthread_rwlock_t lock;
	struct map map; /**< uri -> struct answer */
};

struct http_server {
	struct http_ctx ctx;            /**< borrowed daemon parts */
	struct MHD_Daemon **daemons;    /**< owned, one per http.listen */
	size_t n_daemons;
	struct acl acl;                 /**< http.read_acl */
	struct rrl *limiter;            /**< owned: http.rate_limit buckets; NULL when it is off */
	pthread_mutex_t limiter_lock;   /**< guards limiter, which every handler thread uses */
	atomic_bool stopping;           /**< set by http_stop(): new work gets 503 */
	atomic_int in_flight;           /**< requests suspended or resumed but not yet answered */
	struct answers answers;
	uv_timer_t sweep;               /**< drops answers older than a second */
};

/** Which API operation a request is. */
enum api_op {
	OP_NONE = 0,
	OP_HEALTH,
	OP_RESOLVE,
	OP_PUBLISH,
	OP_UNPUBLISH,
	OP_LIST,
	OP_SUBMIT,
	OP_STATUS,
	OP_METRICS,
	OP_NAME_GET,    /**< GET /v1/services/NAME, /v1/hosts/NAME */
	OP_NAME_PUT,    /**< PUT ... */
	OP_NAME_DELETE, /**< DELETE ...?instance=I */
	OP_DOH,         /**< GET or POST /dns-query (RFC 8484) */
};

enum req_state {
	REQ_BODY = 0,    /**< headers checked, reading the body */
	REQ_SUSPENDED,   /**< posted to the loop */
	REQ_RESUMED,     /**< the loop set resp; queue it on the next call */
};

/** Per-request state, owned by MHD's connection (freed in the completion callback). */
struct http_req {
	struct loop_job job;         /**< posted to the loop (first member) */
	struct http_server *srv;     /**< borrowed */
	struct MHD_Connection *conn; /**< borrowed */
	enum req_state state;
	enum api_op op;
	enum record_kind kind;       /**< of the name (OP_NAME_*) */
	bool post;                   /**< the method is POST (DoH: the message is the body) */
	const char *url;             /**< borrowed from MHD for the request's life */
	int token;                   /**< index into tokens, or -1 */
	char *body;                  /**< owned, NUL-terminated */
	size_t body_len;
	size_t discarded;            /**< body bytes dropped after http.max_body */
	unsigned early_status;       /**< status of early, if set */
	struct MHD_Response *early;  /**< owned: a refusal decided from the headers */
	struct uri_parts parts;      /**< owned: normalized uri of the request */
	char *instance;              /**< owned */
	char *contact;               /**< owned */
	uint16_t q;
	uint64_t expires;            /**< absolute, unix seconds */
	uint8_t *wire;               /**< owned: a submitted record */
	size_t wire_len;
	struct sockaddr_storage client; /**< peer address (DoH: for the forwarding ACL) */
	unsigned status;             /**< status of resp */
	struct MHD_Response *resp;   /**< owned reference, set when done */
};

/* http.c */
/** Loop thread: the response is ready; wake the connection. */
void http_req_complete(struct http_req *req, unsigned status, struct MHD_Response *resp);
/** Handler thread: hand the request to the loop. */
enum MHD_Result http_req_suspend(struct http_req *req);
/** Handler thread: queue a response now and drop our reference. */
enum MHD_Result http_queue(struct MHD_Connection *conn, unsigned status, struct MHD_Response *resp);
/** Handler thread: is the client inside http.read_acl? */
bool http_client_allowed(const struct http_server *srv, struct MHD_Connection *conn);
/**
 * Handler thread: count one request of the client against http.rate_limit.
 * @return NULL to go on, or a new 429 problem (rate-limited, with Retry-After)
 * and its status in *ret_status.
 */
struct MHD_Response *http_rate_limit(struct http_req *req, unsigned *ret_status);

/* api.c */
/** Handler thread, after the headers: route, method, ACL, auth and length checks. NULL to go on. */
struct MHD_Response *api_begin(struct http_req *req, const char *url, const char *method,
			       unsigned *ret_status);
/** Handler thread, after the body: validate and answer, or suspend. */
enum MHD_Result api_finish(struct http_req *req);
/** Loop thread: the job of a suspended request. */
void api_run(struct loop_job *job, bool cancelled);

/* names.c: the service and host records of DNS names */
/** Handler thread, after the body: validate an OP_NAME_* request and answer or suspend. */
enum MHD_Result names_finish(struct http_req *req);
/** Loop thread: run a suspended OP_NAME_* request. */
void names_run(struct http_req *req);

/* api.c helpers shared with names.c (handler thread) */
enum MHD_Result api_reply_problem(struct http_req *req, unsigned status, const char *slug,
				  const char *detail, const char *field);
json_t *api_parse_body(struct http_req *req, enum MHD_Result *ret);
const char *api_unknown_member(json_t *o, const char *const *known);
const char *api_expires(struct http_req *req, json_t *o);
bool api_in_scope(struct http_req *req, const char *name, enum MHD_Result *ret);
/** The request member that names what is published: "uri" for bindings, "name" for services and hosts. */
const char *api_name_field(const struct http_req *req);
bool api_printable(const char *s, size_t max);
char *api_default_instance(const char *prefix, const char *value);

/* doh.c: DNS over HTTPS */
/** Handler thread: decode the DNS message of a /dns-query request and suspend, or answer 400. */
enum MHD_Result doh_finish(struct http_req *req);
/** Loop thread: answer it with the DNS core. */
void doh_run(struct http_req *req);

/* ops.c helpers shared with names.c (loop thread) */
void ops_complete_problem(struct http_req *req, unsigned status, const char *slug, const char *detail,
			  const char *field);
void ops_publish_error(struct http_req *req, int rc, const char *reason);

/* answers.c */
int answers_init(struct answers *a);
void answers_deinit(struct answers *a);
/** Handler thread: queue the precomputed answer of @p uri if it is from this second. */
bool answers_try_serve(struct answers *a, struct MHD_Connection *conn, const char *uri, uint64_t now);
/** Loop thread: replace the answer of view->uri. */
void answers_update(struct answers *a, const struct cache_view *view);
/** Loop thread: drop the ready answer of @p uri, if any (a plugin's fallback must be asked instead). */
void answers_forget(struct answers *a, const char *uri);
/** Loop thread: whether @p uri has a ready answer (one an HTTP client asked for). */
bool answers_has(struct answers *a, const char *uri);
/**
 * Any thread: the 200 resolve response for a plugin's DNS fallback answer
 * @p targets (best first), computed at @p at (each lives ttl from then):
 * bindings {contact, q, expires, expires_at, via}, source "dns".
 */
struct MHD_Response *answers_render_fallback(const char *uri, uint64_t at, const struct rd_target *targets,
					     size_t n, unsigned *ret_status);
/** Loop thread: drop answers rendered before @p now. */
void answers_sweep(struct answers *a, uint64_t now);
/** Any thread: the resolve response for @p view (200 JSON or 404 problem). */
struct MHD_Response *answers_render(const struct cache_view *view, unsigned *ret_status);
/** Any thread: a binding as a JSON object (the shape of POST /v1/bindings' 201). */
json_t *answers_binding_json(const struct record *rec, uint64_t now, bool full);
