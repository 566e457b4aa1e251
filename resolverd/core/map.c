/* SPDX-License-Identifier: GPL-3.0-or-later */
/* An intrusive string-keyed hash table with a per-process random SipHash key (flooding-resistant). */
#include "resolverd/core/map.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

static uint64_t sip_k0, sip_k1;
static pthread_once_t sip_once = PTHREAD_ONCE_INIT;

static void sip_seed(void)
{
	uint8_t k[16];
	if (RAND_bytes(k, sizeof(k)) != 1)
		abort(); /* no entropy: nothing safe can run */
	memcpy(&sip_k0, k, 8);
	memcpy(&sip_k1, k + 8, 8);
}

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND(v0, v1, v2, v3)                                                       \
	do {                                                                           \
		v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32);              \
		v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;                                 \
		v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;                                 \
		v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32);              \
	} while (0)

/* SipHash-1-3: one compression round per word, three finalization rounds. */
uint64_t map_hash(const char *key, size_t len)
{
	pthread_once(&sip_once, sip_seed);
	uint64_t v0 = sip_k0 ^ 0x736f6d6570736575ULL, v1 = sip_k1 ^ 0x646f72616e646f6dULL;
	uint64_t v2 = sip_k0 ^ 0x6c7967656e657261ULL, v3 = sip_k1 ^ 0x7465646279746573ULL;
	const uint8_t *p = (const uint8_t *)key;
	size_t full = len & ~(size_t)7;
	for (size_t i = 0; i < full; i += 8) {
		uint64_t m;
		memcpy(&m, p + i, 8);
		v3 ^= m;
		SIPROUND(v0, v1, v2, v3);
		v0 ^= m;
	}
	uint64_t last = (uint64_t)len << 56;
	for (size_t i = 0; i < (len & 7); i++)
		last |= (uint64_t)p[full + i] << (8 * i);
	v3 ^= last;
	SIPROUND(v0, v1, v2, v3);
	v0 ^= last;
	v2 ^= 0xff;
	SIPROUND(v0, v1, v2, v3);
	SIPROUND(v0, v1, v2, v3);
	SIPROUND(v0, v1, v2, v3);
	return v0 ^ v1 ^ v2 ^ v3;
}

int map_init(struct map *m)
{
	m->n_buckets = 64;
	m->count = 0;
	m->buckets = calloc(m->n_buckets, sizeof(*m->buckets));
	return m->buckets ? 0 : -ENOMEM;
}

void map_deinit(struct map *m)
{
	free(m->buckets);
	m->buckets = NULL;
	m->n_buckets = m->count = 0;
}

struct map_node *map_get(const struct map *m, const char *key)
{
	uint64_t h = map_hash(key, strlen(key));
	for (struct map_node *n = m->buckets[h & (m->n_buckets - 1)]; n; n = n->next)
		if (n->hash == h && strcmp(n->key, key) == 0)
			return n;
	return NULL;
}

static int grow(struct map *m)
{
	size_t size = m->n_buckets * 2;
	struct map_node **b = calloc(size, sizeof(*b));
	if (!b)
		return -ENOMEM;
	for (size_t i = 0; i < m->n_buckets; i++) {
		for (struct map_node *n = m->buckets[i], *next; n; n = next) {
			next = n->next;
			n->next = b[n->hash & (size - 1)];
			b[n->hash & (size - 1)] = n;
		}
	}
	free(m->buckets);
	m->buckets = b;
	m->n_buckets = size;
	return 0;
}

int map_put(struct map *m, struct map_node *node)
{
	if (m->count + 1 > m->n_buckets && grow(m) < 0 && m->count + 1 > 4 * m->n_buckets)
		return -ENOMEM; /* a failed grow is fine until chains get long */
	node->hash = map_hash(node->key, strlen(node->key));
	struct map_node **head = &m->buckets[node->hash & (m->n_buckets - 1)];
	node->next = *head;
	*head = node;
	m->count++;
	return 0;
}

void map_remove(struct map *m, struct map_node *node)
{
	for (struct map_node **p = &m->buckets[node->hash & (m->n_buckets - 1)]; *p; p = &(*p)->next) {
		if (*p == node) {
			*p = node->next;
			node->next = NULL;
			m->count--;
			return;
		}
	}
}

struct map_node *map_next(const struct map *m, size_t *cursor, struct map_node *prev)
{
	/* *cursor is the next bucket to scan; prev's chain is followed first. */
	if (prev && prev->next)
		return prev->next;
	while (*cursor < m->n_buckets) {
		struct map_node *n = m->buckets[(*cursor)++];
		if (n)
			return n;
	}
	return NULL;
}
