/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Tests for resolverd/core/acl.c: CIDR parsing and matching client addresses. */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <sys/un.h>

#include "resolverd/core/acl.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static struct sockaddr_storage sa_of(const char *ip)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	if (strchr(ip, ':')) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		cr_assert_eq(inet_pton(AF_INET6, ip, &sin6->sin6_addr), 1, "%s", ip);
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		cr_assert_eq(inet_pton(AF_INET, ip, &sin->sin_addr), 1, "%s", ip);
	}
	return ss;
}

/* 1 match, 0 no match, -EINVAL: the entry does not parse. */
static int match(const char *cidr, const struct sockaddr *sa)
{
	const char *const one[] = {cidr};
	const char *bad = NULL;
	struct acl acl;
	int rc = acl_parse(one, 1, &acl, &bad);

	if (rc < 0) {
		cr_assert_eq(rc, -EINVAL);
		cr_assert_eq(bad, cidr, "the bad entry is named");
		return rc;
	}
	rc = acl_match(&acl, sa) ? 1 : 0;
	acl_deinit(&acl);
	return rc;
}

Test(acl, cidr_match)
{
	static const struct {
		const char *cidr, *ip;
		int expected;
	} cases[] = {
		{"127.0.0.0/8", "127.1.2.3", 1},
		{"127.0.0.0/8", "128.0.0.1", 0},
		{"127.0.0.1/8", "127.255.0.9", 1}, /* host bits are ignored */
		{"10.1.2.3", "10.1.2.3", 1},
		{"10.1.2.3", "10.1.2.4", 0},
		{"192.168.0.0/23", "192.168.1.255", 1},
		{"192.168.0.0/23", "192.168.2.0", 0},
		{"0.0.0.0/0", "203.0.113.9", 1},
		{"0.0.0.0/0", "::1", 0},
		{"::1/128", "::1", 1},
		{"::1/128", "::2", 0},
		{"::1", "::1", 1},
		{"2001:db8::/33", "2001:db8:7fff::1", 1},
		{"2001:db8::/33", "2001:db8:8000::1", 0},
		{"::/0", "2001:db8::1", 1},
		{"::/0", "10.0.0.1", 0},
		{"127.0.0.0/8", "::ffff:127.0.0.1", 1}, /* dual-stack socket, IPv4 peer */
		{"127.0.0.0/8", "::ffff:10.0.0.1", 0},
		{"::ffff:0:0/96", "::ffff:127.0.0.1", 1},
		{"10.0.0.0/8", "::a00:1", 0}, /* IPv4-compatible, not mapped */
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct sockaddr_storage ss = sa_of(cases[i].ip);

		cr_expect_eq(match(cases[i].cidr, (const struct sockaddr *)&ss), cases[i].expected,
			     "%s in %s", cases[i].ip, cases[i].cidr);
	}
}

Test(acl, cidr_match_errors)
{
	static const char *const bad[] = {"10.0.0.0/33", "::/129", "x", "", "10.0.0.0/", "10.0.0.0/08", "10.0.0.0/-1",
					  "10.0.0/8", "/8", "10.0.0.0/8/8", "fe80::1%lo"};
	struct sockaddr_storage ss = sa_of("10.0.0.1");
	struct sockaddr_un sun = {.sun_family = AF_UNIX};

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		cr_expect_eq(match(bad[i], (const struct sockaddr *)&ss), -EINVAL, "'%s'", bad[i]);
	cr_assert_eq(match("10.0.0.0/8", NULL), 0, "no address never matches");
	cr_assert_eq(match("0.0.0.0/0", (const struct sockaddr *)&sun), 0, "AF_UNIX never matches");
}

Test(acl, list_matches_any_entry)
{
	const char *const cidrs[] = {"10.0.0.0/8", "::1/128"};
	struct acl acl;
	const char *bad = NULL;
	struct sockaddr_storage a = sa_of("10.9.8.7"), b = sa_of("::1"), c = sa_of("192.0.2.1");

	cr_assert_eq(acl_parse(cidrs, 2, &acl, &bad), 0);
	cr_assert(acl_match(&acl, (const struct sockaddr *)&a));
	cr_assert(acl_match(&acl, (const struct sockaddr *)&b));
	cr_assert_not(acl_match(&acl, (const struct sockaddr *)&c));
	acl_deinit(&acl);
}
