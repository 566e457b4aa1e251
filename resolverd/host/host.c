/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The host side of the plugin ABI: one struct rd_host per plugin, the host API's core members, the fallback cache. */

/*
 * DESIGN
 * hosts_start() walks plugins.<name> in configuration order and, for each
 * enabled plugin, loads it (loader.c), gives it a struct plugin_host (whose
 * first member is the struct rd_host the plugin sees) and calls its init()
 * with the one struct rd_host_api all plugins share. The API's config
 * getters read the plugin's struct config_plugin, which the config keeps
 * as text with origins; they check types and bounds on the plugin's
 * behalf, log a bad value as "FILE:LINE:COLUMN: plugins.NAME.KEY: reason",
 * and mark what they read, so that after init() an unread key is an
 * "unknown option" error, as in the core's own sections.
 *
 * resolve() runs a cache_lookup(); each pending lookup is linked to its
 * plugin so that stopping the plugin detaches it (the cache's late answer
 * is then dropped here, never passed to unloaded code). publish() and
 * unpublish() go to the publisher with kind binding, after checking the
 * name is in normalized form. Timers, sockets and dns_query are net.c's
 * (host_net_fill_api()); with --check-config they are inert stand-ins.
 *
 * The fallback cache is a map on the loop thread from normalized URI to
 * the plugin's last answer (kept min(ttl, 300) s, failures 30 s), or to a
 * call in flight with the requests waiting for it, so a flood of misses
 * for one name costs one DNS resolution.
 *
 * Threads: everything is loop-thread only, except hosts_can_fallback() and
 * the API's log, normalize and now members (any thread). The plugin list is
 * not changed between hosts_start() and hosts_stop().
 */

#include "resolverd/host/host_api.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "resolverd/core/log.h"
#include "resolverd/core/map.h"
#include "resolverd/host/host.h"
#include "resolverd/host/loader.h"

static const char *const SUBSYS = "plugins";

/** Longest time a fallback answer is reused, seconds. */
#define FALLBACK_MAX_TTL 300
/** How long a failed fallback (no such domain, timeout) is remembered, seconds. */
#define FALLBACK_NEGATIVE_TTL 30
/** Most names the fallback cache holds. */
#define FALLBACK_MAX_ENTRIES 10000
/** Most targets kept from one fallback answer. */
#define FALLBACK_MAX_TARGETS 32

struct resolve_op;
struct fb_entry;

/** An array the config getters handed to the plugin, freed at deinit. */
struct borrowed {
	struct borrowed *next;
	const char **v; /**< owned array; its strings are the config's */
};

/** One loaded plugin. Its first member is what the plugin holds. */
struct plugin_host {
	struct rd_host h;                   /**< h.ctx points back here */
	struct hosts *hs;                   /**< borrowed */
	const struct config_plugin *conf;   /**< borrowed from the config */
	struct loaded_plugin *lp;           /**< owned */
	bool inited;                        /**< init() succeeded (or there is none): deinit() is due */
	bool fallback_on;                   /**< it has fallback() and plugins.<name>.fallback is true */
	bool *used;                         /**< owned: conf->raw[i] was read by a getter */
	int config_errors;                  /**< bad values reported through the getters */
	struct borrowed *borrowed;          /**< owned list: arrays given out by config_list/config_keys */
	struct resolve_op *resolves;        /**< resolve() calls the cache has not answered yet */
};

/** Everything hosts_start() set up. */
struct hosts {
	struct hosts_ctx ctx;
	bool check_only;
	struct host_net *net;               /**< owned, NULL with check_only */
	struct rd_host_api api;             /**< shared by every plugin */
	struct plugin_host **plugins;       /**< owned array of owned */
	size_t n_plugins;
	struct map fb;                      /**< normalized URI -> struct fb_entry */
	bool fb_ready;
};

static struct plugin_host *host_of(struct rd_host *h)
{
	return h->ctx;
}

/* ---- log, now, normalize ------------------------------------------------- */

__attribute__((format(printf, 3, 4)))
static void api_log(struct rd_host *h, enum rd_log_level level, const char *fmt, ...)
{
	va_list ap;
	enum log_level lv = level <= RD_LOG_DEBUG ? (enum log_level)level : LOG_LEVEL_DEBUG;

	va_start(ap, fmt);
	log_vmsg(lv, h->name, fmt, ap);
	va_end(ap);
}

static uint64_t api_now(struct rd_host *h)
{
	(void)h;
	return cache_now();
}

/** Copy @p src into @p dst of @p size bytes. @return 0, -ENAMETOOLONG. */
static int copy_field(char *dst, size_t size, const char *src)
{
	size_t len = src ? strlen(src) : 0;

	if (len >= size)
		return -ENAMETOOLONG;
	memcpy(dst, src ? src : "", len + 1);
	return 0;
}

static int api_normalize(struct rd_host *h, const char *uri, struct rd_name *ret, const char **ret_reason)
{
	struct uri_parts parts = {0};
	struct rd_name n;
	int rc;

	(void)h;
	if (!uri)
		return -EINVAL;
	rc = uri_normalize(uri, &parts, ret_reason);
	if (rc < 0)
		return rc;
	rc = copy_field(n.name, sizeof(n.name), parts.uri);
	if (rc == 0)
		rc = copy_field(n.host, sizeof(n.host), parts.host);
	if (rc == 0)
		rc = copy_field(n.instance, sizeof(n.instance), parts.instance);
	uri_parts_deinit(&parts);
	if (rc < 0)
		return rc;
	*ret = n;
	return 0;
}

/* ---- config getters ------------------------------------------------------ */

/** Log a bad value of @p key and count it. @return -EINVAL. */
static int config_fail(struct plugin_host *ph, const struct config_raw *r, const char *key, const char *reason)
{
	char *msg = config_plugin_message(ph->conf, r, key, reason ? reason : "out of memory");

	log_error(ph->h.name, "%s", msg ? msg : "out of memory");
	free(msg);
	ph->config_errors++;
	return -EINVAL;
}

/** The value of @p key, marked read. @return 0, -ENOENT. */
static int config_get(struct plugin_host *ph, const char *key, const struct config_raw **ret)
{
	long i = key ? config_plugin_raw_index(ph->conf, key) : -1;

	if (i < 0)
		return -ENOENT;
	ph->used[i] = true;
	*ret = &ph->conf->raw[i];
	return 0;
}

static int api_config_string(struct rd_host *h, const char *key, const char *dflt, const char **ret)
{
	struct plugin_host *ph = host_of(h);
	const struct config_raw *r;
	char *reason = NULL;
	int rc;

	*ret = dflt;
	if (config_get(ph, key, &r) < 0)
		return -ENOENT;
	rc = config_raw_string(r, ret, &reason);
	if (rc < 0) {
		*ret = dflt;
		rc = config_fail(ph, r, key, reason);
	}
	free(reason);
	return rc;
}

static int api_config_uint(struct rd_host *h, const char *key, unsigned min, unsigned max, unsigned dflt,
			   unsigned *ret)
{
	struct plugin_host *ph = host_of(h);
	const struct config_raw *r;
	char *reason = NULL;
	int rc;

	*ret = dflt;
	if (config_get(ph, key, &r) < 0)
		return -ENOENT;
	rc = config_raw_uint(r, min, max, ret, &reason);
	if (rc < 0)
		rc = config_fail(ph, r, key, reason);
	free(reason);
	return rc;
}

static int api_config_bool(struct rd_host *h, const char *key, int dflt, int *ret)
{
	struct plugin_host *ph = host_of(h);
	const struct config_raw *r;
	char *reason = NULL;
	int rc;

	*ret = dflt;
	if (config_get(ph, key, &r) < 0)
		return -ENOENT;
	rc = config_raw_bool(r, ret, &reason);
	if (rc < 0)
		rc = config_fail(ph, r, key, reason);
	free(reason);
	return rc;
}

static int api_config_list(struct rd_host *h, const char *key, const char *const **ret_v, size_t *ret_n)
{
	struct plugin_host *ph = host_of(h);
	const struct config_raw *r;
	char *reason = NULL;
	int rc;

	*ret_v = NULL;
	*ret_n = 0;
	if (config_get(ph, key, &r) < 0)
		return -ENOENT;
	rc = config_raw_list(r, ret_v, ret_n, &reason);
	if (rc < 0)
		rc = config_fail(ph, r, key, reason);
	free(reason);
	return rc;
}

/** Keep @p v (owned) until deinit. @return 0, -ENOMEM (@p v freed). */
static int keep_borrowed(struct plugin_host *ph, const char **v)
{
	struct borrowed *b = malloc(sizeof(*b));

	if (!b) {
		free(v);
		return -ENOMEM;
	}
	b->v = v;
	b->next = ph->borrowed;
	ph->borrowed = b;
	return 0;
}

static int api_config_keys(struct rd_host *h, const char *key, const char *const **ret_v, size_t *ret_n)
{
	struct plugin_host *ph = host_of(h);
	const struct config_plugin *c = ph->conf;
	const struct config_raw *r;
	size_t len = key ? strlen(key) : 0, n = 0;
	const char **v;

	*ret_v = NULL;
	*ret_n = 0;
	if (config_get(ph, key, &r) < 0)
		return -ENOENT;
	if (r->kind != CONFIG_RAW_MAP)
		return config_fail(ph, r, key, "expected a mapping");
	v = calloc(c->n_raw + 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < c->n_raw; i++) {
		const struct config_raw *e = &c->raw[i];

		if (e->leaf_off == len + 1 && strncmp(e->key, key, len) == 0 && e->key[len] == '.')
			v[n++] = e->key + e->leaf_off;
	}
	if (keep_borrowed(ph, v) < 0)
		return -ENOMEM;
	*ret_v = v;
	*ret_n = n;
	return 0;
}

__attribute__((format(printf, 3, 4)))
static int api_config_error(struct rd_host *h, const char *key, const char *fmt, ...)
{
	struct plugin_host *ph = host_of(h);
	const struct config_raw *r = NULL;
	char *reason = NULL;
	va_list ap;
	int rc;

	config_get(ph, key, &r);
	va_start(ap, fmt);
	if (vasprintf(&reason, fmt, ap) < 0)
		reason = NULL;
	va_end(ap);
	rc = config_fail(ph, r, key ? key : "?", reason);
	free(reason);
	return rc;
}

/** After init(): a key the plugin never read is an error. @return 0, -EINVAL (logged). */
static int check_unused(struct plugin_host *ph)
{
	const struct config_plugin *c = ph->conf;
	int rc = 0;

	for (size_t i = 0; i < c->n_raw; i++) {
		const struct config_raw *r = &c->raw[i];
		bool has_children = false;

		if (ph->used[i])
			continue;
		/* A mapping is known if a key inside it was read; its unread keys are reported themselves. */
		for (size_t j = 0; r->kind == CONFIG_RAW_MAP && j < c->n_raw && !has_children; j++)
			has_children = c->raw[j].leaf_off == strlen(r->key) + 1 &&
				       strncmp(c->raw[j].key, r->key, strlen(r->key)) == 0 &&
				       c->raw[j].key[strlen(r->key)] == '.';
		if (!has_children)
			rc = config_fail(ph, r, r->key, "unknown option");
	}
	return rc;
}

/* ---- resolve, publish, unpublish ----------------------------------------- */

/** One resolve() the cache has not answered. Owned by the cache callback, which frees it. */
struct resolve_op {
	struct resolve_op *next, **pprev; /**< in ph->resolves while ph is set */
	struct plugin_host *ph;           /**< NULL once the plugin stopped: the answer is dropped */
	rd_resolve_cb cb;
	void *ud;
};

static void resolve_unlink(struct resolve_op *op)
{
	if (!op->pprev)
		return;
	*op->pprev = op->next;
	if (op->next)
		op->next->pprev = op->pprev;
	op->next = NULL;
	op->pprev = NULL;
}

static void on_cache_view(void *ud, const struct cache_view *view)
{
	struct resolve_op *op = ud;
	struct rd_binding *b = NULL;
	size_t n = 0;

	resolve_unlink(op);
	if (!op->ph) {
		free(op);
		return;
	}
	if (!view) {
		op->cb(op->ud, -ECANCELED, cache_now(), NULL, 0);
		free(op);
		return;
	}
	if (view->n && (b = calloc(view->n, sizeof(*b)))) {
		for (; n < view->n; n++) {
			const struct record *rec = view->bindings[n];

			b[n] = (struct rd_binding){.contact = rec->contact, .instance = rec->instance, .q = rec->q,
						   .expires = rec->expires};
		}
	}
	/* Out of memory, the plugin sees no binding: the same as a DHT that answered nothing. */
	op->cb(op->ud, 0, view->now, b, n);
	free(b);
	free(op);
}

static int api_resolve(struct rd_host *h, const char *name, rd_resolve_cb cb, void *ud)
{
	struct plugin_host *ph = host_of(h);
	struct uri_parts parts = {0};
	const char *reason;
	struct resolve_op *op;
	int rc;

	if (!name || !cb || !name[0] || strlen(name) > RD_NAME_MAX)
		return -EINVAL;
	if (ph->hs->check_only) {
		cb(ud, -ECANCELED, cache_now(), NULL, 0);
		return 0;
	}
	/* The host the policy checks records against; the name is normalized already. */
	if (uri_normalize(name, &parts, &reason) < 0)
		return -EINVAL;
	op = calloc(1, sizeof(*op));
	if (!op) {
		uri_parts_deinit(&parts);
		return -ENOMEM;
	}
	*op = (struct resolve_op){.ph = ph, .cb = cb, .ud = ud, .next = ph->resolves, .pprev = &ph->resolves};
	if (ph->resolves)
		ph->resolves->pprev = &op->next;
	ph->resolves = op;
	struct cache_name cn = {.kind = RECORD_BINDING, .name = name, .host = parts.host};
	/* The callback may run before cache_lookup() returns, and frees op. */
	rc = cache_lookup(ph->hs->ctx.cache, &cn, on_cache_view, op);
	uri_parts_deinit(&parts);
	if (rc < 0) {
		resolve_unlink(op);
		free(op);
	}
	return rc;
}

/** Is @p name in normalized form, and what is its host? @return 0, -EINVAL. */
static int check_normalized(const char *name, struct uri_parts *ret_parts, const char **ret_reason)
{
	int rc = uri_normalize(name, ret_parts, ret_reason);

	if (rc < 0)
		return -EINVAL;
	if (strcmp(ret_parts->uri, name) != 0) {
		uri_parts_deinit(ret_parts);
		*ret_reason = "the name is not in normalized form (use normalize() first)";
		return -EINVAL;
	}
	return 0;
}

static int api_publish(struct rd_host *h, const struct rd_publication *pub, const char **ret_reason)
{
	struct plugin_host *ph = host_of(h);
	struct uri_parts parts = {0};
	const struct record *rec;
	const char *reason = "a field is invalid";
	int rc;

	if (ph->hs->check_only) {
		*ret_reason = "the daemon is only checking its configuration";
		return -EIO;
	}
	if (!pub || !pub->name || !pub->contact || !pub->instance || check_normalized(pub->name, &parts, &reason) < 0) {
		*ret_reason = reason;
		return -EINVAL;
	}
	struct publish_req req = {
		.kind = RECORD_BINDING, .name = pub->name, .host = pub->host ? pub->host : parts.host,
		.contact = pub->contact, .q = pub->q, .expires = pub->expires, .instance = pub->instance,
	};
	rc = publisher_publish(ph->hs->ctx.publisher, &req, &rec);
	uri_parts_deinit(&parts);
	switch (rc) {
	case 0:
		return 0;
	case -EACCES:
		*ret_reason = "the policy does not let this node's key publish for this domain";
		return rc;
	case -ENOSPC:
		*ret_reason = "this node holds publish.max_publications already";
		return rc;
	case -EINVAL:
		*ret_reason = "a field is invalid (contact, instance, q or expires)";
		return -EINVAL;
	case -EMSGSIZE:
		*ret_reason = "the record would be larger than dht.max_record_size";
		return -EINVAL;
	default:
		*ret_reason = "the publication journal cannot be written";
		return -EIO;
	}
}

static int api_unpublish(struct rd_host *h, const char *name, const char *instance)
{
	struct plugin_host *ph = host_of(h);
	const struct record *rec;
	int rc;

	if (ph->hs->check_only)
		return -EIO;
	if (!name || !instance)
		return -ENOENT;
	rc = publisher_unpublish(ph->hs->ctx.publisher, RECORD_BINDING, name, instance, &rec);
	return rc == 0 || rc == -ENOENT ? rc : -EIO;
}

/* ---- inert timers, sockets and DNS for --check-config --------------------- */

/** The one object every inert timer and socket points to: it holds nothing. */
static char inert_object;

static struct rd_timer *inert_timer_new(struct rd_host *h, rd_timer_cb cb, void *ud)
{
	return (struct rd_timer *)&inert_object;
}

static void inert_timer_start(struct rd_timer *t, uint64_t ms, uint64_t repeat_ms)
{
}

static void inert_timer_stop(struct rd_timer *t)
{
}

static void inert_timer_free(struct rd_timer *t)
{
}

/** Check the endpoint's syntax only. */
static int inert_bind(const char *endpoint, struct rd_sock **ret)
{
	struct sockaddr_storage ss;
	socklen_t len;

	if (!endpoint || config_parse_endpoint(endpoint, &ss, &len) < 0)
		return -EINVAL;
	*ret = (struct rd_sock *)&inert_object;
	return 0;
}

static int inert_udp_bind(struct rd_host *h, const char *endpoint, rd_recv_cb cb, void *ud, struct rd_sock **ret)
{
	return inert_bind(endpoint, ret);
}

static int inert_udp_send(struct rd_sock *s, const struct sockaddr *to, socklen_t to_len, const uint8_t *data,
			  size_t len)
{
	return 0;
}

static int inert_tcp_listen(struct rd_host *h, const char *endpoint, rd_accept_cb on_accept, rd_recv_cb on_data,
			    void *ud, struct rd_sock **ret)
{
	return inert_bind(endpoint, ret);
}

static int inert_tcp_send(struct rd_sock *conn, const uint8_t *data, size_t len)
{
	return 0;
}

static void inert_sock_close(struct rd_sock *s)
{
}

static int inert_sock_name(struct rd_sock *s, struct sockaddr_storage *ret, socklen_t *ret_len)
{
	return -ENOTCONN;
}

/** Accepted and never answered: the plugin is stopped right after init(), which releases it unanswered. */
static int inert_dns_query(struct rd_host *h, const char *name, enum rd_dns_type type, rd_dns_cb cb, void *ud)
{
	return name && cb ? 0 : -EINVAL;
}

static void fill_inert(struct rd_host_api *api)
{
	api->dns_query = inert_dns_query;
	api->timer_new = inert_timer_new;
	api->timer_start = inert_timer_start;
	api->timer_stop = inert_timer_stop;
	api->timer_free = inert_timer_free;
	api->udp_bind = inert_udp_bind;
	api->udp_send = inert_udp_send;
	api->tcp_listen = inert_tcp_listen;
	api->tcp_send = inert_tcp_send;
	api->sock_close = inert_sock_close;
	api->sock_name = inert_sock_name;
}

static void fill_api(struct hosts *hs)
{
	struct rd_host_api *api = &hs->api;

	*api = (struct rd_host_api){
		.abi_major = RD_PLUGIN_ABI_MAJOR, .abi_minor = RD_PLUGIN_ABI_MINOR, .size = sizeof(*api),
		.log = api_log, .config_string = api_config_string, .config_uint = api_config_uint,
		.config_bool = api_config_bool, .config_list = api_config_list, .config_keys = api_config_keys,
		.config_error = api_config_error, .normalize = api_normalize, .resolve = api_resolve,
		.publish = api_publish, .unpublish = api_unpublish, .now = api_now,
	};
	if (hs->check_only)
		fill_inert(api);
	else
		host_net_fill_api(api);
}

/* ---- the fallback cache ---------------------------------------------------- */

/** A waiting hosts_fallback() caller. */
struct fb_waiter {
	struct fb_waiter *next;
	hosts_fallback_cb cb;
	void *ud;
};

/** The fallback answer of one name, or the call in flight for it. */
struct fb_entry {
	struct map_node node;       /**< key = name */
	char *name;                 /**< owned: the normalized URI */
	struct hosts *hs;           /**< borrowed */
	struct plugin_host *ph;     /**< the plugin asked; NULL once it stopped */
	bool pending;               /**< the plugin has not answered yet */
	int status;                 /**< its answer: 0, -ENOENT, -ETIMEDOUT, -EIO */
	uint64_t at, until;         /**< when it answered; until when the answer is reused */
	struct rd_target *targets;  /**< owned, strings owned */
	size_t n;
	struct fb_waiter *waiters;  /**< owned list, answered when the plugin answers */
};

static void fb_free_targets(struct fb_entry *e)
{
	for (size_t i = 0; i < e->n; i++) {
		free((char *)e->targets[i].url);
		free((char *)e->targets[i].via);
	}
	free(e->targets);
	e->targets = NULL;
	e->n = 0;
}

static void fb_free(struct fb_entry *e)
{
	struct fb_waiter *w = e->waiters;

	while (w) {
		struct fb_waiter *next = w->next;

		free(w);
		w = next;
	}
	fb_free_targets(e);
	free(e->name);
	free(e);
}

/** Answer and free every waiter of @p e. */
static void fb_answer(struct fb_entry *e, int status)
{
	struct fb_waiter *w = e->waiters;

	e->waiters = NULL;
	while (w) {
		struct fb_waiter *next = w->next;

		w->cb(w->ud, status, e->at, status == 0 ? e->targets : NULL, status == 0 ? e->n : 0);
		free(w);
		w = next;
	}
}

/** Keep a deep copy of @p targets. @return 0, -ENOMEM (nothing kept). */
static int fb_keep(struct fb_entry *e, const struct rd_target *targets, size_t n)
{
	if (n > FALLBACK_MAX_TARGETS)
		n = FALLBACK_MAX_TARGETS;
	e->targets = calloc(n ? n : 1, sizeof(*e->targets));
	if (!e->targets)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct rd_target *t = &e->targets[e->n];

		if (!targets[i].url)
			continue;
		*t = targets[i];
		t->url = strdup(targets[i].url);
		t->via = strdup(targets[i].via ? targets[i].via : "");
		e->n++;
		if (!t->url || !t->via) {
			fb_free_targets(e);
			return -ENOMEM;
		}
		if (t->q > RD_Q_MAX)
			t->q = RD_Q_MAX;
	}
	return 0;
}

/** The plugin's rd_fallback_cb. */
static void on_fallback(void *ud, int status, const struct rd_target *targets, size_t n)
{
	struct fb_entry *e = ud;
	uint64_t ttl = FALLBACK_NEGATIVE_TTL;

	if (!e->pending)
		return; /* a second call: the ABI says exactly once; ignore it */
	e->pending = false;
	e->at = cache_now();
	/* Out of memory, the answer is lost as if DNS had failed; no usable target is no server. */
	if (status == 0 && fb_keep(e, targets, n) < 0)
		status = -EIO;
	else if (status == 0 && e->n == 0)
		status = -ENOENT;
	if (status != 0 && status != -ENOENT && status != -ETIMEDOUT && status != -ECANCELED)
		status = -EIO;
	e->status = status;
	for (size_t i = 0; status == 0 && i < e->n; i++)
		ttl = i == 0 || e->targets[i].ttl < ttl ? e->targets[i].ttl : ttl;
	if (status == 0 && ttl > FALLBACK_MAX_TTL)
		ttl = FALLBACK_MAX_TTL;
	e->until = e->at + ttl;
	fb_answer(e, status);
	/* A cancelled answer, or one whose plugin stopped, is not kept. */
	if (status == -ECANCELED || !e->ph || !e->hs->fb_ready) {
		if (e->hs->fb_ready)
			map_remove(&e->hs->fb, &e->node);
		fb_free(e);
	}
}

/** Drop answers past their time, to make room. */
static void fb_sweep(struct hosts *hs, uint64_t now)
{
	size_t cursor = 0;
	struct map_node *n = map_next(&hs->fb, &cursor, NULL);

	while (n) {
		struct map_node *next = map_next(&hs->fb, &cursor, n);
		struct fb_entry *e = (struct fb_entry *)n;

		if (!e->pending && e->until <= now) {
			map_remove(&hs->fb, n);
			fb_free(e);
		}
		n = next;
	}
}

/** The plugin of @p uri's scheme with a fallback that is on, or NULL. Any thread. */
static struct plugin_host *fallback_plugin(const struct hosts *hs, const char *uri)
{
	const char *colon = uri ? strchr(uri, ':') : NULL;

	if (!hs || !colon)
		return NULL;
	/* The last one loaded wins a scheme, as in the normalizer registry. */
	for (size_t i = hs->n_plugins; i-- > 0;) {
		struct plugin_host *ph = hs->plugins[i];

		for (size_t k = 0; ph->lp && ph->lp->vt.schemes[k]; k++) {
			const char *s = ph->lp->vt.schemes[k];

			if (strlen(s) == (size_t)(colon - uri) && strncasecmp(s, uri, (size_t)(colon - uri)) == 0)
				return ph->inited && ph->fallback_on ? ph : NULL;
		}
	}
	return NULL;
}

bool hosts_can_fallback(const struct hosts *hs, const char *uri)
{
	return fallback_plugin(hs, uri) != NULL;
}

/** A new pending entry for @p parts, with the first waiter. @return 0, -ENOMEM, -ENOSPC. */
static int fb_new(struct hosts *hs, struct plugin_host *ph, const char *name, struct fb_waiter *w,
		  struct fb_entry **ret)
{
	struct fb_entry *e;

	if (hs->fb.count >= FALLBACK_MAX_ENTRIES)
		fb_sweep(hs, cache_now());
	if (hs->fb.count >= FALLBACK_MAX_ENTRIES)
		return -ENOSPC;
	e = calloc(1, sizeof(*e));
	if (!e || !(e->name = strdup(name))) {
		free(e);
		return -ENOMEM;
	}
	*e = (struct fb_entry){.name = e->name, .hs = hs, .ph = ph, .pending = true, .waiters = w};
	e->node.key = e->name;
	if (map_put(&hs->fb, &e->node) < 0) {
		e->waiters = NULL;
		fb_free(e);
		return -ENOMEM;
	}
	*ret = e;
	return 0;
}

int hosts_fallback(struct hosts *hs, const struct uri_parts *parts, hosts_fallback_cb cb, void *ud)
{
	struct plugin_host *ph = fallback_plugin(hs, parts->uri);
	struct fb_entry *e;
	struct fb_waiter *w;
	struct rd_name name;
	uint64_t now = cache_now();
	int rc;

	if (!ph || !hs->fb_ready)
		return -ENOTSUP;
	e = (struct fb_entry *)map_get(&hs->fb, parts->uri);
	if (e && !e->pending && now < e->until) {
		cb(ud, e->status, e->at, e->targets, e->status == 0 ? e->n : 0);
		return 0;
	}
	if (!(w = calloc(1, sizeof(*w))))
		return -ENOMEM;
	*w = (struct fb_waiter){.cb = cb, .ud = ud};
	if (e && e->pending) {
		w->next = e->waiters;
		e->waiters = w;
		return 0;
	}
	if (e) {
		map_remove(&hs->fb, &e->node);
		fb_free(e);
	}
	if (copy_field(name.name, sizeof(name.name), parts->uri) < 0 ||
	    copy_field(name.host, sizeof(name.host), parts->host) < 0 ||
	    copy_field(name.instance, sizeof(name.instance), parts->instance) < 0) {
		free(w);
		return -ENOTSUP;
	}
	rc = fb_new(hs, ph, parts->uri, w, &e);
	if (rc < 0) {
		free(w);
		return rc;
	}
	/* The answer may come before fallback() returns: e may be answered (and freed) by then. */
	rc = ph->lp->vt.fallback(ph->lp->state, &name, on_fallback, e);
	if (rc < 0) {
		map_remove(&hs->fb, &e->node);
		fb_free(e);
	}
	return rc;
}

void hosts_fail_waiters(struct hosts *hs)
{
	size_t cursor = 0;
	struct map_node *n;

	if (!hs || !hs->fb_ready)
		return;
	for (n = map_next(&hs->fb, &cursor, NULL); n; n = map_next(&hs->fb, &cursor, n)) {
		struct fb_entry *e = (struct fb_entry *)n;

		if (e->pending)
			fb_answer(e, -ECANCELED);
	}
}

/** Forget the calls @p ph never answered: it is stopped, its callbacks will not come. */
static void fb_detach(struct hosts *hs, struct plugin_host *ph)
{
	size_t cursor = 0;
	struct map_node *n = hs->fb_ready ? map_next(&hs->fb, &cursor, NULL) : NULL;

	while (n) {
		struct map_node *next = map_next(&hs->fb, &cursor, n);
		struct fb_entry *e = (struct fb_entry *)n;

		if (e->ph == ph) {
			if (e->pending)
				fb_answer(e, -ECANCELED);
			map_remove(&hs->fb, n);
			fb_free(e);
		}
		n = next;
	}
}

/* ---- start and stop ---------------------------------------------------------- */

/** deinit() @p ph and release what it holds; keep it loaded (its normalizers may still be registered). */
static void stop_one(struct hosts *hs, struct plugin_host *ph)
{
	if (ph->inited && ph->lp->vt.deinit)
		ph->lp->vt.deinit(ph->lp->state);
	ph->inited = false;
	host_res_release(&ph->h);
	for (struct resolve_op *op = ph->resolves; op; op = op->next)
		op->ph = NULL;
	while (ph->resolves)
		resolve_unlink(ph->resolves);
	fb_detach(hs, ph);
}

static void free_one(struct plugin_host *ph)
{
	while (ph->borrowed) {
		struct borrowed *next = ph->borrowed->next;

		free(ph->borrowed->v);
		free(ph->borrowed);
		ph->borrowed = next;
	}
	plugin_unload(ph->lp);
	free(ph->used);
	free(ph);
}

/** Load @p conf's plugin and add it to @p hs (even on failure, for hosts_stop()). @return 0, -errno (logged). */
static int load_one(struct hosts *hs, const struct config_plugin *conf, struct plugin_host **ret)
{
	struct plugin_host *ph = calloc(1, sizeof(*ph));
	struct plugin_host **arr;
	char *err = NULL;
	int rc;

	if (!ph || !(ph->used = calloc(conf->n_raw + 1, sizeof(*ph->used))) ||
	    !(arr = realloc(hs->plugins, (hs->n_plugins + 1) * sizeof(*arr)))) {
		if (ph)
			free(ph->used);
		free(ph);
		return -ENOMEM;
	}
	hs->plugins = arr;
	rc = plugin_load(conf->name, conf->path, &ph->lp, &err);
	if (rc == -ENOENT && !conf->path && !config_plugin_is_explicit(conf)) {
		/* Only a built-in default: a build or install without this plugin still starts. */
		log_warn(SUBSYS, "%s; skipped", err ? err : conf->name);
		free(err);
		free(ph->used);
		free(ph);
		*ret = NULL;
		return 0;
	}
	if (rc < 0) {
		log_error(SUBSYS, "%s", err ? err : "out of memory");
		free(err);
		free(ph->used);
		free(ph);
		return rc;
	}
	ph->hs = hs;
	ph->conf = conf;
	ph->h.ctx = ph;
	ph->h.loop = hs->ctx.loop;
	ph->h.net = hs->net;
	snprintf(ph->h.name, sizeof(ph->h.name), "%s", conf->name);
	ph->h.tcp_max_connections = conf->tcp_max_connections;
	ph->h.tcp_idle_timeout_ms = conf->tcp_idle_timeout_ms;
	host_res_init(&ph->h);
	hs->plugins[hs->n_plugins++] = ph;
	*ret = ph;
	return 0;
}

/** Load, init and check one plugin. @return 0, -errno (logged). */
static int start_one(struct hosts *hs, const struct config_plugin *conf)
{
	struct plugin_host *ph;
	void *state = NULL;
	int rc = load_one(hs, conf, &ph);

	if (rc < 0 || !ph)
		return rc;
	if (ph->lp->vt.init) {
		rc = ph->lp->vt.init(&hs->api, &ph->h, &state);
		if (rc < 0) {
			log_error(SUBSYS, "plugin %s: init failed: %s", conf->name, strerror(-rc));
			return rc;
		}
	}
	ph->inited = true;
	ph->lp->state = state;
	if (check_unused(ph) < 0 || ph->config_errors) {
		log_error(SUBSYS, "plugin %s: %d configuration error%s", conf->name,
			  ph->config_errors, ph->config_errors == 1 ? "" : "s");
		return -EINVAL;
	}
	ph->fallback_on = ph->lp->vt.fallback && conf->fallback;
	log_info(SUBSYS, "plugin %s: loaded %s (ABI %u.%u, scheme %s%s, fallback %s)", conf->name, ph->lp->path,
		 ph->lp->vt.abi_major, ph->lp->vt.abi_minor, ph->lp->vt.schemes[0],
		 ph->lp->vt.schemes[1] ? ", ..." : "", ph->fallback_on ? "on" : "off");
	return 0;
}

int hosts_start(const struct hosts_ctx *ctx, bool check_only, struct hosts **ret)
{
	const struct rd_config *cfg = ctx->cfg;
	struct hosts *hs = calloc(1, sizeof(*hs));
	int rc;

	if (!hs)
		return -ENOMEM;
	hs->ctx = *ctx;
	hs->check_only = check_only;
	fill_api(hs);
	rc = map_init(&hs->fb);
	if (rc < 0) {
		free(hs);
		return rc;
	}
	hs->fb_ready = true;
	if (!check_only) {
		struct host_net_conf nc = {.servers = (const char *const *)cfg->fallback.servers.v,
					   .n_servers = cfg->fallback.servers.n,
					   .timeout_ms = cfg->fallback.timeout_ms};

		rc = host_net_new(ctx->loop, &nc, &hs->net);
		if (rc < 0) {
			log_error(SUBSYS, "cannot set up DNS for the plugins' fallbacks: %s", strerror(-rc));
			goto out_stop;
		}
	}
	for (size_t i = 0; i < cfg->n_plugins; i++) {
		if (!cfg->plugins[i].enabled)
			continue;
		rc = start_one(hs, &cfg->plugins[i]);
		if (rc < 0)
			goto out_stop;
	}
	*ret = hs;
	return 0;
out_stop:
	hosts_stop(hs);
	return rc;
}

void hosts_stop(struct hosts *hs)
{
	if (!hs)
		return;
	for (size_t i = hs->n_plugins; i-- > 0;)
		stop_one(hs, hs->plugins[i]);
	/* No thread normalizes any more: the registry may forget the plugins' code before it goes. */
	uri_clear_normalizers();
	for (size_t i = hs->n_plugins; i-- > 0;)
		free_one(hs->plugins[i]);
	free(hs->plugins);
	host_net_free(hs->net);
	if (hs->fb_ready) {
		size_t cursor = 0;
		struct map_node *n = map_next(&hs->fb, &cursor, NULL);

		while (n) {
			struct map_node *next = map_next(&hs->fb, &cursor, n);

			map_remove(&hs->fb, n);
			fb_free((struct fb_entry *)n);
			n = next;
		}
		map_deinit(&hs->fb);
	}
	free(hs);
}
