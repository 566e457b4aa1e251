/* SPDX-License-Identifier: GPL-3.0-or-later */
/* This node's own publications: signing, the on-disk journal, re-announcement and tombstones. */
#include "resolverd/core/publisher.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <unistd.h>

#include "resolverd/core/log.h"
#include "resolverd/core/map.h"
#include "resolverd/core/state.h"

#define JOURNAL_NAME "publications.log"
#define JOURNAL_MAGIC "RDPUBv1\n"
#define JOURNAL_MAGIC_LEN 8
#define JOURNAL_MAX_SIZE ((size_t)1 << 30)

/** One kept-alive record. */
struct publication {
	struct map_node node;             /**< in by_id; key = id */
	char *id;                         /**< owned "uri \x1f instance \x1f publisher-hex" */
	struct record *rec;               /**< owned, verified */
	uint8_t dht_key[RECORD_KEY_LEN];
	uint64_t value_id;
	struct publication *group_next;   /**< next publication of the same uri */
};

/** All publications of one name, for seeding cache entries. */
struct uri_group {
	struct map_node node;       /**< in by_uri; key = group_key() */
	char *uri;                  /**< owned: the group key */
	struct publication *head;   /**< borrowed from by_id */
};

struct publisher {
	struct rd_loop *loop;
	struct overlay *ov;
	struct cache *cache;
	const struct keypair *key;
	const struct policy *policy;
	unsigned max_publications;
	size_t max_record_size;     /**< dht.max_record_size */
	char *journal_path;         /**< owned */
	int journal_fd;             /**< O_APPEND, or -1 */
	size_t journal_entries;     /**< entries in the file, live or not */
	struct map by_id;
	struct map by_uri;
	uv_timer_t sweep;           /**< once a second: expiry */
};

static const char *const SUBSYS = "publisher";

static uint64_t now_us(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return (uint64_t)tv.tv_sec * 1000000u + (uint64_t)tv.tv_usec;
}

static char *make_id(enum record_kind kind, const char *uri, const char *instance,
		     const uint8_t pub[KEYS_PUB_LEN])
{
	char hex[KEYS_PUB_HEX_LEN + 1];
	keys_pub_to_hex(pub, hex);
	char *id = NULL;
	return asprintf(&id, "%d\x1f%s\x1f%s\x1f%s", (int)kind, uri, instance, hex) < 0 ? NULL : id;
}

/* The group key of a name: record_kind_key(), as in the cache. */
static char *group_key(enum record_kind kind, const char *name)
{
	char key[RECORD_KIND_KEY_MAX];
	return record_kind_key(kind, name, key, sizeof(key)) == 0 ? strdup(key) : NULL;
}

static struct publication *find(const struct publisher *p, enum record_kind kind, const char *uri,
				const char *instance, const uint8_t pub[KEYS_PUB_LEN])
{
	char *id = make_id(kind, uri, instance, pub);
	if (!id)
		return NULL;
	struct publication *pb = (struct publication *)map_get(&p->by_id, id);
	free(id);
	return pb;
}

/* ---- journal ---------------------------------------------------------- */

static int buf_reserve(uint8_t **buf, size_t *cap, size_t need)
{
	if (need > *cap) {
		size_t c = *cap ? *cap : 4096;
		while (c < need)
			c *= 2;
		uint8_t *b = realloc(*buf, c);
		if (!b)
			return -ENOMEM;
		*buf = b;
		*cap = c;
	}
	return 0;
}

static int append_entry(uint8_t **buf, size_t *len, size_t *cap, const struct record *rec)
{
	size_t need = *len + 2 + rec->wire_len;
	if (buf_reserve(buf, cap, need) < 0)
		return -ENOMEM;
	(*buf)[*len] = (uint8_t)(rec->wire_len >> 8);
	(*buf)[*len + 1] = (uint8_t)rec->wire_len;
	memcpy(*buf + *len + 2, rec->wire, rec->wire_len);
	*len = need;
	return 0;
}

/* Write every live publication to a fresh journal, atomically, and reopen it for appending. */
static int journal_compact(struct publisher *p)
{
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0, count = 0;
	int rc = 0;
	if ((rc = buf_reserve(&buf, &cap, JOURNAL_MAGIC_LEN)) < 0)
		goto out_free;
	memcpy(buf, JOURNAL_MAGIC, JOURNAL_MAGIC_LEN);
	len = JOURNAL_MAGIC_LEN;
	size_t cursor = 0;
	for (struct map_node *n = map_next(&p->by_id, &cursor, NULL); n; n = map_next(&p->by_id, &cursor, n)) {
		if ((rc = append_entry(&buf, &len, &cap, ((struct publication *)n)->rec)) < 0)
			goto out_free;
		count++;
	}
	if ((rc = state_write_atomic(p->journal_path, buf, len, 0600)) < 0)
		goto out_free;
	if (p->journal_fd >= 0)
		close(p->journal_fd);
	p->journal_fd = open(p->journal_path, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (p->journal_fd < 0)
		rc = -errno;
	p->journal_entries = count;
out_free:
	free(buf);
	return rc;
}

static int journal_append(struct publisher *p, const struct record *rec)
{
	uint8_t hdr[2] = {(uint8_t)(rec->wire_len >> 8), (uint8_t)rec->wire_len};
	struct iovec iov[2] = {{hdr, 2}, {(void *)rec->wire, rec->wire_len}};
	ssize_t n = writev(p->journal_fd, iov, 2);
	if (n < 0)
		return -errno;
	if ((size_t)n != 2 + rec->wire_len)
		return -EIO;
	if (fdatasync(p->journal_fd) < 0)
		return -errno;
	p->journal_entries++;
	return 0;
}

/*
 * Compact once the file holds mostly superseded entries. Only call this once
 * the record just appended is in by_id: compaction writes by_id, not the file.
 */
static void journal_maybe_compact(struct publisher *p)
{
	if (p->journal_entries <= 2 * p->by_id.count + 64)
		return;
	int rc = journal_compact(p);
	/* The entry is already durable in the old file, which is intact when compaction fails. */
	if (rc < 0)
		log_warn(SUBSYS, "cannot compact %s: %s", p->journal_path, strerror(-rc));
}

/* ---- the publication set ---------------------------------------------- */

static struct uri_group *group_find(const struct publisher *p, enum record_kind kind, const char *name)
{
	char key[RECORD_KIND_KEY_MAX];
	if (record_kind_key(kind, name, key, sizeof(key)) < 0)
		return NULL;
	return (struct uri_group *)map_get(&p->by_uri, key);
}

static void group_unlink(struct publisher *p, struct publication *pb)
{
	struct uri_group *g = group_find(p, pb->rec->kind, pb->rec->uri);
	if (!g)
		return;
	for (struct publication **it = &g->head; *it; it = &(*it)->group_next) {
		if (*it == pb) {
			*it = pb->group_next;
			break;
		}
	}
	if (!g->head) {
		map_remove(&p->by_uri, &g->node);
		free(g->uri);
		free(g);
	}
}

static int group_link(struct publisher *p, struct publication *pb)
{
	struct uri_group *g = group_find(p, pb->rec->kind, pb->rec->uri);
	if (!g) {
		g = calloc(1, sizeof(*g));
		if (!g || !(g->uri = group_key(pb->rec->kind, pb->rec->uri))) {
			free(g);
			return -ENOMEM;
		}
		g->node.key = g->uri;
		if (map_put(&p->by_uri, &g->node) < 0) {
			free(g->uri);
			free(g);
			return -ENOMEM;
		}
	}
	pb->group_next = g->head;
	g->head = pb;
	return 0;
}

static void publication_free(struct publication *pb)
{
	record_free(pb->rec);
	free(pb->id);
	free(pb);
}

static void publication_remove(struct publisher *p, struct publication *pb, bool cancel_put)
{
	if (cancel_put && p->ov)
		overlay_cancel_put(p->ov, pb->dht_key, pb->value_id);
	group_unlink(p, pb);
	map_remove(&p->by_id, &pb->node);
	publication_free(pb);
}

/* Take ownership of @p rec, replacing an older version of the same device. */
static int publication_insert(struct publisher *p, struct record *rec, bool announce)
{
	struct publication *pb = calloc(1, sizeof(*pb));
	if (!pb)
		return -ENOMEM;
	pb->id = make_id(rec->kind, rec->uri, rec->instance, rec->publisher);
	if (!pb->id) {
		free(pb);
		return -ENOMEM;
	}
	struct publication *old = (struct publication *)map_get(&p->by_id, pb->id);
	pb->rec = rec;
	pb->node.key = pb->id;
	record_dht_key(rec->kind, rec->uri, pb->dht_key);
	pb->value_id = record_value_id(rec->wire, rec->wire_len);
	if (old)
		publication_remove(p, old, true);
	if (map_put(&p->by_id, &pb->node) < 0 || group_link(p, pb) < 0) {
		map_remove(&p->by_id, &pb->node);
		pb->rec = NULL;
		publication_free(pb);
		return -ENOMEM;
	}
	if (announce)
		overlay_put(p->ov, pb->dht_key, pb->value_id, rec->wire, rec->wire_len, true);
	if (p->cache)
		cache_offer(p->cache, rec->kind, rec->uri, rec->wire, rec->wire_len);
	return 0;
}

/* Persist then announce a verified record; takes ownership of @p rec in every case. */
static int store(struct publisher *p, struct record *rec, const struct record **ret_rec)
{
	struct publication *old = find(p, rec->kind, rec->uri, rec->instance, rec->publisher);
	if (!old && p->by_id.count >= p->max_publications) {
		record_free(rec);
		return -ENOSPC;
	}
	int rc = journal_append(p, rec);
	if (rc < 0) {
		log_error(SUBSYS, "cannot write %s: %s", p->journal_path, strerror(-rc));
		record_free(rec);
		return -EIO;
	}
	rc = publication_insert(p, rec, true);
	if (rc < 0) {
		record_free(rec);
		return rc;
	}
	journal_maybe_compact(p);
	*ret_rec = rec;
	return 0;
}

/* ---- loading ---------------------------------------------------------- */

/* @return 0, or <0 if the entry does not decode and verify. */
static int load_one(struct publisher *p, const uint8_t *wire, size_t len, uint64_t now)
{
	struct record *rec = NULL;
	int rc = record_decode(wire, len, &rec);
	if (rc < 0)
		return rc;
	struct publication *old = find(p, rec->kind, rec->uri, rec->instance, rec->publisher);
	if (rec->expires <= now || (old && old->rec->seq >= rec->seq) ||
	    publication_insert(p, rec, false) < 0)
		record_free(rec);
	return 0;
}

/*
 * The offset of the next whole entry after @p off that verifies, or @p len.
 * An entry carries no checksum of its own, but a record only verifies with
 * exactly its own length, so a damaged length or body never hides the
 * entries after it.
 */
static size_t journal_resync(const uint8_t *data, size_t len, size_t off)
{
	for (size_t o = off + 1; o + 4 <= len; o++) {
		size_t n = (size_t)data[o] << 8 | data[o + 1];
		struct record *rec = NULL;
		if (data[o + 2] != 'r' || data[o + 3] != 'd' || o + 2 + n > len ||
		    record_decode(data + o + 2, n, &rec) < 0)
			continue;
		record_free(rec);
		return o;
	}
	return len;
}

static int journal_load(struct publisher *p)
{
	uint8_t *data = NULL;
	size_t len = 0;
	int rc = state_read_file(p->journal_path, JOURNAL_MAX_SIZE, &data, &len);
	if (rc == -ENOENT)
		return 0;
	if (rc < 0)
		return rc;
	if (len < JOURNAL_MAGIC_LEN || memcmp(data, JOURNAL_MAGIC, JOURNAL_MAGIC_LEN) != 0) {
		log_error(SUBSYS, "%s is not a publications journal", p->journal_path);
		free(data);
		return -EBADMSG;
	}
	uint64_t now = cache_now();
	size_t off = JOURNAL_MAGIC_LEN;
	while (off + 2 <= len) {
		size_t n = (size_t)data[off] << 8 | data[off + 1];
		if (off + 2 + n <= len && load_one(p, data + off + 2, n, now) == 0) {
			off += 2 + n;
			continue;
		}
		size_t next = journal_resync(data, len, off);
		if (next == len)
			break;
		log_warn(SUBSYS, "journal: skipping %zu damaged bytes at offset %zu", next - off, off);
		off = next;
	}
	if (off != len)
		log_warn(SUBSYS, "journal: ignoring a torn entry at offset %zu (crash during a write)", off);
	free(data);
	return 0;
}

static void announce_all(struct publisher *p)
{
	size_t cursor = 0;
	for (struct map_node *n = map_next(&p->by_id, &cursor, NULL); n; n = map_next(&p->by_id, &cursor, n)) {
		struct publication *pb = (struct publication *)n;
		overlay_put(p->ov, pb->dht_key, pb->value_id, pb->rec->wire, pb->rec->wire_len, true);
	}
}

static void on_sweep(uv_timer_t *timer)
{
	struct publisher *p = timer->data;
	uint64_t now = cache_now();
	size_t cursor = 0;
	struct map_node *n = map_next(&p->by_id, &cursor, NULL);
	while (n) {
		struct map_node *next = map_next(&p->by_id, &cursor, n);
		struct publication *pb = (struct publication *)n;
		if (pb->rec->expires <= now)
			publication_remove(p, pb, true);
		n = next;
	}
}

int publisher_new(struct rd_loop *loop, struct overlay *ov, struct cache *c,
		  const struct keypair *key, const struct policy *policy,
		  const struct publisher_conf *conf, struct publisher **ret)
{
	struct publisher *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	*p = (struct publisher){.loop = loop, .ov = ov, .cache = c, .key = key, .policy = policy,
		.max_publications = conf->max_publications, .journal_fd = -1,
		.max_record_size = conf->max_record_size ? conf->max_record_size : RECORD_MAX_SIZE};
	int rc = -ENOMEM;
	p->journal_path = state_path(conf->state_dir, JOURNAL_NAME);
	if (!p->journal_path || map_init(&p->by_id) < 0 || map_init(&p->by_uri) < 0)
		goto out_free;
	if ((rc = journal_load(p)) < 0 || (rc = journal_compact(p)) < 0) {
		log_error(SUBSYS, "%s: %s", p->journal_path, strerror(-rc));
		goto out_free;
	}
	if ((rc = uv_timer_init(&loop->uv, &p->sweep)) < 0)
		goto out_free;
	p->sweep.data = p;
	uv_timer_start(&p->sweep, on_sweep, 1000, 1000);
	announce_all(p);
	log_info(SUBSYS, "%zu publications restored from %s", p->by_id.count, p->journal_path);
	*ret = p;
	return 0;

out_free:
	p->ov = NULL;
	publisher_free(p);
	return rc;
}

static void on_publisher_closed(uv_handle_t *handle)
{
	free(handle->data);
}

void publisher_free(struct publisher *p)
{
	if (!p)
		return;
	size_t cursor = 0;
	struct map_node *n = p->by_id.buckets ? map_next(&p->by_id, &cursor, NULL) : NULL;
	while (n) {
		struct map_node *next = map_next(&p->by_id, &cursor, n);
		publication_remove(p, (struct publication *)n, false);
		n = next;
	}
	map_deinit(&p->by_id);
	map_deinit(&p->by_uri);
	if (p->journal_fd >= 0)
		close(p->journal_fd);
	free(p->journal_path);
	if (p->sweep.data) {
		uv_close((uv_handle_t *)&p->sweep, on_publisher_closed);
		return;
	}
	free(p);
}

/* ---- operations ------------------------------------------------------- */

static int sign_and_store(struct publisher *p, const struct record *fields, const struct record **ret_rec)
{
	uint8_t wire[RECORD_MAX_SIZE];
	size_t len = 0;
	int rc = record_encode(fields, p->key, wire, &len);
	if (rc < 0)
		return rc;
	if (len > p->max_record_size)
		return -EMSGSIZE;
	/* Just signed here: parse it back without verifying our own signature. */
	struct record *rec = NULL;
	if ((rc = record_decode_trusted(wire, len, &rec)) < 0)
		return rc == -ENOMEM ? rc : -EIO;
	return store(p, rec, ret_rec);
}

static uint64_t next_seq(const struct publication *old)
{
	uint64_t seq = now_us();
	return old && old->rec->seq >= seq ? old->rec->seq + 1 : seq;
}

int publisher_publish(struct publisher *p, const struct publish_req *req, const struct record **ret_rec)
{
	struct record fields = {
		.kind = req->kind, .q = req->q, .expires = req->expires,
		.uri = req->name, .contact = req->contact, .instance = req->instance,
	};
	memcpy(fields.publisher, p->key->pub, KEYS_PUB_LEN);
	if (policy_check(p->policy, &fields, req->host, cache_now()) < 0)
		return -EACCES;
	fields.seq = next_seq(find(p, req->kind, req->name, req->instance, p->key->pub));
	return sign_and_store(p, &fields, ret_rec);
}

int publisher_unpublish(struct publisher *p, enum record_kind kind, const char *name, const char *instance,
			const struct record **ret_rec)
{
	struct publication *old = find(p, kind, name, instance, p->key->pub);
	if (!old || old->rec->tombstone)
		return -ENOENT;
	struct record fields = {
		.kind = kind, .tombstone = true, .q = 0, .seq = next_seq(old),
		.expires = old->rec->expires, .uri = old->rec->uri, .contact = "",
		.instance = old->rec->instance,
	};
	return sign_and_store(p, &fields, ret_rec);
}

/* The domain a record's policy entry is looked up by: the URI's host, a
 * service name's domain (after "_svc._proto."), or the host name itself. */
static int policy_domain(const struct record *rec, struct uri_parts *tmp, const char **ret_domain,
			 const char **ret_reason)
{
	if (rec->kind == RECORD_BINDING) {
		int rc = uri_normalize(rec->uri, tmp, ret_reason);
		if (rc < 0 || strcmp(tmp->uri, rec->uri) != 0) {
			if (rc == 0)
				*ret_reason = "the record's uri is not in normalized form";
			return -EBADMSG;
		}
		*ret_domain = tmp->host;
		return 0;
	}
	const char *d = rec->uri;
	if (rec->kind == RECORD_SERVICE)
		for (int i = 0; i < 2 && d; i++)
			d = strchr(d, '.') ? strchr(d, '.') + 1 : NULL;
	*ret_domain = d;
	return 0;
}

static int check_submitted(const struct publisher *p, const struct record *rec, const char **ret_reason)
{
	struct uri_parts parts = {0};
	const char *domain = NULL;
	int rc = policy_domain(rec, &parts, &domain, ret_reason);
	if (rc == 0 && policy_check(p->policy, rec, domain, cache_now()) < 0) {
		*ret_reason = "the policy does not let this key publish for this name";
		rc = -EACCES;
	}
	uri_parts_deinit(&parts);
	if (rc < 0)
		return rc;
	if (rec->expires <= cache_now()) {
		*ret_reason = "the record has already expired";
		return -ETIME;
	}
	const struct publication *old = find(p, rec->kind, rec->uri, rec->instance, rec->publisher);
	if (old && old->rec->seq >= rec->seq) {
		*ret_reason = "a record with the same or a higher seq is already published";
		return -EALREADY;
	}
	return 0;
}

int publisher_submit(struct publisher *p, const uint8_t *wire, size_t len, const struct record **ret_rec,
		     const char **ret_reason)
{
	struct record *rec = NULL;
	if (len > p->max_record_size) {
		*ret_reason = "the record is larger than this node's dht.max_record_size";
		return -EMSGSIZE;
	}
	int rc = record_decode(wire, len, &rec);
	if (rc < 0) {
		*ret_reason = rc == -EKEYREJECTED ? "the record's signature does not verify"
						  : "the record is not a valid format v1 record";
		return rc;
	}
	if ((rc = check_submitted(p, rec, ret_reason)) < 0) {
		record_free(rec);
		return rc;
	}
	rc = store(p, rec, ret_rec);
	if (rc == -ENOSPC)
		*ret_reason = "this node keeps no more publications (publish.max_publications)";
	return rc;
}

void publisher_foreach(const struct publisher *p, enum record_kind kind,
		       void (*fn)(void *ud, const struct record *rec), void *ud)
{
	uint64_t now = cache_now();
	size_t cursor = 0;
	for (struct map_node *n = map_next(&p->by_id, &cursor, NULL); n; n = map_next(&p->by_id, &cursor, n)) {
		const struct record *rec = ((struct publication *)n)->rec;
		if (rec->kind == kind && !rec->tombstone && rec->expires > now)
			fn(ud, rec);
	}
}

size_t publisher_count(const struct publisher *p)
{
	uint64_t now = cache_now();
	size_t live = 0, cursor = 0;
	for (struct map_node *n = map_next(&p->by_id, &cursor, NULL); n; n = map_next(&p->by_id, &cursor, n)) {
		const struct record *rec = ((struct publication *)n)->rec;
		live += !rec->tombstone && rec->expires > now;
	}
	return live;
}

void publisher_seed(void *ud, struct cache *c, enum record_kind kind, const char *name)
{
	struct publisher *p = ud;
	const struct uri_group *g = group_find(p, kind, name);
	for (const struct publication *pb = g ? g->head : NULL; pb; pb = pb->group_next)
		cache_offer(c, kind, name, pb->rec->wire, pb->rec->wire_len);
}
