/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Rate limiting by client prefix: a token bucket per prefix, in the spirit of Knot's RRL (DNS over UDP, HTTP). */
#include "resolverd/dns/rrl.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "resolverd/core/map.h"

/** One prefix's bucket. Tokens are kept in thousandths so refills are exact. */
struct bucket {
	uint64_t key;       /**< hash of the prefix that owns it */
	uint64_t last_ms;   /**< last refill */
	uint64_t millitok;  /**< tokens * 1000 */
	uint32_t limited;   /**< limited responses so far, for slip */
};

struct rrl {
	unsigned rps, slip, v4_prefix, v6_prefix;
	unsigned burst;       /**< tokens a full bucket holds */
	size_t size;
	struct bucket *table; /**< owned */
};

struct rrl *rrl_new(unsigned rps, unsigned slip, unsigned ipv4_prefix, unsigned ipv6_prefix,
		    unsigned table_size)
{
	struct rrl *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	*r = (struct rrl){.rps = rps, .slip = slip, .v4_prefix = ipv4_prefix, .v6_prefix = ipv6_prefix,
			  .burst = rps, .size = table_size ? table_size : 1};
	if (rps && !(r->table = calloc(r->size, sizeof(*r->table)))) {
		free(r);
		return NULL;
	}
	return r;
}

void rrl_free(struct rrl *r)
{
	if (!r)
		return;
	free(r->table);
	free(r);
}

/* Hash the client's prefix: the address with host bits cleared, plus the family. */
static uint64_t prefix_key(const struct rrl *r, const struct sockaddr *sa)
{
	uint8_t buf[17] = {0};
	const uint8_t *addr;
	size_t len;
	unsigned bits;
	if (sa->sa_family == AF_INET6) {
		addr = ((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr.s6_addr;
		len = 16;
		bits = r->v6_prefix;
	} else {
		addr = (const uint8_t *)&((const struct sockaddr_in *)(const void *)sa)->sin_addr;
		len = 4;
		bits = r->v4_prefix;
	}
	buf[0] = (uint8_t)len;
	for (size_t i = 0; i < len; i++) {
		unsigned keep = bits >= 8 * (i + 1) ? 8 : bits > 8 * i ? bits - 8 * (unsigned)i : 0;
		buf[1 + i] = (uint8_t)(addr[i] & (uint8_t)(0xff00u >> keep));
	}
	return map_hash((const char *)buf, 1 + len);
}

void rrl_set_burst(struct rrl *r, unsigned burst)
{
	r->burst = burst ? burst : 1;
}

enum rrl_verdict rrl_check(struct rrl *r, const struct sockaddr *client, uint64_t now_ms)
{
	return rrl_check_wait(r, client, now_ms, NULL);
}

enum rrl_verdict rrl_check_wait(struct rrl *r, const struct sockaddr *client, uint64_t now_ms,
				uint64_t *ret_wait_ms)
{
	if (!r->rps)
		return RRL_PASS;
	uint64_t key = prefix_key(r, client);
	struct bucket *b = &r->table[key % r->size];
	uint64_t full = (uint64_t)r->burst * 1000;
	if (b->key != key) {
		*b = (struct bucket){.key = key, .last_ms = now_ms, .millitok = full};
	} else if (now_ms > b->last_ms) {
		uint64_t add = (now_ms - b->last_ms) * r->rps;
		b->millitok = b->millitok + add > full ? full : b->millitok + add;
		b->last_ms = now_ms;
	}
	if (b->millitok >= 1000) {
		b->millitok -= 1000;
		return RRL_PASS;
	}
	b->limited++;
	/* Refills add rps thousandths of a token per millisecond. */
	if (ret_wait_ms)
		*ret_wait_ms = (1000 - b->millitok + r->rps - 1) / r->rps;
	return r->slip && b->limited % r->slip == 0 ? RRL_SLIP : RRL_DROP;
}
