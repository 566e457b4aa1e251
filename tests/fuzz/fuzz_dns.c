/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Fuzz target: one DNS query, wire to response, through every step of resolverd/dns/query.h. */
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libknot/libknot.h>

#include "resolverd/dns/query.h"

/*
 * The input is the query as a client sends it. Its id, which the server only
 * echoes, also steers the harness, so that every seed is a plain DNS query:
 *   byte 0 (id high): even = the client may forward; bit 1 = TCP;
 *                     bits 2-3 = what the upstream answers (FORWARD);
 *   byte 1 (id low):  bit 0 = the DHT lookup fails; bits 1-3 = how many
 *                     records it finds; bits 4-7 = where in the table they start.
 * An upstream response is the input itself, with QR set or not, whole or cut.
 */

#define NOW 1700000000ull
#define FRESH_EVERY 64 /**< also run every Nth input on a new struct, as a pending query gets */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const p2p_ns[] = {"ns1.p2p", "ns2.p2p"};
static const struct dns_zone zones[] = {{
	.apex = "p2p",
	.ns = p2p_ns,
	.n_ns = 2,
	.hostmaster = "hostmaster.p2p",
	.serial = 2024010101,
	.negative_ttl = 300,
}};
static const char *const enum_suffixes[] = {"e164.arpa"};
static const uint8_t nonce[] = {0x5e, 0xc7, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06};

static bool may_forward(void *ud, const struct sockaddr *client)
{
	(void)client;
	return (*(const uint8_t *)ud & 1) == 0;
}

static uint8_t g_id_high; /* the may_forward user data */

static const struct dns_conf conf = {
	.enum_suffixes = enum_suffixes,
	.n_enum = 1,
	.zones = zones,
	.n_zones = 1,
	.max_ttl = 600,
	.edns_payload = 1232,
	.may_forward = may_forward,
	.may_forward_ud = &g_id_high,
	.loop_opt_code = 65001,
	.loop_nonce = nonce,
	.loop_nonce_len = sizeof(nonce),
};

/* Values of every kind, good and bad, as the unit tests use them. */
static const char *const contacts[] = {
	"sip:alice@192.0.2.10:5060",
	"https://phone.example/alice",
	"10 60 5060 sip1.example.com",
	"2001:db8::10",
	"192.0.2.1",
	"20 0 5061 sip2.example.com.",
	"",
	"10 60 5060",
	"70000 1 1 x.example.com",
	"1 2 3 bad..name",
	"tel:+4930123456",
	"sip:bob@example.com;transport=tcp",
	"fe80::1%eth0",
	"0 0 0 .",
	"xmpp:carol@chat.example/phone",
	"mailto:dave@example.com",
};
#define N_CONTACTS (sizeof(contacts) / sizeof(contacts[0]))

/* The records the DHT "finds", all of the kind looked up, live at NOW. */
static enum dns_step answer(struct dns_query *q, uint8_t ctl)
{
	struct record recs[8];
	const struct record *ptrs[8];
	size_t n = (ctl >> 1) & 7;
	for (size_t i = 0; i < n; i++) {
		recs[i] = (struct record){
			.kind = q->lookup.kind,
			.q = (uint16_t)(1000 - 100 * i),
			.seq = 1,
			.expires = NOW + 1 + 997 * i,
			.uri = q->lookup.name,
			.contact = contacts[((ctl >> 4) + i) % N_CONTACTS],
			.instance = "device",
		};
		ptrs[i] = &recs[i];
	}
	return dns_query_answer(q, (ctl & 1) == 0, ptrs, n, NOW);
}

/* What the upstream sends back: the input as a response, as it is, cut short, or nothing. */
static enum dns_step forwarded(struct dns_query *q, const uint8_t *data, size_t size)
{
	static uint8_t resp[DNS_MAX_MSG];
	memcpy(resp, data, size);
	switch ((data[0] >> 2) & 3) {
	case 0:
		knot_wire_set_qr(resp);
		return dns_query_forwarded(q, resp, size);
	case 1:
		return dns_query_forwarded(q, NULL, 0);
	case 2:
		return dns_query_forwarded(q, resp, size);
	default:
		knot_wire_set_qr(resp);
		return dns_query_forwarded(q, resp, size / 2 > 12 ? size / 2 : size);
	}
}

/* Every response must parse, answer the query's id and fit its transport. */
static void check_reply(const struct dns_query *q, const uint8_t *data, bool tcp)
{
	static uint8_t copy[DNS_MAX_MSG];
	if (!q->out || q->out_len < KNOT_WIRE_HEADER_SIZE || q->out_len > (tcp ? DNS_MAX_MSG : 1232))
		abort();
	if (knot_wire_get_id(q->out) != knot_wire_get_id(data) || !knot_wire_get_qr(q->out))
		abort();
	memcpy(copy, q->out, q->out_len);
	knot_pkt_t *pkt = knot_pkt_new(copy, (uint16_t)q->out_len, NULL);
	if (!pkt)
		abort();
	if (knot_pkt_parse(pkt, KNOT_PF_NOCANON) != KNOT_EOK)
		abort();
	knot_pkt_free(pkt);
}

static void run(struct dns_query *q, const uint8_t *data, size_t size)
{
	struct sockaddr_in client = {.sin_family = AF_INET, .sin_port = htons(5353),
				     .sin_addr.s_addr = htonl(0xc0000207)};
	bool tcp = (data[0] & 2) != 0;
	g_id_high = data[0];
	enum dns_step step = dns_query_begin(q, &conf, data, size, tcp, (const struct sockaddr *)&client);
	if (step == DNS_STEP_LOOKUP)
		step = answer(q, data[1]);
	if (step == DNS_STEP_FORWARD) {
		if (!q->fwd || q->fwd_len != size || memcmp(q->fwd, data, size) != 0)
			abort();
		step = forwarded(q, data, size);
	}
	if (step == DNS_STEP_REPLY)
		check_reply(q, data, tcp);
	else if (step != DNS_STEP_DROP)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The server's hot struct: reused for every query, with the normalization memo. */
	static struct dns_query hot;
	static unsigned long runs;
	if (size < 2 || size > DNS_MAX_MSG)
		return -1;
	if (!hot.priv && (dns_query_init(&hot) < 0 || dns_query_enable_memo(&hot) < 0))
		abort();
	run(&hot, data, size);
	/* the first input too, so that replaying one input alone also runs it fresh */
	if (runs++ % FRESH_EVERY == 0) {
		struct dns_query fresh = {0};
		if (dns_query_init(&fresh) < 0)
			abort();
		run(&fresh, data, size);
		dns_query_deinit(&fresh);
	}
	return 0;
}
