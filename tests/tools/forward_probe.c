/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Test tool: forward one query through resolverd/dns/forward.c and print what came back. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libknot/libknot.h>

#include "resolverd/core/loop.h"
#include "resolverd/dns/forward.h"

/*
 * Usage: forward_probe [--id N] [--timeout MS] [--dnssec] UPSTREAM NAME TYPE
 * UPSTREAM is "ADDR:PORT" or "[IPv6]:PORT"; TYPE a mnemonic (A, TXT...).
 * Prints one line:
 *   rcode=NAME answers=N tc=0|1 sent_id=N id=N min_ttl=N|-
 * (id is the one the upstream answered, min_ttl the smallest TTL in answer
 * and authority) and exits 0, or prints "failed" and exits 1; 2 on usage or
 * setup errors.
 */

struct probe_opts {
	unsigned id;         /**< query id to send */
	unsigned timeout_ms; /**< per try */
	int dnssec;          /**< set DO (adds an OPT RR) */
	const char *upstream, *name, *type;
};

/** What the callback saw. */
struct probe_result {
	uv_loop_t *uv;  /**< stopped by the callback (the rd_loop's inbox keeps it alive) */
	int done;       /**< the callback ran */
	uint8_t *resp;  /**< owned copy, NULL on failure */
	size_t len;
};

static void usage(void)
{
	fprintf(stderr, "usage: forward_probe [--id N] [--timeout MS] [--dnssec] UPSTREAM NAME TYPE\n");
}

/** @return 0, or -EINVAL after printing usage. */
static int parse_args(int argc, char **argv, struct probe_opts *ret)
{
	static const struct option longopts[] = {
		{"id", required_argument, NULL, 'i'},
		{"timeout", required_argument, NULL, 't'},
		{"dnssec", no_argument, NULL, 'd'},
		{NULL, 0, NULL, 0},
	};
	struct probe_opts o = {.id = 0x1234, .timeout_ms = 1000};
	int c;

	while ((c = getopt_long(argc, argv, "i:t:d", longopts, NULL)) != -1) {
		if (c == 'i')
			o.id = (unsigned)strtoul(optarg, NULL, 0) & 0xffff;
		else if (c == 't')
			o.timeout_ms = (unsigned)strtoul(optarg, NULL, 0);
		else if (c == 'd')
			o.dnssec = 1;
		else
			goto out_usage;
	}
	if (argc - optind != 3)
		goto out_usage;
	o.upstream = argv[optind];
	o.name = argv[optind + 1];
	o.type = argv[optind + 2];
	*ret = o;
	return 0;

out_usage:
	usage();
	return -EINVAL;
}

/** Build the query wire. @return 0 or -EINVAL; *ret_pkt owned by the caller. */
static int build_query(const struct probe_opts *o, knot_pkt_t **ret_pkt)
{
	knot_dname_t *qname = knot_dname_from_str_alloc(o->name);
	knot_pkt_t *pkt = knot_pkt_new(NULL, KNOT_WIRE_MAX_PKTSIZE, NULL);
	knot_rrset_t opt;
	uint16_t qtype;
	int rc = -EINVAL;

	if (!qname || !pkt || knot_rrtype_from_string(o->type, &qtype) != 0)
		goto out;
	knot_wire_set_id(pkt->wire, (uint16_t)o->id);
	knot_wire_set_rd(pkt->wire);
	if (knot_pkt_put_question(pkt, qname, KNOT_CLASS_IN, qtype) != KNOT_EOK)
		goto out;
	if (o->dnssec) {
		if (knot_edns_init(&opt, 1232, 0, KNOT_EDNS_VERSION, &pkt->mm) != KNOT_EOK)
			goto out;
		knot_edns_set_do(&opt);
		knot_pkt_begin(pkt, KNOT_ADDITIONAL);
		if (knot_pkt_put(pkt, KNOT_COMPR_HINT_NONE, &opt, KNOT_PF_FREE) != KNOT_EOK) {
			knot_rrset_clear(&opt, &pkt->mm);
			goto out;
		}
	}
	*ret_pkt = pkt;
	pkt = NULL;
	rc = 0;
out:
	knot_pkt_free(pkt);
	knot_dname_free(qname, NULL);
	return rc;
}

static void on_answer(void *ud, const uint8_t *resp, size_t len)
{
	struct probe_result *r = ud;

	r->done = 1;
	uv_stop(r->uv);
	if (resp && (r->resp = malloc(len)) != NULL) {
		memcpy(r->resp, resp, len);
		r->len = len;
	}
}

/** Print the summary line of @p r. @return the exit status. */
static int report(const struct probe_opts *o, const struct probe_result *r)
{
	knot_pkt_t *pkt;
	long min_ttl = -1;

	if (!r->resp) {
		printf("failed\n");
		return 1;
	}
	pkt = knot_pkt_new(r->resp, (uint16_t)r->len, NULL);
	if (!pkt || knot_pkt_parse(pkt, 0) != KNOT_EOK) {
		printf("malformed\n");
		knot_pkt_free(pkt);
		return 1;
	}
	for (int id = KNOT_ANSWER; id <= KNOT_AUTHORITY; id++) {
		const knot_pktsection_t *sec = knot_pkt_section(pkt, (knot_section_t)id);

		for (uint16_t i = 0; i < sec->count; i++) {
			uint32_t ttl = knot_pkt_rr(sec, i)->ttl;

			if (min_ttl < 0 || ttl < min_ttl)
				min_ttl = ttl;
		}
	}
	const knot_lookup_t *rcode = knot_lookup_by_id(knot_rcode_names, knot_pkt_ext_rcode(pkt));

	printf("rcode=%s answers=%u tc=%d sent_id=%u id=%u min_ttl=", rcode ? rcode->name : "?",
	       (unsigned)knot_wire_get_ancount(pkt->wire), knot_wire_get_tc(pkt->wire) != 0, o->id,
	       (unsigned)knot_wire_get_id(pkt->wire));
	if (min_ttl < 0)
		printf("-\n");
	else
		printf("%ld\n", min_ttl);
	knot_pkt_free(pkt);
	return 0;
}

int main(int argc, char **argv)
{
	struct probe_opts o;
	struct probe_result r = {0};
	struct rd_loop loop;
	struct forward *fw = NULL;
	knot_pkt_t *query = NULL;
	int rc;

	if (parse_args(argc, argv, &o) < 0 || build_query(&o, &query) < 0)
		return 2;
	const char *upstreams[] = {o.upstream};
	struct forward_conf conf = {
		.upstreams = upstreams, .n_upstreams = 1, .timeout_ms = o.timeout_ms,
		.cache_entries = 0, .loop_opt_code = 65001, .loop_nonce = (const uint8_t *)"probe",
		.loop_nonce_len = 5,
	};

	if (loop_init(&loop) < 0) {
		knot_pkt_free(query);
		return 2;
	}
	r.uv = &loop.uv; /* before the query: a failure may call back at once */
	rc = forward_new(&loop, &conf, &fw);
	if (rc == 0)
		rc = forward_query(fw, query->wire, query->size, on_answer, &r);
	if (rc < 0) {
		fprintf(stderr, "forward_probe: %s\n", strerror(-rc));
		rc = 2;
	} else {
		if (!r.done)
			uv_run(&loop.uv, UV_RUN_DEFAULT);
		rc = r.done ? report(&o, &r) : 1;
	}
	forward_free(fw);
	loop_deinit(&loop);
	knot_pkt_free(query);
	free(r.resp);
	return rc;
}
