/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Test tool: resolve one name with c-ares against one server and print the answers, one per line. */
#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>

#include <ares.h>

/*
 * Usage: ares_probe ADDR PORT NAME TYPE     (TYPE: NAPTR, SRV, TXT, A)
 * Prints "NAPTR order pref flags service regexp", "SRV prio weight port target",
 * "TXT text" or "A addr" lines, then "status STATUS". Exit 0 if the query
 * succeeded, 1 otherwise. c-ares is what SIP and XMPP servers link against;
 * this checks resolverd's answers parse with it.
 */

static int status_out = ARES_ENOTFOUND;

static void print_naptr(const unsigned char *abuf, int alen)
{
	struct ares_naptr_reply *r = NULL;
	if ((status_out = ares_parse_naptr_reply(abuf, alen, &r)) != ARES_SUCCESS)
		return;
	for (struct ares_naptr_reply *n = r; n; n = n->next)
		printf("NAPTR %u %u %s %s %s\n", n->order, n->preference, n->flags, n->service, n->regexp);
	ares_free_data(r);
}

static void print_srv(const unsigned char *abuf, int alen)
{
	struct ares_srv_reply *r = NULL;
	if ((status_out = ares_parse_srv_reply(abuf, alen, &r)) != ARES_SUCCESS)
		return;
	for (struct ares_srv_reply *s = r; s; s = s->next)
		printf("SRV %u %u %u %s\n", s->priority, s->weight, s->port, s->host);
	ares_free_data(r);
}

static void print_txt(const unsigned char *abuf, int alen)
{
	struct ares_txt_reply *r = NULL;
	if ((status_out = ares_parse_txt_reply(abuf, alen, &r)) != ARES_SUCCESS)
		return;
	for (struct ares_txt_reply *t = r; t; t = t->next)
		printf("TXT %.*s\n", (int)t->length, t->txt);
	ares_free_data(r);
}

static void print_a(const unsigned char *abuf, int alen)
{
	struct ares_addrttl addrs[16];
	int n = 16;
	if ((status_out = ares_parse_a_reply(abuf, alen, NULL, addrs, &n)) != ARES_SUCCESS)
		return;
	for (int i = 0; i < n; i++) {
		char text[INET_ADDRSTRLEN];
		inet_ntop(AF_INET, &addrs[i].ipaddr, text, sizeof(text));
		printf("A %s ttl=%d\n", text, addrs[i].ttl);
	}
}

struct qtype {
	const char *name;
	int type;
	void (*print)(const unsigned char *, int);
};

static const struct qtype types[] = {
	{"NAPTR", 35, print_naptr}, {"SRV", 33, print_srv}, {"TXT", 16, print_txt}, {"A", 1, print_a},
};

static void on_answer(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	const struct qtype *t = arg;
	status_out = status;
	if (status == ARES_SUCCESS)
		t->print(abuf, alen);
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: ares_probe ADDR PORT NAME TYPE\n");
		return 2;
	}
	size_t t = 0;
	while (t < sizeof(types) / sizeof(types[0]) && strcmp(types[t].name, argv[4]) != 0)
		t++;
	if (t == sizeof(types) / sizeof(types[0]) || ares_library_init(ARES_LIB_INIT_ALL) != ARES_SUCCESS)
		return 2;
	ares_channel ch;
	struct ares_options opts = {.flags = ARES_FLAG_NOCHECKRESP, .timeout = 2000, .tries = 2};
	if (ares_init_options(&ch, &opts, ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES) != ARES_SUCCESS)
		return 2;
	char servers[128];
	snprintf(servers, sizeof(servers), "%s:%s", argv[1], argv[2]);
	if (ares_set_servers_ports_csv(ch, servers) != ARES_SUCCESS)
		return 2;
	ares_query(ch, argv[3], 1 /* IN */, types[t].type, on_answer, (void *)&types[t]);
	for (;;) {
		fd_set r, w;
		FD_ZERO(&r);
		FD_ZERO(&w);
		int nfds = ares_fds(ch, &r, &w);
		if (nfds == 0)
			break;
		struct timeval tv, *tvp = ares_timeout(ch, NULL, &tv);
		select(nfds, &r, &w, NULL, tvp);
		ares_process(ch, &r, &w);
	}
	printf("status %s\n", ares_strerror(status_out));
	ares_destroy(ch);
	ares_library_cleanup();
	return status_out == ARES_SUCCESS ? 0 : 1;
}
