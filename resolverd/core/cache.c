/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The resolver cache: per-name sets of verified records, kept live by OpenDHT listens. */
#include "resolverd/core/cache.h"

#include <errno.h>
#include <stdio.h>
#include <sys/types.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "resolverd/core/log.h"
#include "resolverd/core/map.h"
#include "resolverd/core/merge.h"

/** A record held by an entry, with the id of its bytes. */
struct held {
	struct record *rec; /**< owned, verified */
	uint64_t wire_id;   /**< record_value_id() of its bytes (for de-duplication) */
};

/** A lookup waiting for its entry to become ready. */
struct waiter {
	struct waiter *next;
	cache_view_cb cb;
	void *ud;
};

struct cache_entry {
	struct map_node node;          /**< key = mapkey */
	struct cache *cache;           /**< back pointer */
	enum record_kind kind;
	char *mapkey;                  /**< owned: "<kind>/<name>" */
	char *uri;                     /**< owned: the name */
	char *host;                    /**< owned, may be NULL */
	uint8_t key[RECORD_KEY_LEN];   /**< DHT key of the binding name */
	struct held *held;             /**< owned array */
	size_t n_held;
	struct overlay_op *get_op;     /**< initial fetch, until ready */
	struct overlay_op *listen_op;  /**< live updates */
	uv_timer_t deadline;           /**< fires get_timeout_ms after creation */
	bool ready;                    /**< answered once (get done or deadline) */
	struct waiter *waiters;        /**< owned list */
	uint64_t last_used_ms;         /**< uv_now() of the last lookup */
	struct cache_entry *lru_prev;  /**< towards most recently used */
	struct cache_entry *lru_next;  /**< towards least recently used */
};

struct cache {
	struct rd_loop *loop;
	struct overlay *ov;
	const struct policy *policy;
	struct cache_conf conf;
	struct map entries;
	struct cache_entry *lru_head;  /**< most recently used */
	struct cache_entry *lru_tail;  /**< least recently used */
	uv_timer_t sweep;              /**< once a second: expiry and idle entries */
	cache_seed_fn seed;
	void *seed_ud;
	cache_view_cb observer;
	void *observer_ud;
	const struct record **scratch; /**< merge input/output, grown as needed */
	size_t scratch_cap;
	struct cache_stats stats;
	uint64_t last_sweep;           /**< unix second of the previous sweep */
};

uint64_t cache_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec;
}

static void lru_unlink(struct cache *c, struct cache_entry *e)
{
	if (e->lru_prev)
		e->lru_prev->lru_next = e->lru_next;
	else
		c->lru_head = e->lru_next;
	if (e->lru_next)
		e->lru_next->lru_prev = e->lru_prev;
	else
		c->lru_tail = e->lru_prev;
	e->lru_prev = e->lru_next = NULL;
}

static void lru_push_front(struct cache *c, struct cache_entry *e)
{
	e->lru_prev = NULL;
	e->lru_next = c->lru_head;
	if (c->lru_head)
		c->lru_head->lru_prev = e;
	c->lru_head = e;
	if (!c->lru_tail)
		c->lru_tail = e;
}

static void on_entry_closed(uv_handle_t *handle)
{
	struct cache_entry *e = handle->data;
	for (size_t i = 0; i < e->n_held; i++)
		record_free(e->held[i].rec);
	free(e->held);
	free(e->mapkey);
	free(e->uri);
	free(e->host);
	free(e);
}

static void fail_entry_waiters(struct cache_entry *e)
{
	struct waiter *w = e->waiters;
	e->waiters = NULL;
	while (w) {
		struct waiter *next = w->next;
		w->cb(w->ud, NULL);
		free(w);
		w = next;
	}
}

/* Unlink and release an entry; its memory goes when the timer handle is closed. */
static void entry_drop(struct cache *c, struct cache_entry *e)
{
	fail_entry_waiters(e);
	overlay_op_cancel(e->get_op);
	overlay_op_cancel(e->listen_op);
	e->get_op = e->listen_op = NULL;
	map_remove(&c->entries, &e->node);
	lru_unlink(c, e);
	c->stats.entries--;
	uv_close((uv_handle_t *)&e->deadline, on_entry_closed);
}

static int scratch_reserve(struct cache *c, size_t n)
{
	if (n <= c->scratch_cap)
		return 0;
	size_t cap = c->scratch_cap ? c->scratch_cap : 16;
	while (cap < n)
		cap *= 2;
	/* input and output halves */
	const struct record **s = realloc(c->scratch, 2 * cap * sizeof(*s));
	if (!s)
		return -ENOMEM;
	c->scratch = s;
	c->scratch_cap = cap;
	return 0;
}

/* Compute the entry's current view and hand it to @p cb. */
static void entry_view(struct cache *c, struct cache_entry *e, const char *source, cache_view_cb cb,
		       void *ud)
{
	struct cache_view view = {.kind = e->kind, .uri = e->uri, .host = e->host, .source = source,
				  .now = cache_now()};
	if (scratch_reserve(c, e->n_held) == 0) {
		const struct record **in = c->scratch, **out = c->scratch + c->scratch_cap;
		for (size_t i = 0; i < e->n_held; i++)
			in[i] = e->held[i].rec;
		view.n = merge_bindings((const struct record *const *)in, e->n_held, view.now,
					c->conf.max_bindings, out);
		view.bindings = (const struct record *const *)out;
	}
	cb(ud, &view);
}

static void notify(struct cache *c, struct cache_entry *e)
{
	if (e->ready && c->observer)
		entry_view(c, e, "cache", c->observer, c->observer_ud);
}

static void remove_held(struct cache_entry *e, size_t i)
{
	record_free(e->held[i].rec);
	e->held[i] = e->held[--e->n_held];
}

/*
 * An entry keeps one record per device: the newest, even once expired, so
 * that an older record still lingering in the DHT (OpenDHT keeps a value up
 * to ten minutes after its last announce) can never come back. Expired
 * winners are dropped after that window, or sooner when the entry is full.
 */
#define LINGER_S (11 * 60)

static void compact(struct cache_entry *e, uint64_t now, bool full)
{
	for (size_t i = 0; i < e->n_held;) {
		uint64_t exp = e->held[i].rec->expires;
		if (exp + LINGER_S <= now || (full && exp <= now))
			remove_held(e, i);
		else
			i++;
	}
}

static ssize_t find_device(const struct cache_entry *e, const struct record *rec)
{
	for (size_t i = 0; i < e->n_held; i++) {
		const struct record *o = e->held[i].rec;
		if (memcmp(o->publisher, rec->publisher, KEYS_PUB_LEN) == 0 &&
		    strcmp(o->instance, rec->instance) == 0)
			return (ssize_t)i;
	}
	return -1;
}

static bool already_held(const struct cache_entry *e, uint64_t wire_id)
{
	for (size_t i = 0; i < e->n_held; i++)
		if (e->held[i].wire_id == wire_id)
			return true;
	return false;
}

/* Decode, verify, authorize and keep one value. @return true if the entry changed. */
static bool admit(struct cache *c, struct cache_entry *e, const uint8_t *wire,
		  size_t len, uint64_t now, bool verified)
{
	uint64_t wire_id = record_value_id(wire, len);
	if (already_held(e, wire_id))
		return false;
	struct record *rec = NULL;
	int rc = verified ? record_decode_trusted(wire, len, &rec) : record_decode(wire, len, &rec);
	if (rc < 0) {
		if (rc == -EKEYREJECTED)
			c->stats.dropped_signature++;
		else
			c->stats.dropped_malformed++;
		return false;
	}
	/* A valid record stored under this key for another name says nothing about this one. */
	if (rec->kind != e->kind || strcmp(rec->uri, e->uri) != 0) {
		c->stats.dropped_name++;
		goto out_free;
	}
	if (policy_check(c->policy, rec, e->host, now) < 0) {
		c->stats.dropped_policy++;
		goto out_free;
	}
	ssize_t dev = find_device(e, rec);
	if (dev >= 0 && !merge_supersedes(rec, e->held[dev].rec))
		goto out_free; /* an older version of a device we know: nothing new */
	if (dev < 0 && rec->expires <= now) {
		c->stats.dropped_expired++;
		goto out_free;
	}
	struct held h = {.rec = rec, .wire_id = wire_id};
	c->stats.accepted++;
	if (dev >= 0) {
		record_free(e->held[dev].rec);
		e->held[dev] = h;
		return true;
	}
	if (e->n_held >= c->conf.max_values_per_key)
		compact(e, now, true);
	if (e->n_held >= c->conf.max_values_per_key) {
		c->stats.accepted--;
		c->stats.dropped_overflow++;
		goto out_free;
	}
	e->held[e->n_held++] = h;
	return true;

out_free:
	record_free(rec);
	return false;
}

static void on_values(void *ud, const struct overlay_value *vals, size_t n, bool expired)
{
	struct cache_entry *e = ud;
	struct cache *c = e->cache;
	uint64_t now = cache_now();
	bool changed = false;
	/*
	 * Expiry notices from the DHT are ignored: a record lives until its own
	 * signed expiry (the sweep drops it then), and forgetting a device's
	 * newest version on a peer's word would let a replayed older one in.
	 */
	if (expired)
		return;
	for (size_t i = 0; i < n; i++)
		changed |= admit(c, e, vals[i].data, vals[i].len, now, false);
	if (changed)
		notify(c, e);
}

static void become_ready(struct cache_entry *e)
{
	if (e->ready)
		return;
	e->ready = true;
	uv_timer_stop(&e->deadline);
	overlay_op_cancel(e->get_op);
	e->get_op = NULL;
	struct waiter *w = e->waiters;
	e->waiters = NULL;
	while (w) {
		struct waiter *next = w->next;
		entry_view(e->cache, e, "dht", w->cb, w->ud);
		free(w);
		w = next;
	}
	notify(e->cache, e);
}

static void on_get_done(void *ud, bool ok)
{
	become_ready(ud);
}

static void on_deadline(uv_timer_t *timer)
{
	become_ready(timer->data);
}

static void evict_lru(struct cache *c)
{
	for (struct cache_entry *e = c->lru_tail; e; e = e->lru_prev) {
		if (!e->waiters) {
			entry_drop(c, e);
			return;
		}
	}
}

static int entry_start(struct cache *c, struct cache_entry *e)
{
	int rc = uv_timer_init(&c->loop->uv, &e->deadline);
	if (rc < 0)
		return rc;
	e->deadline.data = e;
	rc = map_put(&c->entries, &e->node);
	if (rc < 0) {
		uv_close((uv_handle_t *)&e->deadline, on_entry_closed);
		return rc;
	}
	lru_push_front(c, e);
	c->stats.entries++;
	if (overlay_listen(c->ov, e->key, on_values, e, &e->listen_op) < 0 ||
	    overlay_get(c->ov, e->key, on_values, on_get_done, e, &e->get_op) < 0) {
		entry_drop(c, e);
		return -ENOMEM;
	}
	uv_timer_start(&e->deadline, on_deadline, c->conf.get_timeout_ms, 0);
	if (c->seed)
		c->seed(c->seed_ud, c, e->kind, e->uri);
	return 0;
}

/* Lookups build the key on the stack: the DNS hot path makes no allocation. */
static struct cache_entry *find_entry(const struct cache *c, enum record_kind kind, const char *name)
{
	char key[RECORD_KIND_KEY_MAX];
	if (record_kind_key(kind, name, key, sizeof(key)) < 0)
		return NULL;
	return (struct cache_entry *)map_get(&c->entries, key);
}

static struct cache_entry *entry_new(struct cache *c, const struct cache_name *n)
{
	struct cache_entry *e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->cache = c;
	e->kind = n->kind;
	char key[RECORD_KIND_KEY_MAX];
	if (record_kind_key(n->kind, n->name, key, sizeof(key)) == 0)
		e->mapkey = strdup(key);
	e->uri = strdup(n->name);
	e->host = n->host && *n->host ? strdup(n->host) : NULL;
	e->held = calloc(c->conf.max_values_per_key, sizeof(*e->held));
	if (!e->mapkey || !e->uri || (n->host && *n->host && !e->host) || !e->held) {
		free(e->mapkey);
		free(e->uri);
		free(e->host);
		free(e->held);
		free(e);
		return NULL;
	}
	e->node.key = e->mapkey;
	record_dht_key(n->kind, e->uri, e->key);
	if (c->stats.entries >= c->conf.max_entries)
		evict_lru(c);
	/* entry_start() releases e itself when it fails. */
	return entry_start(c, e) < 0 ? NULL : e;
}

static void touch(struct cache *c, struct cache_entry *e)
{
	e->last_used_ms = uv_now(&c->loop->uv);
	lru_unlink(c, e);
	lru_push_front(c, e);
}

int cache_lookup_ready(struct cache *c, const struct cache_name *n, cache_view_cb cb, void *ud)
{
	struct cache_entry *e = find_entry(c, n->kind, n->name);
	if (!e || !e->ready)
		return -EAGAIN;
	touch(c, e);
	c->stats.hits++;
	entry_view(c, e, "cache", cb, ud);
	return 0;
}

int cache_lookup(struct cache *c, const struct cache_name *n, cache_view_cb cb, void *ud)
{
	int rc = cache_lookup_ready(c, n, cb, ud);
	if (rc != -EAGAIN)
		return rc;
	if (strlen(n->name) > URI_MAX_LEN)
		return -EINVAL;
	struct cache_entry *e = find_entry(c, n->kind, n->name);
	if (!e && !(e = entry_new(c, n)))
		return -ENOMEM;
	touch(c, e);
	struct waiter *w = malloc(sizeof(*w));
	if (!w)
		return -ENOMEM;
	c->stats.misses++;
	*w = (struct waiter){.next = e->waiters, .cb = cb, .ud = ud};
	e->waiters = w;
	return 0;
}

void cache_offer(struct cache *c, enum record_kind kind, const char *name, const uint8_t *wire,
		 size_t len)
{
	struct cache_entry *e = find_entry(c, kind, name);
	if (e && admit(c, e, wire, len, cache_now(), true))
		notify(c, e);
}

/* Once a second: drop expired records (and tell the observer), drop idle entries. */
static void on_sweep(uv_timer_t *timer)
{
	struct cache *c = timer->data;
	uint64_t now = cache_now(), now_ms = uv_now(&c->loop->uv);
	uint64_t idle_ms = (uint64_t)c->conf.idle_s * 1000;
	if (c->last_sweep == 0)
		c->last_sweep = now - 1;
	size_t cursor = 0;
	struct map_node *n = map_next(&c->entries, &cursor, NULL);
	while (n) {
		struct map_node *next = map_next(&c->entries, &cursor, n);
		struct cache_entry *e = (struct cache_entry *)n;
		if (!e->waiters && now_ms - e->last_used_ms >= idle_ms) {
			entry_drop(c, e);
		} else {
			/* A record that expired since the last sweep changes the view. */
			bool changed = false;
			for (size_t i = 0; i < e->n_held; i++) {
				uint64_t exp = e->held[i].rec->expires;
				changed |= exp <= now && exp > c->last_sweep;
			}
			compact(e, now, false);
			if (changed)
				notify(c, e);
		}
		n = next;
	}
	c->last_sweep = now;
}

struct cache *cache_new(struct rd_loop *loop, struct overlay *ov, const struct policy *policy,
			const struct cache_conf *conf)
{
	struct cache *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->loop = loop;
	c->ov = ov;
	c->policy = policy;
	c->conf = *conf;
	if (map_init(&c->entries) < 0)
		goto out_free;
	if (uv_timer_init(&loop->uv, &c->sweep) < 0)
		goto out_map;
	c->sweep.data = c;
	uv_timer_start(&c->sweep, on_sweep, 1000, 1000);
	return c;

out_map:
	map_deinit(&c->entries);
out_free:
	free(c);
	return NULL;
}

static void on_cache_closed(uv_handle_t *handle)
{
	struct cache *c = handle->data;
	map_deinit(&c->entries);
	free(c->scratch);
	free(c);
}

void cache_free(struct cache *c)
{
	if (!c)
		return;
	while (c->lru_head)
		entry_drop(c, c->lru_head);
	uv_close((uv_handle_t *)&c->sweep, on_cache_closed);
}

void cache_set_seed(struct cache *c, cache_seed_fn fn, void *ud)
{
	c->seed = fn;
	c->seed_ud = ud;
}

void cache_set_observer(struct cache *c, cache_view_cb fn, void *ud)
{
	c->observer = fn;
	c->observer_ud = ud;
}

void cache_get_stats(const struct cache *c, struct cache_stats *ret)
{
	*ret = c->stats;
}

void cache_fail_waiters(struct cache *c)
{
	for (struct cache_entry *e = c->lru_head; e; e = e->lru_next)
		fail_entry_waiters(e);
}
