/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Test tool: a hostile DHT peer that stores forged, corrupt, garbage or replayed values under a URI's key. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include "resolverd/config/config.h"
#include "resolverd/core/keys.h"
#include "resolverd/core/loop.h"
#include "resolverd/core/record.h"
#include "resolverd/core/state.h"
#include "resolverd/overlay/overlay.h"

/*
 * Usage: dht_inject --bootstrap H:P --network N --listen A:P --state DIR
 *                   --uri URI [--contact C] [--mode M] [--count N] [--file F] [--key F]
 * Modes: wrongkey (valid signature by a fresh key), badsig (signature flipped),
 *        garbage (random bytes with the record magic), oversize (over the cap),
 *        replay (the bytes of --file), valid (signed with --key).
 * It joins the overlay, waits a second for routes, puts --count values, waits
 * two more seconds for the stores to land, and exits 0 (1 on usage errors).
 */

struct opts {
	const char *bootstrap, *listen, *state, *uri, *contact, *mode, *file, *key;
	unsigned network, count;
};

struct ctx {
	struct opts o;
	struct rd_loop loop;
	struct overlay *ov;
	uv_timer_t timer;
	int phase;
	int rc;
};

static int make_record(const struct opts *o, unsigned i, uint8_t *out, size_t *len)
{
	struct keypair key = {0};
	int rc = o->key ? keys_load(o->key, &key) : keys_generate(&key);
	if (rc < 0)
		return rc;
	char instance[32];
	snprintf(instance, sizeof(instance), "forged-%u", i);
	struct record f = {.kind = RECORD_BINDING, .q = 1000, .seq = (uint64_t)time(NULL) * 1000000u + i,
			   .expires = (uint64_t)time(NULL) + 3600, .uri = o->uri, .contact = o->contact,
			   .instance = instance};
	rc = record_encode(&f, &key, out, len);
	keys_deinit(&key);
	if (rc == 0 && strcmp(o->mode, "badsig") == 0)
		out[*len - 1] ^= 0x01;
	return rc;
}

static int make_value(const struct opts *o, unsigned i, uint8_t *out, size_t cap, size_t *len)
{
	if (strcmp(o->mode, "garbage") == 0 || strcmp(o->mode, "oversize") == 0) {
		*len = strcmp(o->mode, "oversize") == 0 ? cap : 64 + i % 200;
		RAND_bytes(out, (int)*len);
		out[0] = 'r';
		out[1] = 'd';
		return 0;
	}
	if (strcmp(o->mode, "replay") == 0) {
		uint8_t *data = NULL;
		int rc = state_read_file(o->file, cap, &data, len);
		if (rc == 0) {
			memcpy(out, data, *len);
			free(data);
		}
		return rc;
	}
	return make_record(o, i, out, len);
}

static void put_all(struct ctx *c)
{
	uint8_t key[RECORD_KEY_LEN];
	record_dht_key(RECORD_BINDING, c->o.uri, key);
	uint8_t buf[4096];
	for (unsigned i = 0; i < c->o.count; i++) {
		size_t len = 0;
		int rc = make_value(&c->o, i, buf, strcmp(c->o.mode, "oversize") == 0 ? 2000 : sizeof(buf), &len);
		if (rc < 0) {
			fprintf(stderr, "dht_inject: cannot make value: %s\n", strerror(-rc));
			c->rc = 1;
			return;
		}
		overlay_put(c->ov, key, record_value_id(buf, len) ^ i, buf, len, false);
	}
}

static void on_timer(uv_timer_t *t)
{
	struct ctx *c = t->data;
	if (c->phase++ == 0) {
		put_all(c);
		uv_timer_start(&c->timer, on_timer, 2000, 0);
	} else {
		/* The loop's own async handle keeps uv_run() going: stop explicitly. */
		uv_close((uv_handle_t *)&c->timer, NULL);
		uv_stop(&c->loop.uv);
	}
}

static int parse(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{"bootstrap", 1, NULL, 'b'}, {"listen", 1, NULL, 'l'}, {"state", 1, NULL, 's'},
		{"uri", 1, NULL, 'u'},       {"contact", 1, NULL, 'c'}, {"mode", 1, NULL, 'm'},
		{"file", 1, NULL, 'f'},      {"key", 1, NULL, 'k'},     {"network", 1, NULL, 'n'},
		{"count", 1, NULL, 'N'},     {NULL, 0, NULL, 0},
	};
	*o = (struct opts){.contact = "sip:forged@192.0.2.66", .mode = "wrongkey", .count = 1,
			   .listen = "127.0.0.1:0"};
	int ch;
	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (ch) {
		case 'b': o->bootstrap = optarg; break;
		case 'l': o->listen = optarg; break;
		case 's': o->state = optarg; break;
		case 'u': o->uri = optarg; break;
		case 'c': o->contact = optarg; break;
		case 'm': o->mode = optarg; break;
		case 'f': o->file = optarg; break;
		case 'k': o->key = optarg; break;
		case 'n': o->network = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'N': o->count = (unsigned)strtoul(optarg, NULL, 10); break;
		default: return -EINVAL;
		}
	}
	return o->bootstrap && o->state && o->uri ? 0 : -EINVAL;
}

int main(int argc, char **argv)
{
	struct ctx c = {0};
	if (parse(argc, argv, &c.o) < 0) {
		fprintf(stderr, "usage: dht_inject --bootstrap H:P --network N --state DIR --uri URI [--mode M]\n");
		return 1;
	}
	struct sockaddr_storage ss;
	socklen_t sl = 0;
	if (config_parse_endpoint(c.o.listen, &ss, &sl) < 0 || state_dir_prepare(c.o.state) < 0 ||
	    loop_init(&c.loop) < 0)
		return 1;
	const char *boot[] = {c.o.bootstrap};
	struct overlay_conf oc = {.listen = (struct sockaddr *)&ss, .listen_len = sl, .network = c.o.network,
				  .bootstrap = boot, .n_bootstrap = 1, .state_dir = c.o.state,
				  .max_value_size = 4096};
	if (overlay_new(&oc, &c.loop, &c.ov) < 0)
		return 1;
	uv_timer_init(&c.loop.uv, &c.timer);
	c.timer.data = &c;
	uv_timer_start(&c.timer, on_timer, 1000, 0);
	uv_run(&c.loop.uv, UV_RUN_DEFAULT);
	overlay_free(c.ov);
	loop_deinit(&c.loop);
	return c.rc;
}
