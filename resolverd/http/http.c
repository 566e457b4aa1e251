/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The HTTP front end: libmicrohttpd servers for the REST API, bridged to the loop thread. */
#include "resolverd/http/http.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "resolverd/core/log.h"
#include "resolverd/http/http_req.h"
#include "resolverd/http/problem.h"

static const char *const SUBSYS = "http";

/** Buckets of http.rate_limit: 16384 clients (32 bytes each) before two share one. */
#define RATE_TABLE_SIZE 16384

bool http_client_allowed(const struct http_server *srv, struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *info =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	return info && info->client_addr && acl_match(&srv->acl, info->client_addr);
}

/* ---- rate limiting --------------------------------------------------------- */

/** The client's address, an IPv4-mapped IPv6 address as the IPv4 one, in @p ss. @return false if unknown. */
static bool client_address(struct MHD_Connection *conn, struct sockaddr_storage *ss)
{
	const union MHD_ConnectionInfo *info = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = info ? info->client_addr : NULL;
	if (!sa || (sa->sa_family != AF_INET && sa->sa_family != AF_INET6))
		return false;
	memset(ss, 0, sizeof(*ss));
	if (sa->sa_family == AF_INET) {
		memcpy(ss, sa, sizeof(struct sockaddr_in));
		return true;
	}
	const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
	if (!IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
		memcpy(ss, sa, sizeof(*in6));
		return true;
	}
	/* Otherwise every IPv4 client of a dual-stack listener would share one /64. */
	struct sockaddr_in *in = (struct sockaddr_in *)ss;
	in->sin_family = AF_INET;
	memcpy(&in->sin_addr, &in6->sin6_addr.s6_addr[12], 4);
	return true;
}

static uint64_t monotonic_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

struct MHD_Response *http_rate_limit(struct http_req *req, unsigned *ret_status)
{
	struct http_server *srv = req->srv;
	struct sockaddr_storage ss;
	uint64_t wait_ms = 0;
	if (!srv->limiter || !client_address(req->conn, &ss))
		return NULL;
	pthread_mutex_lock(&srv->limiter_lock);
	enum rrl_verdict v = rrl_check_wait(srv->limiter, (const struct sockaddr *)&ss, monotonic_ms(), &wait_ms);
	pthread_mutex_unlock(&srv->limiter_lock);
	if (v == RRL_PASS)
		return NULL;
	char retry[24];
	snprintf(retry, sizeof(retry), "%llu", (unsigned long long)((wait_ms + 999) / 1000));
	struct MHD_Response *r = problem_new(MHD_HTTP_TOO_MANY_REQUESTS, "rate-limited",
					     "this client is over http.rate_limit.requests_per_second", NULL);
	if (!r)
		return NULL; /* out of memory: serve rather than fail */
	MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, retry);
	*ret_status = MHD_HTTP_TOO_MANY_REQUESTS;
	return r;
}

/** Create the http.rate_limit table, if it is on. @return 0, -ENOMEM. */
static int limiter_init(struct http_server *srv)
{
	const struct rd_config *cfg = srv->ctx.cfg;
	if (!cfg->http.rate_limit.requests_per_second)
		return 0;
	/* One client is an IPv4 address or an IPv6 /64; slip is DNS's business. */
	srv->limiter = rrl_new(cfg->http.rate_limit.requests_per_second, 0, 32, 64, RATE_TABLE_SIZE);
	if (!srv->limiter)
		return -ENOMEM;
	rrl_set_burst(srv->limiter, cfg->http.rate_limit.burst);
	return 0;
}

/* ---- requests ------------------------------------------------------------ */

enum MHD_Result http_queue(struct MHD_Connection *conn, unsigned status, struct MHD_Response *resp)
{
	if (!resp)
		return MHD_NO;
	enum MHD_Result rc = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return rc;
}

enum MHD_Result http_req_suspend(struct http_req *req)
{
	struct http_server *srv = req->srv;
	if (atomic_load(&srv->stopping))
		return http_queue(req->conn, MHD_HTTP_SERVICE_UNAVAILABLE,
				  problem_new(MHD_HTTP_SERVICE_UNAVAILABLE, "shutting-down",
					      "the node is shutting down", NULL));
	req->state = REQ_SUSPENDED;
	req->job.fn = api_run;
	atomic_fetch_add(&srv->in_flight, 1);
	/* Suspend before posting: the loop may resume the connection at once. */
	MHD_suspend_connection(req->conn);
	loop_post(srv->ctx.loop, &req->job);
	return MHD_YES;
}

void http_req_complete(struct http_req *req, unsigned status, struct MHD_Response *resp)
{
	req->status = status;
	req->resp = resp;
	req->state = REQ_RESUMED;
	MHD_resume_connection(req->conn);
}

static enum MHD_Result send_resumed(struct http_req *req)
{
	struct MHD_Response *resp = req->resp;
	req->resp = NULL;
	enum MHD_Result rc = resp ? MHD_queue_response(req->conn, req->status, resp) : MHD_NO;
	if (resp)
		MHD_destroy_response(resp);
	atomic_fetch_sub(&req->srv->in_flight, 1);
	return rc;
}

static int body_append(struct http_req *req, const char *data, size_t len)
{
	size_t max = req->srv->ctx.cfg->http.max_body;
	if (req->body_len + len > max)
		return -EMSGSIZE;
	char *b = realloc(req->body, req->body_len + len + 1);
	if (!b)
		return -ENOMEM;
	memcpy(b + req->body_len, data, len);
	req->body_len += len;
	b[req->body_len] = 0;
	req->body = b;
	return 0;
}

static bool has_body(struct MHD_Connection *conn)
{
	return MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH) ||
	       MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING);
}

/* First call, headers only. A refusal of a request with a body must be queued
 * now, before MHD reads the body; one without a body waits for the second
 * call so that the connection stays alive. */
static enum MHD_Result begin(struct http_server *srv, struct MHD_Connection *conn, const char *url,
			     const char *method, void **con_cls)
{
	struct http_req *req = calloc(1, sizeof(*req));
	if (!req)
		return MHD_NO;
	req->srv = srv;
	req->conn = conn;
	req->token = -1;
	req->state = REQ_BODY;
	*con_cls = req;
	req->early = api_begin(req, url, method, &req->early_status);
	if (req->early && has_body(conn)) {
		struct MHD_Response *r = req->early;
		req->early = NULL;
		return http_queue(conn, req->early_status, r);
	}
	return MHD_YES;
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *conn, const char *url,
				 const char *method, const char *version, const char *upload_data,
				 size_t *upload_size, void **con_cls)
{
	struct http_req *req = *con_cls;
	if (!req)
		return begin(cls, conn, url, method, con_cls);
	if (req->state == REQ_RESUMED)
		return send_resumed(req);
	if (req->early) {
		struct MHD_Response *r = req->early;
		req->early = NULL;
		return http_queue(conn, req->early_status, r);
	}
	if (*upload_size) {
		size_t n = *upload_size;
		*upload_size = 0;
		if (req->discarded || body_append(req, upload_data, n) == -EMSGSIZE) {
			/* Chunked and over the cap: drop it, answer 413 at the end,
			 * and give up on clients that go on and on. */
			req->discarded += n;
			return req->discarded > 16 * (size_t)req->srv->ctx.cfg->http.max_body ? MHD_NO : MHD_YES;
		}
		return req->body ? MHD_YES : MHD_NO;
	}
	if (req->discarded)
		return http_queue(conn, MHD_HTTP_CONTENT_TOO_LARGE,
				  problem_new(MHD_HTTP_CONTENT_TOO_LARGE, "body-too-large",
					      "the request body exceeds http.max_body", NULL));
	return api_finish(req);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct http_req *req = *con_cls;
	if (!req)
		return;
	if (req->early)
		MHD_destroy_response(req->early);
	if (req->resp) {
		/* Resumed but never sent: the connection died first. */
		MHD_destroy_response(req->resp);
		atomic_fetch_sub(&req->srv->in_flight, 1);
	}
	free(req->body);
	free(req->instance);
	free(req->contact);
	free(req->wire);
	uri_parts_deinit(&req->parts);
	free(req);
	*con_cls = NULL;
}

/* ---- server -------------------------------------------------------------- */

static void on_sweep(uv_timer_t *timer)
{
	struct http_server *srv = timer->data;
	answers_sweep(&srv->answers, cache_now());
}

void http_on_cache_change(void *ud, const struct cache_view *view)
{
	struct http_server *srv = ud;
	/* Only URIs an HTTP client asked for keep a ready answer: the rest (names looked up by DNS or a
	 * plugin, such as every address of record a SIP phone registers) would cost a JSON rendering per
	 * change and memory for nothing. A first HTTP request renders its own (ops.c). */
	if (!answers_has(&srv->answers, view->uri))
		return;
	/* No binding where a plugin has a fallback: the loop must ask it, so no ready answer. */
	if (view->n == 0 && hosts_can_fallback(srv->ctx.hosts, view->uri))
		answers_forget(&srv->answers, view->uri);
	else
		answers_update(&srv->answers, view);
}

static int start_daemon(struct http_server *srv, const char *listen)
{
	struct sockaddr_storage ss;
	socklen_t len = 0;
	int rc = config_parse_endpoint(listen, &ss, &len);
	if (rc < 0)
		return rc;
	const struct rd_config *cfg = srv->ctx.cfg;
	unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_TURBO;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	struct MHD_Daemon *d = MHD_start_daemon(
		flags, 0, NULL, NULL, on_access, srv,
		MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
		MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)cfg->http.threads,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned int)cfg->http.max_connections,
		MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned int)cfg->http.max_connections_per_ip,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)cfg->http.timeout_s,
		MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned int)1024,
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
		MHD_OPTION_END);
	if (!d) {
		log_error(SUBSYS, "cannot listen on %s", listen);
		return -EADDRINUSE;
	}
	srv->daemons[srv->n_daemons++] = d;
	log_info(SUBSYS, "listening on http://%s", listen);
	return 0;
}

static int parse_acl(struct http_server *srv)
{
	const struct config_strv *acl = &srv->ctx.cfg->http.read_acl;
	const char *bad = NULL;
	int rc = acl_parse((const char *const *)acl->v, acl->n, &srv->acl, &bad);
	if (rc == -EINVAL)
		log_error(SUBSYS, "http.read_acl: bad entry '%s'", bad);
	return rc;
}

int http_start(const struct http_ctx *ctx, struct http_server **ret)
{
	struct http_server *srv = calloc(1, sizeof(*srv));
	if (!srv)
		return -ENOMEM;
	srv->ctx = *ctx;
	atomic_init(&srv->stopping, false);
	atomic_init(&srv->in_flight, 0);
	pthread_mutex_init(&srv->limiter_lock, NULL);
	int rc = answers_init(&srv->answers);
	if (rc < 0) {
		pthread_mutex_destroy(&srv->limiter_lock);
		free(srv);
		return rc;
	}
	uv_timer_init(&ctx->loop->uv, &srv->sweep);
	srv->sweep.data = srv;
	uv_timer_start(&srv->sweep, on_sweep, 1000, 1000);
	srv->daemons = calloc(ctx->cfg->http.listen.n + 1, sizeof(*srv->daemons));
	if (!srv->daemons) {
		rc = -ENOMEM;
		goto out_stop;
	}
	if ((rc = parse_acl(srv)) < 0 || (rc = limiter_init(srv)) < 0)
		goto out_stop;
	for (size_t i = 0; i < ctx->cfg->http.listen.n; i++)
		if ((rc = start_daemon(srv, ctx->cfg->http.listen.v[i])) < 0)
			goto out_stop;
	*ret = srv;
	return 0;

out_stop:
	http_stop(srv);
	return rc;
}

static void on_server_closed(uv_handle_t *handle)
{
	struct http_server *srv = handle->data;
	answers_deinit(&srv->answers);
	free(srv->daemons);
	acl_deinit(&srv->acl);
	rrl_free(srv->limiter);
	pthread_mutex_destroy(&srv->limiter_lock);
	free(srv);
}

void http_stop(struct http_server *srv)
{
	if (!srv)
		return;
	atomic_store(&srv->stopping, true);
	cache_fail_waiters(srv->ctx.cache);
	hosts_fail_waiters(srv->ctx.hosts);
	/* Let the handler threads send what the loop has answered (bounded wait). */
	for (int i = 0; i < 200 && atomic_load(&srv->in_flight) > 0; i++) {
		loop_run_jobs(srv->ctx.loop);
		usleep(10 * 1000);
	}
	if (atomic_load(&srv->in_flight) > 0)
		log_warn(SUBSYS, "%d requests still in flight at shutdown", atomic_load(&srv->in_flight));
	for (size_t i = 0; i < srv->n_daemons; i++)
		MHD_stop_daemon(srv->daemons[i]);
	srv->n_daemons = 0;
	uv_close((uv_handle_t *)&srv->sweep, on_server_closed);
}
