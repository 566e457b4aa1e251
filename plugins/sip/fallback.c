/* SPDX-License-Identifier: GPL-3.0-or-later */
/* RFC 3263 server location for the sip plugin's fallback: a small state machine over api->dns_query(). */
#include "plugins/sip/fallback.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/*
 * DESIGN
 * A fallback runs in steps (RFC 3263 4.1 and 4.2). Each step is a batch of
 * DNS queries asked in parallel; it ends when its last answer arrives
 * (fb->pending reaches 0), and then the fallback either finishes or starts
 * the next step:
 *  STEP_NAPTR      NAPTR on the host. Kept: flags "s", services SIP+D2U,
 *                  SIP+D2T and SIPS+D2T (SIPS+D2T only for a sips: AoR),
 *                  sorted by order, then preference; at most FB_MAX_SLOTS.
 *  STEP_NAPTR_SRV  SRV on the replacement of each kept NAPTR record.
 *  STEP_SRV        With no usable NAPTR (or nothing behind it): SRV on
 *                  _sip._udp, _sip._tcp and _sips._tcp, or only _sips._tcp
 *                  for a sips: AoR.
 *  STEP_ADDR       With no SRV, or with an explicit port: A and AAAA on the
 *                  host. One target, the host itself, on the explicit port
 *                  or 5060 (udp) / 5061 (sips:, TLS over TCP).
 * A host that is an IP address is its own target, without DNS.
 *
 * A step that finds targets ends the search. A step that finds none moves on
 * only if every query said "no such records": a timeout or a server failure
 * is not an absence, and moving on could put the domain's A record where its
 * real servers should be, so the fallback ends with that error instead. SRV
 * records whose target is "." say the service is decidedly not offered
 * (RFC 2782): they end the search with -ENOENT.
 *
 * Targets are server locations ("sip:host:port;transport=udp"), not
 * addresses. Their order: the step's slot (NAPTR order, or udp, tcp, tls),
 * then SRV priority, then higher weight first (a deterministic stand-in for
 * RFC 2782's weighted pick), then the server's order. Equal (slot, priority,
 * weight) share a q, which falls evenly from RD_Q_MAX over the distinct keys.
 * A target's ttl is the smallest TTL on its path (NAPTR, then SRV). Bounds:
 * FB_MAX_SLOTS NAPTR records followed, FB_MAX_CANDS SRV targets kept (the
 * first to arrive), FB_MAX_TARGETS reported (the best).
 *
 * Threads: loop thread only. Lifetime: a struct sip_fb sits in its owner's
 * list from sip_fallback_start() until it calls its callback, then is freed.
 * A step never ends while one of its queries is pending, so no DNS callback
 * meets a freed fallback; after sip_fallbacks_deinit() frees them early, the
 * host drops their queries without callbacks (plugin.h, deinit).
 */

#define FB_MAX_SLOTS 4    /**< NAPTR records followed; SRV names asked in one step */
#define FB_MAX_CANDS 32   /**< SRV targets kept, in arrival order */
#define FB_MAX_TARGETS 16 /**< targets reported */
#define FB_URL_MAX (RD_HOST_MAX + 40)
#define FB_VIA_MAX (RD_HOST_MAX + 40)
#define FB_LITERAL_TTL 86400 /**< an IP address names its server for good; a day is long enough */

enum fb_step { STEP_NAPTR, STEP_NAPTR_SRV, STEP_SRV, STEP_ADDR, STEP_LITERAL };

/** Transports, in the order STEP_SRV prefers them. */
enum fb_kind { KIND_UDP, KIND_TCP, KIND_TLS };

static const char *const kind_service[] = {"SIP+D2U", "SIP+D2T", "SIPS+D2T"};
static const char *const kind_srv_prefix[] = {"_sip._udp.", "_sip._tcp.", "_sips._tcp."};

/** One name asked in the current step; the ud of its DNS query. */
struct fb_slot {
	struct sip_fb *fb;          /**< back pointer, for the DNS callback */
	enum fb_kind kind;          /**< transport its targets use */
	uint32_t ttl;               /**< TTL of the NAPTR record that led here, or UINT32_MAX */
	char name[RD_HOST_MAX + 1]; /**< the SRV owner name asked */
};

/** A server found by SRV (or the host itself, in STEP_ADDR). */
struct fb_cand {
	char target[RD_HOST_MAX + 3]; /**< host name, or "[v6]" */
	uint16_t port, priority, weight;
	uint16_t seq;  /**< arrival order, the last sort key */
	uint8_t slot;  /**< index into fb->slots */
	uint32_t ttl;  /**< smallest TTL on the path */
};

/** One fallback in flight. */
struct sip_fb {
	struct sip_fb *prev, *next;  /**< in owner->head */
	struct sip_fallbacks *owner; /**< borrowed */
	rd_fallback_cb cb;
	void *ud;
	bool sips;                   /**< a sips: AoR: TLS targets only */
	uint16_t port;               /**< the AoR's explicit port, or 0 */
	char host[RD_HOST_MAX + 1];  /**< the AoR's host, lower-case, no brackets */
	enum fb_step step;
	unsigned pending;            /**< DNS queries of this step not answered yet */
	int error;                   /**< worst failure in this step: 0, -EIO, -ETIMEDOUT, -ECANCELED */
	bool found;                  /**< some query of this step had records */
	bool have_a, have_aaaa;      /**< STEP_ADDR: which types answered */
	struct fb_slot slots[FB_MAX_SLOTS];
	size_t n_slots;
	struct fb_cand cands[FB_MAX_CANDS];
	size_t n_cands;
	uint16_t seq;
	char urls[FB_MAX_TARGETS][FB_URL_MAX];
	char vias[FB_MAX_TARGETS][FB_VIA_MAX];
	struct rd_target targets[FB_MAX_TARGETS];
};

static void step_end(struct sip_fb *fb);

static uint32_t min_u32(uint32_t a, uint32_t b)
{
	return a < b ? a : b;
}

/** How bad a DNS failure is; the worst one of a step is the fallback's error. */
static int error_rank(int err)
{
	switch (err) {
	case -ECANCELED:
		return 3;
	case -ETIMEDOUT:
		return 2;
	case 0:
		return 0;
	default:
		return 1;
	}
}

/** Record one DNS answer's status in the step. */
static void note_status(struct sip_fb *fb, int status)
{
	if (status == 0) {
		fb->found = true;
		return;
	}
	if (status == -ENOENT)
		return;
	if (status != -ECANCELED && status != -ETIMEDOUT)
		status = -EIO;
	if (error_rank(status) > error_rank(fb->error))
		fb->error = status;
}

/** Unlink @p fb, run its callback, free it. */
static void finish(struct sip_fb *fb, int status, size_t n)
{
	struct sip_fallbacks *fbs = fb->owner;

	if (fb->prev != NULL)
		fb->prev->next = fb->next;
	else
		fbs->head = fb->next;
	if (fb->next != NULL)
		fb->next->prev = fb->prev;
	fb->cb(fb->ud, status, n > 0 ? fb->targets : NULL, n);
	free(fb);
}

/** Ask one DNS question for @p slot. A question that cannot be asked counts as answered. */
static void ask(struct sip_fb *fb, struct fb_slot *slot, const char *name, enum rd_dns_type type, rd_dns_cb cb)
{
	const struct rd_host_api *api = fb->owner->api;
	int err = api->dns_query(fb->owner->host, name, type, cb, slot);

	if (err == 0)
		fb->pending++;
	else if (err != -EINVAL) /* -EINVAL: the name cannot exist in DNS, so it has no records */
		note_status(fb, -EIO);
}

/** Begin a step: no slots, no status yet. */
static void step_begin(struct sip_fb *fb, enum fb_step step)
{
	fb->step = step;
	fb->error = 0;
	fb->found = false;
	fb->n_slots = 0;
}

static struct fb_slot *add_slot(struct sip_fb *fb, enum fb_kind kind, uint32_t ttl)
{
	struct fb_slot *slot = &fb->slots[fb->n_slots++];

	slot->fb = fb;
	slot->kind = kind;
	slot->ttl = ttl;
	return slot;
}

/** Keep one SRV answer (or, for STEP_ADDR, the host) as a candidate. */
static void add_cand(struct sip_fb *fb, size_t slot, const char *target, uint16_t port,
		     uint16_t priority, uint16_t weight, uint32_t ttl)
{
	struct fb_cand *c;

	if (fb->n_cands == FB_MAX_CANDS || strlen(target) >= sizeof(c->target))
		return;
	c = &fb->cands[fb->n_cands++];
	strcpy(c->target, target);
	c->port = port;
	c->priority = priority;
	c->weight = weight;
	c->seq = fb->seq++;
	c->slot = (uint8_t)slot;
	c->ttl = min_u32(fb->slots[slot].ttl, ttl);
}

/* ---- the steps ------------------------------------------------------------ */

static void on_addr(void *ud, int status, const struct rd_dns_rr *rrs, size_t n)
{
	struct fb_slot *slot = ud;
	struct sip_fb *fb = slot->fb;
	uint32_t ttl = UINT32_MAX;

	fb->pending--;
	note_status(fb, status);
	for (size_t i = 0; status == 0 && i < n; i++)
		ttl = min_u32(ttl, rrs[i].ttl);
	if (status == 0 && n > 0) {
		if (slot == &fb->slots[0])
			fb->have_a = true;
		else
			fb->have_aaaa = true;
		if (fb->n_cands == 0)
			add_cand(fb, 0, fb->host, fb->port != 0 ? fb->port : (fb->sips ? 5061 : 5060), 0, 0, ttl);
		else
			fb->cands[0].ttl = min_u32(fb->cands[0].ttl, ttl);
	}
	if (fb->pending == 0)
		step_end(fb);
}

static void start_addr(struct sip_fb *fb)
{
	enum fb_kind kind = fb->sips ? KIND_TLS : KIND_UDP;
	struct fb_slot *a, *aaaa;

	step_begin(fb, STEP_ADDR);
	a = add_slot(fb, kind, UINT32_MAX);
	aaaa = add_slot(fb, kind, UINT32_MAX);
	ask(fb, a, fb->host, RD_DNS_A, on_addr);
	ask(fb, aaaa, fb->host, RD_DNS_AAAA, on_addr);
	if (fb->pending == 0)
		step_end(fb);
}

static void on_srv(void *ud, int status, const struct rd_dns_rr *rrs, size_t n)
{
	struct fb_slot *slot = ud;
	struct sip_fb *fb = slot->fb;
	size_t index = (size_t)(slot - fb->slots);

	fb->pending--;
	note_status(fb, status);
	for (size_t i = 0; status == 0 && i < n; i++) {
		const char *target = rrs[i].u.srv.target;

		/* "." (or nothing): the service is not offered here (RFC 2782). */
		if (target == NULL || target[0] == '\0' || strcmp(target, ".") == 0)
			continue;
		add_cand(fb, index, target, rrs[i].u.srv.port, rrs[i].u.srv.priority, rrs[i].u.srv.weight,
			 rrs[i].ttl);
	}
	if (fb->pending == 0)
		step_end(fb);
}

/** Ask SRV for every slot already filled in. */
static void ask_slots_srv(struct sip_fb *fb)
{
	for (size_t i = 0; i < fb->n_slots; i++)
		ask(fb, &fb->slots[i], fb->slots[i].name, RD_DNS_SRV, on_srv);
	if (fb->pending == 0)
		step_end(fb);
}

static void start_srv(struct sip_fb *fb)
{
	step_begin(fb, STEP_SRV);
	for (int kind = fb->sips ? KIND_TLS : KIND_UDP; kind <= KIND_TLS; kind++) {
		struct fb_slot *slot = add_slot(fb, (enum fb_kind)kind, UINT32_MAX);
		int len = snprintf(slot->name, sizeof(slot->name), "%s%s", kind_srv_prefix[kind], fb->host);

		/* A name past RD_HOST_MAX cannot exist in DNS: it has no records. */
		if (len < 0 || (size_t)len >= sizeof(slot->name))
			fb->n_slots--;
	}
	ask_slots_srv(fb);
}

/** The transport of a usable NAPTR record, or -1 to skip it. */
static int naptr_kind(const struct sip_fb *fb, const struct rd_dns_rr *rr)
{
	const char *flags = rr->u.naptr.flags, *service = rr->u.naptr.service;
	const char *repl = rr->u.naptr.replacement;

	if (flags == NULL || service == NULL || repl == NULL || strcasecmp(flags, "s") != 0 || repl[0] == '\0' ||
	    strlen(repl) > RD_HOST_MAX)
		return -1;
	for (int kind = fb->sips ? KIND_TLS : KIND_UDP; kind <= KIND_TLS; kind++) {
		if (strcasecmp(service, kind_service[kind]) == 0)
			return kind;
	}
	return -1;
}

/** Keep the best FB_MAX_SLOTS usable NAPTR records, by order then preference, stable. */
static void pick_naptr(struct sip_fb *fb, const struct rd_dns_rr *rrs, size_t n)
{
	const struct rd_dns_rr *best[FB_MAX_SLOTS];
	int kinds[FB_MAX_SLOTS];
	size_t kept = 0;

	for (size_t i = 0; i < n; i++) {
		int kind = naptr_kind(fb, &rrs[i]);
		size_t at = kept;

		if (kind < 0)
			continue;
		while (at > 0 && (best[at - 1]->u.naptr.order > rrs[i].u.naptr.order ||
				  (best[at - 1]->u.naptr.order == rrs[i].u.naptr.order &&
				   best[at - 1]->u.naptr.preference > rrs[i].u.naptr.preference)))
			at--;
		if (at == FB_MAX_SLOTS)
			continue;
		kept = kept < FB_MAX_SLOTS ? kept + 1 : kept;
		memmove(&best[at + 1], &best[at], (kept - 1 - at) * sizeof(best[0]));
		memmove(&kinds[at + 1], &kinds[at], (kept - 1 - at) * sizeof(kinds[0]));
		best[at] = &rrs[i];
		kinds[at] = kind;
	}
	for (size_t i = 0; i < kept; i++) {
		struct fb_slot *slot = add_slot(fb, (enum fb_kind)kinds[i], best[i]->ttl);

		strcpy(slot->name, best[i]->u.naptr.replacement);
	}
}

static void on_naptr(void *ud, int status, const struct rd_dns_rr *rrs, size_t n)
{
	struct fb_slot *slot = ud;
	struct sip_fb *fb = slot->fb;

	fb->pending--;
	note_status(fb, status);
	fb->n_slots = 0;
	if (status == 0)
		pick_naptr(fb, rrs, n);
	step_end(fb);
}

static void start_naptr(struct sip_fb *fb)
{
	step_begin(fb, STEP_NAPTR);
	ask(fb, add_slot(fb, KIND_UDP, UINT32_MAX), fb->host, RD_DNS_NAPTR, on_naptr);
	/* That slot only carries the query; on_naptr() fills the slots to follow. */
	fb->n_slots = 0;
	if (fb->pending == 0)
		step_end(fb);
}

/* ---- results -------------------------------------------------------------- */

static int cand_cmp(const void *pa, const void *pb)
{
	const struct fb_cand *a = pa, *b = pb;

	if (a->slot != b->slot)
		return a->slot < b->slot ? -1 : 1;
	if (a->priority != b->priority)
		return a->priority < b->priority ? -1 : 1;
	if (a->weight != b->weight)
		return a->weight > b->weight ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static bool same_rank(const struct fb_cand *a, const struct fb_cand *b)
{
	return a->slot == b->slot && a->priority == b->priority && a->weight == b->weight;
}

static void format_url(char *buf, enum fb_kind kind, const char *target, uint16_t port)
{
	if (kind == KIND_TLS)
		snprintf(buf, FB_URL_MAX, "sips:%s:%u", target, (unsigned)port);
	else
		snprintf(buf, FB_URL_MAX, "sip:%s:%u;transport=%s", target, (unsigned)port,
			 kind == KIND_UDP ? "udp" : "tcp");
}

static void format_via(const struct sip_fb *fb, const struct fb_slot *slot, char *buf)
{
	switch (fb->step) {
	case STEP_NAPTR_SRV:
		snprintf(buf, FB_VIA_MAX, "NAPTR %s -> SRV %s", kind_service[slot->kind], slot->name);
		break;
	case STEP_SRV:
		snprintf(buf, FB_VIA_MAX, "SRV %s", slot->name);
		break;
	case STEP_ADDR:
		snprintf(buf, FB_VIA_MAX, "%s", fb->have_a && fb->have_aaaa ? "A+AAAA" : fb->have_a ? "A" : "AAAA");
		break;
	default:
		snprintf(buf, FB_VIA_MAX, "IP address");
		break;
	}
}

/** Sort the candidates, turn the best into targets, finish with 0. */
static void finish_targets(struct sip_fb *fb)
{
	size_t n = fb->n_cands < FB_MAX_TARGETS ? fb->n_cands : FB_MAX_TARGETS;
	size_t distinct = 0, rank = 0;

	qsort(fb->cands, fb->n_cands, sizeof(fb->cands[0]), cand_cmp);
	for (size_t i = 0; i < n; i++)
		distinct += i == 0 || !same_rank(&fb->cands[i - 1], &fb->cands[i]);
	for (size_t i = 0; i < n; i++) {
		const struct fb_cand *c = &fb->cands[i];
		const struct fb_slot *slot = &fb->slots[c->slot];

		rank += i > 0 && !same_rank(&fb->cands[i - 1], c);
		format_url(fb->urls[i], slot->kind, c->target, c->port);
		format_via(fb, slot, fb->vias[i]);
		fb->targets[i] = (struct rd_target){
			.url = fb->urls[i],
			.q = (uint16_t)(RD_Q_MAX * (distinct - rank) / distinct),
			.ttl = c->ttl,
			.via = fb->vias[i],
		};
	}
	finish(fb, 0, n);
}

/** The current step is over: report, or go on to the next step. */
static void step_end(struct sip_fb *fb)
{
	if (fb->n_cands > 0) {
		finish_targets(fb);
	} else if (fb->error != 0) {
		finish(fb, fb->error, 0);
	} else if (fb->step == STEP_NAPTR) {
		size_t kept = fb->n_slots; /* filled by pick_naptr() */

		if (kept > 0) {
			step_begin(fb, STEP_NAPTR_SRV);
			fb->n_slots = kept;
			ask_slots_srv(fb);
		} else {
			start_srv(fb);
		}
	} else if (fb->found && fb->step != STEP_ADDR) {
		finish(fb, -ENOENT, 0); /* only "." targets */
	} else if (fb->step == STEP_NAPTR_SRV) {
		start_srv(fb);
	} else if (fb->step == STEP_SRV) {
		start_addr(fb);
	} else {
		finish(fb, -ENOENT, 0);
	}
}

/* ---- the entry points ----------------------------------------------------- */

/** Read the scheme, host and explicit port of an AoR. @return 0 or -ENOTSUP. */
static int parse_name(struct sip_fb *fb, const struct rd_name *name)
{
	const char *rest, *hp, *p;
	size_t host_len = strlen(name->host);

	if (strncmp(name->name, "sip:", 4) == 0)
		rest = name->name + 4;
	else if (strncmp(name->name, "sips:", 5) == 0)
		rest = name->name + 5;
	else
		return -ENOTSUP;
	fb->sips = rest == name->name + 5;
	if (host_len == 0 || host_len > RD_HOST_MAX)
		return -ENOTSUP;
	memcpy(fb->host, name->host, host_len + 1);
	hp = strrchr(rest, '@');
	hp = hp != NULL ? hp + 1 : rest;
	p = hp[0] == '[' ? strchr(hp, ']') : hp;
	if (p == NULL)
		return -ENOTSUP;
	p += strcspn(p, ":;?");
	if (*p == ':') {
		char *end;
		unsigned long port = strtoul(p + 1, &end, 10);

		if (port == 0 || port > 65535 || (*end != '\0' && *end != ';' && *end != '?'))
			return -ENOTSUP;
		fb->port = (uint16_t)port;
	}
	return 0;
}

static bool is_ip_address(const char *host)
{
	unsigned char addr[16];

	return inet_pton(AF_INET, host, addr) == 1 || inet_pton(AF_INET6, host, addr) == 1;
}

/** An IP address is its own server: one target, no DNS. */
static void finish_literal(struct sip_fb *fb)
{
	char target[RD_HOST_MAX + 3];
	bool v6 = strchr(fb->host, ':') != NULL;

	step_begin(fb, STEP_LITERAL);
	snprintf(target, sizeof(target), "%s%s%s", v6 ? "[" : "", fb->host, v6 ? "]" : "");
	add_slot(fb, fb->sips ? KIND_TLS : KIND_UDP, UINT32_MAX);
	add_cand(fb, 0, target, fb->port != 0 ? fb->port : (fb->sips ? 5061 : 5060), 0, 0, FB_LITERAL_TTL);
	finish_targets(fb);
}

void sip_fallbacks_init(struct sip_fallbacks *fbs, const struct rd_host_api *api, struct rd_host *host)
{
	*fbs = (struct sip_fallbacks){.api = api, .host = host, .head = NULL};
}

void sip_fallbacks_deinit(struct sip_fallbacks *fbs)
{
	while (fbs->head != NULL)
		finish(fbs->head, -ECANCELED, 0);
}

int sip_fallback_start(struct sip_fallbacks *fbs, const struct rd_name *name, rd_fallback_cb cb, void *ud)
{
	struct sip_fb *fb = calloc(1, sizeof(*fb));
	int err;

	if (fb == NULL)
		return -ENOMEM;
	err = parse_name(fb, name);
	if (err < 0) {
		free(fb);
		return err;
	}
	fb->owner = fbs;
	fb->cb = cb;
	fb->ud = ud;
	fb->next = fbs->head;
	if (fbs->head != NULL)
		fbs->head->prev = fb;
	fbs->head = fb;
	if (is_ip_address(fb->host))
		finish_literal(fb);
	else if (fb->port != 0)
		start_addr(fb);
	else
		start_naptr(fb);
	return 0;
}
