/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests for resolverd/dns/query.c: the DNS protocol core, driven with libknot-built packets. */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libknot/libknot.h>

#include "resolverd/core/uri.h"
#include "resolverd/dns/query.h"

#define NOW 1700000000ull
#define MAX_TTL 600
#define BUF_LEN 65535

/* ---- malloc counting: this executable's allocations while t_counting is set ---- */

/* volatile: the compiler assumes malloc() touches no user memory, so it could cache these across a call. */
static __thread volatile bool t_counting;
static __thread volatile size_t t_mallocs;

#if defined(__SANITIZE_ADDRESS__)
/* ASan owns malloc(): count through its hooks (sanitizer/allocator_interface.h, not shipped with GCC). */
int __sanitizer_install_malloc_and_free_hooks(void (*malloc_hook)(const volatile void *, size_t),
					      void (*free_hook)(const volatile void *));

static void count_malloc_hook(const volatile void *ptr, size_t size)
{
	(void)ptr;
	(void)size;
	if (t_counting)
		t_mallocs++;
}

static void count_free_hook(const volatile void *ptr)
{
	(void)ptr;
}

static void counting_install(void)
{
	__sanitizer_install_malloc_and_free_hooks(count_malloc_hook, count_free_hook);
}
#else
/* glibc's allocator entry points, so that the interposers below can count and delegate. */
extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *ptr, size_t size);
extern void *__libc_memalign(size_t align, size_t size);

#define EXPORTED __attribute__((visibility("default")))

EXPORTED void *malloc(size_t size)
{
	if (t_counting)
		t_mallocs++;
	return __libc_malloc(size);
}

EXPORTED void *calloc(size_t n, size_t size)
{
	if (t_counting)
		t_mallocs++;
	return __libc_calloc(n, size);
}

EXPORTED void *realloc(void *ptr, size_t size)
{
	if (t_counting)
		t_mallocs++;
	return __libc_realloc(ptr, size);
}

EXPORTED void *aligned_alloc(size_t align, size_t size)
{
	if (t_counting)
		t_mallocs++;
	return __libc_memalign(align, size);
}

static void counting_install(void)
{
}
#endif

static void counting_start(void)
{
	t_mallocs = 0;
	t_counting = true;
}

static size_t counting_stop(void)
{
	t_counting = false;
	return t_mallocs;
}

/* ---- fixture ---- */

static bool g_may_forward;

static bool may_forward_cb(void *ud, const struct sockaddr *client)
{
	cr_assert_eq(ud, (void *)&g_may_forward, "may_forward gets its user data");
	cr_assert_not_null(client);
	return g_may_forward;
}

static const char *const p2p_ns[] = {"ns1.p2p", "ns2.p2p"};
static const struct dns_zone zones[] = {
	{
		.apex = "p2p",
		.ns = p2p_ns,
		.n_ns = 2,
		.hostmaster = "hostmaster.p2p",
		.serial = 2024010101,
		.negative_ttl = 300,
	},
};
static const char *const enum_suffixes[] = {"e164.arpa"};
static const uint8_t nonce[] = {0x5e, 0xc7, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06};
#define LOOP_CODE 65001

static struct dns_conf conf;
static struct dns_query q;
static struct sockaddr_in client;

static void setup(void)
{
	conf = (struct dns_conf){
		.enum_suffixes = enum_suffixes,
		.n_enum = 1,
		.zones = zones,
		.n_zones = 1,
		.max_ttl = MAX_TTL,
		.edns_payload = 1232,
		.may_forward = may_forward_cb,
		.may_forward_ud = &g_may_forward,
		.loop_opt_code = LOOP_CODE,
		.loop_nonce = nonce,
		.loop_nonce_len = sizeof(nonce),
	};
	g_may_forward = false;
	client = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = htons(5353)};
	inet_pton(AF_INET, "192.0.2.7", &client.sin_addr);
	cr_assert_eq(dns_query_init(&q), 0);
}

static void teardown(void)
{
	dns_query_deinit(&q);
}

TestSuite(dns_query, .init = setup, .fini = teardown);

/* ---- building queries ---- */

/** How to build a query. Zero values: id 0x1234, RD clear, class IN, no EDNS. */
struct qopts {
	uint16_t id;
	bool rd;
	bool cd;
	uint16_t qclass;
	bool edns;
	uint16_t payload;      /**< 0: 1232 */
	uint8_t version;
	bool dnssec_ok;
	uint16_t opt_code;     /**< 0: no option */
	const uint8_t *opt_data;
	uint16_t opt_len;
};

static const struct qopts plain = {0};
static const struct qopts edns = {.edns = true};

/** Write a query for @p name / @p qtype into @p buf. @return its length. */
static size_t make_query(uint8_t *buf, size_t cap, const char *name, uint16_t qtype, const struct qopts *o)
{
	knot_pkt_t *pkt = knot_pkt_new(buf, (uint16_t)cap, NULL);
	knot_dname_t *qname = knot_dname_from_str_alloc(name);
	size_t len;

	cr_assert_not_null(pkt);
	cr_assert_not_null(qname, "bad test name %s", name);
	knot_pkt_clear(pkt);
	knot_wire_set_id(pkt->wire, o->id != 0 ? o->id : 0x1234);
	if (o->rd)
		knot_wire_set_rd(pkt->wire);
	if (o->cd)
		knot_wire_set_cd(pkt->wire);
	cr_assert_eq(knot_pkt_put_question(pkt, qname, o->qclass != 0 ? o->qclass : KNOT_CLASS_IN, qtype), 0);
	if (o->edns) {
		knot_rrset_t opt;

		cr_assert_eq(knot_edns_init(&opt, o->payload != 0 ? o->payload : 1232, 0, o->version, NULL), 0);
		if (o->dnssec_ok)
			knot_edns_set_do(&opt);
		if (o->opt_code != 0)
			cr_assert_eq(knot_edns_add_option(&opt, o->opt_code, o->opt_len, o->opt_data, NULL), 0);
		cr_assert_eq(knot_pkt_begin(pkt, KNOT_ADDITIONAL), 0);
		cr_assert_eq(knot_pkt_put(pkt, KNOT_COMPR_HINT_NONE, &opt, 0), 0);
		knot_rrset_clear(&opt, NULL);
	}
	len = pkt->size;
	knot_pkt_free(pkt);
	free(qname);
	return len;
}

static uint8_t g_query[BUF_LEN];
static size_t g_query_len;

static enum dns_step begin_wire(const uint8_t *wire, size_t len, bool tcp)
{
	return dns_query_begin(&q, &conf, wire, len, tcp, (const struct sockaddr *)&client);
}

static enum dns_step ask(const char *name, uint16_t qtype, const struct qopts *o, bool tcp)
{
	g_query_len = make_query(g_query, sizeof(g_query), name, qtype, o);
	return begin_wire(g_query, g_query_len, tcp);
}

/* ---- reading responses ---- */

static uint8_t g_resp[BUF_LEN];

/** Parse q.out (copied) with libknot; the caller frees the packet. */
static knot_pkt_t *parse_out(void)
{
	knot_pkt_t *pkt;

	cr_assert_not_null(q.out);
	cr_assert_geq(q.out_len, KNOT_WIRE_HEADER_SIZE);
	memcpy(g_resp, q.out, q.out_len);
	pkt = knot_pkt_new(g_resp, (uint16_t)q.out_len, NULL);
	cr_assert_not_null(pkt);
	cr_assert_eq(knot_pkt_parse(pkt, KNOT_PF_NOCANON), 0, "our response does not parse");
	return pkt;
}

/** Expected header of a response. */
struct hdr {
	uint8_t rcode; /**< low four bits */
	bool aa, tc, ra, rd, cd;
	uint16_t an, ns, ar;
};

static void expect_header(const knot_pkt_t *pkt, struct hdr h)
{
	const uint8_t *w = pkt->wire;

	cr_assert_eq(knot_wire_get_id(w), knot_wire_get_id(g_query), "id echoed");
	cr_assert(knot_wire_get_qr(w), "QR set");
	cr_assert_eq(knot_wire_get_opcode(w), KNOT_OPCODE_QUERY);
	cr_assert_eq(knot_wire_get_rcode(w), h.rcode, "rcode %u, expected %u", knot_wire_get_rcode(w), h.rcode);
	cr_assert_eq(!!knot_wire_get_aa(w), h.aa, "AA");
	cr_assert_eq(!!knot_wire_get_tc(w), h.tc, "TC");
	cr_assert_eq(!!knot_wire_get_ra(w), h.ra, "RA");
	cr_assert_eq(!!knot_wire_get_rd(w), h.rd, "RD");
	cr_assert_eq(!!knot_wire_get_cd(w), h.cd, "CD");
	cr_assert_eq(knot_wire_get_ad(w), 0, "AD never set");
	cr_assert_eq(knot_wire_get_z(w), 0, "Z never set");
	cr_assert_eq(knot_wire_get_qdcount(w), 1);
	cr_assert_eq(knot_wire_get_ancount(w), h.an, "ANCOUNT %u", knot_wire_get_ancount(w));
	cr_assert_eq(knot_wire_get_nscount(w), h.ns, "NSCOUNT %u", knot_wire_get_nscount(w));
	cr_assert_eq(knot_wire_get_arcount(w), h.ar, "ARCOUNT %u", knot_wire_get_arcount(w));
	cr_assert_eq(memcmp(w + KNOT_WIRE_HEADER_SIZE, g_query + KNOT_WIRE_HEADER_SIZE,
			    knot_pkt_question_size(pkt)),
		     0, "question echoed byte for byte");
}

static const knot_rrset_t *rr_at(const knot_pkt_t *pkt, knot_section_t section, uint16_t i)
{
	const knot_pktsection_t *s = knot_pkt_section(pkt, section);

	cr_assert_lt(i, s->count);
	return knot_pkt_rr(s, i);
}

/** Our OPT: payload 1232, version 0, @p ext_rcode, @p dnssec_ok, no options. */
static void expect_opt(const knot_pkt_t *pkt, uint8_t ext_rcode, bool dnssec_ok)
{
	cr_assert_not_null(pkt->opt_rr, "response has an OPT");
	cr_assert_eq(knot_edns_get_payload(pkt->opt_rr), 1232);
	cr_assert_eq(knot_edns_get_version(pkt->opt_rr), 0);
	cr_assert_eq(knot_edns_get_ext_rcode(pkt->opt_rr), ext_rcode);
	cr_assert_eq(knot_edns_do(pkt->opt_rr), dnssec_ok);
	cr_assert_eq(pkt->opt_rr->rrs.rdata->len, 0, "no options");
}

/** The owner of an answer RR, as text (lower-cased by the test for comparison). */
static void expect_owner(const knot_rrset_t *rr, const char *name)
{
	knot_dname_t *expected = knot_dname_from_str_alloc(name);

	cr_assert(knot_dname_is_case_equal(rr->owner, expected), "owner is %s", name);
	free(expected);
}

/* ---- records ---- */

static struct record rec(enum record_kind kind, const char *contact, uint16_t pref, uint64_t expires)
{
	return (struct record){
		.kind = kind,
		.q = pref,
		.seq = 1,
		.expires = expires,
		.uri = "unused",
		.contact = contact,
		.instance = "device",
	};
}

/** dns_query_answer() over @p n records given by value. */
static enum dns_step answer(const struct record *recs, size_t n)
{
	const struct record *ptrs[64];

	cr_assert_leq(n, 64);
	for (size_t i = 0; i < n; i++)
		ptrs[i] = &recs[i];
	return dns_query_answer(&q, true, ptrs, n, NOW);
}

/** Ask, expect a LOOKUP of @p kind / @p lookup_name, answer with @p recs. */
static enum dns_step lookup(const char *name, uint16_t qtype, const struct qopts *o, bool tcp,
			    enum record_kind kind, const char *lookup_name, const struct record *recs, size_t n)
{
	cr_assert_eq(ask(name, qtype, o, tcp), DNS_STEP_LOOKUP, "%s is looked up", name);
	cr_assert_eq(q.lookup.kind, kind);
	cr_assert_str_eq(q.lookup.name, lookup_name);
	return answer(recs, n);
}

/* ---- mapping ---- */

static void expect_lookup(const char *name, uint16_t qtype, enum record_kind kind, const char *lname,
			  const char *host)
{
	cr_assert_eq(ask(name, qtype, &plain, false), DNS_STEP_LOOKUP, "%s is looked up", name);
	cr_assert_eq(q.lookup.kind, kind, "%s: kind %d", name, q.lookup.kind);
	cr_assert_str_eq(q.lookup.name, lname, "%s", name);
	cr_assert_str_eq(q.lookup.host, host, "%s", name);
	cr_assert_eq(q.qtype, qtype);
}

Test(dns_query, maps_user_bindings)
{
	expect_lookup("alice._sip.example.com", KNOT_RRTYPE_URI, RECORD_BINDING, "sip:alice@example.com",
		      "example.com");
	expect_lookup("juliet._xmpp.example.org.", KNOT_RRTYPE_TXT, RECORD_BINDING, "xmpp:juliet@example.org",
		      "example.org");
	expect_lookup("1001._h323.gw.example.net", KNOT_RRTYPE_NAPTR, RECORD_BINDING, "h323:1001@gw.example.net",
		      "gw.example.net");
}

Test(dns_query, lower_cases_and_escapes_user_labels)
{
	/* DNS names are case-insensitive (RFC 4343): the DNS view reaches lower-case user parts only. */
	expect_lookup("Alice._SIP.Example.COM", KNOT_RRTYPE_URI, RECORD_BINDING, "sip:alice@example.com",
		      "example.com");
	expect_lookup("a\\032b\\064c%d/e._sip.example.com", KNOT_RRTYPE_URI, RECORD_BINDING,
		      "sip:a%20b%40c%25d%2Fe@example.com", "example.com");
	expect_lookup("bob+1!._sip.example.com", KNOT_RRTYPE_URI, RECORD_BINDING, "sip:bob+1!@example.com",
		      "example.com");
}

Test(dns_query, maps_bindings_without_user)
{
	expect_lookup("_sip.example.com", KNOT_RRTYPE_NAPTR, RECORD_BINDING, "sip:example.com", "example.com");
	expect_lookup("_xmpp.P2P", KNOT_RRTYPE_URI, RECORD_BINDING, "xmpp:p2p", "p2p");
}

Test(dns_query, maps_services)
{
	expect_lookup("_sip._udp.example.com", KNOT_RRTYPE_SRV, RECORD_SERVICE, "_sip._udp.example.com",
		      "example.com");
	expect_lookup("_xmpp-server._TCP.chat.p2p", KNOT_RRTYPE_SRV, RECORD_SERVICE,
		      "_xmpp-server._tcp.chat.p2p", "chat.p2p");
}

Test(dns_query, maps_enum)
{
	expect_lookup("4.3.2.1.5.5.5.1.e164.arpa", KNOT_RRTYPE_NAPTR, RECORD_BINDING, "tel:+15551234", "");
	expect_lookup("9.E164.ARPA.", KNOT_RRTYPE_NAPTR, RECORD_BINDING, "tel:+9", "");
}

Test(dns_query, enum_needs_single_digit_labels)
{
	cr_assert_eq(ask("4.x.2.e164.arpa", KNOT_RRTYPE_NAPTR, &plain, false), DNS_STEP_REPLY);
	cr_assert_eq(q.rcode, KNOT_RCODE_REFUSED);
	cr_assert_eq(ask("43.2.e164.arpa", KNOT_RRTYPE_NAPTR, &plain, false), DNS_STEP_REPLY);
	cr_assert_eq(q.rcode, KNOT_RCODE_REFUSED);
	cr_assert_eq(ask("e164.arpa", KNOT_RRTYPE_NAPTR, &plain, false), DNS_STEP_REPLY, "the suffix alone");
	cr_assert_eq(q.rcode, KNOT_RCODE_REFUSED);
}

Test(dns_query, maps_names_in_zones_to_hosts)
{
	expect_lookup("WWW.p2p", KNOT_RRTYPE_A, RECORD_HOST, "www.p2p", "www.p2p");
	expect_lookup("a.b-c.p2p", KNOT_RRTYPE_AAAA, RECORD_HOST, "a.b-c.p2p", "a.b-c.p2p");
	expect_lookup("p2p", KNOT_RRTYPE_A, RECORD_HOST, "p2p", "p2p");
	expect_lookup("p2p", KNOT_RRTYPE_MX, RECORD_HOST, "p2p", "p2p");
	/* A mapped name queried for a type it does not serve is still looked up (NODATA vs NXDOMAIN). */
	expect_lookup("www.p2p", KNOT_RRTYPE_TXT, RECORD_HOST, "www.p2p", "www.p2p");
	expect_lookup("alice._sip.example.com", KNOT_RRTYPE_A, RECORD_BINDING, "sip:alice@example.com",
		      "example.com");
}

Test(dns_query, plain_names_outside_zones_are_refused)
{
	knot_pkt_t *pkt;

	cr_assert_eq(ask("www.example.com", KNOT_RRTYPE_A, &(struct qopts){.rd = true}, false), DNS_STEP_REPLY);
	pkt = parse_out();
	expect_header(pkt, (struct hdr){.rcode = KNOT_RCODE_REFUSED, .rd = true});
	cr_assert_eq(q.rcode, KNOT_RCODE_REFUSED);
	cr_assert_null(pkt->opt_rr, "no OPT without EDNS in the query");
	knot_pkt_free(pkt);
	cr_assert_null(q.fwd);
}

Test(dns_query, plain_names_outside_zones_are_forwarded)
{
	g_may_forward = true;
	cr_assert_eq(ask("WwW.Example.com", KNOT_RRTYPE_A, &edns, false), DNS_STEP_FORWARD);
	cr_assert_eq(q.fwd_len, g_query_len);
	cr_assert_eq(memcmp(q.fwd, g_query, g_query_len), 0, "the client's query, id and case intact");
	cr_assert_null(q.out);
}

Test(dns_query, names_in_zones_that_cannot_exist_are_nxdomain)
{
	knot_pkt_t *pkt;

	g_may_forward = true;
	cr_assert_eq(ask("a*b.p2p", KNOT_RRTYPE_A, &plain, false), DNS_STEP_REPLY);
	pkt = parse_out();
	expect_header(pkt, (struct hdr){.rcode = KNOT_RCODE_NXDOMAIN, .aa = true, .ra = true, .ns = 1});
	cr_assert_eq(rr_at(pkt, KNOT_AUTHORITY, 0)->type, KNOT_RRTYPE_SOA);
	knot_pkt_free(pkt);
}

/* ---- answers from records ---- */

Test(dns_query, answers_uri)
{
	const struct record recs[] = {
		rec(RECORD_BINDING, "sip:alice@192.0.2.10:5060", 1000, NOW + 10000),
		rec(RECORD_BINDING, "https://phone.example/alice", 500, NOW + 100),
	};
	knot_pkt_t *pkt;
	const knot_rrset_t *rr;

	cr_assert_eq(lookup("Alice._sip.example.com", KNOT_RRTYPE_URI, &edns, false, RECORD_BINDING,
			    "sip:alice@example.com", recs, 2),
		     DNS_STEP_REPLY);
	pkt = parse_out();
	expect_header(pkt, (struct hdr){.rcode = 0, .an = 2, .ar = 1});
	expect_opt(pkt, 0, false);
	for (uint16_t i = 0; i < 2; i++) {
		const knot_rdata_t *rd;
		size_t n = strlen(recs[i].contact);

		rr = rr_at(pkt, KNOT_ANSWER, i);
		rd = rr->rrs.rdata;
		cr_assert_eq(rr->type, KNOT_RRTYPE_URI);
		cr_assert_eq(rr->rclass, KNOT_CLASS_IN);
		cr_assert_eq(rr->ttl, 100, "one TTL per RRset: the lowest (RFC 2181 5.2)");
		expect_owner(rr, "alice._sip.example.com");
		cr_assert_eq(rd->len, 4 + n);
		cr_assert_eq(knot_wire_read_u16(rd->data), 1000 - recs[i].q, "priority 1000 - q");
		cr_assert_eq(knot_wire_read_u16(rd->data + 2), 1, "weight 1");
		cr_assert_eq(memcmp(rd->data + 4, recs[i].contact, n), 0);
	}
	cr_assert_eq(q.rcode, 0);
	knot_pkt_free(pkt);
}

Test(dns_query, answer_ttl_is_remaining_lifetime_capped)
{
	const struct record far = rec(RECORD_BINDING, "sip:a@192.0.2.1", 1000, NOW + 100000);
	const struct record near = rec(RECORD_BINDING, "sip:a@192.0.2.1", 1000, NOW + 42);
	knot_pkt_t *pkt;

	cr_assert_eq(lookup("a._sip.example.com", KNOT_RRTYPE_URI, &plain, false, RECORD_BINDING,
			    "sip:a@example.com", &far, 1),
		     DNS_STEP_REPLY);
	pkt = parse_out();
	cr_assert_eq(rr_at(pkt, KNOT_ANSWER, 0)->ttl, MAX_TTL);
	knot_pkt_free(pkt);
	cr_assert_eq(lookup("a._sip.example.com", KNOT_RRTYPE_URI, &plain, false, RECORD_BINDING,
			    "sip:a@example.com", &near, 1),
		     DNS_STEP_REPLY);
	pkt = parse_out();
	cr_assert_eq(rr_at(pkt, KNOT_ANSWER, 0)->ttl, 42);
	knot_pkt_free(pkt);
}

Test(dns_query, skips_expired_tombstoned_and_duplicate_records)
{
	struct record recs[] = {
		rec(RECORD_BINDING, "sip:a@192.0.2.1", 1000, NOW),
		rec(RECORD_BINDING, "", 1000, NOW + 100),
		rec(RECORD_BINDING, "sip:a@192.0.2.2", 900, NOW + 100),
		rec(RECORD_BINDING, "sip:a@192.0.2.2", 900, NOW + 200),
	};
	knot_pkt_t *pkt;

	recs[1].tombstone = true;
	cr_assert_eq(lookup("a._sip.example.com", KNOT_RRTYPE_URI, &plain, false, RECORD_BINDING,
			    "sip:a@example.com", recs, 4),
		     DNS_STEP_REPLY);
	pkt = parse_out();
	expect_header(pkt, (struct hdr){.rcode = 0, .an = 1});
	cr_assert_eq(memcmp(rr_at(pkt, KNOT_ANSWER, 0)->rrs.rdata->data + 4, "sip:a@192.0.2.2", 15), 0);
	knot_pkt_free(pkt);
}

/** Check one NAPTR RDATA. */
static void expect_naptr(const knot_rdata_t *rd, uint16_t order, const char *service, const char *regexp)
{
	const uint8_t *p = rd->data;
	size_t slen = strlen(service), rlen = strlen(regexp);

	cr_assert_eq(rd->len, 4 + 2 + 1 + slen + 1 + rlen + 1);
	cr_assert_eq(knot_wire_read_u16(p), order, "order");
	cr_assert_eq(knot_wire_read_u16(p + 2), 10, "preference");
	cr_assert_eq(memcmp(p + 4, "\1u", 2), 0, "flags u");
	cr_assert_eq(p[6], slen);
	cr_assert_eq(memcmp(p + 7, service, slen), 0, "service %s", service);
	cr_assert_eq(p[7 + slen], rlen);
	cr_assert_eq(memcmp(p + 8 + slen, regexp, rlen), 0, "regexp %s", regexp);
	cr_assert_eq(p[8 + slen + rlen], 0, "replacement: the root");
}

Test(dns_query, answers_naptr)
{
	const struct record recs[] = {
		rec(RECORD_BINDING, "SIP:alice@192.0.2.10", 800, NOW + 300),
		rec(RECORD_BINDING, "xmpp:alice@example.com/phone!", 200, NOW + 300),
		rec(RECORD_BINDING, "no scheme here", 100, NOW + 300),
	};
	knot_pkt_t *pkt;

	cr_assert_eq(lookup("alice._sip.example.com", KNOT_RRTYPE_NAPTR, &plain, false, RECORD_BINDING,
			    "sip:alice@example.com", recs, 3),
		     DNS_STEP_REPLY);
	pkt = parse_out();
	expect_header(pkt, (struct hdr){.rcode = 0, .an = 2});
	cr_assert_eq(rr_at(pkt, KNOT_ANSWER, 0)->ttl, 300);
	expect_naptr(rr_at(pkt, KNOT_ANSWER, 0)->rrs.rdata, 200, "E2U+sip", "!^.*$!SIP:alice@192.0.2.10!");
	expect_naptr(rr_at(pkt, KNOT_ANSWER, 1)->rrs.rdata, 800, "E2U+xmpp",
		     "!^.*$!xmpp:alice@example.com/phone\\!!");
	knot_pkt_free(pkt);
}

Test(dns_query, answers_enum_naptr)
{
	const struct record r = rec(RECORD_BINDING, "sip:+15551234@gw.example.net", 1000, NOW + 3600);
	knot_pkt_t *pkt;

	cr_assert_eq(lookup("4.3.2.1.5.5.5.1.e164.arpa", KNOT_RRTYPE_NAPTR, &plain, false, RECORD_BINDING,
			    "tel:+15551234", &r, 1),
		     DNS_STEP_REPLY);
	pkt = parse_out();
	expect_header(pkt, (struct hdr){.rcode = 0, .an = 1});
	expect_naptr(rr_at(pkt, KNOT_ANSWER, 0)->rrs.rdata, 0, "E2U+sip", "!^.*$!sip:+15551234@gw.example.net!");
	cr_assert_eq(rr_at(pkt, KNOT_ANSWER, 0)->ttl, MAX_TTL);
	knot_pkt_free(pkt);
	/* ENUM names serve NAPTR only. */
	cr_assert_eq(lookup("4.3.2.1.5.5.5.1.e164.arpa", KNOT_RRTYPE_URI, &plain, false, RECORD_BINDING,
			    "tel:+15551234", &r, 1),
		     DNS_STEP_REPLY);
	pkt = parse_out();
	expect_header(pkt, (struct hdr){.rcode = 0});
	knot_pkt_free(pkt);
}

Test(dns_query, answers_txt_in_255_byte_strings)
{
	char contact[301];
	struct record r;
	const knot_rdata_t *rd;
	knot_pkt_t *pkt;

	memcpy(contact, "https://", 8);
	memset(contact + 8, 'x', sizeof(contact) - 9);
	contact[300] = '\0';
	r = rec(RECORD_BINDING, contact, 1000, NOW + 60);
	cr_assert_eq(lookup("_sip.example.com", KNOT_RRTYPE_TXT, &plain, false, RECORD_BINDING, "sip:example.com",
			    &r, 1),
		     DNS_STEP_REPLY);
	pkt = parse_out();
	expect_header(pkt, (struct hdr){.rcode = 0, .an = 1});
	rd = rr_at(pkt, KNOT_ANSWER, 0)->rrs.rdata;
	cr_assert_eq(rd->len, 1 + 255 + 1 + 45);
	cr_assert_eq(rd->data[0], 255);
	cr_assert_eq(memcmp(rd->data + 1, contact, 255), 0);
	cr_assert_eq(rd->data[256], 45);
	cr_assert_eq(memcmp(rd->data + 257, contact + 255, 45), 0);
	cr_assert_eq(rr_at(pkt, KNOT_ANSWER, 0)->ttl, 60);
	knot_pkt_free(pkt);
}

Test(dns_query, answers_srv_and_skips_what_does_not_parse)
{
	const struct record recs[] = {
		rec(RECORD_SERVICE, "10 60 5060 sip1.example.com", 0, NOW + 500),
		rec(RECORD_SERVICE, "10 60 5060", 0, NOW + 500),
		rec(RECORD_SERVICE, "70000 1 1 x.example.com", 0, NOW + 500),
		rec(RECORD_SERVICE, "1 2 3 bad..name", 0, NOW + 500),
		rec(RECORD_SERVICE, "20 0 5061 sip2.example.com.", 0, NOW + 500),
	};
	static const uint8_t first[] = "\x00\x0a\x00\x3c\x13\xc4\x04sip1\x07" "example\x03" "com";
	static const uint8_t second[] = "\x00\x14\x00\x00\x13\xc5\x04sip2\x07" "example\x03" "com";
	knot_pkt_t *pkt;
	const knot_rdata_t *rd;

	cr_assert_eq(lookup("_sip._udp.example.com", KNOT_RRTYPE_SRV, &plain, false, RECORD_SERVICE,
			    "_sip._udp.example.com", recs, 5),
		     DNS_STEP_REPLY);
	pkt = parse_out();
	expect_header(pkt, (struct hdr){.rcode = 0, .an = 2});
	rd = rr_at(pkt, KNOT_ANSWER, 0)->rrs.rdata;
	cr_assert_eq(rd->len, sizeof(first));
	cr_assert_eq(memcmp(rd->data, first, sizeof(first)), 0);
	rd = rr_at(pkt, KNOT_ANSWER, 1)->rrs.rdata;
	cr_assert_eq(rd->len, sizeof(second));
	cr_assert_eq(memcmp(rd->data, second, sizeof(second)), 0);
	cr_assert_eq(rr_at(pkt, KNOT_ANSWER, 0)->ttl, 500);
	knot_pkt_free(pkt);
}

Test(dns_query, srv_records_that_do_not_parse_are_nodata)
{
	const struct record r = rec(RECORD_SERVICE, "not srv data", 0, NOW + 500);
	knot_pkt_t *pkt;

	cr_assert_eq(lookup("_sip._udp.p2p", KNOT_RRTYPE_SRV, &plain, false, RECORD_SERVICE, "_sip._udp.p2p", &r,
			    1),
		     DNS_STEP_REPLY);
	pkt = parse_out();
	expect_header(pkt, (struct hdr){.rcode = 0, .aa = true, .ns = 1});
	cr_assert_eq(rr_at(pkt, KNOT_AUTHORITY, 0)->type, KNOT_RRTYPE_SOA);
	knot_pkt_free(pkt);
}

Test(dns_query, answers_a_and_aaaa)
{
	const struct record recs[] = {
		rec(RECORD_HOST, "192.0.2.1", 0, NOW + 30),
		rec(RECORD_HOST, "2001:db8::1", 0, NOW + 40),
		rec(RECORD_HOST, "198.51.100.2", 0, NOW + 50),
	};
	static const uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
	knot_pkt_t *pkt;

	cr_assert_eq(lookup("www.p2p", KNOT_RRTYPE_A, &plain, false, RECORD_HOST, "www.p2p", recs, 3),
		     DNS_STEP_REPLY);
	pkt = parse_out();
	expect_header(pkt, (struct hdr){.rcode = 0, .aa = true, .an = 2});
	cr_assert_eq(memcmp(rr_at(pkt, KNOT_ANSWER, 0)->rrs.rdata->data, "\xc0\x00\x02\x01", 4), 0);
	cr_assert_eq(memcmp(rr_at(pkt, KNOT_ANSWER, 1)->rrs.rdata->data, "\xc6\x33\x64\x02", 4), 0);
	cr_assert_eq(rr_at(pkt, KNOT_ANSWER, 0)->ttl, 30);
	knot_pkt_free(pkt);

	cr_assert_eq(lookup("www.p2p", KNOT_RRTYPE_AAAA, &plain, false, RECORD_HOST, "www.p2p", recs, 3),
		     DNS_STEP_REPLY);
	pkt = parse_out();
	expect_header(pkt, (struct hdr){.rcode = 0, .aa = true, .an = 1});
	cr_assert_eq(rr_at(pkt, KNOT_ANSWER, 0)->rrs.rdata->len, 16);
	cr_assert_eq(memcmp(rr_at(pkt, KNOT_ANSWER, 0)->rrs.rdata->data, v6, 16), 0);
	cr_assert_eq(rr_at(pkt, KNOT_ANSWER, 0)->ttl, 40);
	knot_pkt_free(pkt);
}

/* ---- zone data and negative answers ---- */

static void expect_soa(const knot_rrset_t *rr, uint32_t ttl)
{
	const knot_rdata_t *rd = rr->rrs.rdata;
	knot_dname_t *mname = knot_dname_from_str_alloc("ns1.p2p");
	knot_dname_t *rname = knot_dname_from_str_alloc("hostmaster.p2p");

	cr_assert_eq(rr->type, KNOT_RRTYPE_SOA);
	cr_assert_eq(rr->ttl, ttl, "SOA TTL %u", rr->ttl);
	expect_owner(rr, "p2p");
	/* Compressed against the question, so in its letter case. */
	cr_assert(knot_dname_is_case_equal(knot_soa_primary(rd), mname));
	cr_assert(knot_dname_is_case_equal(knot_soa_mailbox(rd), rname));
	cr_assert_eq(knot_soa_serial(rd), 2024010101);
	cr_assert_eq(knot_soa_refresh(rd), 3600);
	cr_assert_eq(knot_soa_retry(rd), 600);
	cr_assert_eq(knot_soa_expire(rd), 604800);
	cr_assert_eq(knot_soa_minimum(rd), 300);
	free(mname);
	free(rname);
}

Test(dns_query, answers_soa_at_apex)
{
	knot_pkt_t *pkt;

	cr_assert_eq(ask("P2P", KNOT_RRTYPE_SOA, &edns, false), DNS_STEP_REPLY);
	pkt = parse_out();
	expect_header(pkt, (struct hdr){.rcode = 0, .aa = true, .an = 1, .ar = 1});
	expect_soa(rr_at(pkt, KNOT_ANSWER, 0), MAX_TTL);
	knot_pkt_free(pkt);

	conf.max_ttl = 86400;
	cr_assert_eq(ask("p2p", KNOT_RRTYPE_SOA, &plain, false), DNS_STEP_REPLY);
	pkt = parse_out();
	expect_soa(rr_at(pkt, KNOT_ANSWER, 0), 3600);
	knot_pkt_free(pkt);
}

Test(dns_query, answers_ns_at_apex)
{
	knot_pkt_t *pkt;
	knot_dname_t *ns1 = knot_dname_from_str_alloc("ns1.p2p");
	knot_dname_t *ns2 = knot_dname_from_str_alloc("ns2.p2p");

	cr_assert_eq(ask("p2p", KNOT_RRTYPE_NS, &plain, true), DNS_STEP_REPLY);
	pkt = parse_out();
	expect_header(pkt, (struct hdr){.rcode = 0, .aa = true, .an = 2});
	cr_assert(knot_dname_is_equal(rr_at(pkt, KNOT_ANSWER, 0)->rrs.rdata->data, ns1));
	cr_assert(knot_dname_is_equal(rr_at(pkt, KNOT_ANSWER, 1)->rrs.rdata->data, ns2));
	cr_assert_eq(rr_at(pkt, KNOT_ANSWER, 0)->ttl, MAX_TTL);
	knot_pkt_free(pkt);
	free(ns1);
	free(ns2);
}

Test(dns_query, nxdomain_in_zone_carries_soa)
{
	knot_pkt_t *pkt;

	cr_assert_eq(lookup("nope.p2p", KNOT_RRTYPE_A, &edns, false, RECORD_HOST, "nope.p2p", NULL, 0),
		     DNS_STEP_REPLY);
	pkt = parse_out();
	expect_header(pkt, (struct hdr){.rcode = KNOT_RCODE_NXDOMAIN, .aa = true, .ns = 1, .ar = 1});
	expect_soa(rr_at(pkt, KNOT_AUTHORITY, 0), 300);
	cr_assert_eq(q.rcode, KNOT_RCODE_NXDOMAIN);
	knot_pkt_free(pkt);
}

Test(dns_query, nodata_in_zone_carries_soa)
{
	const struct record r = rec(RECORD_HOST, "192.0.2.1", 0, NOW + 30);
	knot_pkt_t *pkt;

	cr_assert_eq(lookup("www.p2p", KNOT_RRTYPE_TXT, &plain, false, RECORD_HOST, "www.p2p", &r, 1),
		     DNS_STEP_REPLY);
	pkt = parse_out();
	expect_header(pkt, (struct hdr){.rcode = 0, .aa = true, .ns = 1});
	expect_soa(rr_at(pkt, KNOT_AUTHORITY, 0), 300);
	knot_pkt_free(pkt);

	/* A records exist but the question is AAAA: NODATA too. */
	cr_assert_eq(lookup("www.p2p", KNOT_RRTYPE_AAAA, &plain, false, RECORD_HOST, "www.p2p", &r, 1),
		     DNS_STEP_REPLY);
	pkt = parse_out();
	expect_header(pkt, (struct hdr){.rcode = 0, .aa = true, .ns = 1});
	knot_pkt_free(pkt);
}

Test(dns_query, apex_without_records_is_nodata)
{
	knot_pkt_t *pkt;

	cr_assert_eq(lookup("p2p", KNOT_RRTYPE_MX, &plain, false, RECORD_HOST, "p2p", NULL, 0), DNS_STEP_REPLY);
	pkt = parse_out();
	expect_header(pkt, (struct hdr){.rcode = 0, .aa = true, .ns = 1});
	expect_soa(rr_at(pkt, KNOT_AUTHORITY, 0), 300);
	knot_pkt_free(pkt);
}

Test(dns_query, nodata_outside_zones_has_no_soa)
{
	const struct record r = rec(RECORD_BINDING, "sip:a@192.0.2.1", 1000, NOW + 30);
	knot_pkt_t *pkt;

	g_may_forward = true;
	cr_assert_eq(lookup("alice._sip.example.com", KNOT_RRTYPE_A, &plain, false, RECORD_BINDING,
			    "sip:alice@example.com", &r, 1),
		     DNS_STEP_REPLY);
	pkt = parse_out();
	expect_header(pkt, (struct hdr){.rcode = 0, .ra = true});
	knot_pkt_free(pkt);
}

Test(dns_query, nothing_outside_zones_is_nxdomain_without_soa)
{
	knot_pkt_t *pkt;

	cr_assert_eq(lookup("alice._sip.example.com", KNOT_RRTYPE_URI, &plain, false, RECORD_BINDING,
			    "sip:alice@example.com", NULL, 0),
		     DNS_STEP_REPLY);
	pkt = parse_out();
	expect_header(pkt, (struct hdr){.rcode = KNOT_RCODE_NXDOMAIN});
	knot_pkt_free(pkt);
}

Test(dns_query, nothing_outside_zones_is_forwarded)
{
	const struct record gone = rec(RECORD_BINDING, "sip:a@192.0.2.1", 1000, NOW - 1);

	g_may_forward = true;
	cr_assert_eq(lookup("alice._sip.example.com", KNOT_RRTYPE_URI, &edns, false, RECORD_BINDING,
			    "sip:alice@example.com", &gone, 1),
		     DNS_STEP_FORWARD);
	cr_assert_eq(q.fwd_len, g_query_len);
	cr_assert_eq(memcmp(q.fwd, g_query, g_query_len), 0);
}

Test(dns_query, failed_lookup_is_servfail)
{
	knot_pkt_t *pkt;

	cr_assert_eq(ask("www.p2p", KNOT_RRTYPE_A, &edns, false), DNS_STEP_LOOKUP);
	cr_assert_eq(dns_query_answer(&q, false, NULL, 0, NOW), DNS_STEP_REPLY);
	pkt = parse_out();
	expect_header(pkt, (struct hdr){.rcode = KNOT_RCODE_SERVFAIL, .ar = 1});
	expect_opt(pkt, 0, false);
	knot_pkt_free(pkt);
}

Test(dns_query, answer_and_forwarded_out_of_turn_are_dropped)
{
	cr_assert_eq(dns_query_answer(&q, true, NULL, 0, NOW), DNS_STEP_DROP);
	cr_assert_eq(dns_query_forwarded(&q, NULL, 0), DNS_STEP_DROP);
	cr_assert_eq(ask("www.p2p", KNOT_RRTYPE_A, &plain, false), DNS_STEP_LOOKUP);
	cr_assert_eq(dns_query_forwarded(&q, NULL, 0), DNS_STEP_DROP);
	cr_assert_eq(dns_query_answer(&q, true, NULL, 0, NOW), DNS_STEP_REPLY);
	cr_assert_eq(dns_query_answer(&q, true, NULL, 0, NOW), DNS_STEP_DROP, "answered once");
}

/* ---- sizes and truncation ---- */

/** 40 bindings with 100-byte contacts, best first: 116-byte URI RRs, 4.6 KB in all. */
static void forty_bindings(struct record *recs, char (*contacts)[128])
{
	for (int i = 0; i < 40; i++) {
		snprintf(contacts[i], sizeof(contacts[i]), "https://device-%02d.example.net/%0*d", i, 70, i);
		recs[i] = rec(RECORD_BINDING, contacts[i], (uint16_t)(1000 - i), NOW + 1000);
	}
}

Test(dns_query, truncates_over_udp)
{
	static struct record recs[40];
	static char contacts[40][128];
	knot_pkt_t *pkt;

	forty_bindings(recs, contacts);
	cr_assert_eq(lookup("bob._sip.p2p", KNOT_RRTYPE_URI, &(struct qopts){.edns = true, .payload = 4096},
			    false, RECORD_BINDING, "sip:bob@p2p", recs, 40),
		     DNS_STEP_REPLY);
	pkt = parse_out();
	expect_header(pkt, (struct hdr){.rcode = 0, .aa = true, .tc = true, .ar = 1});
	expect_opt(pkt, 0, false);
	cr_assert_leq(q.out_len, 1232);
	knot_pkt_free(pkt);

	cr_assert_eq(lookup("bob._sip.p2p", KNOT_RRTYPE_URI, &plain, false, RECORD_BINDING, "sip:bob@p2p", recs, 5),
		     DNS_STEP_REPLY);
	pkt = parse_out();
	expect_header(pkt, (struct hdr){.rcode = 0, .aa = true, .tc = true});
	cr_assert_eq(q.out_len, 12 + 18, "header and question only");
	knot_pkt_free(pkt);
}

Test(dns_query, answers_in_full_over_tcp)
{
	static struct record recs[40];
	static char contacts[40][128];
	knot_pkt_t *pkt;

	forty_bindings(recs, contacts);
	cr_assert_eq(lookup("bob._sip.p2p", KNOT_RRTYPE_URI, &edns, true, RECORD_BINDING, "sip:bob@p2p", recs, 40),
		     DNS_STEP_REPLY);
	pkt = parse_out();
	expect_header(pkt, (struct hdr){.rcode = 0, .aa = true, .an = 40, .ar = 1});
	cr_assert_gt(q.out_len, 4000);
	for (uint16_t i = 0; i < 40; i++)
		cr_assert_eq(knot_wire_read_u16(rr_at(pkt, KNOT_ANSWER, i)->rrs.rdata->data), i, "best first");
	knot_pkt_free(pkt);
}

Test(dns_query, udp_size_follows_edns)
{
	static struct record recs[40];
	static char contacts[40][128];
	knot_pkt_t *pkt;

	forty_bindings(recs, contacts);
	/* 116-byte RRs after 30 bytes of header and question and 11 of OPT: five fit 1232 but not 512. */
	cr_assert_eq(lookup("bob._sip.p2p", KNOT_RRTYPE_URI, &edns, false, RECORD_BINDING, "sip:bob@p2p", recs, 5),
		     DNS_STEP_REPLY);
	pkt = parse_out();
	expect_header(pkt, (struct hdr){.rcode = 0, .aa = true, .an = 5, .ar = 1});
	cr_assert_eq(q.out_len, 30 + 5 * 116 + 11);
	cr_assert_gt(q.out_len, 512);
	knot_pkt_free(pkt);
	/* A client payload below 512 counts as 512. */
	cr_assert_eq(lookup("bob._sip.p2p", KNOT_RRTYPE_URI, &(struct qopts){.edns = true, .payload = 100}, false,
			    RECORD_BINDING, "sip:bob@p2p", recs, 5),
		     DNS_STEP_REPLY);
	pkt = parse_out();
	expect_header(pkt, (struct hdr){.rcode = 0, .aa = true, .tc = true, .ar = 1});
	knot_pkt_free(pkt);
	/* Eleven (1317 bytes) do not fit our 1232 even if the client offers 4096. */
	cr_assert_eq(lookup("bob._sip.p2p", KNOT_RRTYPE_URI, &(struct qopts){.edns = true, .payload = 4096},
			    false, RECORD_BINDING, "sip:bob@p2p", recs, 11),
		     DNS_STEP_REPLY);
	pkt = parse_out();
	expect_header(pkt, (struct hdr){.rcode = 0, .aa = true, .tc = true, .ar = 1});
	knot_pkt_free(pkt);
	/* Ten (1201 bytes) do. */
	cr_assert_eq(lookup("bob._sip.p2p", KNOT_RRTYPE_URI, &(struct qopts){.edns = true, .payload = 4096},
			    false, RECORD_BINDING, "sip:bob@p2p", recs, 10),
		     DNS_STEP_REPLY);
	pkt = parse_out();
	expect_header(pkt, (struct hdr){.rcode = 0, .aa = true, .an = 10, .ar = 1});
	cr_assert_eq(q.out_len, 30 + 10 * 116 + 11);
	knot_pkt_free(pkt);
}

/* ---- protocol errors ---- */

Test(dns_query, notimp_is_a_bare_header)
{
	uint8_t wire[64];
	size_t len = make_query(wire, sizeof(wire), "www.p2p", KNOT_RRTYPE_A, &(struct qopts){.id = 0xabcd});
	static const uint8_t expected[12] = {0xab, 0xcd, 0x80 | (2 << 3), KNOT_RCODE_NOTIMPL};

	wire[2] = (2 << 3) | KNOT_WIRE_RD_MASK | KNOT_WIRE_AA_MASK; /* STATUS, with flags a response never echoes */
	wire[3] = KNOT_WIRE_CD_MASK | KNOT_WIRE_AD_MASK;
	cr_assert_eq(begin_wire(wire, len, false), DNS_STEP_REPLY);
	cr_assert_eq(q.out_len, sizeof(expected));
	cr_assert_eq(memcmp(q.out, expected, sizeof(expected)), 0);
	cr_assert_eq(q.rcode, KNOT_RCODE_NOTIMPL);

	wire[2] = (5 << 3); /* UPDATE */
	cr_assert_eq(begin_wire(wire, len, true), DNS_STEP_REPLY);
	cr_assert_eq(q.out_len, 12);
	cr_assert_eq(q.out[2], 0x80 | (5 << 3));
	cr_assert_eq(q.out[3], KNOT_RCODE_NOTIMPL);
}

Test(dns_query, drops_what_is_not_a_query)
{
	uint8_t wire[64];
	size_t len = make_query(wire, sizeof(wire), "www.p2p", KNOT_RRTYPE_A, &plain);

	cr_assert_eq(begin_wire(wire, 11, false), DNS_STEP_DROP, "shorter than a header");
	cr_assert_eq(begin_wire(wire, 0, false), DNS_STEP_DROP);
	knot_wire_set_qr(wire);
	cr_assert_eq(begin_wire(wire, len, false), DNS_STEP_DROP, "a response");
	cr_assert_null(q.out);
	cr_assert_eq(dns_query_begin(&q, NULL, wire, len, false, NULL), DNS_STEP_DROP);
}

/** FORMERR: the question echoed iff @p question, no OPT. */
static void expect_formerr(const uint8_t *wire, size_t len, bool question)
{
	cr_assert_eq(begin_wire(wire, len, false), DNS_STEP_REPLY);
	cr_assert_eq(q.rcode, KNOT_RCODE_FORMERR);
	cr_assert_eq(knot_wire_get_rcode(q.out), KNOT_RCODE_FORMERR);
	cr_assert_eq(knot_wire_get_id(q.out), knot_wire_get_id(wire));
	cr_assert(knot_wire_get_qr(q.out));
	cr_assert_eq(knot_wire_get_qdcount(q.out), question ? 1 : 0);
	cr_assert_eq(knot_wire_get_ancount(q.out) + knot_wire_get_nscount(q.out) + knot_wire_get_arcount(q.out), 0);
	if (question) {
		size_t qlen = (size_t)knot_dname_size(wire + 12) + 4;

		cr_assert_eq(q.out_len, 12 + qlen);
		cr_assert_eq(memcmp(q.out + 12, wire + 12, qlen), 0);
	} else {
		cr_assert_eq(q.out_len, 12);
	}
}

Test(dns_query, formerr)
{
	uint8_t wire[512];
	size_t len = make_query(wire, sizeof(wire), "www.p2p", KNOT_RRTYPE_A, &edns);
	size_t qend = 12 + 9 + 4;

	knot_wire_set_qdcount(wire, 2);
	expect_formerr(wire, len, false);
	knot_wire_set_qdcount(wire, 0);
	knot_wire_set_arcount(wire, 0);
	expect_formerr(wire, 12, false);
	knot_wire_set_qdcount(wire, 1);
	expect_formerr(wire, qend - 1, false);
	knot_wire_set_arcount(wire, 1);
	expect_formerr(wire, len - 1, true);
	/* Two OPT RRs. */
	memcpy(wire + len, wire + qend, len - qend);
	knot_wire_set_arcount(wire, 2);
	expect_formerr(wire, len + (len - qend), true);
	/* OPT in the answer section. */
	knot_wire_set_arcount(wire, 0);
	knot_wire_set_ancount(wire, 1);
	expect_formerr(wire, len, true);
	/* Trailing garbage. */
	knot_wire_set_ancount(wire, 0);
	knot_wire_set_arcount(wire, 1);
	wire[len] = 0;
	expect_formerr(wire, len + 1, true);
	/* OPT whose owner is not the root. */
	len = make_query(wire, sizeof(wire), "www.p2p", KNOT_RRTYPE_A, &plain);
	memcpy(wire + len, "\1x\0\0\x29\x04\xd0\0\0\0\0\0\0", 13);
	knot_wire_set_arcount(wire, 1);
	expect_formerr(wire, len + 13, true);
	/* No question, but EDNS: FORMERR with our OPT. */
	memcpy(wire, "\x12\x34\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x29\x10\x00\x00\x00\x00\x00\x00\x00",
	       23);
	cr_assert_eq(begin_wire(wire, 23, false), DNS_STEP_REPLY);
	cr_assert_eq(q.out_len, 12 + 11);
	cr_assert_eq(memcmp(q.out, "\x12\x34\x80\x01\x00\x00\x00\x00\x00\x00\x00\x01", 12), 0);
	cr_assert_eq(memcmp(q.out + 12, "\x00\x00\x29\x04\xd0\x00\x00\x00\x00\x00\x00", 11), 0, "our OPT");
	/* QTYPE OPT. */
	len = make_query(wire, sizeof(wire), "www.p2p", KNOT_RRTYPE_OPT, &plain);
	expect_formerr(wire, len, true);
}

Test(dns_query, badvers)
{
	knot_pkt_t *pkt;

	cr_assert_eq(ask("www.p2p", KNOT_RRTYPE_A, &(struct qopts){.edns = true, .version = 1, .dnssec_ok = true},
			 false),
		     DNS_STEP_REPLY);
	pkt = parse_out();
	expect_header(pkt, (struct hdr){.rcode = 0, .ar = 1});
	expect_opt(pkt, 1, true);
	cr_assert_eq(knot_pkt_ext_rcode(pkt), KNOT_RCODE_BADVERS);
	cr_assert_eq(q.rcode, KNOT_RCODE_BADVERS);
	knot_pkt_free(pkt);
}

/** A TSIG RR (key "key", hmac-sha256): we hold no keys, so it never verifies. */
static const uint8_t tsig[] = "\x03key\x00\x00\xfa\x00\xff\x00\x00\x00\x00\x00\x3d"
			      "\x0bhmac-sha256\x00\x00\x00\x65\x5e\x00\x00\x01\x2c\x00\x20"
			      "0123456789abcdef0123456789abcdef\x12\x34\x00\x00\x00\x00";

Test(dns_query, refuses_other_classes_transfers_and_tsig)
{
	knot_pkt_t *pkt;
	uint8_t wire[512];
	size_t len;

	g_may_forward = true;
	cr_assert_eq(ask("version.bind", KNOT_RRTYPE_TXT, &(struct qopts){.qclass = KNOT_CLASS_CH}, false),
		     DNS_STEP_REPLY);
	pkt = parse_out();
	expect_header(pkt, (struct hdr){.rcode = KNOT_RCODE_REFUSED, .ra = true});
	knot_pkt_free(pkt);
	cr_assert_eq(ask("p2p", KNOT_RRTYPE_AXFR, &plain, true), DNS_STEP_REPLY);
	cr_assert_eq(q.rcode, KNOT_RCODE_REFUSED);
	cr_assert_eq(ask("www.p2p", KNOT_RRTYPE_A, &(struct qopts){.qclass = KNOT_CLASS_ANY}, false),
		     DNS_STEP_LOOKUP, "class ANY is served");

	len = make_query(wire, sizeof(wire), "www.p2p", KNOT_RRTYPE_A, &plain);
	memcpy(wire + len, tsig, sizeof(tsig) - 1);
	knot_wire_set_arcount(wire, 1);
	cr_assert_eq(begin_wire(wire, len + sizeof(tsig) - 1, false), DNS_STEP_REPLY);
	cr_assert_eq(q.rcode, KNOT_RCODE_REFUSED, "we hold no TSIG keys (rcode %u)", q.rcode);
}

Test(dns_query, any_is_answered_with_hinfo)
{
	knot_pkt_t *pkt;
	const knot_rrset_t *rr;

	cr_assert_eq(ask("alice._sip.example.com", KNOT_RRTYPE_ANY, &edns, false), DNS_STEP_REPLY);
	pkt = parse_out();
	expect_header(pkt, (struct hdr){.rcode = 0, .an = 1, .ar = 1});
	rr = rr_at(pkt, KNOT_ANSWER, 0);
	cr_assert_eq(rr->type, KNOT_RRTYPE_HINFO);
	cr_assert_eq(rr->ttl, MAX_TTL);
	cr_assert_eq(rr->rrs.rdata->len, 9);
	cr_assert_eq(memcmp(rr->rrs.rdata->data, "\7RFC8482\0", 9), 0);
	knot_pkt_free(pkt);

	conf.max_ttl = 86400;
	cr_assert_eq(ask("p2p", KNOT_RRTYPE_ANY, &plain, false), DNS_STEP_REPLY);
	pkt = parse_out();
	expect_header(pkt, (struct hdr){.rcode = 0, .aa = true, .an = 1});
	cr_assert_eq(rr_at(pkt, KNOT_ANSWER, 0)->ttl, 3600);
	knot_pkt_free(pkt);

	cr_assert_eq(ask("www.example.com", KNOT_RRTYPE_ANY, &plain, false), DNS_STEP_REPLY, "not ours");
	cr_assert_eq(q.rcode, KNOT_RCODE_REFUSED);
}

Test(dns_query, copies_rd_and_cd_and_sets_ra_when_forwarding_is_allowed)
{
	const struct qopts flags = {.rd = true, .cd = true, .edns = true, .dnssec_ok = true};
	knot_pkt_t *pkt;

	cr_assert_eq(ask("p2p", KNOT_RRTYPE_SOA, &flags, false), DNS_STEP_REPLY);
	pkt = parse_out();
	expect_header(pkt, (struct hdr){.rcode = 0, .aa = true, .rd = true, .cd = true, .an = 1, .ar = 1});
	expect_opt(pkt, 0, true);
	knot_pkt_free(pkt);
	g_may_forward = true;
	cr_assert_eq(ask("p2p", KNOT_RRTYPE_SOA, &plain, false), DNS_STEP_REPLY);
	pkt = parse_out();
	expect_header(pkt, (struct hdr){.rcode = 0, .aa = true, .ra = true, .an = 1});
	knot_pkt_free(pkt);
}

Test(dns_query, ignores_unknown_edns_options)
{
	static const uint8_t data[] = {1, 2, 3};
	const struct qopts o = {.edns = true, .opt_code = 65002, .opt_data = data, .opt_len = 3};

	cr_assert_eq(ask("www.p2p", KNOT_RRTYPE_A, &o, false), DNS_STEP_LOOKUP);
}

Test(dns_query, refuses_its_own_forwarded_queries)
{
	static const uint8_t other[sizeof(nonce)] = {0x5e, 0xc7};
	knot_pkt_t *pkt;

	g_may_forward = true;
	cr_assert_eq(ask("www.example.com", KNOT_RRTYPE_A,
			 &(struct qopts){.edns = true, .opt_code = LOOP_CODE, .opt_data = nonce, .opt_len = sizeof(nonce)},
			 false),
		     DNS_STEP_REPLY);
	pkt = parse_out();
	expect_header(pkt, (struct hdr){.rcode = KNOT_RCODE_REFUSED, .ra = true, .ar = 1});
	knot_pkt_free(pkt);
	cr_assert_eq(ask("www.example.com", KNOT_RRTYPE_A,
			 &(struct qopts){.edns = true, .opt_code = LOOP_CODE, .opt_data = other, .opt_len = sizeof(other)},
			 false),
		     DNS_STEP_FORWARD, "another node's nonce");
	cr_assert_eq(ask("www.example.com", KNOT_RRTYPE_A,
			 &(struct qopts){.edns = true, .opt_code = LOOP_CODE, .opt_data = nonce, .opt_len = 4}, false),
		     DNS_STEP_FORWARD, "a prefix of our nonce");
	conf.loop_nonce = NULL;
	cr_assert_eq(ask("www.example.com", KNOT_RRTYPE_A,
			 &(struct qopts){.edns = true, .opt_code = LOOP_CODE, .opt_data = nonce, .opt_len = sizeof(nonce)},
			 false),
		     DNS_STEP_FORWARD, "check disabled");
}

Test(dns_query, running_out_of_arena_is_servfail)
{
	static uint8_t wire[BUF_LEN];
	char name[256];
	size_t len;
	uint16_t n = 0;

	/* A 249-byte QNAME, then thousands of 16-byte A RRs whose owners point at it. */
	for (int i = 0; i < 4; i++)
		memset(name + i * 62, 'a' + i, 61), name[i * 62 + 61] = '.';
	name[4 * 62 - 1] = '\0';
	len = make_query(wire, sizeof(wire), name, KNOT_RRTYPE_A, &plain);
	while (len + 16 <= sizeof(wire) && n < 4000) {
		memcpy(wire + len, "\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04\xc0\x00\x02\x01", 16);
		len += 16;
		n++;
	}
	knot_wire_set_arcount(wire, n);
	memcpy(g_query, wire, 12 + knot_dname_size(wire + 12) + 4);
	cr_assert_eq(begin_wire(wire, len, true), DNS_STEP_REPLY);
	cr_assert_eq(q.rcode, KNOT_RCODE_SERVFAIL);
	cr_assert_eq(knot_wire_get_qdcount(q.out), 1, "the question still echoed");
	cr_assert_eq(q.out_len, 12 + knot_dname_size(wire + 12) + 4);
	/* The next query does not suffer. */
	cr_assert_eq(ask("www.p2p", KNOT_RRTYPE_A, &plain, false), DNS_STEP_LOOKUP);
}

/* ---- forwarding ---- */

/**
 * An upstream response to @p name/@p qtype with @p n A RRs, id 0x7777, AA set
 * and RA clear (we clear the one and set the other), upstream OPT if @p opt.
 */
static size_t make_upstream(uint8_t *buf, const char *name, uint16_t qtype, int n, uint8_t rcode, bool opt)
{
	knot_pkt_t *pkt = knot_pkt_new(buf, BUF_LEN, NULL);
	knot_dname_t *qname = knot_dname_from_str_alloc(name);
	knot_rrset_t a, edns_rr;
	size_t len;

	knot_pkt_clear(pkt);
	knot_wire_set_id(pkt->wire, 0x7777);
	knot_wire_set_qr(pkt->wire);
	knot_wire_set_aa(pkt->wire);
	knot_wire_set_rcode(pkt->wire, rcode);
	cr_assert_eq(knot_pkt_put_question(pkt, qname, KNOT_CLASS_IN, qtype), 0);
	knot_rrset_init(&a, qname, KNOT_RRTYPE_A, KNOT_CLASS_IN, 77);
	for (int i = 0; i < n; i++) {
		uint8_t addr[4] = {198, 51, (uint8_t)(i >> 8), (uint8_t)i};

		cr_assert_eq(knot_rrset_add_rdata(&a, addr, 4, NULL), 0);
	}
	if (n > 0)
		cr_assert_eq(knot_pkt_put(pkt, KNOT_COMPR_HINT_QNAME, &a, 0), 0);
	if (opt) {
		cr_assert_eq(knot_edns_init(&edns_rr, 4096, 0, 0, NULL), 0);
		cr_assert_eq(knot_pkt_begin(pkt, KNOT_ADDITIONAL), 0);
		cr_assert_eq(knot_pkt_put(pkt, KNOT_COMPR_HINT_NONE, &edns_rr, 0), 0);
		knot_rrset_clear(&edns_rr, NULL);
	}
	len = pkt->size;
	knot_rdataset_clear(&a.rrs, NULL);
	knot_pkt_free(pkt);
	free(qname);
	return len;
}

/* A forwarded answer is a resolver's: AA clear, RA set (only clients that may forward get one). */
Test(dns_query, forwarded_response_gets_the_clients_id_and_question)
{
	static uint8_t up[BUF_LEN];
	size_t up_len = make_upstream(up, "www.example.com", KNOT_RRTYPE_A, 2, KNOT_RCODE_NOERROR, true);
	knot_pkt_t *pkt;

	g_may_forward = true;
	cr_assert_eq(ask("WwW.ExAmPlE.CoM", KNOT_RRTYPE_A, &(struct qopts){.id = 0xbeef, .rd = true, .edns = true},
			 false),
		     DNS_STEP_FORWARD);
	cr_assert_eq(dns_query_forwarded(&q, up, up_len), DNS_STEP_REPLY);
	pkt = parse_out();
	expect_header(pkt, (struct hdr){.rcode = 0, .ra = true, .rd = true, .an = 2, .ar = 1});
	expect_opt(pkt, 0, false);
	cr_assert_eq(knot_wire_get_id(q.out), 0xbeef);
	cr_assert_eq(memcmp(rr_at(pkt, KNOT_ANSWER, 1)->rrs.rdata->data, "\xc6\x33\x00\x01", 4), 0);
	cr_assert_eq(rr_at(pkt, KNOT_ANSWER, 0)->ttl, 77);
	knot_pkt_free(pkt);
}

Test(dns_query, forwarded_response_keeps_upstream_rcode_and_drops_its_opt)
{
	static uint8_t up[BUF_LEN];
	size_t up_len = make_upstream(up, "nx.example.com", KNOT_RRTYPE_A, 0, KNOT_RCODE_NXDOMAIN, true);
	knot_pkt_t *pkt;

	g_may_forward = true;
	cr_assert_eq(ask("nx.example.com", KNOT_RRTYPE_A, &plain, false), DNS_STEP_FORWARD);
	cr_assert_eq(dns_query_forwarded(&q, up, up_len), DNS_STEP_REPLY);
	pkt = parse_out();
	expect_header(pkt, (struct hdr){.rcode = KNOT_RCODE_NXDOMAIN, .ra = true});
	cr_assert_null(pkt->opt_rr, "no OPT for a client without EDNS");
	cr_assert_eq(q.rcode, KNOT_RCODE_NXDOMAIN);
	knot_pkt_free(pkt);
}

Test(dns_query, forwarded_response_is_truncated_for_udp)
{
	static uint8_t up[BUF_LEN];
	size_t up_len = make_upstream(up, "big.example.com", KNOT_RRTYPE_A, 100, KNOT_RCODE_NOERROR, false);
	knot_pkt_t *pkt;

	g_may_forward = true;
	cr_assert_eq(ask("big.example.com", KNOT_RRTYPE_A, &edns, false), DNS_STEP_FORWARD);
	cr_assert_eq(dns_query_forwarded(&q, up, up_len), DNS_STEP_REPLY);
	pkt = parse_out();
	expect_header(pkt, (struct hdr){.rcode = 0, .ra = true, .tc = true, .ar = 1});
	knot_pkt_free(pkt);

	cr_assert_eq(ask("big.example.com", KNOT_RRTYPE_A, &edns, true), DNS_STEP_FORWARD);
	cr_assert_eq(dns_query_forwarded(&q, up, up_len), DNS_STEP_REPLY);
	pkt = parse_out();
	expect_header(pkt, (struct hdr){.rcode = 0, .ra = true, .an = 100, .ar = 1});
	knot_pkt_free(pkt);
}

Test(dns_query, failed_or_mismatched_forwarding_is_servfail)
{
	static uint8_t up[BUF_LEN];
	size_t up_len = make_upstream(up, "other.example.com", KNOT_RRTYPE_A, 1, KNOT_RCODE_NOERROR, false);
	knot_pkt_t *pkt;

	g_may_forward = true;
	cr_assert_eq(ask("www.example.com", KNOT_RRTYPE_A, &plain, false), DNS_STEP_FORWARD);
	cr_assert_eq(dns_query_forwarded(&q, NULL, 0), DNS_STEP_REPLY);
	pkt = parse_out();
	expect_header(pkt, (struct hdr){.rcode = KNOT_RCODE_SERVFAIL, .ra = true});
	knot_pkt_free(pkt);

	cr_assert_eq(ask("www.example.com", KNOT_RRTYPE_A, &plain, false), DNS_STEP_FORWARD);
	cr_assert_eq(dns_query_forwarded(&q, up, up_len), DNS_STEP_REPLY);
	cr_assert_eq(q.rcode, KNOT_RCODE_SERVFAIL, "another question");

	up_len = make_upstream(up, "www.example.com", KNOT_RRTYPE_AAAA, 0, KNOT_RCODE_NOERROR, false);
	cr_assert_eq(ask("www.example.com", KNOT_RRTYPE_A, &plain, false), DNS_STEP_FORWARD);
	cr_assert_eq(dns_query_forwarded(&q, up, up_len), DNS_STEP_REPLY);
	cr_assert_eq(q.rcode, KNOT_RCODE_SERVFAIL, "another type");

	up_len = make_upstream(up, "www.example.com", KNOT_RRTYPE_A, 1, KNOT_RCODE_NOERROR, false);
	cr_assert_eq(ask("www.example.com", KNOT_RRTYPE_A, &plain, false), DNS_STEP_FORWARD);
	cr_assert_eq(dns_query_forwarded(&q, up, up_len - 1), DNS_STEP_REPLY);
	cr_assert_eq(q.rcode, KNOT_RCODE_SERVFAIL, "cut short");
}

Test(dns_query, malformed_upstream_responses_are_servfail)
{
	static uint8_t up[BUF_LEN];
	size_t up_len;
	size_t rr = 12 + 17 + 4;

	g_may_forward = true;
	/* The A RR relabelled NS: its RDATA is no name. */
	up_len = make_upstream(up, "www.example.com", KNOT_RRTYPE_A, 1, KNOT_RCODE_NOERROR, false);
	cr_assert_eq(knot_wire_read_u16(up + rr + 2), KNOT_RRTYPE_A);
	knot_wire_write_u16(up + rr + 2, KNOT_RRTYPE_NS);
	cr_assert_eq(ask("www.example.com", KNOT_RRTYPE_A, &plain, false), DNS_STEP_FORWARD);
	cr_assert_eq(dns_query_forwarded(&q, up, up_len), DNS_STEP_REPLY);
	cr_assert_eq(q.rcode, KNOT_RCODE_SERVFAIL, "bad RDATA");

	/* A TSIG we never asked for. */
	up_len = make_upstream(up, "www.example.com", KNOT_RRTYPE_A, 1, KNOT_RCODE_NOERROR, false);
	memcpy(up + up_len, tsig, sizeof(tsig) - 1);
	knot_wire_set_arcount(up, 1);
	cr_assert_eq(ask("www.example.com", KNOT_RRTYPE_A, &plain, false), DNS_STEP_FORWARD);
	cr_assert_eq(dns_query_forwarded(&q, up, up_len + sizeof(tsig) - 1), DNS_STEP_REPLY);
	cr_assert_eq(q.rcode, KNOT_RCODE_SERVFAIL, "TSIG");

	/* An owner pointing into the header: "." in the upstream's (id 0), garbage in ours (id 0x1234). */
	up_len = make_upstream(up, "www.example.com", KNOT_RRTYPE_A, 1, KNOT_RCODE_NOERROR, false);
	knot_wire_set_id(up, 0);
	cr_assert_eq(knot_wire_read_u16(up + rr), 0xc00c);
	knot_wire_write_u16(up + rr, 0xc000);
	cr_assert_eq(ask("www.example.com", KNOT_RRTYPE_A, &plain, false), DNS_STEP_FORWARD);
	cr_assert_eq(dns_query_forwarded(&q, up, up_len), DNS_STEP_REPLY);
	cr_assert_eq(q.rcode, KNOT_RCODE_SERVFAIL, "pointer into the header");

	/* More RRs counted than present. */
	up_len = make_upstream(up, "www.example.com", KNOT_RRTYPE_A, 1, KNOT_RCODE_NOERROR, false);
	knot_wire_set_ancount(up, 2);
	cr_assert_eq(ask("www.example.com", KNOT_RRTYPE_A, &plain, false), DNS_STEP_FORWARD);
	cr_assert_eq(dns_query_forwarded(&q, up, up_len), DNS_STEP_REPLY);
	cr_assert_eq(q.rcode, KNOT_RCODE_SERVFAIL, "missing RR");

	/* An extended RCODE a client without EDNS cannot be told. */
	up_len = make_upstream(up, "www.example.com", KNOT_RRTYPE_A, 0, KNOT_RCODE_NOERROR, true);
	up[up_len - 11 + 5] = 1;
	cr_assert_eq(ask("www.example.com", KNOT_RRTYPE_A, &plain, false), DNS_STEP_FORWARD);
	cr_assert_eq(dns_query_forwarded(&q, up, up_len), DNS_STEP_REPLY);
	cr_assert_eq(q.rcode, KNOT_RCODE_SERVFAIL, "extended RCODE");
	cr_assert_eq(ask("www.example.com", KNOT_RRTYPE_A, &edns, false), DNS_STEP_FORWARD);
	cr_assert_eq(dns_query_forwarded(&q, up, up_len), DNS_STEP_REPLY);
	cr_assert_eq(q.rcode, KNOT_RCODE_BADVERS, "passed on with EDNS (rcode %u)", q.rcode);
}

Test(dns_query, relays_large_responses_over_tcp_in_bounded_memory)
{
	static uint8_t up[BUF_LEN];
	size_t up_len = make_upstream(up, "many.example.com", KNOT_RRTYPE_A, 3000, KNOT_RCODE_NOERROR, true);
	knot_pkt_t *pkt;

	g_may_forward = true;
	cr_assert_gt(up_len, 48000);
	cr_assert_eq(ask("many.example.com", KNOT_RRTYPE_A, &edns, true), DNS_STEP_FORWARD);
	cr_assert_eq(dns_query_forwarded(&q, up, up_len), DNS_STEP_REPLY);
	pkt = parse_out();
	expect_header(pkt, (struct hdr){.rcode = 0, .ra = true, .an = 3000, .ar = 1});
	cr_assert_eq(q.out_len, up_len, "the upstream's OPT replaced by ours, same size");
	knot_pkt_free(pkt);
}

/* ---- robustness ---- */

/** xorshift64*: deterministic, so a failure reproduces. */
static uint64_t rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ull;
}

/** Overwrite @p wire with a random packet, or a mutation of a valid query; @return its length. */
static size_t fuzz_packet(uint64_t *s, uint8_t *wire, size_t cap)
{
	static const char *const names[] = {
		"alice._sip.example.com", "_sip._udp.p2p", "www.p2p", "p2p", "4.3.2.1.e164.arpa",
		"_xmpp.example.org", "www.example.com", "a.b.c.d.e.f.g.p2p",
	};
	static const uint16_t types[] = {1, 28, 33, 35, 16, 256, 255, 6, 2, 15, 41, 252};
	uint64_t r = rnd(s);
	size_t len;

	if (r % 4 == 0) {
		len = rnd(s) % 700;
		for (size_t i = 0; i < len; i++)
			wire[i] = (uint8_t)rnd(s);
		if (len > 3 && rnd(s) % 2)
			wire[2] &= 0x07; /* a QUERY, so that it reaches the parser */
		return len;
	}
	len = make_query(wire, cap, names[rnd(s) % 8], types[rnd(s) % 12],
			 &(struct qopts){.edns = rnd(s) % 2, .payload = (uint16_t)rnd(s), .rd = rnd(s) % 2});
	for (uint64_t flips = rnd(s) % 6; flips > 0; flips--)
		wire[rnd(s) % len] ^= (uint8_t)(1u << (rnd(s) % 8));
	if (rnd(s) % 3 == 0)
		len = rnd(s) % (len + 1);
	else if (rnd(s) % 4 == 0)
		for (uint64_t extra = rnd(s) % 64; extra > 0 && len < cap; extra--)
			wire[len++] = (uint8_t)rnd(s);
	return len;
}

/** Feed the pending query random records or a mangled upstream response, until it replies. */
static enum dns_step fuzz_finish(uint64_t *s, enum dns_step step)
{
	static uint8_t up[BUF_LEN];
	static const char *const contacts[] = {"sip:a@192.0.2.1", "10 5 5060 x.example.com", "2001:db8::7",
					       "", "!!!", "192.0.2.99", "xmpp:a@b!c\\d", "1 2 3 ."};
	struct record recs[8];

	if (step == DNS_STEP_LOOKUP) {
		size_t n = rnd(s) % 9;

		for (size_t i = 0; i < n; i++)
			recs[i] = rec(q.lookup.kind, contacts[rnd(s) % 8], (uint16_t)(rnd(s) % 1200),
				      NOW - 5 + rnd(s) % 100000);
		step = answer(recs, n);
		if (rnd(s) % 16 == 0)
			step = dns_query_answer(&q, false, NULL, 0, NOW);
	}
	if (step == DNS_STEP_FORWARD) {
		size_t len = make_upstream(up, "www.example.com", KNOT_RRTYPE_A, (int)(rnd(s) % 200), 0, rnd(s) % 2);

		memcpy(up + 12, q.fwd + 12, q.fwd_len - 12 < len - 12 ? q.fwd_len - 12 : len - 12);
		for (uint64_t flips = rnd(s) % 4; flips > 0; flips--)
			up[rnd(s) % len] ^= (uint8_t)rnd(s);
		step = dns_query_forwarded(&q, rnd(s) % 10 ? up : NULL, rnd(s) % 5 ? len : rnd(s) % (len + 1));
		cr_assert_eq(step, DNS_STEP_REPLY);
	}
	return step;
}

Test(dns_query, survives_random_and_mutated_packets)
{
	static uint8_t wire[BUF_LEN];
	uint64_t s = 0x9e3779b97f4a7c15ull;
	size_t replies = 0;

	g_may_forward = true;
	for (int i = 0; i < 5000; i++) {
		size_t len = fuzz_packet(&s, wire, 2048);
		bool tcp = rnd(&s) % 4 == 0;
		enum dns_step step;

		g_may_forward = rnd(&s) % 2;
		step = fuzz_finish(&s, begin_wire(wire, len, tcp));
		if (step != DNS_STEP_REPLY)
			continue;
		replies++;
		cr_assert_geq(q.out_len, 12);
		cr_assert_leq(q.out_len, tcp ? 65535u : 1232u);
		cr_assert_eq(memcmp(q.out, wire, 2), 0, "id echoed");
		if (q.out_len > 12) {
			knot_pkt_t *pkt;

			memcpy(g_query, wire, 2);
			pkt = parse_out();
			knot_pkt_free(pkt);
		}
	}
	cr_assert_gt(replies, 2500, "most packets get a reply (%zu)", replies);
}

/* ---- allocation ---- */

Test(dns_query, hot_queries_do_not_malloc)
{
	const struct record host = rec(RECORD_HOST, "192.0.2.1", 0, NOW + 30);
	const struct record srv = rec(RECORD_SERVICE, "1 1 5060 sip.p2p", 0, NOW + 30);
	const struct record bind = rec(RECORD_BINDING, "sip:alice@192.0.2.1", 1000, NOW + 30);
	struct uri_parts parts = {0};
	const char *reason;
	uint8_t wire[3][512];
	size_t len[3];
	size_t normalize_mallocs, n;
	void *volatile probe;

	counting_install();
	len[0] = make_query(wire[0], sizeof(wire[0]), "www.p2p", KNOT_RRTYPE_A, &edns);
	len[1] = make_query(wire[1], sizeof(wire[1]), "_sip._udp.p2p", KNOT_RRTYPE_SRV, &edns);
	len[2] = make_query(wire[2], sizeof(wire[2]), "alice._sip.example.com", KNOT_RRTYPE_URI, &edns);

	/* The counter works. */
	counting_start();
	probe = malloc(16);
	n = counting_stop();
	free(probe);
	cr_assert_eq(n, 1, "the malloc counter counts (%zu)", n);

	counting_start();
	for (int i = 0; i < 100; i++) {
		cr_assert_eq(begin_wire(wire[0], len[0], false), DNS_STEP_LOOKUP);
		cr_assert_eq(dns_query_answer(&q, true, (const struct record *const[]){&host}, 1, NOW), DNS_STEP_REPLY);
		cr_assert_eq(begin_wire(wire[1], len[1], false), DNS_STEP_LOOKUP);
		cr_assert_eq(dns_query_answer(&q, true, (const struct record *const[]){&srv}, 1, NOW), DNS_STEP_REPLY);
	}
	n = counting_stop();
	cr_assert_eq(n, 0, "%zu mallocs in 200 host and service queries", n);
	cr_assert_eq(q.rcode, 0);
	cr_assert_eq(knot_wire_get_ancount(q.out), 1);

	/* Bindings pass through uri_normalize(), which returns allocated strings: nothing else allocates. */
	counting_start();
	cr_assert_eq(uri_normalize("sip:alice@example.com", &parts, &reason), 0);
	uri_parts_deinit(&parts);
	normalize_mallocs = counting_stop();
	counting_start();
	cr_assert_eq(begin_wire(wire[2], len[2], false), DNS_STEP_LOOKUP);
	cr_assert_eq(dns_query_answer(&q, true, (const struct record *const[]){&bind}, 1, NOW), DNS_STEP_REPLY);
	n = counting_stop();
	cr_assert_eq(n, normalize_mallocs, "%zu mallocs, uri_normalize() alone makes %zu", n, normalize_mallocs);

	/* With the memo the server enables on its reused struct, a hot binding (or ENUM) name costs nothing. */
	cr_assert_eq(dns_query_enable_memo(&q), 0);
	cr_assert_eq(begin_wire(wire[2], len[2], false), DNS_STEP_LOOKUP); /* fills the memo */
	cr_assert_eq(dns_query_answer(&q, true, (const struct record *const[]){&bind}, 1, NOW), DNS_STEP_REPLY);
	counting_start();
	for (int i = 0; i < 100; i++) {
		cr_assert_eq(begin_wire(wire[2], len[2], false), DNS_STEP_LOOKUP);
		cr_assert_str_eq(q.lookup.name, "sip:alice@example.com");
		cr_assert_eq(dns_query_answer(&q, true, (const struct record *const[]){&bind}, 1, NOW), DNS_STEP_REPLY);
	}
	n = counting_stop();
	cr_assert_eq(n, 0, "%zu mallocs in 100 memoized binding queries", n);
	cr_assert_eq(knot_wire_get_ancount(q.out), 1);
}
