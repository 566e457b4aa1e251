/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Digest authentication of REGISTER (RFC 3261 22, RFC 7616, RFC 8760: SHA-256 and MD5) with stateless nonces. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "plugins/sip/server/sip_server.h"

/*
 * A nonce is 16 hex digits of its issue time (unix seconds) followed by 32
 * hex digits of HMAC-SHA256(secret, time || realm): the server keeps nothing
 * per challenge, a nonce from another realm or a restarted server fails, and
 * a nonce older than SIP_NONCE_TTL gets a new challenge with stale=true.
 * Nonce counts are not tracked (as Kamailio without its nonce-count table),
 * and the digest-uri is not compared with the Request-URI (as Kamailio's
 * auth_check: clients such as sipp put another spelling there); it is what
 * the response covers, so a response stays bound to the uri it names.
 */

#define NONCE_LEN 48

static void hex(const unsigned char *d, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[d[i] >> 4];
		out[2 * i + 1] = digits[d[i] & 15];
	}
	out[2 * n] = '\0';
}

static void make_nonce(const struct sip_registrar *r, uint64_t ts, const char *realm, char out[NONCE_LEN + 1])
{
	unsigned char msg[8 + RD_HOST_MAX + 1];
	size_t rl = strnlen(realm, RD_HOST_MAX);
	for (int i = 0; i < 8; i++)
		msg[i] = (unsigned char)(ts >> (56 - 8 * i));
	memcpy(msg + 8, realm, rl);
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned maclen = 0;
	if (!HMAC(EVP_sha256(), r->secret, sizeof(r->secret), msg, 8 + rl, mac, &maclen))
		memset(mac, 0, sizeof(mac));
	hex(msg, 8, out);
	hex(mac, 16, out + 16);
}

/** @return 1 fresh, 0 stale, -1 not ours. */
static int nonce_check(const struct sip_registrar *r, const char *nonce, const char *realm)
{
	if (strlen(nonce) != NONCE_LEN)
		return -1;
	uint64_t ts = 0;
	for (int i = 0; i < 16; i++) {
		int c = tolower((unsigned char)nonce[i]);
		if (!isxdigit(c))
			return -1;
		ts = ts << 4 | (uint64_t)(isdigit(c) ? c - '0' : c - 'a' + 10);
	}
	char want[NONCE_LEN + 1];
	make_nonce(r, ts, realm, want);
	if (CRYPTO_memcmp(want, nonce, NONCE_LEN) != 0)
		return -1;
	uint64_t now = r->api->now(r->host);
	return ts <= now + 5 && now - ts <= SIP_NONCE_TTL ? 1 : 0;
}

void auth_challenge(struct sip_registrar *r, const char *realm, bool stale, struct sip_buf *b)
{
	char nonce[NONCE_LEN + 1];
	make_nonce(r, r->api->now(r->host), realm, nonce);
	/* MD5 first: clients that know only MD5 (sipp, many phones) answer the
	 * first challenge and give up on one they cannot compute; a client that
	 * knows both may pick either (RFC 8760 section 2.4). */
	static const char *const algs[] = {"MD5", "SHA-256"};
	for (size_t i = 0; i < 2; i++)
		sbuf_printf(b, "WWW-Authenticate: Digest realm=\"%s\", nonce=\"%s\", qop=\"auth\", algorithm=%s%s\r\n",
			    realm, nonce, algs[i], stale ? ", stale=true" : "");
}

/** @p s without surrounding quotes, into @p out. @return false if it does not fit. */
static bool unquote(const char *s, char *out, size_t cap)
{
	size_t n = strlen(s);
	if (n >= 2 && s[0] == '"' && s[n - 1] == '"')
		s++, n -= 2;
	if (n >= cap)
		return false;
	memcpy(out, s, n);
	out[n] = '\0';
	return true;
}

/** Hex digest of the parts joined by ':'. */
static void digest(const EVP_MD *md, const char *const *parts, size_t n, char *out)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned dlen = 0;
	if (ctx && EVP_DigestInit_ex(ctx, md, NULL) == 1) {
		for (size_t i = 0; i < n; i++) {
			if (i > 0)
				EVP_DigestUpdate(ctx, ":", 1);
			EVP_DigestUpdate(ctx, parts[i], strlen(parts[i]));
		}
		EVP_DigestFinal_ex(ctx, d, &dlen);
	}
	EVP_MD_CTX_free(ctx);
	hex(d, dlen, out);
}

/** The credentials of one Authorization header, unquoted. */
struct creds {
	char user[256], realm[RD_HOST_MAX + 1], nonce[NONCE_LEN + 1], uri[1024], response[129];
	char qop[32], nc[16], cnonce[256], alg[32];
};

static bool field(const char *v, char *out, size_t cap, bool required)
{
	if (!v) {
		out[0] = '\0';
		return !required;
	}
	return unquote(v, out, cap);
}

/** @return 1 (digest credentials for @p realm in *c), 0 (not for us), -1 (malformed). */
static int read_creds(const char *value, const char *realm, struct creds *c)
{
	osip_authorization_t *a = NULL;
	int rc = 0;
	if (osip_authorization_init(&a) != 0)
		return 0;
	if (osip_authorization_parse(a, value) != 0 || !a->auth_type || strcasecmp(a->auth_type, "Digest") != 0 ||
	    !a->realm || !unquote(a->realm, c->realm, sizeof(c->realm)) || strcmp(c->realm, realm) != 0)
		goto out;
	rc = -1;
	if (!field(a->username, c->user, sizeof(c->user), true) || !field(a->nonce, c->nonce, sizeof(c->nonce), true) ||
	    !field(a->uri, c->uri, sizeof(c->uri), true) ||
	    !field(a->response, c->response, sizeof(c->response), true) ||
	    !field(a->message_qop, c->qop, sizeof(c->qop), false) ||
	    !field(a->nonce_count, c->nc, sizeof(c->nc), false) ||
	    !field(a->cnonce, c->cnonce, sizeof(c->cnonce), false) ||
	    !field(a->algorithm, c->alg, sizeof(c->alg), false))
		goto out;
	if (c->qop[0] && (strcasecmp(c->qop, "auth") != 0 || !c->nc[0] || !c->cnonce[0]))
		goto out;
	rc = 1;
out:
	osip_authorization_free(a);
	return rc;
}

enum auth_result auth_check(struct sip_registrar *r, const struct sip_msg *m, const char *realm,
			    const char **ret_user, const char **ret_reason)
{
	struct creds *c = calloc(1, sizeof(*c));
	enum auth_result res = AUTH_CHALLENGE;
	if (!c)
		return AUTH_CHALLENGE;
	for (size_t i = 0; i < m->n_hdrs; i++) {
		if (m->hdrs[i].id != HDR_AUTHORIZATION)
			continue;
		int rc = read_creds(m->hdrs[i].value, realm, c);
		if (rc < 0) {
			*ret_reason = "Bad Request: malformed Authorization";
			res = AUTH_BAD;
			goto out;
		}
		if (rc == 0)
			continue;
		const EVP_MD *md = !c->alg[0] || strcasecmp(c->alg, "MD5") == 0 ? EVP_md5()
				   : strcasecmp(c->alg, "SHA-256") == 0       ? EVP_sha256()
									      : NULL;
		const struct sip_user *u = NULL;
		for (size_t k = 0; k < r->n_users && !u; k++)
			if (strcmp(r->users[k].name, c->user) == 0)
				u = &r->users[k];
		int fresh = nonce_check(r, c->nonce, realm);
		if (!md || !u || fresh < 0)
			goto out;
		char ha1[2 * EVP_MAX_MD_SIZE + 1], ha2[2 * EVP_MAX_MD_SIZE + 1], want[2 * EVP_MAX_MD_SIZE + 1];
		const char *p1[] = {c->user, realm, u->password};
		const char *p2[] = {m->method, c->uri};
		digest(md, p1, 3, ha1);
		digest(md, p2, 2, ha2);
		const char *p3[] = {ha1, c->nonce, c->nc, c->cnonce, c->qop, ha2};
		const char *p3old[] = {ha1, c->nonce, ha2};
		if (c->qop[0])
			digest(md, p3, 6, want);
		else
			digest(md, p3old, 3, want);
		for (char *p = c->response; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		if (strlen(want) != strlen(c->response) || CRYPTO_memcmp(want, c->response, strlen(want)) != 0)
			goto out;
		if (!fresh) {
			res = AUTH_STALE;
			goto out;
		}
		*ret_user = u->name;
		res = AUTH_OK;
		goto out;
	}
out:
	free(c);
	return res;
}
