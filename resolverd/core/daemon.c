/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The daemon's assembly: start every subsystem in order, run the loop, stop them in reverse. */
#include "resolverd/core/daemon.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "resolverd/core/cache.h"
#include "resolverd/core/keys.h"
#include "resolverd/core/log.h"
#include "resolverd/core/loop.h"
#include "resolverd/core/policy.h"
#include "resolverd/core/publisher.h"
#include "resolverd/core/state.h"
#include "resolverd/core/tokens.h"
#include "resolverd/dns/server.h"
#include "resolverd/host/host_api.h"
#include "resolverd/http/http.h"
#include "resolverd/overlay/overlay.h"

/*
 * DESIGN
 * The main thread is the loop thread. Start-up order: state_dir, node key,
 * tokens and policy (pure data), then the loop, the overlay, the cache, the
 * publisher (which re-announces what the journal holds), the plugins (their
 * normalizers must be registered before anything normalizes a name), the
 * DNS server and last the HTTP servers, so nothing is served before the core
 * can answer. Shutdown runs in reverse: HTTP first (pending requests get 503
 * and are sent), DNS, the plugins (deinit, their timers, sockets and queries
 * released, dlclose), then the cache (cancelling its listens), the publisher, the overlay (joining
 * OpenDHT's threads, after which nothing posts to the loop) and the loop.
 */

static const char *const SUBSYS = "daemon";
#define SAVE_NODES_MS (60 * 1000)

struct daemon {
	const struct rd_config *cfg;
	struct keypair key;
	struct tokens *tokens;
	struct policy *policy;
	struct rd_loop loop;
	bool loop_ready;
	struct overlay *overlay;
	struct cache *cache;
	struct publisher *publisher;
	struct hosts *hosts;
	struct dns_server *dns;
	struct http_server *http;
	uv_signal_t sigint, sigterm;
	uv_timer_t save_nodes;
};

static int load_key(struct daemon *d)
{
	char *path = state_path(d->cfg->state_dir, "node.key");
	if (!path)
		return -ENOMEM;
	int rc = keys_load_or_create(path, &d->key);
	if (rc == -EPERM)
		log_error(SUBSYS, "%s can be read by group or others; refusing to start (chmod 600 it)", path);
	else if (rc < 0)
		log_error(SUBSYS, "cannot load or create %s: %s", path, strerror(-rc));
	free(path);
	return rc;
}

static int load_tokens(struct daemon *d)
{
	if (!(d->tokens = tokens_new()))
		return -ENOMEM;
	char *admin = NULL;
	int rc = tokens_admin_load_or_create(d->cfg->state_dir, &admin);
	if (rc < 0) {
		log_error(SUBSYS, "%s/admin.token: %s%s", d->cfg->state_dir, strerror(-rc),
			  rc == -EPERM ? " (group or others can read it; chmod 600 it)" : "");
		return rc;
	}
	static const char *const all[] = {"*"};
	rc = tokens_add(d->tokens, "admin", admin, all, 1);
	OPENSSL_cleanse(admin, strlen(admin));
	free(admin);
	for (size_t i = 0; rc == 0 && i < d->cfg->http.n_tokens; i++) {
		const struct config_token *t = &d->cfg->http.tokens[i];
		rc = tokens_add(d->tokens, t->name, t->token, (const char *const *)t->scopes.v, t->scopes.n);
	}
	return rc;
}

static int load_policy(struct daemon *d)
{
	if (!(d->policy = policy_new((enum policy_mode)d->cfg->policy.default_mode)))
		return -ENOMEM;
	for (size_t i = 0; i < d->cfg->policy.n_domains; i++) {
		const struct config_domain *dom = &d->cfg->policy.domains[i];
		for (size_t k = 0; k < dom->keys.n; k++) {
			uint8_t pub[KEYS_PUB_LEN];
			int rc = keys_pub_from_hex(dom->keys.v[k], pub);
			if (rc == 0)
				rc = policy_add_domain_key(d->policy, dom->name, pub);
			if (rc < 0)
				return rc;
		}
	}
	return 0;
}

static int start_overlay(struct daemon *d)
{
	struct sockaddr_storage ss;
	socklen_t len = 0;
	int rc = config_parse_endpoint(d->cfg->dht.listen, &ss, &len);
	if (rc < 0)
		return rc;
	struct overlay_conf oc = {
		.listen = (struct sockaddr *)&ss, .listen_len = len, .network = d->cfg->dht.network,
		.bootstrap = (const char *const *)d->cfg->dht.bootstrap.v, .n_bootstrap = d->cfg->dht.bootstrap.n,
		.state_dir = d->cfg->state_dir, .max_value_size = d->cfg->dht.max_record_size,
	};
	rc = overlay_new(&oc, &d->loop, &d->overlay);
	if (rc < 0)
		log_error(SUBSYS, "cannot start the overlay on %s: %s", d->cfg->dht.listen, strerror(-rc));
	return rc;
}

static int start_core(struct daemon *d)
{
	const struct rd_config *cfg = d->cfg;
	struct cache_conf cc = {
		.max_entries = cfg->cache.max_entries, .idle_s = cfg->cache.idle_s,
		.max_values_per_key = cfg->resolve.max_values_per_key, .max_bindings = cfg->resolve.max_bindings,
		.get_timeout_ms = cfg->dht.get_timeout_ms,
	};
	if (!(d->cache = cache_new(&d->loop, d->overlay, d->policy, &cc)))
		return -ENOMEM;
	struct publisher_conf pc = {.state_dir = cfg->state_dir, .max_publications = cfg->publish.max_publications,
				    .max_record_size = cfg->dht.max_record_size};
	int rc = publisher_new(&d->loop, d->overlay, d->cache, &d->key, d->policy, &pc, &d->publisher);
	if (rc < 0)
		return rc;
	cache_set_seed(d->cache, publisher_seed, d->publisher);
	struct hosts_ctx hx = {.cfg = cfg, .loop = &d->loop, .cache = d->cache, .publisher = d->publisher};
	if ((rc = hosts_start(&hx, false, &d->hosts)) < 0)
		return rc;
	if ((rc = dns_server_start(&d->loop, d->cache, cfg, &d->dns)) < 0)
		return rc;
	struct http_ctx hc = {
		.loop = &d->loop, .cache = d->cache, .publisher = d->publisher, .overlay = d->overlay,
		.tokens = d->tokens, .cfg = cfg, .key = &d->key, .dns = d->dns, .hosts = d->hosts,
		.started = cache_now(),
	};
	if ((rc = http_start(&hc, &d->http)) < 0)
		return rc;
	cache_set_observer(d->cache, http_on_cache_change, d->http);
	return 0;
}

static void on_signal(uv_signal_t *handle, int signum)
{
	log_info(SUBSYS, "signal %d: stopping", signum);
	uv_stop(handle->loop);
}

static void on_save_nodes(uv_timer_t *timer)
{
	struct daemon *d = timer->data;
	int rc = overlay_save_nodes(d->overlay);
	if (rc < 0)
		log_warn(SUBSYS, "cannot save the routing table: %s", strerror(-rc));
}

static void start_housekeeping(struct daemon *d)
{
	uv_signal_init(&d->loop.uv, &d->sigint);
	uv_signal_init(&d->loop.uv, &d->sigterm);
	uv_signal_start(&d->sigint, on_signal, SIGINT);
	uv_signal_start(&d->sigterm, on_signal, SIGTERM);
	uv_timer_init(&d->loop.uv, &d->save_nodes);
	d->save_nodes.data = d;
	uv_timer_start(&d->save_nodes, on_save_nodes, SAVE_NODES_MS, SAVE_NODES_MS);
}

static void stop_all(struct daemon *d)
{
	http_stop(d->http);
	dns_server_stop(d->dns);
	hosts_stop(d->hosts);
	cache_free(d->cache);
	publisher_free(d->publisher);
	overlay_free(d->overlay);
	if (d->loop_ready) {
		if (uv_is_active((uv_handle_t *)&d->save_nodes) || d->save_nodes.data) {
			uv_close((uv_handle_t *)&d->sigint, NULL);
			uv_close((uv_handle_t *)&d->sigterm, NULL);
			uv_close((uv_handle_t *)&d->save_nodes, NULL);
		}
		loop_deinit(&d->loop);
	}
	policy_free(d->policy);
	tokens_free(d->tokens);
	keys_deinit(&d->key);
}

int daemon_run(const struct rd_config *cfg)
{
	struct daemon d = {.cfg = cfg};
	signal(SIGPIPE, SIG_IGN);
	int rc = state_dir_prepare(cfg->state_dir);
	if (rc < 0) {
		log_error(SUBSYS, "state_dir %s: %s", cfg->state_dir, strerror(-rc));
		return rc;
	}
	int stale = state_dir_clean(cfg->state_dir);
	if (stale > 0)
		log_warn(SUBSYS, "removed %d temp files left by an interrupted write in %s", stale, cfg->state_dir);
	if ((rc = load_key(&d)) < 0 || (rc = load_tokens(&d)) < 0 || (rc = load_policy(&d)) < 0)
		goto out_stop;
	if ((rc = loop_init(&d.loop)) < 0)
		goto out_stop;
	d.loop_ready = true;
	if ((rc = start_overlay(&d)) < 0 || (rc = start_core(&d)) < 0)
		goto out_stop;
	start_housekeeping(&d);
	char pub[KEYS_PUB_HEX_LEN + 1];
	keys_pub_to_hex(d.key.pub, pub);
	log_info(SUBSYS, "resolverd ready: node key %s, state in %s", pub, cfg->state_dir);
	uv_run(&d.loop.uv, UV_RUN_DEFAULT);
	rc = 0;
out_stop:
	if (rc < 0 && rc != -EPERM)
		log_error(SUBSYS, "start-up failed: %s", strerror(-rc));
	stop_all(&d);
	return rc;
}
