/* SPDX-License-Identifier: GPL-3.0-or-later */
/* DNS forwarding: send a client's query to the configured upstreams through c-ares, with a small answer cache. */
#include "resolverd/dns/forward.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ares.h>
#include <libknot/libknot.h>
#include <openssl/rand.h>
#include <uv.h>

#include "resolverd/core/log.h"
#include "resolverd/core/map.h"

/*
 * DESIGN
 * A forwarder owns one c-ares channel, driven by the loop: c-ares reports
 * each socket it wants watched through its socket-state callback, and we give
 * that socket a uv_poll handle (struct fw_sock, freed in its close callback);
 * one uv_timer follows ares_timeout(). Poll handles are unreferenced, so idle
 * upstream sockets (ARES_FLAG_STAYOPEN) never keep the loop alive; the timer
 * is armed, and so keeps the loop alive, exactly while a query is pending.
 *
 * ARES_FLAG_NOCHECKRESP makes c-ares hand over SERVFAIL and REFUSED answers
 * instead of trying another upstream, so every rcode reaches the caller
 * unchanged. c-ares retries over TCP when the UDP answer is truncated. The
 * query is rewritten with libknot first: a fresh random id (c-ares 1.18's
 * ares_send() keeps the id it is given), an OPT RR with our UDP size and the
 * loop option.
 *
 * We also set ARES_FLAG_EDNS with a 1232-byte EDNS size, so that c-ares takes
 * UDP answers up to that size; without it, c-ares 1.18 treats any UDP answer
 * over 512 bytes as truncated and asks again over TCP (measured). The flag has
 * a cost, also measured: when an upstream answers FORMERR without an OPT RR,
 * c-ares cuts the last 11 bytes off the query (the OPT RR it would have added
 * itself, not ours, so junk is left behind), sends it once more, and clears
 * the flag on the channel for good. Such an upstream cannot take our queries
 * anyway (they always carry the loop option), and the FORMERR still reaches
 * the caller.
 *
 * The cache maps a key (lower-cased name, type, class, DO, CD and RD bits) to
 * the upstream's response wire, with the offsets of its TTL fields, so a hit is
 * a copy plus a few stores. Entries live for the smallest TTL of the answer
 * and authority sections (the SOA MINIMUM counts for negative answers, RFC
 * 2308), at most a day, and are evicted least-recently-used first.
 *
 * Invariants: the forwarder's memory is freed only once its timer and every
 * poll handle have been closed (open_handles reaches 0 after forward_free());
 * every accepted query's callback runs exactly once.
 */

#define FORWARD_EDNS_PAYLOAD 1232     /* our UDP payload size upstream (DNS flag day 2020) */
#define FORWARD_TRIES 2               /* tries per upstream */
#define FORWARD_MAX_TTL 86400u        /* cap on the life of a cache entry, seconds */
#define FORWARD_NONCE_MAX 255         /* longest loop nonce */
#define NS_PER_S 1000000000ull
/* Room for a cache key: the name as text, then " TYPE CLASS" and three flag digits. */
#define KEY_MAX (KNOT_DNAME_TXT_MAXLEN + sizeof(" 65535 65535 111"))

/** A socket c-ares asked us to watch. */
struct fw_sock {
	uv_poll_t poll;        /**< watches fd; data points back here; freed in its close callback */
	ares_socket_t fd;      /**< owned by c-ares */
	struct forward *fw;    /**< the owner */
	struct fw_sock *next;  /**< the owner's list of open sockets */
};

/** One cached response; a single allocation holding ttl_offs, key and wire. */
struct cache_entry {
	struct map_node node;       /**< in forward.cache; node.key is key; first, for entry_of() */
	struct cache_entry *newer;  /**< LRU neighbour towards forward.newest */
	struct cache_entry *older;  /**< LRU neighbour towards forward.oldest */
	uint64_t stored_ns;         /**< uv_hrtime() when stored */
	uint32_t ttl;               /**< seconds the entry is fresh */
	uint16_t n_ttls;            /**< TTL fields to age (every RR but OPT and TSIG) */
	uint16_t *ttl_offs;         /**< their offsets in wire */
	uint8_t *wire;              /**< the response as received */
	size_t len;                 /**< bytes in wire */
	char *key;                  /**< NUL-terminated */
};

/** A query sent upstream, waiting for c-ares. */
struct fw_req {
	struct forward *fw; /**< the owner */
	forward_cb cb;      /**< the caller's callback */
	void *ud;           /**< its argument, borrowed */
	char key[];         /**< cache key, "" when not caching */
};

struct forward {
	struct rd_loop *loop;        /**< borrowed */
	ares_channel channel;        /**< owned */
	uv_timer_t timer;            /**< follows ares_timeout(); data points back here */
	struct fw_sock *socks;       /**< watched sockets, owned (memory freed by close callbacks) */
	unsigned open_handles;       /**< the timer plus every poll handle not yet closed */
	bool closing;                /**< forward_free() has started */
	knot_pkt_t *scratch;         /**< owned; the rewritten query, reused (ares_send() copies it) */
	struct map cache;            /**< key -> struct cache_entry, owned */
	struct cache_entry *newest;  /**< LRU head */
	struct cache_entry *oldest;  /**< LRU tail, evicted first */
	unsigned cache_max;          /**< most entries; 0: no cache */
	struct forward_stats stats;  /**< counters */
	uint16_t opt_code;           /**< loop option code */
	size_t nonce_len;            /**< bytes in nonce */
	uint8_t nonce[];             /**< loop option data */
};

/** A parsed numeric endpoint; IPv4-mapped IPv6 is stored as IPv4. */
struct endpoint {
	int family; /**< AF_INET or AF_INET6 */
	union {
		struct in_addr v4;
		struct in6_addr v6;
	} addr;
	uint16_t port; /**< host order */
};

static pthread_once_t ares_once = PTHREAD_ONCE_INIT;
static int ares_lib_status = ARES_SUCCESS;

static void ares_lib_init(void)
{
	ares_lib_status = ares_library_init(ARES_LIB_INIT_ALL);
}

static int knot_to_errno(int rc)
{
	return rc == KNOT_ENOMEM ? -ENOMEM : -EINVAL;
}

/* ---- endpoints and loop detection ---- */

/** Parse "1..65535". @return 0 or -EINVAL. */
static int parse_port(const char *text, uint16_t *ret_port)
{
	unsigned long v = 0;

	if (!*text)
		return -EINVAL;
	for (const char *p = text; *p; p++) {
		if (*p < '0' || *p > '9' || v > 65535)
			return -EINVAL;
		v = v * 10 + (unsigned long)(*p - '0');
	}
	if (v == 0 || v > 65535)
		return -EINVAL;
	*ret_port = (uint16_t)v;
	return 0;
}

/** Turn ::ffff:a.b.c.d into a.b.c.d, so both spellings compare equal. */
static void unmap_v4(struct endpoint *ep)
{
	if (ep->family != AF_INET6 || !IN6_IS_ADDR_V4MAPPED(&ep->addr.v6))
		return;
	struct in_addr v4;

	memcpy(&v4, &ep->addr.v6.s6_addr[12], sizeof(v4));
	ep->family = AF_INET;
	ep->addr.v4 = v4;
}

/** Parse "a.b.c.d:PORT" or "[IPv6]:PORT". @return 0 or -EINVAL. */
static int parse_endpoint(const char *text, struct endpoint *ret_ep)
{
	struct endpoint ep = {.family = AF_INET};
	char host[INET6_ADDRSTRLEN];
	const char *start = text, *colon;
	size_t host_len;

	if (!text)
		return -EINVAL;
	if (text[0] == '[') {
		const char *close = strchr(text, ']');

		if (!close || close[1] != ':')
			return -EINVAL;
		ep.family = AF_INET6;
		start = text + 1;
		colon = close + 1;
	} else {
		colon = strchr(text, ':');
		if (!colon || strchr(colon + 1, ':'))
			return -EINVAL;
	}
	host_len = (size_t)(colon - start) - (ep.family == AF_INET6);
	if (host_len == 0 || host_len >= sizeof(host))
		return -EINVAL;
	memcpy(host, start, host_len);
	host[host_len] = '\0';
	if (inet_pton(ep.family, host, &ep.addr) != 1 || parse_port(colon + 1, &ep.port) < 0)
		return -EINVAL;
	unmap_v4(&ep);
	*ret_ep = ep;
	return 0;
}

static bool endpoint_same_addr(const struct endpoint *a, const struct endpoint *b)
{
	if (a->family != b->family)
		return false;
	if (a->family == AF_INET)
		return a->addr.v4.s_addr == b->addr.v4.s_addr;
	return memcmp(&a->addr.v6, &b->addr.v6, sizeof(a->addr.v6)) == 0;
}

static bool endpoint_is_wildcard(const struct endpoint *ep)
{
	if (ep->family == AF_INET)
		return ep->addr.v4.s_addr == htonl(INADDR_ANY);
	return IN6_IS_ADDR_UNSPECIFIED(&ep->addr.v6);
}

/** Is @p ep's address one of this host's (loopback, or on an interface)? */
static bool endpoint_is_local(const struct endpoint *ep)
{
	struct ifaddrs *list, *ifa;
	bool local = false;

	if (ep->family == AF_INET ? (ntohl(ep->addr.v4.s_addr) >> 24) == 127 : IN6_IS_ADDR_LOOPBACK(&ep->addr.v6))
		return true;
	if (getifaddrs(&list) < 0)
		return false; /* cannot tell: the loop option still catches a loop at run time */
	for (ifa = list; ifa && !local; ifa = ifa->ifa_next) {
		struct endpoint mine = {.family = ifa->ifa_addr ? ifa->ifa_addr->sa_family : AF_UNSPEC};

		if (mine.family == AF_INET)
			mine.addr.v4 = ((const struct sockaddr_in *)(const void *)ifa->ifa_addr)->sin_addr;
		else if (mine.family == AF_INET6)
			mine.addr.v6 = ((const struct sockaddr_in6 *)(const void *)ifa->ifa_addr)->sin6_addr;
		else
			continue;
		local = endpoint_same_addr(&mine, ep);
	}
	freeifaddrs(list);
	return local;
}

/**
 * Would sending to @p up reach one of our own listeners?
 * @return 0, -ELOOP, -EINVAL (a self endpoint is malformed).
 */
static int check_loop(const struct forward_conf *conf, const struct endpoint *up)
{
	for (size_t i = 0; i < conf->n_self; i++) {
		struct endpoint self;

		if (parse_endpoint(conf->self[i], &self) < 0)
			return -EINVAL;
		if (self.port != up->port)
			continue;
		if (endpoint_same_addr(&self, up))
			return -ELOOP;
		/* An IPv6 wildcard socket usually takes IPv4 too (bindv6only=0). */
		if (endpoint_is_wildcard(&self) && (self.family == up->family || self.family == AF_INET6) &&
		    endpoint_is_local(up))
			return -ELOOP;
	}
	return 0;
}

/** Parse and loop-check every upstream. @return 0, -EINVAL, -ELOOP, -ENOMEM; *ret_eps owned by the caller. */
static int parse_upstreams(const struct forward_conf *conf, struct endpoint **ret_eps)
{
	struct endpoint *eps = calloc(conf->n_upstreams, sizeof(*eps));
	int rc = 0;

	if (!eps)
		return -ENOMEM;
	for (size_t i = 0; i < conf->n_upstreams && rc == 0; i++) {
		rc = parse_endpoint(conf->upstreams[i], &eps[i]);
		if (rc == 0)
			rc = check_loop(conf, &eps[i]);
	}
	if (rc < 0) {
		free(eps);
		return rc;
	}
	*ret_eps = eps;
	return 0;
}

/* ---- c-ares on the loop: sockets and the timer ---- */

/** The forwarder's memory goes when forward_free() has run and its last handle is closed. */
static void handle_released(struct forward *fw)
{
	if (--fw->open_handles == 0 && fw->closing)
		free(fw);
}

static void on_timer_closed(uv_handle_t *handle)
{
	handle_released(handle->data);
}

static void on_sock_closed(uv_handle_t *handle)
{
	struct fw_sock *s = handle->data;
	struct forward *fw = s->fw;

	free(s);
	handle_released(fw);
}

static void on_timer(uv_timer_t *timer);

/** Arm the timer for c-ares' next timeout, or stop it when nothing is pending. */
static void timer_update(struct forward *fw)
{
	struct timeval tv;

	if (fw->closing)
		return;
	if (!ares_timeout(fw->channel, NULL, &tv)) {
		uv_timer_stop(&fw->timer);
		return;
	}
	/* Round up: firing early would find nothing due and re-arm at 0, spinning. */
	uint64_t ms = (uint64_t)tv.tv_sec * 1000 + ((uint64_t)tv.tv_usec + 999) / 1000;
	uv_timer_start(&fw->timer, on_timer, ms, 0);
}

static void on_timer(uv_timer_t *timer)
{
	struct forward *fw = timer->data;

	ares_process_fd(fw->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	timer_update(fw);
}

static void on_poll(uv_poll_t *poll, int status, int events)
{
	struct fw_sock *s = poll->data;
	struct forward *fw = s->fw;
	ares_socket_t rfd = ARES_SOCKET_BAD, wfd = ARES_SOCKET_BAD;

	/* On an error, let c-ares read and write so that it sees the error itself. */
	if (status < 0 || (events & UV_READABLE))
		rfd = s->fd;
	if (status < 0 || (events & UV_WRITABLE))
		wfd = s->fd;
	/* May close s (uv_close only: its memory stays until the close callback). */
	ares_process_fd(fw->channel, rfd, wfd);
	timer_update(fw);
}

static struct fw_sock *sock_find(const struct forward *fw, ares_socket_t fd)
{
	struct fw_sock *s = fw->socks;

	while (s && s->fd != fd)
		s = s->next;
	return s;
}

static void sock_close(struct forward *fw, struct fw_sock *s)
{
	struct fw_sock **p = &fw->socks;

	while (*p != s)
		p = &(*p)->next;
	*p = s->next;
	uv_close((uv_handle_t *)&s->poll, on_sock_closed);
}

/** Start watching @p fd. @return the new watch, or NULL (-ENOMEM or libuv refused the fd). */
static struct fw_sock *sock_open(struct forward *fw, ares_socket_t fd)
{
	struct fw_sock *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	if (uv_poll_init_socket(&fw->loop->uv, &s->poll, fd) < 0) {
		free(s);
		return NULL;
	}
	s->poll.data = s;
	s->fd = fd;
	s->fw = fw;
	s->next = fw->socks;
	fw->socks = s;
	fw->open_handles++;
	uv_unref((uv_handle_t *)&s->poll);
	return s;
}

/** c-ares' socket-state callback: watch @p fd for what it asks, or stop (both 0: it is closing). */
static void on_sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
	struct forward *fw = data;
	struct fw_sock *s = sock_find(fw, fd);

	if (!readable && !writable) {
		if (s)
			sock_close(fw, s);
		return;
	}
	if (!s)
		s = sock_open(fw, fd);
	if (!s || uv_poll_start(&s->poll, (readable ? UV_READABLE : 0) | (writable ? UV_WRITABLE : 0), on_poll) < 0)
		/* Nothing to return the error to: the query times out through the timer. */
		log_warn("forward", "cannot watch upstream socket %d", (int)fd);
}

/* ---- the query sent upstream ---- */

/**
 * Parse @p wire without writing to it; it must hold exactly one question.
 * @param response whether QR must be set (a response) or clear (a query).
 * @return 0, -EINVAL, -ENOMEM; *ret_pkt owned by the caller (knot_pkt_free()), borrowing @p wire.
 */
static int parse_wire(const uint8_t *wire, size_t len, bool response, knot_pkt_t **ret_pkt)
{
	knot_pkt_t *pkt;
	int rc;

	if (len < KNOT_WIRE_HEADER_SIZE || len > KNOT_WIRE_MAX_PKTSIZE)
		return -EINVAL;
	/* KEEPWIRE: libknot only reads the wire, so the const buffer is safe to lend. */
	pkt = knot_pkt_new((uint8_t *)wire, (uint16_t)len, NULL);
	if (!pkt)
		return -ENOMEM;
	rc = knot_pkt_parse(pkt, KNOT_PF_KEEPWIRE);
	if (rc == KNOT_ETRAIL)
		rc = KNOT_EOK; /* the rewrite and the cache ignore trailing bytes */
	if (rc == KNOT_EOK && (knot_wire_get_qdcount(wire) != 1 || (knot_wire_get_qr(wire) != 0) != response))
		rc = KNOT_EMALF;
	if (rc != KNOT_EOK) {
		knot_pkt_free(pkt);
		return knot_to_errno(rc);
	}
	*ret_pkt = pkt;
	return 0;
}

/** Append @p from's EDNS options, except @p skip, to @p to. @return a KNOT_E* code. */
static int copy_options(const knot_rrset_t *from, uint16_t skip, knot_rrset_t *to, knot_mm_t *mm)
{
	const knot_rdata_t *rd = knot_rdataset_at(&from->rrs, 0);
	const uint8_t *p = rd->data, *end = rd->data + rd->len;

	while (end - p >= KNOT_EDNS_OPTION_HDRLEN) {
		uint16_t code = knot_edns_opt_get_code(p), len = knot_edns_opt_get_length(p);
		const uint8_t *data = p + KNOT_EDNS_OPTION_HDRLEN;

		if (end - data < len)
			return KNOT_EMALF;
		if (code != skip) {
			int rc = knot_edns_add_option(to, code, len, data, mm);

			if (rc != KNOT_EOK)
				return rc;
		}
		p = data + len;
	}
	return KNOT_EOK;
}

/** Put into @p out the OPT RR of @p in (or a new one) with our payload size and loop option. */
static int put_opt(const struct forward *fw, const knot_pkt_t *in, knot_pkt_t *out)
{
	knot_rrset_t opt;
	int rc = knot_edns_init(&opt, FORWARD_EDNS_PAYLOAD, 0, KNOT_EDNS_VERSION, &out->mm);

	if (rc != KNOT_EOK)
		return rc;
	if (in->opt_rr) {
		opt.ttl = in->opt_rr->ttl; /* extended rcode, version, DO and the other flags */
		rc = copy_options(in->opt_rr, fw->opt_code, &opt, &out->mm);
	}
	if (rc == KNOT_EOK)
		rc = knot_edns_add_option(&opt, fw->opt_code, (uint16_t)fw->nonce_len, fw->nonce, &out->mm);
	if (rc == KNOT_EOK)
		rc = knot_pkt_put(out, KNOT_COMPR_HINT_NONE, &opt, KNOT_PF_NOTRUNC);
	knot_rrset_clear(&opt, &out->mm);
	return rc;
}

/** Copy every RR of @p in but OPT and TSIG into @p out, section by section. */
static int copy_sections(const knot_pkt_t *in, knot_pkt_t *out)
{
	for (int id = KNOT_ANSWER; id <= KNOT_ADDITIONAL; id++) {
		const knot_pktsection_t *sec = knot_pkt_section(in, (knot_section_t)id);
		int rc = knot_pkt_begin(out, (knot_section_t)id);

		for (uint16_t i = 0; i < sec->count && rc == KNOT_EOK; i++) {
			const knot_rrset_t *rr = knot_pkt_rr(sec, i);

			/* Our OPT replaces the client's; a TSIG could not verify once we rewrite. */
			if (rr->type != KNOT_RRTYPE_OPT && rr->type != KNOT_RRTYPE_TSIG)
				rc = knot_pkt_put(out, KNOT_COMPR_HINT_NONE, rr, KNOT_PF_NOTRUNC);
		}
		if (rc != KNOT_EOK)
			return rc;
	}
	return KNOT_EOK;
}

/**
 * Rewrite @p in into fw->scratch: a random id, the same flags and question,
 * our OPT RR. @return 0, -EINVAL, -ENOMEM, -EIO (no randomness).
 */
static int build_upstream(struct forward *fw, const knot_pkt_t *in)
{
	knot_pkt_t *out = fw->scratch;
	uint8_t id[2];
	int rc;

	if (RAND_bytes(id, sizeof(id)) != 1)
		return -EIO;
	knot_pkt_clear(out);
	memcpy(out->wire, in->wire, KNOT_WIRE_HEADER_SIZE);
	memcpy(out->wire, id, sizeof(id));
	knot_wire_set_qdcount(out->wire, 0);
	knot_wire_set_ancount(out->wire, 0);
	knot_wire_set_nscount(out->wire, 0);
	knot_wire_set_arcount(out->wire, 0);
	rc = knot_pkt_put_question(out, knot_pkt_wire_qname(in), knot_pkt_qclass(in), knot_pkt_qtype(in));
	if (rc == KNOT_EOK)
		rc = copy_sections(in, out);
	if (rc == KNOT_EOK)
		rc = put_opt(fw, in, out);
	return rc == KNOT_EOK ? 0 : knot_to_errno(rc);
}

/** Write the cache key of query @p in into @p key (KEY_MAX bytes; "" on failure). @return 0 or -EINVAL. */
static int cache_key(const knot_pkt_t *in, char *key)
{
	size_t n;

	if (!knot_dname_to_str(key, knot_pkt_qname(in), KNOT_DNAME_TXT_MAXLEN + 1)) {
		key[0] = '\0';
		return -EINVAL;
	}
	n = strlen(key);
	snprintf(key + n, KEY_MAX - n, " %u %u %d%d%d", (unsigned)knot_pkt_qtype(in), (unsigned)knot_pkt_qclass(in),
		 knot_pkt_has_dnssec(in), knot_wire_get_cd(in->wire) != 0, knot_wire_get_rd(in->wire) != 0);
	return 0;
}

/* ---- the cache ---- */

static void lru_unlink(struct forward *fw, struct cache_entry *e)
{
	if (e->newer)
		e->newer->older = e->older;
	else
		fw->newest = e->older;
	if (e->older)
		e->older->newer = e->newer;
	else
		fw->oldest = e->newer;
	e->newer = e->older = NULL;
}

static void lru_push(struct forward *fw, struct cache_entry *e)
{
	e->older = fw->newest;
	e->newer = NULL;
	if (fw->newest)
		fw->newest->newer = e;
	else
		fw->oldest = e;
	fw->newest = e;
}

static void cache_drop(struct forward *fw, struct cache_entry *e)
{
	map_remove(&fw->cache, &e->node);
	lru_unlink(fw, e);
	free(e);
}

static void cache_clear(struct forward *fw)
{
	while (fw->oldest)
		cache_drop(fw, fw->oldest);
}

/**
 * How long may response @p pkt be cached? NOERROR and NXDOMAIN only, not
 * truncated: the smallest TTL in answer and authority, lowered to the SOA
 * MINIMUM of an SOA in authority (RFC 2308). A negative answer without SOA,
 * or one with no RR at all, is not cached. @return seconds, 0 for never.
 */
static uint32_t response_ttl(const knot_pkt_t *pkt)
{
	uint16_t rcode = knot_pkt_ext_rcode(pkt);
	uint32_t ttl = FORWARD_MAX_TTL;
	bool soa = false, any = false;

	if (knot_wire_get_tc(pkt->wire) || knot_wire_get_opcode(pkt->wire) != KNOT_OPCODE_QUERY ||
	    (rcode != KNOT_RCODE_NOERROR && rcode != KNOT_RCODE_NXDOMAIN))
		return 0;
	for (int id = KNOT_ANSWER; id <= KNOT_AUTHORITY; id++) {
		const knot_pktsection_t *sec = knot_pkt_section(pkt, (knot_section_t)id);

		for (uint16_t i = 0; i < sec->count; i++) {
			const knot_rrset_t *rr = knot_pkt_rr(sec, i);

			any = true;
			ttl = rr->ttl < ttl ? rr->ttl : ttl;
			if (id == KNOT_AUTHORITY && rr->type == KNOT_RRTYPE_SOA) {
				uint32_t min = knot_soa_minimum(knot_rdataset_at(&rr->rrs, 0));

				soa = true;
				ttl = min < ttl ? min : ttl;
			}
		}
	}
	bool negative = rcode == KNOT_RCODE_NXDOMAIN || knot_pkt_section(pkt, KNOT_ANSWER)->count == 0;

	return any && (soa || !negative) ? ttl : 0;
}

/** Record in @p e the offset of every TTL field of @p pkt, the parse of e->wire's bytes. @return 0 or -EINVAL. */
static int find_ttls(const knot_pkt_t *pkt, struct cache_entry *e)
{
	e->n_ttls = 0;
	for (int id = KNOT_ANSWER; id <= KNOT_ADDITIONAL; id++) {
		const knot_pktsection_t *sec = knot_pkt_section(pkt, (knot_section_t)id);

		for (uint16_t i = 0; i < sec->count; i++) {
			const knot_rrset_t *rr = knot_pkt_rr(sec, i);
			size_t pos = knot_pkt_rr_offset(sec, i);

			/* OPT's "TTL" holds flags; TSIG's is always 0. */
			if (rr->type == KNOT_RRTYPE_OPT || rr->type == KNOT_RRTYPE_TSIG)
				continue;
			int owner = knot_dname_wire_check(e->wire + pos, e->wire + e->len, e->wire);

			/* TYPE and CLASS come before the TTL. */
			if (owner <= 0 || pos + (size_t)owner + 8 > e->len)
				return -EINVAL;
			e->ttl_offs[e->n_ttls++] = (uint16_t)(pos + (size_t)owner + 4);
		}
	}
	return 0;
}

/** A new entry holding a copy of @p pkt's wire (@p len bytes). @return NULL on -ENOMEM or -EINVAL. */
static struct cache_entry *entry_new(const char *key, const knot_pkt_t *pkt, size_t len, uint32_t ttl)
{
	size_t key_len = strlen(key), n_rrs = pkt->rrset_count;
	struct cache_entry *e = malloc(sizeof(*e) + n_rrs * sizeof(uint16_t) + key_len + 1 + len);

	if (!e)
		return NULL;
	*e = (struct cache_entry){.ttl = ttl, .len = len, .stored_ns = uv_hrtime()};
	e->ttl_offs = (uint16_t *)(e + 1);
	e->key = (char *)(e->ttl_offs + n_rrs);
	e->wire = (uint8_t *)e->key + key_len + 1;
	memcpy(e->key, key, key_len + 1);
	memcpy(e->wire, pkt->wire, len);
	e->node.key = e->key;
	if (find_ttls(pkt, e) < 0) {
		free(e);
		return NULL;
	}
	return e;
}

/** The entry holding @p node (its first member), or NULL. */
static struct cache_entry *entry_of(struct map_node *node)
{
	return (struct cache_entry *)node;
}

/** Keep response @p resp under @p key if it may be cached; failures only mean it is not. */
static void cache_store(struct forward *fw, const char *key, const uint8_t *resp, size_t len)
{
	struct cache_entry *e = NULL, *old;
	knot_pkt_t *pkt;

	if (parse_wire(resp, len, true, &pkt) < 0)
		return;
	uint32_t ttl = response_ttl(pkt);

	if (ttl > 0)
		e = entry_new(key, pkt, len, ttl);
	knot_pkt_free(pkt);
	if (!e)
		return;
	old = entry_of(map_get(&fw->cache, key));
	if (old)
		cache_drop(fw, old);
	while (fw->cache.count >= fw->cache_max && fw->oldest)
		cache_drop(fw, fw->oldest);
	if (map_put(&fw->cache, &e->node) < 0) {
		free(e);
		return;
	}
	lru_push(fw, e);
}

/**
 * Look @p key up. A stale entry is dropped.
 * @param[out] ret_resp a copy with its TTLs lowered by the entry's age, owned by the caller.
 * @return 0, -ENOENT (no fresh entry), -ENOMEM.
 */
static int cache_lookup(struct forward *fw, const char *key, uint8_t **ret_resp, size_t *ret_len)
{
	struct cache_entry *e = entry_of(map_get(&fw->cache, key));

	if (!e)
		return -ENOENT;
	uint64_t age = (uv_hrtime() - e->stored_ns) / NS_PER_S;

	if (age >= e->ttl) {
		cache_drop(fw, e);
		return -ENOENT;
	}
	uint8_t *copy = malloc(e->len);

	if (!copy)
		return -ENOMEM;
	memcpy(copy, e->wire, e->len);
	for (uint16_t i = 0; i < e->n_ttls; i++) {
		uint32_t ttl = knot_wire_read_u32(copy + e->ttl_offs[i]);

		knot_wire_write_u32(copy + e->ttl_offs[i], ttl > age ? ttl - (uint32_t)age : 0);
	}
	lru_unlink(fw, e);
	lru_push(fw, e);
	*ret_resp = copy;
	*ret_len = e->len;
	return 0;
}

/* ---- queries ---- */

/** ares_send() callback: hand the answer (any rcode) or the failure to the caller. */
static void on_upstream_answer(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct fw_req *req = arg;
	struct forward *fw = req->fw;

	if (status == ARES_SUCCESS && abuf && alen >= KNOT_WIRE_HEADER_SIZE) {
		if (req->key[0] && !fw->closing)
			cache_store(fw, req->key, abuf, (size_t)alen);
		req->cb(req->ud, abuf, (size_t)alen);
	} else {
		fw->stats.failures++;
		req->cb(req->ud, NULL, 0);
	}
	free(req);
}

/** Does query @p in carry our own loop option, i.e. did we forward it before? */
static bool looped(const struct forward *fw, const knot_pkt_t *in)
{
	const uint8_t *opt = NULL;

	if (!in->opt_rr)
		return false;
	while ((opt = knot_edns_get_option(in->opt_rr, fw->opt_code, opt)) != NULL) {
		if (knot_edns_opt_get_length(opt) == fw->nonce_len &&
		    memcmp(opt + KNOT_EDNS_OPTION_HDRLEN, fw->nonce, fw->nonce_len) == 0)
			return true;
	}
	return false;
}

/** Rewrite query @p in and give it to c-ares. @return 0 (cb will run), -EINVAL, -ENOMEM, -EIO. */
static int send_upstream(struct forward *fw, const knot_pkt_t *in, const char *key, forward_cb cb, void *ud)
{
	size_t key_len = strlen(key);
	struct fw_req *req = malloc(sizeof(*req) + key_len + 1);
	int rc;

	if (!req)
		return -ENOMEM;
	rc = build_upstream(fw, in);
	if (rc < 0) {
		free(req);
		return rc;
	}
	req->fw = fw;
	req->cb = cb;
	req->ud = ud;
	memcpy(req->key, key, key_len + 1);
	fw->stats.queries++;
	/* Copies the query and gives it a random id; may call back at once on failure. */
	ares_send(fw->channel, fw->scratch->wire, (int)fw->scratch->size, on_upstream_answer, req);
	timer_update(fw);
	return 0;
}

int forward_query(struct forward *fw, const uint8_t *query, size_t len, forward_cb cb, void *ud)
{
	char key[KEY_MAX] = "";
	knot_pkt_t *in;
	uint8_t *resp;
	size_t resp_len;
	int rc;

	if (!fw || !query || !cb)
		return -EINVAL;
	if (fw->closing)
		return -ECANCELED;
	rc = parse_wire(query, len, false, &in);
	if (rc < 0)
		return rc;
	if (looped(fw, in)) {
		knot_pkt_free(in);
		return -ELOOP;
	}
	if (fw->cache_max > 0 && cache_key(in, key) == 0 && cache_lookup(fw, key, &resp, &resp_len) == 0) {
		knot_pkt_free(in);
		fw->stats.queries++;
		fw->stats.cache_hits++;
		cb(ud, resp, resp_len);
		free(resp);
		return 0;
	}
	rc = send_upstream(fw, in, key, cb, ud);
	knot_pkt_free(in);
	return rc;
}

/* ---- lifecycle ---- */

/** Create fw->channel on the loop (see DESIGN for the flags). @return 0, -ENOMEM, -EIO. */
static int channel_init(struct forward *fw, const struct forward_conf *conf)
{
	struct ares_options opts = {
		.flags = ARES_FLAG_NOCHECKRESP | ARES_FLAG_STAYOPEN | ARES_FLAG_EDNS,
		.timeout = (int)conf->timeout_ms,
		.tries = FORWARD_TRIES,
		.ednspsz = FORWARD_EDNS_PAYLOAD,
		.sock_state_cb = on_sock_state,
		.sock_state_cb_data = fw,
	};
	int mask = ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_EDNSPSZ | ARES_OPT_SOCK_STATE_CB |
		   ARES_OPT_NOROTATE;
	int rc;

	pthread_once(&ares_once, ares_lib_init);
	if (ares_lib_status != ARES_SUCCESS)
		return -EIO;
	rc = ares_init_options(&fw->channel, &opts, mask);
	if (rc != ARES_SUCCESS)
		return rc == ARES_ENOMEM ? -ENOMEM : -EIO;
	return 0;
}

/** Point fw->channel at @p eps, in order. @return 0, -ENOMEM, -EIO. */
static int channel_set_servers(struct forward *fw, const struct endpoint *eps, size_t n)
{
	struct ares_addr_port_node *nodes = calloc(n, sizeof(*nodes));
	int rc;

	if (!nodes)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		nodes[i].next = i + 1 < n ? &nodes[i + 1] : NULL;
		nodes[i].family = eps[i].family;
		if (eps[i].family == AF_INET)
			nodes[i].addr.addr4 = eps[i].addr.v4;
		else
			memcpy(&nodes[i].addr.addr6, &eps[i].addr.v6, sizeof(nodes[i].addr.addr6));
		nodes[i].udp_port = nodes[i].tcp_port = eps[i].port;
	}
	rc = ares_set_servers_ports(fw->channel, nodes);
	free(nodes);
	if (rc != ARES_SUCCESS)
		return rc == ARES_ENOMEM ? -ENOMEM : -EIO;
	return 0;
}

static bool conf_valid(const struct forward_conf *conf)
{
	return conf->n_upstreams > 0 && conf->upstreams && (conf->n_self == 0 || conf->self) &&
	       conf->timeout_ms > 0 && conf->timeout_ms <= INT_MAX && conf->loop_nonce_len <= FORWARD_NONCE_MAX &&
	       (conf->loop_nonce_len == 0 || conf->loop_nonce);
}

int forward_new(struct rd_loop *loop, const struct forward_conf *conf, struct forward **ret_fw)
{
	struct endpoint *eps;
	struct forward *fw;
	int rc;

	if (!loop || !conf || !ret_fw || !conf_valid(conf))
		return -EINVAL;
	rc = parse_upstreams(conf, &eps);
	if (rc < 0)
		return rc;
	rc = -ENOMEM;
	fw = calloc(1, sizeof(*fw) + conf->loop_nonce_len);
	if (!fw)
		goto out_free_eps;
	fw->loop = loop;
	fw->cache_max = conf->cache_entries;
	fw->opt_code = conf->loop_opt_code;
	fw->nonce_len = conf->loop_nonce_len;
	if (fw->nonce_len)
		memcpy(fw->nonce, conf->loop_nonce, fw->nonce_len);
	if (map_init(&fw->cache) < 0)
		goto out_free_fw;
	fw->scratch = knot_pkt_new(NULL, KNOT_WIRE_MAX_PKTSIZE, NULL);
	if (!fw->scratch)
		goto out_deinit_map;
	rc = channel_init(fw, conf);
	if (rc < 0)
		goto out_free_scratch;
	rc = channel_set_servers(fw, eps, conf->n_upstreams);
	if (rc < 0)
		goto out_destroy_channel;
	/* Cannot fail on a live loop; nothing after it can fail either, so no handle needs closing below. */
	uv_timer_init(&loop->uv, &fw->timer);
	fw->timer.data = fw;
	fw->open_handles = 1;
	free(eps);
	*ret_fw = fw;
	return 0;

out_destroy_channel:
	ares_destroy(fw->channel);
out_free_scratch:
	knot_pkt_free(fw->scratch);
out_deinit_map:
	map_deinit(&fw->cache);
out_free_fw:
	free(fw);
out_free_eps:
	free(eps);
	return rc;
}

void forward_free(struct forward *fw)
{
	if (!fw)
		return;
	fw->closing = true;
	/* Calls every pending query back (ARES_EDESTRUCTION) and reports each socket closed. */
	ares_destroy(fw->channel);
	fw->channel = NULL;
	/* Should be none left; a socket c-ares forgot to report must not keep the loop open. */
	while (fw->socks)
		sock_close(fw, fw->socks);
	cache_clear(fw);
	map_deinit(&fw->cache);
	knot_pkt_free(fw->scratch);
	fw->scratch = NULL;
	uv_timer_stop(&fw->timer);
	uv_close((uv_handle_t *)&fw->timer, on_timer_closed);
}

void forward_get_stats(const struct forward *fw, struct forward_stats *ret)
{
	*ret = fw->stats;
	ret->cached = fw->cache.count;
}
