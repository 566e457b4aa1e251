/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Resolve answers: JSON rendering, and the table of ready responses handler threads serve without the loop. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "resolverd/http/http_req.h"
#include "resolverd/http/problem.h"

/** A ready response for one URI, valid within the second it was rendered in. */
struct answer {
	struct map_node node;       /**< key = uri */
	char *uri;                  /**< owned */
	uint64_t rendered;          /**< unix second */
	unsigned status;            /**< 200 or 404 */
	struct MHD_Response *resp;  /**< owned reference; MHD keeps its own per queued use */
};

json_t *answers_binding_json(const struct record *rec, uint64_t now, bool full)
{
	char pub[KEYS_PUB_HEX_LEN + 1];
	keys_pub_to_hex(rec->publisher, pub);
	json_t *o = json_pack("{s:s, s:f, s:I, s:I, s:s, s:s}", "contact", rec->contact, "q",
			      rec->q / (double)RECORD_Q_MAX, "expires",
			      (json_int_t)(rec->expires > now ? rec->expires - now : 0), "expires_at",
			      (json_int_t)rec->expires, "instance", rec->instance, "publisher", pub);
	if (o && full) {
		json_object_set_new(o, "uri", json_string(rec->uri));
		json_object_set_new(o, "seq", json_integer((json_int_t)rec->seq));
	}
	return o;
}

struct MHD_Response *answers_render(const struct cache_view *view, unsigned *ret_status)
{
	if (view->n == 0) {
		*ret_status = MHD_HTTP_NOT_FOUND;
		return problem_new(MHD_HTTP_NOT_FOUND, "no-binding", "no live binding for this URI", NULL);
	}
	json_t *list = json_array();
	for (size_t i = 0; list && i < view->n; i++)
		json_array_append_new(list, answers_binding_json(view->bindings[i], view->now, false));
	json_t *o = json_pack("{s:s, s:o, s:s}", "uri", view->uri, "bindings", list, "source", view->source);
	*ret_status = MHD_HTTP_OK;
	return json_response_new(o);
}

int answers_init(struct answers *a)
{
	int rc = map_init(&a->map);
	if (rc < 0)
		return rc;
	rc = -pthread_rwlock_init(&a->lock, NULL);
	if (rc < 0)
		map_deinit(&a->map);
	return rc;
}

static void answer_free(struct answer *an)
{
	MHD_destroy_response(an->resp);
	free(an->uri);
	free(an);
}

void answers_deinit(struct answers *a)
{
	size_t cursor = 0;
	struct map_node *n = map_next(&a->map, &cursor, NULL);
	while (n) {
		struct map_node *next = map_next(&a->map, &cursor, n);
		map_remove(&a->map, n);
		answer_free((struct answer *)n);
		n = next;
	}
	map_deinit(&a->map);
	pthread_rwlock_destroy(&a->lock);
}

bool answers_try_serve(struct answers *a, struct MHD_Connection *conn, const char *uri, uint64_t now)
{
	bool served = false;
	pthread_rwlock_rdlock(&a->lock);
	const struct answer *an = (const struct answer *)map_get(&a->map, uri);
	/* MHD takes its own reference, so the writer may drop ours right after. */
	if (an && an->rendered == now)
		served = MHD_queue_response(conn, an->status, an->resp) == MHD_YES;
	pthread_rwlock_unlock(&a->lock);
	return served;
}

void answers_update(struct answers *a, const struct cache_view *view)
{
	struct cache_view cached = *view;
	cached.source = "cache";
	struct answer *fresh = calloc(1, sizeof(*fresh));
	if (!fresh)
		return;
	fresh->uri = strdup(view->uri);
	fresh->resp = answers_render(&cached, &fresh->status);
	fresh->rendered = view->now;
	fresh->node.key = fresh->uri;
	pthread_rwlock_wrlock(&a->lock);
	struct answer *old = (struct answer *)map_get(&a->map, view->uri);
	if (old)
		map_remove(&a->map, &old->node);
	bool ok = fresh->uri && fresh->resp && map_put(&a->map, &fresh->node) == 0;
	pthread_rwlock_unlock(&a->lock);
	if (old)
		answer_free(old);
	if (!ok) {
		if (fresh->resp)
			MHD_destroy_response(fresh->resp);
		free(fresh->uri);
		free(fresh);
	}
}

bool answers_has(struct answers *a, const char *uri)
{
	/* Only the loop thread writes the map, and this is the loop thread: no lock needed to read. */
	return map_get(&a->map, uri) != NULL;
}

void answers_forget(struct answers *a, const char *uri)
{
	pthread_rwlock_wrlock(&a->lock);
	struct answer *old = (struct answer *)map_get(&a->map, uri);
	if (old)
		map_remove(&a->map, &old->node);
	pthread_rwlock_unlock(&a->lock);
	if (old)
		answer_free(old);
}

struct MHD_Response *answers_render_fallback(const char *uri, uint64_t at, const struct rd_target *targets,
					     size_t n, unsigned *ret_status)
{
	uint64_t now = cache_now();
	json_t *list = json_array();
	for (size_t i = 0; list && i < n; i++) {
		uint64_t until = at + targets[i].ttl;
		json_array_append_new(list, json_pack("{s:s, s:f, s:I, s:I, s:s}", "contact", targets[i].url, "q",
						      targets[i].q / (double)RD_Q_MAX, "expires",
						      (json_int_t)(until > now ? until - now : 0), "expires_at",
						      (json_int_t)until, "via", targets[i].via));
	}
	json_t *o = json_pack("{s:s, s:o, s:s}", "uri", uri, "bindings", list, "source", "dns");
	*ret_status = MHD_HTTP_OK;
	return json_response_new(o);
}

void answers_sweep(struct answers *a, uint64_t now)
{
	pthread_rwlock_wrlock(&a->lock);
	size_t cursor = 0;
	struct map_node *n = map_next(&a->map, &cursor, NULL);
	struct answer *dead = NULL;
	while (n) {
		struct map_node *next = map_next(&a->map, &cursor, n);
		struct answer *an = (struct answer *)n;
		if (an->rendered < now) {
			map_remove(&a->map, n);
			an->node.next = (struct map_node *)dead; /* reuse the link for the free list */
			dead = an;
		}
		n = next;
	}
	pthread_rwlock_unlock(&a->lock);
	while (dead) {
		struct answer *next = (struct answer *)dead->node.next;
		answer_free(dead);
		dead = next;
	}
}
