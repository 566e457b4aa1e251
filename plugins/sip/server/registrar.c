/* SPDX-License-Identifier: GPL-3.0-or-later */
/* REGISTER (RFC 3261 section 10.3) with Kamailio's registrar semantics; bindings published into the DHT. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "plugins/sip/server/sip_server.h"

#define AOR_BUCKETS 16384u /**< a power of two */
#define MAX_OPS 256        /**< Contacts one REGISTER may carry */

/** One Contact of a REGISTER. */
struct reg_op {
	char *contact;  /**< owned: the URI, without header parameters */
	char *instance; /**< owned */
	uint16_t q;
	uint32_t expires; /**< seconds from now; 0 removes */
};

/** A REGISTER waiting for the AoR's current bindings. */
struct reg_job {
	struct sip_job job; /**< first: server.c's part */
	struct rd_name name;
	char *call_id;      /**< owned */
	uint32_t cseq;
	bool star;          /**< "Contact: *" with Expires: 0 */
	struct reg_op *ops; /**< owned */
	size_t n_ops;
	char **removed;     /**< owned: instances this request removed (the DHT may still list them) */
	size_t n_removed;
};

/* ---- local state ----------------------------------------------------------------- */

static uint64_t aor_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static struct reg_aor **aor_slot(struct sip_registrar *r, const char *name)
{
	if (!r->aors)
		return NULL;
	struct reg_aor **pp = &r->aors[aor_hash(name) & (AOR_BUCKETS - 1)];
	while (*pp && strcmp((*pp)->name, name) != 0)
		pp = &(*pp)->hnext;
	return pp;
}

static void binding_clear(struct reg_binding *b)
{
	free(b->instance);
	free(b->contact);
	free(b->call_id);
}

static void aor_free(struct reg_aor *a)
{
	for (size_t i = 0; i < a->n; i++)
		binding_clear(&a->b[i]);
	free(a->b);
	free(a->name);
	free(a);
}

static struct reg_binding *aor_find(struct reg_aor *a, const char *instance)
{
	for (size_t i = 0; a && i < a->n; i++)
		if (strcmp(a->b[i].instance, instance) == 0)
			return &a->b[i];
	return NULL;
}

static void aor_remove(struct reg_aor *a, struct reg_binding *b)
{
	binding_clear(b);
	*b = a->b[--a->n];
}

/** Drop @p *pp from the table if it holds no binding. */
static void aor_gc(struct sip_registrar *r, struct reg_aor **pp)
{
	struct reg_aor *a = *pp;
	if (a && a->n == 0) {
		*pp = a->hnext;
		aor_free(a);
		r->n_aors--;
	}
}

void registrar_tick(struct sip_registrar *r)
{
	if (!r->aors)
		return;
	uint64_t now = r->api->now(r->host);
	for (size_t i = 0; i < AOR_BUCKETS; i++) {
		struct reg_aor **pp = &r->aors[i];
		while (*pp) {
			struct reg_aor *a = *pp;
			for (size_t k = 0; k < a->n;)
				if (a->b[k].expires <= now)
					aor_remove(a, &a->b[k]);
				else
					k++;
			if (a->n == 0)
				aor_gc(r, pp);
			else
				pp = &a->hnext;
		}
	}
}

void registrar_free_state(struct sip_registrar *r)
{
	for (size_t i = 0; r->aors && i < AOR_BUCKETS; i++)
		while (r->aors[i]) {
			struct reg_aor *a = r->aors[i];
			r->aors[i] = a->hnext;
			aor_free(a);
		}
	free(r->aors);
	r->aors = NULL;
	r->n_aors = 0;
}

/* ---- parsing the request ----------------------------------------------------------------- */

static void job_free(struct sip_job *sj)
{
	struct reg_job *j = (struct reg_job *)sj;
	for (size_t i = 0; i < j->n_ops; i++) {
		free(j->ops[i].contact);
		free(j->ops[i].instance);
	}
	free(j->ops);
	for (size_t i = 0; i < j->n_removed; i++)
		free(j->removed[i]);
	free(j->removed);
	free(j->call_id);
	free(j);
}

/** q-value: "0", "1", "0.5", "1.000" (RFC 3261 section 25.1). @return 0..1000 or -1. */
static int parse_q(const char *s)
{
	if (!s || (s[0] != '0' && s[0] != '1'))
		return -1;
	int q = (s[0] - '0') * 1000;
	if (s[1] == '\0')
		return q;
	if (s[1] != '.')
		return -1;
	int scale = 100, i = 2;
	for (; s[i] && i < 5; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		q += (s[i] - '0') * scale;
		scale /= 10;
	}
	return s[i] || q > 1000 ? -1 : q;
}

/** The binding's instance: +sip.instance without quotes and <>, or "c-" + a hash of the contact. */
static char *make_instance(const char *param, const char *contact)
{
	if (param) {
		size_t n = strlen(param);
		if (n >= 2 && param[0] == '"' && param[n - 1] == '"')
			param++, n -= 2;
		if (n >= 2 && param[0] == '<' && param[n - 1] == '>')
			param++, n -= 2;
		bool ok = n > 0 && n <= RD_INSTANCE_MAX;
		for (size_t i = 0; ok && i < n; i++)
			ok = param[i] > 0x20 && param[i] < 0x7f && param[i] != '"' && param[i] != '<' && param[i] != '>';
		if (ok)
			return strndup(param, n);
	}
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	if (EVP_Digest(contact, strlen(contact), md, &mdlen, EVP_sha256(), NULL) != 1)
		return NULL;
	char *out = malloc(2 + 32 + 1);
	if (!out)
		return NULL;
	memcpy(out, "c-", 2);
	for (int i = 0; i < 16; i++)
		snprintf(out + 2 + 2 * i, 3, "%02x", md[i]);
	return out;
}

static const char *param(osip_contact_t *c, const char *name)
{
	osip_generic_param_t *p = NULL;
	if (osip_contact_param_get_byname(c, (char *)name, &p) != 0 || !p)
		return NULL;
	return p->gvalue ? p->gvalue : "";
}

/** One Contact element into @p op. @return NULL or a 400 reason. */
static const char *parse_contact(struct sip_registrar *r, const char *text, uint64_t hdr_expires, bool has_hdr,
				 struct reg_op *op)
{
	osip_contact_t *c = NULL;
	char *uri = NULL;
	const char *err = NULL;
	if (osip_contact_init(&c) != 0)
		return "Bad Request: out of memory";
	if (osip_contact_parse(c, text) != 0 || !c->url || !c->url->scheme || osip_uri_to_str(c->url, &uri) != 0) {
		err = "Bad Request: malformed Contact";
		goto out;
	}
	if (!sip_contact_ok(uri)) {
		err = "Bad Request: Contact URI too long or not printable";
		goto out;
	}
	const char *e = param(c, "expires");
	uint64_t exp = has_hdr ? hdr_expires : r->default_expires;
	if (e && !msg_parse_uint(e, UINT64_MAX, &exp)) {
		err = "Bad Request: invalid expires parameter";
		goto out;
	}
	const char *qs = param(c, "q");
	int q = qs ? parse_q(qs) : RD_Q_MAX;
	if (q < 0) {
		err = "Bad Request: invalid q value";
		goto out;
	}
	op->q = (uint16_t)q;
	op->expires = exp > UINT32_MAX ? UINT32_MAX : (uint32_t)exp;
	op->contact = strdup(uri);
	op->instance = make_instance(param(c, "+sip.instance"), uri);
	if (!op->contact || !op->instance)
		err = "Bad Request: out of memory";
out:
	osip_free(uri);
	osip_contact_free(c);
	return err;
}

/** All Contacts of @p m into @p j. @return NULL or a 400 reason. */
static const char *parse_contacts(struct sip_registrar *r, const struct sip_msg *m, struct reg_job *j)
{
	uint64_t hdr_expires = 0;
	const char *he = msg_get(m, HDR_EXPIRES);
	bool has_hdr = he && msg_parse_uint(he, UINT64_MAX, &hdr_expires);
	size_t stars = 0, others = 0;
	for (size_t i = 0; i < m->n_hdrs; i++) {
		if (m->hdrs[i].id != HDR_CONTACT)
			continue;
		for (const char *e = m->hdrs[i].value; e && *e;) {
			const char *next;
			size_t n = msg_split_comma(e, &next);
			if (n == 1 && e[0] == '*') {
				stars++;
			} else {
				if (j->n_ops == MAX_OPS)
					return "Bad Request: too many Contacts";
				char *one = strndup(e, n);
				if (!one)
					return "Bad Request: out of memory";
				const char *err = parse_contact(r, one, hdr_expires, has_hdr, &j->ops[j->n_ops]);
				free(one);
				if (j->ops[j->n_ops].contact || j->ops[j->n_ops].instance)
					j->n_ops++;
				if (err)
					return err;
				others++;
			}
			e = next;
		}
	}
	if (stars > 0 && (stars > 1 || others > 0 || !has_hdr || hdr_expires != 0))
		return "Bad Request: * Contact needs Expires: 0 and no other Contact";
	j->star = stars > 0;
	return NULL;
}

/** Interval rules. @return 0, or 423 (Min-Expires in @p extra). */
static int check_intervals(struct sip_registrar *r, struct reg_job *j, char *extra, size_t extra_len)
{
	for (size_t i = 0; i < j->n_ops; i++) {
		struct reg_op *op = &j->ops[i];
		if (op->expires > 0 && op->expires < r->min_expires) {
			snprintf(extra, extra_len, "Min-Expires: %u\r\n", r->min_expires);
			return 423;
		}
		if (op->expires > r->max_expires)
			op->expires = r->max_expires;
	}
	return 0;
}

/* ---- after the lookup: apply and answer ----------------------------------------------------- */

/** One binding of the AoR as the 200 will list it. */
struct view {
	const char *instance, *contact; /**< borrowed */
	uint16_t q;
	uint64_t expires;
	bool local; /**< this node's own */
};

static struct view *view_find(struct view *v, size_t n, const char *instance)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i].instance, instance) == 0)
			return &v[i];
	return NULL;
}

/** @return true if the op must be ignored: same Call-ID, CSeq not higher (section 10.3 step 7). */
static bool out_of_order(const struct reg_job *j, const struct reg_binding *b)
{
	return b && strcmp(b->call_id, j->call_id) == 0 && j->cseq <= b->cseq;
}

static int publish_op(struct sip_registrar *r, struct reg_job *j, struct reg_aor *a, const struct reg_op *op,
		      uint64_t now, char *why, size_t why_len)
{
	const char *reason = NULL;
	struct rd_publication pub = {
		.name = j->name.name,
		.host = j->name.host[0] ? j->name.host : NULL,
		.contact = op->contact,
		.instance = op->instance,
		.q = op->q,
		.expires = now + op->expires,
	};
	int rc = r->api->publish(r->host, &pub, &reason);
	if (rc == -EACCES) {
		snprintf(why, why_len, "Forbidden: this node may not publish for %s", j->name.host);
		return 403;
	}
	if (rc == -ENOSPC) {
		snprintf(why, why_len, "Service Unavailable: too many publications");
		return 503;
	}
	if (rc < 0) {
		snprintf(why, why_len, "%s: %s", rc == -EINVAL ? "Bad Request" : "Server Internal Error",
			 reason ? reason : strerror(-rc));
		return rc == -EINVAL ? 400 : 500;
	}
	struct reg_binding *b = aor_find(a, op->instance);
	if (!b) {
		if (a->n == a->cap) {
			size_t cap = a->cap ? a->cap * 2 : 4;
			struct reg_binding *nb = realloc(a->b, cap * sizeof(*nb));
			if (!nb)
				return 500;
			a->b = nb;
			a->cap = cap;
		}
		b = &a->b[a->n++];
		*b = (struct reg_binding){.instance = strdup(op->instance)};
	}
	free(b->contact);
	free(b->call_id);
	b->contact = strdup(op->contact);
	b->call_id = strdup(j->call_id);
	b->q = op->q;
	b->expires = now + op->expires;
	b->cseq = j->cseq;
	if (!b->instance || !b->contact || !b->call_id) {
		aor_remove(a, b);
		return 500;
	}
	return 0;
}

static void unpublish(struct sip_registrar *r, struct reg_job *j, struct reg_aor *a, struct reg_binding *b)
{
	int rc = r->api->unpublish(r->host, j->name.name, b->instance);
	if (rc < 0 && rc != -ENOENT)
		SIP_LOG(r, RD_LOG_WARN, "unpublishing %s (%s) failed: %s", j->name.name, b->instance, strerror(-rc));
	char **v = realloc(j->removed, (j->n_removed + 1) * sizeof(*v));
	if (v) {
		j->removed = v;
		j->removed[j->n_removed] = b->instance;
		b->instance = NULL;
		j->n_removed++;
	}
	aor_remove(a, b);
}

/** The view before the request: other nodes' bindings, with ours overlaid. */
static struct view *view_build(const struct reg_job *j, const struct rd_binding *bs, size_t n,
			       const struct reg_aor *a, uint64_t now, size_t *ret_n)
{
	size_t cap = n + (a ? a->n : 0) + MAX_OPS;
	struct view *v = calloc(cap ? cap : 1, sizeof(*v));
	size_t k = 0;
	if (!v)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (bs[i].expires <= now || !bs[i].instance || !bs[i].contact || view_find(v, k, bs[i].instance))
			continue;
		if (a && aor_find((struct reg_aor *)a, bs[i].instance))
			continue; /* ours: taken from local state below */
		bool removed = false;
		for (size_t k2 = 0; k2 < j->n_removed && !removed; k2++)
			removed = strcmp(j->removed[k2], bs[i].instance) == 0;
		if (removed)
			continue;
		v[k++] = (struct view){bs[i].instance, bs[i].contact, bs[i].q, bs[i].expires, false};
	}
	for (size_t i = 0; a && i < a->n; i++)
		if (a->b[i].expires > now)
			v[k++] = (struct view){a->b[i].instance, a->b[i].contact, a->b[i].q, a->b[i].expires, true};
	*ret_n = k;
	return v;
}

/** Count the bindings after the request; @return true if it adds any new instance. */
static bool count_after(const struct reg_job *j, const struct reg_aor *a, struct view *v, size_t n,
			size_t *ret_count)
{
	size_t count = n;
	bool adds = false;
	for (size_t i = 0; i < j->n_ops; i++) {
		const struct reg_op *op = &j->ops[i];
		struct reg_binding *b = aor_find((struct reg_aor *)a, op->instance);
		if (out_of_order(j, b))
			continue;
		struct view *x = view_find(v, n, op->instance);
		bool seen = x != NULL;
		for (size_t k = 0; k < i && !seen; k++)
			seen = strcmp(j->ops[k].instance, op->instance) == 0 && j->ops[k].expires > 0;
		if (op->expires > 0 && !seen) {
			count++;
			adds = true;
		} else if (op->expires == 0 && x && x->local) {
			count--;
			x->local = false; /* counted once */
		}
	}
	if (j->star)
		for (size_t i = 0; i < n; i++)
			if (v[i].local && !out_of_order(j, aor_find((struct reg_aor *)a, v[i].instance)))
				count--;
	*ret_count = count;
	return adds;
}

static int cmp_q(const void *a, const void *b)
{
	const struct view *x = a, *y = b;
	if (x->q != y->q)
		return x->q > y->q ? -1 : 1;
	return x->expires > y->expires ? -1 : x->expires < y->expires;
}

/** The 200: every current binding with its remaining lifetime. */
static void reply_ok(struct sip_registrar *r, struct reg_job *j, const struct rd_binding *bs, size_t n, uint64_t now)
{
	struct reg_aor **pp = aor_slot(r, j->name.name);
	size_t nv = 0;
	struct view *v = view_build(j, bs, n, pp ? *pp : NULL, now, &nv);
	if (!v) {
		txn_reply(r, j->job.txn, 500, "Server Internal Error", NULL);
		return;
	}
	qsort(v, nv, sizeof(*v), cmp_q);
	struct sip_buf b = {0};
	for (size_t i = 0; i < nv && i < SIP_MAX_REPLY_CONTACTS; i++) {
		if (!sip_contact_ok(v[i].contact))
			continue;
		sbuf_printf(&b, "Contact: <%s>", v[i].contact);
		if (v[i].q < RD_Q_MAX) {
			sbuf_puts(&b, ";q=");
			sip_put_q(&b, v[i].q);
		}
		sbuf_printf(&b, ";expires=%llu", (unsigned long long)(v[i].expires - now));
		if (strncmp(v[i].instance, "urn:", 4) == 0 && sip_contact_ok(v[i].instance))
			sbuf_printf(&b, ";+sip.instance=\"<%s>\"", v[i].instance);
		sbuf_puts(&b, "\r\n");
	}
	free(v);
	txn_reply(r, j->job.txn, 200, "OK", b.oom ? NULL : b.p);
	sbuf_free(&b);
	if (pp)
		aor_gc(r, pp);
}

/** The local AoR entry, created if needed. @return NULL: 503 (too many) or ENOMEM. */
static struct reg_aor *aor_get(struct sip_registrar *r, const char *name)
{
	if (!r->aors && !(r->aors = calloc(AOR_BUCKETS, sizeof(*r->aors))))
		return NULL;
	struct reg_aor **pp = aor_slot(r, name);
	if (*pp)
		return *pp;
	if (r->n_aors >= SIP_MAX_AORS)
		return NULL;
	struct reg_aor *a = calloc(1, sizeof(*a));
	if (!a || !(a->name = strdup(name))) {
		free(a);
		return NULL;
	}
	*pp = a;
	r->n_aors++;
	return a;
}

/** Apply the request. @return 0 or a status, with @p why the reason. */
static int apply(struct sip_registrar *r, struct reg_job *j, struct reg_aor *a, uint64_t now, char *why,
		 size_t why_len)
{
	if (j->star) {
		for (size_t i = 0; i < a->n;) {
			if (out_of_order(j, &a->b[i]))
				i++;
			else
				unpublish(r, j, a, &a->b[i]);
		}
	}
	for (size_t i = 0; i < j->n_ops; i++) {
		const struct reg_op *op = &j->ops[i];
		struct reg_binding *b = aor_find(a, op->instance);
		if (out_of_order(j, b))
			continue;
		if (op->expires == 0) {
			if (b)
				unpublish(r, j, a, b);
			continue;
		}
		int code = publish_op(r, j, a, op, now, why, why_len);
		if (code)
			return code;
	}
	return 0;
}

/**
 * Copy the lookup's bindings: their strings are the host's, borrowed for the
 * callback only, and a publish() or unpublish() in it may free them.
 * @return owned (one block with the strings), or NULL.
 */
static struct rd_binding *bindings_dup(const struct rd_binding *bs, size_t n)
{
	size_t size = n * sizeof(*bs);
	for (size_t i = 0; i < n; i++)
		size += (bs[i].contact ? strlen(bs[i].contact) + 1 : 0) + (bs[i].instance ? strlen(bs[i].instance) + 1 : 0);
	struct rd_binding *out = malloc(size ? size : 1);
	if (!out)
		return NULL;
	char *p = (char *)(out + n);
	for (size_t i = 0; i < n; i++) {
		out[i] = bs[i];
		if (bs[i].contact) {
			out[i].contact = strcpy(p, bs[i].contact);
			p += strlen(p) + 1;
		}
		if (bs[i].instance) {
			out[i].instance = strcpy(p, bs[i].instance);
			p += strlen(p) + 1;
		}
	}
	return out;
}

static void reg_apply(struct reg_job *j, const struct rd_binding *bs, size_t n);

static void reg_done(struct sip_job *sj, int status, uint64_t now, const struct rd_binding *bs, size_t n)
{
	struct reg_job *j = (struct reg_job *)sj;
	struct sip_registrar *r = sj->r;
	(void)now;
	if (!sj->txn)
		return;
	if (status < 0) {
		txn_reply(r, sj->txn, 503, "Service Unavailable", NULL);
		return;
	}
	struct rd_binding *copy = bindings_dup(bs, n);
	if (!copy) {
		txn_reply(r, sj->txn, 500, "Server Internal Error", NULL);
		return;
	}
	reg_apply(j, copy, n);
	free(copy);
}

/** The REGISTER against the AoR's current bindings @p bs (owned by the caller). */
static void reg_apply(struct reg_job *j, const struct rd_binding *bs, size_t n)
{
	struct sip_job *sj = &j->job;
	struct sip_registrar *r = sj->r;
	uint64_t now = r->api->now(r->host);
	struct reg_aor **pp = aor_slot(r, j->name.name);
	struct reg_aor *a = pp ? *pp : NULL;
	size_t nv = 0, count = 0;
	struct view *v = view_build(j, bs, n, a, now, &nv);
	if (!v) {
		txn_reply(r, sj->txn, 500, "Server Internal Error", NULL);
		return;
	}
	bool adds = count_after(j, a, v, nv, &count);
	free(v);
	if (adds && count > r->max_contacts) {
		txn_reply(r, sj->txn, 403, "Too many registered contacts", NULL);
		return;
	}
	if (j->n_ops == 0 && !j->star) {
		reply_ok(r, j, bs, n, now);
		return;
	}
	a = aor_get(r, j->name.name);
	if (!a) {
		txn_reply(r, sj->txn, 503, "Service Unavailable: too many registrations", NULL);
		return;
	}
	char why[RD_HOST_MAX + 64] = "";
	int code = apply(r, j, a, now, why, sizeof(why));
	if (code) {
		aor_gc(r, aor_slot(r, j->name.name));
		txn_reply(r, sj->txn, code, code == 500 && !why[0] ? "Server Internal Error" : why, NULL);
		return;
	}
	reply_ok(r, j, bs, n, now);
}

/* ---- entry -------------------------------------------------------------------------------- */

/** Digest authentication, when users are configured. @return true if the request may go on. */
static bool authorize(struct sip_registrar *r, struct sip_txn *t, const struct sip_msg *m)
{
	if (r->n_users == 0)
		return true;
	const char *realm = r->realm[0] ? r->realm : m->to->url->host;
	const char *user = NULL, *reason = NULL;
	enum auth_result res = auth_check(r, m, realm ? realm : "", &user, &reason);
	if (res == AUTH_BAD) {
		txn_reply(r, t, 400, reason, NULL);
		return false;
	}
	if (res != AUTH_OK) {
		struct sip_buf b = {0};
		auth_challenge(r, realm ? realm : "", res == AUTH_STALE, &b);
		txn_reply(r, t, 401, "Unauthorized", b.oom ? NULL : b.p);
		sbuf_free(&b);
		return false;
	}
	const char *to_user = m->to->url->username ? m->to->url->username : "";
	const char *from_user = m->from->url->username ? m->from->url->username : "";
	if (strcmp(user, to_user) != 0 || strcmp(from_user, to_user) != 0) {
		txn_reply(r, t, 403, "Forbidden: From/To mismatch", NULL);
		return false;
	}
	return true;
}

static bool is_sip_uri(const osip_uri_t *u)
{
	return u && u->scheme && (strcasecmp(u->scheme, "sip") == 0 || strcasecmp(u->scheme, "sips") == 0) && u->host;
}

/** The AoR of the To header into @p j. @return NULL or a 400 reason. */
static const char *to_aor(struct sip_registrar *r, const struct sip_msg *m, struct reg_job *j)
{
	char *uri = NULL;
	const char *reason = NULL;
	if (!is_sip_uri(m->to->url))
		return "Bad Request: To is not a SIP URI";
	if (osip_uri_to_str(m->to->url, &uri) != 0)
		return "Bad Request: malformed To";
	int rc = r->api->normalize(r->host, uri, &j->name, &reason);
	osip_free(uri);
	if (rc < 0)
		return rc == -ENAMETOOLONG ? "Bad Request: To URI too long" : "Bad Request: invalid To URI";
	return NULL;
}

void registrar_handle(struct sip_registrar *r, struct sip_txn *t, const struct sip_msg *m)
{
	struct reg_job *j = calloc(1, sizeof(*j));
	if (j)
		j->ops = calloc(MAX_OPS, sizeof(*j->ops));
	if (!j || !j->ops || !(j->call_id = strdup(msg_get(m, HDR_CALL_ID)))) {
		if (j)
			job_free(&j->job);
		txn_reply(r, t, 500, "Server Internal Error", NULL);
		return;
	}
	j->job.done = reg_done;
	j->job.free = job_free;
	j->cseq = m->cseq;
	const char *err = to_aor(r, m, j);
	if (err) {
		job_free(&j->job);
		txn_reply(r, t, 400, err, NULL);
		return;
	}
	if (!authorize(r, t, m)) {
		job_free(&j->job);
		return;
	}
	err = parse_contacts(r, m, j);
	if (err) {
		job_free(&j->job);
		txn_reply(r, t, 400, err, NULL);
		return;
	}
	char extra[64];
	int code = check_intervals(r, j, extra, sizeof(extra));
	if (code) {
		job_free(&j->job);
		txn_reply(r, t, code, "Interval Too Brief", extra);
		return;
	}
	if (job_start(r, t, &j->job, j->name.name) < 0)
		txn_reply(r, t, 500, "Server Internal Error", NULL);
}
