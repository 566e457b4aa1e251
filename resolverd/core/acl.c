/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Address ACLs: parsed CIDR lists matched against client addresses (IPv4-mapped IPv6 counts as IPv4). */
#include "resolverd/core/acl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

static int parse_one(const char *text, struct acl_entry *ret)
{
	char buf[INET6_ADDRSTRLEN + 8];
	if (strlen(text) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, text);
	char *slash = strchr(buf, '/');
	if (slash)
		*slash++ = 0;
	struct acl_entry e = {0};
	if (inet_pton(AF_INET, buf, e.addr) == 1) {
		e.family = AF_INET;
		e.prefix = 32;
	} else if (inet_pton(AF_INET6, buf, e.addr) == 1) {
		e.family = AF_INET6;
		e.prefix = 128;
	} else {
		return -EINVAL;
	}
	if (slash) {
		/* Decimal digits only, no sign and no leading zero ("/08" is a typo, not 8). */
		unsigned long p = 0;
		size_t n = strspn(slash, "0123456789");
		if (n == 0 || slash[n] != 0 || n > 3 || (n > 1 && slash[0] == '0'))
			return -EINVAL;
		p = strtoul(slash, NULL, 10);
		if (p > e.prefix)
			return -EINVAL;
		e.prefix = (unsigned)p;
	}
	*ret = e;
	return 0;
}

int acl_parse(const char *const *cidrs, size_t n, struct acl *ret, const char **ret_bad)
{
	struct acl_entry *v = calloc(n + 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (parse_one(cidrs[i], &v[i]) < 0) {
			*ret_bad = cidrs[i];
			free(v);
			return -EINVAL;
		}
	}
	ret->v = v;
	ret->n = n;
	return 0;
}

void acl_deinit(struct acl *acl)
{
	free(acl->v);
	acl->v = NULL;
	acl->n = 0;
}

static bool prefix_match(const uint8_t *a, const uint8_t *b, unsigned bits)
{
	unsigned bytes = bits / 8, rest = bits % 8;
	if (memcmp(a, b, bytes) != 0)
		return false;
	if (rest == 0)
		return true;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return (a[bytes] & mask) == (b[bytes] & mask);
}

bool acl_match(const struct acl *acl, const struct sockaddr *sa)
{
	const uint8_t *v4 = NULL, *v6 = NULL;
	if (sa == NULL)
		return false;
	if (sa->sa_family == AF_INET) {
		v4 = (const uint8_t *)&((const struct sockaddr_in *)(const void *)sa)->sin_addr;
	} else if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a6 = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
		v6 = a6->s6_addr;
		/* A dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d: they match IPv4 entries too. */
		if (IN6_IS_ADDR_V4MAPPED(a6))
			v4 = a6->s6_addr + 12;
	}
	for (size_t i = 0; i < acl->n; i++) {
		const struct acl_entry *e = &acl->v[i];
		const uint8_t *addr = e->family == AF_INET ? v4 : v6;
		if (addr && prefix_match(e->addr, addr, e->prefix))
			return true;
	}
	return false;
}
