/* SPDX-License-Identifier: GPL-3.0-or-later */
/* XMPP addresses: an RFC 5122 xmpp: URI to its bare JID (the DHT name) and resource (the instance). */
#pragma once

#include "resolverd/plugin.h"

#define JID_PART_MAX 1023 /**< RFC 6122: longest localpart, domainpart or resourcepart, in bytes */

/**
 * Normalize the xmpp: URI @p uri (scheme in any case).
 *
 * The URI is split as RFC 5122 says ("xmpp:" [ "//" authority "/" ] jid
 * [ "?" query ] [ "#" fragment ]); the authority (the sender's account),
 * query and fragment are dropped. Each part of the JID is percent-decoded,
 * must be valid UTF-8 without NUL, then prepared as RFC 6122 says: nodeprep
 * on the localpart, IDNA ToASCII (nameprep, punycode, STD3 rules) then ASCII
 * lower case on the domainpart (one trailing dot dropped; IPv4 and bracketed
 * IPv6 literals allowed, IPv6 in its canonical form), resourceprep on the
 * resourcepart. Code points unassigned in Unicode 3.2 are refused in the
 * localpart and domainpart, allowed in the resourcepart.
 *
 * On success ret->name is the bare JID as a URI, "xmpp:" [ node "@" ] domain,
 * the node percent-encoded except for RFC 5122's unreserved and nodeallow
 * characters; ret->host is the ASCII domain (an IPv6 literal without its
 * brackets); ret->instance is the resource, or "".
 *
 * Pure and thread-safe (libidn's stringprep and idna functions keep no
 * state); any thread. Allocates only temporaries.
 * @param[out] ret written on success only.
 * @param[out] ret_reason a static sentence on -EINVAL and -ENAMETOOLONG.
 * @return 0, -EINVAL (not a valid xmpp: URI), -ENAMETOOLONG (a part over
 *         1023 bytes, a domain over 253, a resource over RD_INSTANCE_MAX,
 *         or a name over RD_NAME_MAX), -ENOMEM.
 */
int jid_normalize(const char *uri, struct rd_name *ret, const char **ret_reason);
