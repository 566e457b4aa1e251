/* SPDX-License-Identifier: GPL-3.0-or-later */
/* DNS over HTTPS (RFC 8484): GET /dns-query?dns=BASE64URL and POST /dns-query, answered by the DNS core. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "resolverd/http/http_req.h"
#include "resolverd/http/problem.h"

#define DOH_TYPE "application/dns-message"

static int b64url_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	return c == '-' ? 62 : c == '_' ? 63 : -1;
}

/* base64url without padding (RFC 8484 section 4.1), strictly: no '=' and no stray characters. */
static int b64url_decode(const char *in, uint8_t **ret, size_t *ret_len)
{
	size_t n = strlen(in);
	if (n == 0 || n % 4 == 1 || n > 4 * ((65535 + 2) / 3))
		return -EINVAL;
	uint8_t *out = malloc(n * 3 / 4 + 3);
	if (!out)
		return -ENOMEM;
	size_t o = 0;
	uint32_t acc = 0;
	unsigned bits = 0;
	for (size_t i = 0; i < n; i++) {
		int v = b64url_value(in[i]);
		if (v < 0) {
			free(out);
			return -EINVAL;
		}
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (uint8_t)(acc >> bits);
		}
	}
	*ret = out;
	*ret_len = o;
	return 0;
}

enum MHD_Result doh_finish(struct http_req *req)
{
	const union MHD_ConnectionInfo *info = MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (!info || !info->client_addr)
		return MHD_NO;
	memcpy(&req->client, info->client_addr,
	       info->client_addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in));
	if (req->post) {
		/* The message is the body, whatever the query string says. */
		req->wire = (uint8_t *)req->body;
		req->wire_len = req->body ? req->body_len : 0;
		req->body = NULL;
	} else {
		const char *q = MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, "dns");
		if (!q || b64url_decode(q, &req->wire, &req->wire_len) < 0)
			return api_reply_problem(req, MHD_HTTP_BAD_REQUEST, "invalid-field",
						 "dns: a DNS message in base64url without padding", "dns");
	}
	if (req->wire_len < 12)
		return api_reply_problem(req, MHD_HTTP_BAD_REQUEST, "invalid-dns-message",
					 "the DNS message is shorter than a header", "dns");
	return http_req_suspend(req);
}

static void on_dns_reply(void *ud, const uint8_t *resp, size_t len)
{
	struct http_req *req = ud;
	if (!resp) {
		ops_complete_problem(req, MHD_HTTP_BAD_REQUEST, "invalid-dns-message",
				     "the DNS message cannot be answered", "dns");
		return;
	}
	struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)resp, MHD_RESPMEM_MUST_COPY);
	if (r)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, DOH_TYPE);
	http_req_complete(req, MHD_HTTP_OK, r);
}

void doh_run(struct http_req *req)
{
	if (!req->srv->ctx.dns || dns_server_resolve(req->srv->ctx.dns, req->wire, req->wire_len,
						     (const struct sockaddr *)&req->client, on_dns_reply, req) < 0)
		ops_complete_problem(req, MHD_HTTP_SERVICE_UNAVAILABLE, "dns-unavailable",
				     "the DNS core cannot take the query", NULL);
}
