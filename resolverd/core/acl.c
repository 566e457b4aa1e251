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
		char *end = NULL;
		unsigned long p = strtoul(slash, &end, 10);
		if (*slash == 0 || *end != 0 || p > e.prefix)
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
	const uint8_t *addr = NULL;
	int family = sa->sa_family;
	if (family == AF_INET) {
		addr = (const uint8_t *)&((const struct sockaddr_in *)(const void *)sa)->sin_addr;
	} else if (family == AF_INET6) {
		const struct in6_addr *a6 = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
		addr = a6->s6_addr;
		if (IN6_IS_ADDR_V4MAPPED(a6)) {
			addr = a6->s6_addr + 12;
			family = AF_INET;
		}
	} else {
		return false;
	}
	for (size_t i = 0; i < acl->n; i++)
		if (acl->v[i].family == family && prefix_match(acl->v[i].addr, addr, acl->v[i].prefix))
			return true;
	return false;
}
