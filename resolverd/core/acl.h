/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Address ACLs: parsed CIDR lists matched against client addresses (IPv4-mapped IPv6 counts as IPv4). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/** One network. */
struct acl_entry {
	int family;        /**< AF_INET or AF_INET6 */
	uint8_t addr[16];  /**< network address */
	unsigned prefix;   /**< prefix length in bits */
};

/** A parsed list. Read-only after acl_parse(), so any thread may match against it. */
struct acl {
	struct acl_entry *v; /**< owned */
	size_t n;
};

/**
 * Parse "ADDR[/LEN]" strings ("127.0.0.0/8", "::1/128", "192.0.2.1").
 * @param[out] ret_bad on -EINVAL, the entry at fault (borrowed from @p cidrs).
 * @return 0, -EINVAL, -ENOMEM. @p ret is untouched on failure.
 */
int acl_parse(const char *const *cidrs, size_t n, struct acl *ret, const char **ret_bad);

/** Free the entries. Safe on a zeroed struct. */
void acl_deinit(struct acl *acl);

/**
 * Is @p sa inside one of the networks? An IPv4-mapped IPv6 address
 * (::ffff:a.b.c.d) matches IPv4 entries as well as IPv6 ones; other families
 * (and NULL) never match. Any thread.
 */
bool acl_match(const struct acl *acl, const struct sockaddr *sa);
