/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Authorization: pinned domain keys, delegation certs, and the open default. */
#include "resolverd/core/policy.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/** One pinned key. A domain with several keys has several entries. */
struct policy_entry {
	char *domain;              /**< owned, lower-case */
	uint8_t pub[KEYS_PUB_LEN]; /**< the pinned domain key */
};

struct policy {
	enum policy_mode default_mode; /**< for domains without entries */
	struct policy_entry *entries;  /**< owned array */
	size_t n_entries;
	size_t cap_entries;
};

struct policy *policy_new(enum policy_mode default_mode)
{
	struct policy *p = calloc(1, sizeof(*p));

	if (p != NULL)
		p->default_mode = default_mode;
	return p;
}

void policy_free(struct policy *p)
{
	if (p == NULL)
		return;
	for (size_t i = 0; i < p->n_entries; i++)
		free(p->entries[i].domain);
	free(p->entries);
	free(p);
}

int policy_add_domain_key(struct policy *p, const char *domain, const uint8_t pub[KEYS_PUB_LEN])
{
	struct policy_entry *e;

	if (p->n_entries == p->cap_entries) {
		size_t cap = p->cap_entries == 0 ? 4 : 2 * p->cap_entries;

		e = reallocarray(p->entries, cap, sizeof(*e));
		if (e == NULL)
			return -ENOMEM;
		p->entries = e;
		p->cap_entries = cap;
	}
	e = &p->entries[p->n_entries];
	e->domain = strdup(domain);
	if (e->domain == NULL)
		return -ENOMEM;
	memcpy(e->pub, pub, KEYS_PUB_LEN);
	p->n_entries++;
	return 0;
}

/** Is @p parent equal to @p domain, or a parent of it on a label boundary? */
static bool domain_covers(const char *parent, const char *domain)
{
	size_t plen = strlen(parent);
	size_t dlen = strlen(domain);

	if (plen > dlen || strcasecmp(parent, domain + dlen - plen) != 0)
		return false;
	return plen == dlen || domain[dlen - plen - 1] == '.';
}

/** The longest configured domain covering @p domain, or NULL. */
static const char *best_domain(const struct policy *p, const char *domain)
{
	const char *best = NULL;

	for (size_t i = 0; domain != NULL && i < p->n_entries; i++) {
		const char *d = p->entries[i].domain;

		if (domain_covers(d, domain) && (best == NULL || strlen(d) > strlen(best)))
			best = d;
	}
	return best;
}

/** Is @p pub pinned for exactly @p domain? */
static bool key_pinned(const struct policy *p, const char *domain, const uint8_t pub[KEYS_PUB_LEN])
{
	for (size_t i = 0; i < p->n_entries; i++) {
		if (strcasecmp(p->entries[i].domain, domain) == 0 &&
		    memcmp(p->entries[i].pub, pub, KEYS_PUB_LEN) == 0)
			return true;
	}
	return false;
}

/**
 * Does @p rec carry a live delegation from a key pinned for @p domain? The
 * signature is checked again (not only by record_decode()) so that the
 * answer holds for any struct record, not just decoded ones.
 */
static bool cert_authorizes(const struct policy *p, const char *domain, const struct record *rec,
			    uint64_t now)
{
	const struct record_cert *cert = &rec->cert;

	return rec->has_cert && now < cert->not_after && key_pinned(p, domain, cert->domain_key) &&
	       record_pattern_match(cert->pattern, rec->uri) &&
	       record_cert_verify(cert, rec->publisher);
}

int policy_check(const struct policy *p, const struct record *rec, const char *domain,
		 uint64_t now)
{
	const char *entry = best_domain(p, domain);

	if (entry == NULL)
		return p->default_mode == POLICY_OPEN ? 0 : -EACCES;
	if (key_pinned(p, entry, rec->publisher) || cert_authorizes(p, entry, rec, now))
		return 0;
	return -EACCES;
}
