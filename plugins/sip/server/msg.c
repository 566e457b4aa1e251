/* SPDX-License-Identifier: GPL-3.0-or-later */
/* SIP messages: stream framing, header splitting with unfolding, libosip2 parsing of each header, request checks. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "plugins/sip/server/sip_server.h"

/* ---- text buffer ------------------------------------------------------------ */

static bool sbuf_grow(struct sip_buf *b, size_t more)
{
	if (b->oom)
		return false;
	if (b->len + more + 1 <= b->cap)
		return true;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < b->len + more + 1)
		cap *= 2;
	char *p = realloc(b->p, cap);
	if (!p) {
		b->oom = true;
		return false;
	}
	b->p = p;
	b->cap = cap;
	return true;
}

void sbuf_put(struct sip_buf *b, const char *s, size_t n)
{
	if (!sbuf_grow(b, n))
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void sbuf_puts(struct sip_buf *b, const char *s)
{
	sbuf_put(b, s, strlen(s));
}

void sbuf_printf(struct sip_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !sbuf_grow(b, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void sbuf_free(struct sip_buf *b)
{
	free(b->p);
	*b = (struct sip_buf){0};
}

/* ---- small lexical helpers ----------------------------------------------------- */

static bool is_tchar(unsigned char c)
{
	return isalnum(c) || strchr("-.!%*_+`'~", c) != NULL;
}

bool msg_is_token(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!s[i] || !is_tchar((unsigned char)s[i]))
			return false;
	return true;
}

static bool is_ws(char c)
{
	return c == ' ' || c == '\t';
}

bool msg_parse_uint(const char *s, uint64_t max, uint64_t *ret)
{
	uint64_t v = 0;
	if (!s || !*s)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		if (v > (max - (uint64_t)(*s - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*ret = v;
	return true;
}

size_t msg_split_comma(const char *s, const char **ret_next)
{
	bool quoted = false, angle = false;
	const char *p;
	for (p = s; *p; p++) {
		if (quoted) {
			if (*p == '\\' && p[1])
				p++;
			else if (*p == '"')
				quoted = false;
		} else if (*p == '"') {
			quoted = true;
		} else if (*p == '<') {
			angle = true;
		} else if (*p == '>') {
			angle = false;
		} else if (*p == ',' && !angle) {
			break;
		}
	}
	size_t n = (size_t)(p - s);
	while (n > 0 && is_ws(s[n - 1]))
		n--;
	if (*p == ',') {
		p++;
		while (is_ws(*p))
			p++;
		*ret_next = p;
	} else {
		*ret_next = NULL;
	}
	return n;
}

/* ---- header names -------------------------------------------------------------- */

static const struct {
	const char *name;
	char compact;
	enum sip_hdr_id id;
} hdr_names[] = {
	{"via", 'v', HDR_VIA},
	{"from", 'f', HDR_FROM},
	{"to", 't', HDR_TO},
	{"call-id", 'i', HDR_CALL_ID},
	{"cseq", 0, HDR_CSEQ},
	{"max-forwards", 0, HDR_MAX_FORWARDS},
	{"contact", 'm', HDR_CONTACT},
	{"expires", 0, HDR_EXPIRES},
	{"content-length", 'l', HDR_CONTENT_LENGTH},
	{"require", 0, HDR_REQUIRE},
	{"authorization", 0, HDR_AUTHORIZATION},
	{"date", 0, HDR_DATE},
};

static enum sip_hdr_id hdr_lookup(const char *name, size_t n)
{
	for (size_t i = 0; i < sizeof(hdr_names) / sizeof(hdr_names[0]); i++) {
		if (n == 1 && hdr_names[i].compact && tolower((unsigned char)name[0]) == hdr_names[i].compact)
			return hdr_names[i].id;
		if (strlen(hdr_names[i].name) == n && strncasecmp(name, hdr_names[i].name, n) == 0)
			return hdr_names[i].id;
	}
	return HDR_OTHER;
}


/* ---- framing ---------------------------------------------------------------------- */

/** @return the length of the header block including its blank line, or 0 if not all there. */
static size_t header_end(const uint8_t *d, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (d[i] != '\n')
			continue;
		if (i + 1 < len && d[i + 1] == '\n')
			return i + 2;
		if (i + 2 < len && d[i + 1] == '\r' && d[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

/** Content-Length of a raw header block. @return 0 (*ret set, 0 when absent), -EBADMSG. */
static int raw_content_length(const uint8_t *d, size_t hlen, uint64_t *ret)
{
	size_t seen = 0;
	uint64_t v = 0;
	for (size_t i = 0; i < hlen;) {
		size_t eol = i;
		while (eol < hlen && d[eol] != '\n')
			eol++;
		size_t c = i;
		while (c < eol && d[c] != ':')
			c++;
		size_t ne = c;
		while (ne > i && is_ws((char)d[ne - 1]))
			ne--;
		if (c < eol && i > 0 && hdr_lookup((const char *)d + i, ne - i) == HDR_CONTENT_LENGTH &&
		    !is_ws((char)d[i])) {
			char num[24];
			size_t k = 0, p = c + 1;
			while (p < eol && is_ws((char)d[p]))
				p++;
			while (p < eol && d[p] != '\r' && !is_ws((char)d[p]) && k < sizeof(num) - 1)
				num[k++] = (char)d[p++];
			num[k] = '\0';
			uint64_t x;
			if (!msg_parse_uint(num, SIP_MAX_MSG * 16ull, &x) || (seen && x != v))
				return -EBADMSG;
			v = x;
			seen++;
		}
		i = eol + 1;
	}
	*ret = v;
	return 0;
}

int msg_frame(const uint8_t *data, size_t len, size_t *ret_len)
{
	size_t scan = len < SIP_MAX_MSG ? len : SIP_MAX_MSG;
	size_t hlen = header_end(data, scan);
	if (hlen == 0)
		return len >= SIP_MAX_MSG ? -EMSGSIZE : -EAGAIN;
	uint64_t cl;
	if (raw_content_length(data, hlen, &cl) < 0)
		return -EBADMSG;
	if (hlen + cl > SIP_MAX_MSG)
		return -EMSGSIZE;
	if (hlen + cl > len)
		return -EAGAIN;
	*ret_len = hlen + (size_t)cl;
	return 0;
}

/* ---- splitting ------------------------------------------------------------------------ */

static void set_err(struct sip_msg *m, int code, const char *reason)
{
	if (m->err_code == 0) {
		m->err_code = code;
		m->err_reason = reason;
	}
}

/** Copy one line into m->text at *pos, control characters replaced. @return its start. */
static char *copy_line(char *out, size_t *pos, const uint8_t *s, size_t n)
{
	char *start = out + *pos;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = s[i];
		out[(*pos)++] = (c < 0x20 && c != '\t') || c == 0x7f ? '?' : (char)c;
	}
	out[(*pos)++] = '\0';
	return start;
}

static char *trim(char *s)
{
	while (is_ws(*s))
		s++;
	size_t n = strlen(s);
	while (n > 0 && is_ws(s[n - 1]))
		s[--n] = '\0';
	return s;
}

/** Split the header block into the start line and unfolded header lines. */
static int split_headers(struct sip_msg *m, const uint8_t *d, size_t hlen, char **ret_start)
{
	size_t pos = 0;
	m->text = malloc(hlen + 16);
	m->hdrs = calloc(SIP_MAX_HDRS, sizeof(*m->hdrs));
	if (!m->text || !m->hdrs)
		return -ENOMEM;
	char *last = NULL; /* the value continuation lines extend */
	for (size_t i = 0; i < hlen;) {
		size_t eol = i;
		while (eol < hlen && d[eol] != '\n')
			eol++;
		size_t n = eol - i;
		if (n > 0 && d[i + n - 1] == '\r')
			n--;
		const uint8_t *line = d + i;
		i = eol + 1;
		if (n == 0)
			break;
		if (!*ret_start) {
			*ret_start = copy_line(m->text, &pos, line, n);
			continue;
		}
		if (is_ws((char)line[0])) {
			if (!last) {
				set_err(m, 400, "Bad Request: malformed header line");
				continue;
			}
			/* fold: overwrite the value's NUL with one space, append the line
			 * without its leading white space (so the copy never outgrows the input) */
			size_t ws = 0;
			while (ws < n && is_ws((char)line[ws]))
				ws++;
			pos = (size_t)(last - m->text) + strlen(last);
			m->text[pos++] = ' ';
			copy_line(m->text, &pos, line + ws, n - ws);
			trim(last);
			continue;
		}
		char *name = copy_line(m->text, &pos, line, n);
		char *colon = strchr(name, ':');
		if (!colon) {
			set_err(m, 400, "Bad Request: malformed header line");
			last = NULL;
			continue;
		}
		*colon = '\0';
		char *value = trim(colon + 1);
		name = trim(name);
		if (!msg_is_token(name, strlen(name))) {
			set_err(m, 400, "Bad Request: malformed header name");
			last = NULL;
			continue;
		}
		if (m->n_hdrs == SIP_MAX_HDRS) {
			set_err(m, 400, "Bad Request: too many header lines");
			last = NULL;
			continue;
		}
		/* a value may grow by folding: move it right after its name's NUL */
		last = name + strlen(name) + 1;
		memmove(last, value, strlen(value) + 1);
		pos = (size_t)(last - m->text) + strlen(last) + 1;
		struct sip_hdr *h = &m->hdrs[m->n_hdrs++];
		h->id = hdr_lookup(name, strlen(name));
		h->name = name;
		h->value = last;
	}
	return 0;
}

/** Record counts and first values; done after folding has finished moving values. */
static void index_headers(struct sip_msg *m)
{
	for (size_t i = 0; i < m->n_hdrs; i++) {
		enum sip_hdr_id id = m->hdrs[i].id;
		if (m->count[id]++ == 0)
			m->first[id] = m->hdrs[i].value;
	}
}

/* ---- the request line -------------------------------------------------------------- */

static void parse_request_line(struct sip_msg *m, char *line)
{
	char *sp1 = strchr(line, ' ');
	if (!sp1) {
		set_err(m, 400, "Bad Request: malformed Request-Line");
		return;
	}
	*sp1 = '\0';
	m->method = line;
	char *uri = sp1 + 1;
	char *sp2 = strchr(uri, ' ');
	if (!sp2 || !msg_is_token(line, strlen(line)) || sp2 == uri) {
		set_err(m, 400, "Bad Request: malformed Request-Line");
		return;
	}
	*sp2 = '\0';
	m->ruri = uri;
	char *ver = sp2 + 1;
	const char *d = ver + 4;
	if (strncmp(ver, "SIP/", 4) != 0 || !isdigit((unsigned char)*d)) {
		set_err(m, 400, "Bad Request: malformed Request-Line");
		return;
	}
	while (isdigit((unsigned char)*d))
		d++;
	if (*d++ != '.' || !isdigit((unsigned char)*d)) {
		set_err(m, 400, "Bad Request: malformed Request-Line");
		return;
	}
	while (isdigit((unsigned char)*d))
		d++;
	if (*d) {
		set_err(m, 400, "Bad Request: malformed Request-Line");
		return;
	}
	m->version = ver;
	if (strchr(uri, '<') || strchr(uri, '>') || strchr(uri, '\t'))
		set_err(m, 400, "Bad Request: malformed Request-URI");
}

/* ---- header checks ------------------------------------------------------------------ */

/** @return true if @p s (one Via, From, To or Contact value) has no empty parameter or element. */
static bool params_ok(const char *s)
{
	bool quoted = false, angle = false;
	char prev = ';'; /* an element may not start with a separator */
	for (const char *p = s; *p; p++) {
		if (angle) {
			angle = *p != '>';
			continue;
		}
		if (quoted) {
			if (*p == '\\' && p[1])
				p++;
			else if (*p == '"')
				quoted = false;
			continue;
		}
		if (is_ws(*p))
			continue;
		if (*p == '"')
			quoted = true;
		if (*p == '<')
			angle = true;
		if ((*p == ';' || *p == ',') && (prev == ';' || prev == ','))
			return false;
		prev = *p;
	}
	return prev != ';' && prev != ',';
}

/** Skip a quoted string at @p p (at its opening quote). @return past it, or NULL if unterminated. */
static const char *skip_quoted(const char *p)
{
	for (p++; *p; p++) {
		if (*p == '\\' && p[1])
			p++;
		else if (*p == '"')
			return p + 1;
	}
	return NULL;
}

/**
 * Check a name-addr or addr-spec beyond what libosip2 checks: a quoted or
 * token display name, no spaces just inside <>, and an addr-spec with no
 * '?' (RFC 3261 section 20: such a URI must be enclosed in <>).
 */
static bool addr_ok(const char *v)
{
	const char *p = v;
	while (is_ws(*p))
		p++;
	if (*p == '"') {
		p = skip_quoted(p);
		if (!p)
			return false;
		while (is_ws(*p))
			p++;
		if (*p != '<')
			return false;
	} else {
		const char *lt = strchr(p, '<');
		const char *semi = strchr(p, ';');
		if (!lt || (semi && semi < lt)) {
			size_t n = semi ? (size_t)(semi - p) : strlen(p);
			while (n > 0 && is_ws(p[n - 1]))
				n--;
			return memchr(p, '?', n) == NULL && memchr(p, ' ', n) == NULL;
		}
		for (; p < lt; p++)
			if (!is_tchar((unsigned char)*p) && !is_ws(*p))
				return false;
	}
	/* p is at '<' */
	const char *gt = strchr(p, '>');
	if (!gt || gt == p + 1 || is_ws(p[1]) || is_ws(gt[-1]))
		return false;
	for (const char *q = gt + 1; *q; q++) {
		if (*q == '"' && !(q = skip_quoted(q)))
			return false;
		if (!*q)
			break;
		if (*q == '<' || *q == '>')
			return false;
	}
	return true;
}

/** A header value's element parsed as a name-addr by libosip2. @return 0 or -EINVAL. */
static int parse_from(const char *v, osip_from_t **ret)
{
	osip_from_t *f = NULL;
	if (osip_from_init(&f) != 0)
		return -ENOMEM;
	if (osip_from_parse(f, v) != 0 || !f->url || !f->url->scheme) {
		osip_from_free(f);
		return -EINVAL;
	}
	*ret = f;
	return 0;
}

static void check_via(struct sip_msg *m)
{
	const char *first = msg_get(m, HDR_VIA);
	if (!first)
		return;
	const char *next;
	size_t n = msg_split_comma(first, &next);
	char *top = strndup(first, n);
	if (!top)
		return;
	osip_via_t *v = NULL;
	if (osip_via_init(&v) == 0 && osip_via_parse(v, top) == 0 && v->host && v->host[0] && v->protocol &&
	    v->version) {
		m->via = v;
		m->via_rest = first + n;
	} else {
		osip_via_free(v);
	}
	free(top);
	for (size_t i = 0; i < m->n_hdrs; i++)
		if (m->hdrs[i].id == HDR_VIA && !params_ok(m->hdrs[i].value))
			set_err(m, 400, "Bad Request: malformed Via");
}

static void check_counts(struct sip_msg *m)
{
	static const enum sip_hdr_id needed[] = {HDR_VIA, HDR_FROM, HDR_TO, HDR_CALL_ID, HDR_CSEQ};
	static const char *const missing[] = {
		"Bad Request: missing Via", "Bad Request: missing From", "Bad Request: missing To",
		"Bad Request: missing Call-ID", "Bad Request: missing CSeq",
	};
	static const enum sip_hdr_id single[] = {HDR_FROM, HDR_TO, HDR_CALL_ID, HDR_CSEQ, HDR_MAX_FORWARDS,
						 HDR_CONTENT_LENGTH, HDR_EXPIRES};
	static const char *const multiple[] = {
		"Bad Request: multiple From", "Bad Request: multiple To", "Bad Request: multiple Call-ID",
		"Bad Request: multiple CSeq", "Bad Request: multiple Max-Forwards",
		"Bad Request: multiple Content-Length", "Bad Request: multiple Expires",
	};
	for (size_t i = 0; i < sizeof(needed) / sizeof(needed[0]); i++)
		if (m->count[needed[i]] == 0)
			set_err(m, 400, missing[i]);
	for (size_t i = 0; i < sizeof(single) / sizeof(single[0]); i++)
		if (m->count[single[i]] > 1)
			set_err(m, 400, multiple[i]);
}

static void check_cseq(struct sip_msg *m)
{
	const char *v = msg_get(m, HDR_CSEQ);
	if (!v)
		return;
	char num[16];
	size_t k = 0;
	while (isdigit((unsigned char)v[k]) && k < sizeof(num) - 1) {
		num[k] = v[k];
		k++;
	}
	num[k] = '\0';
	uint64_t n;
	const char *meth = v + k;
	if (!is_ws(*meth) || !msg_parse_uint(num, UINT32_MAX, &n)) {
		set_err(m, 400, "Bad Request: invalid CSeq number");
		return;
	}
	while (is_ws(*meth))
		meth++;
	m->cseq = (uint32_t)n;
	m->cseq_method = meth;
	if (!msg_is_token(meth, strlen(meth)))
		set_err(m, 400, "Bad Request: invalid CSeq method");
	else if (m->method && strcmp(meth, m->method) != 0)
		set_err(m, 400, "Bad Request: CSeq method does not match the Request-Line");
}

static void check_numbers(struct sip_msg *m)
{
	const char *v = msg_get(m, HDR_MAX_FORWARDS);
	uint64_t n;
	if (v) {
		if (!msg_parse_uint(v, 255, &n))
			set_err(m, 400, "Bad Request: invalid Max-Forwards");
		else
			m->max_forwards = (int)n;
	}
	v = msg_get(m, HDR_EXPIRES);
	if (v && !msg_parse_uint(v, UINT64_MAX, &n))
		set_err(m, 400, "Bad Request: invalid Expires");
	v = msg_get(m, HDR_DATE);
	if (v) {
		size_t len = strlen(v);
		if (len < 4 || strcmp(v + len - 4, " GMT") != 0)
			set_err(m, 400, "Bad Request: invalid Date");
	}
}

static void check_addrs(struct sip_msg *m)
{
	const char *v = msg_get(m, HDR_FROM);
	if (v && (!params_ok(v) || !addr_ok(v) || parse_from(v, &m->from) < 0))
		set_err(m, 400, "Bad Request: malformed From");
	v = msg_get(m, HDR_TO);
	if (v && (!params_ok(v) || !addr_ok(v) || parse_from(v, &m->to) < 0))
		set_err(m, 400, "Bad Request: malformed To");
	for (size_t i = 0; i < m->n_hdrs; i++) {
		if (m->hdrs[i].id != HDR_CONTACT || strcmp(m->hdrs[i].value, "*") == 0)
			continue;
		if (!params_ok(m->hdrs[i].value)) {
			set_err(m, 400, "Bad Request: malformed Contact");
			continue;
		}
		for (const char *e = m->hdrs[i].value; e;) {
			const char *next;
			size_t n = msg_split_comma(e, &next);
			char *one = strndup(e, n);
			if (one && !addr_ok(one))
				set_err(m, 400, "Bad Request: malformed Contact");
			free(one);
			e = next;
		}
	}
}

static bool scheme_is(const char *uri, const char *scheme)
{
	size_t n = strlen(scheme);
	return strncasecmp(uri, scheme, n) == 0 && uri[n] == ':';
}

static void check_ruri(struct sip_msg *m)
{
	if (!m->ruri)
		return;
	const char *p = m->ruri;
	if (!isalpha((unsigned char)*p)) {
		set_err(m, 400, "Bad Request: malformed Request-URI");
		return;
	}
	while (isalnum((unsigned char)*p) || *p == '+' || *p == '-' || *p == '.')
		p++;
	if (*p != ':') {
		set_err(m, 400, "Bad Request: malformed Request-URI");
		return;
	}
	bool sip = scheme_is(m->ruri, "sip") || scheme_is(m->ruri, "sips");
	if (!sip && !scheme_is(m->ruri, "tel")) {
		set_err(m, 416, "Unsupported URI Scheme");
		return;
	}
	const char *at = strrchr(m->ruri, '@');
	if (sip && strchr(at ? at : m->ruri, '?')) {
		set_err(m, 400, "Bad Request: headers in the Request-URI");
		return;
	}
	if (osip_uri_init(&m->uri) != 0 || osip_uri_parse(m->uri, m->ruri) != 0 || (sip && !m->uri->host)) {
		osip_uri_free(m->uri);
		m->uri = NULL;
		set_err(m, 400, "Bad Request: malformed Request-URI");
	}
}

/* Content-Length against what arrived; sets m->len. */
static void check_length(struct sip_msg *m, size_t hlen, size_t len, bool stream)
{
	const char *v = msg_get(m, HDR_CONTENT_LENGTH);
	uint64_t cl = len - hlen;
	if (v && !msg_parse_uint(v, UINT32_MAX, &cl)) {
		set_err(m, 400, "Bad Request: invalid Content-Length");
		cl = len - hlen;
	} else if (cl > len - hlen) {
		set_err(m, 400, "Bad Request: Content-Length larger than the message");
		cl = len - hlen;
	} else if (!v && stream) {
		cl = 0;
	}
	m->len = hlen + (size_t)cl;
}

int msg_parse(struct sip_msg *m, const uint8_t *data, size_t len, bool stream)
{
	*m = (struct sip_msg){.max_forwards = -1};
	while (len >= 2 && data[0] == '\r' && data[1] == '\n') {
		data += 2;
		len -= 2;
	}
	if (len == 0 || len > SIP_MAX_MSG)
		return -EPROTO;
	size_t hlen = header_end(data, len);
	if (hlen == 0) {
		set_err(m, 400, "Bad Request: no end of headers");
		hlen = len;
	}
	char *start = NULL;
	if (split_headers(m, data, hlen, &start) < 0)
		return -ENOMEM;
	if (!start || strncmp(start, "SIP/", 4) == 0) {
		m->response = start != NULL;
		return -EPROTO;
	}
	index_headers(m);
	parse_request_line(m, start);
	check_via(m);
	if (m->version && strcmp(m->version, "SIP/2.0") != 0)
		set_err(m, 505, "Version Not Supported");
	check_counts(m);
	check_length(m, hlen, len, stream);
	check_cseq(m);
	check_numbers(m);
	check_addrs(m);
	check_ruri(m);
	return 0;
}

void msg_free(struct sip_msg *m)
{
	osip_via_free(m->via);
	osip_from_free(m->from);
	osip_to_free(m->to);
	osip_uri_free(m->uri);
	free(m->hdrs);
	free(m->text);
	*m = (struct sip_msg){.max_forwards = -1};
}

const char *msg_branch(const struct sip_msg *m)
{
	osip_generic_param_t *p = NULL;
	if (!m->via || osip_via_param_get_byname(m->via, "branch", &p) != 0 || !p)
		return NULL;
	return p->gvalue;
}
