/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Internal header of the SIP registrar and redirect server: the structs its files share (see server.c's DESIGN). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <osipparser2/osip_parser.h>

#include "plugins/sip/registrar.h"
#include "resolverd/plugin.h"

/* ---- limits and timers ------------------------------------------------------ */

#define SIP_MAX_MSG 65536        /**< largest message, datagram or stream */
#define SIP_MAX_HDRS 256         /**< header lines per message */
#define SIP_TICK_MS 500          /**< the sweep timer's period: T1 */
#define SIP_TIMER_J_TICKS 64     /**< 64*T1: how long a final response is kept (UDP) */
#define SIP_TIMER_I_TICKS 10     /**< T4 (5 s): how long an ACKed INVITE is kept */
#define SIP_T2_TICKS 8           /**< T2 (4 s): the longest Timer G interval */
#define SIP_MAX_TXNS 65536       /**< transactions kept; the oldest completed one goes first */
#define SIP_MAX_PENDING 4096     /**< requests waiting for the DHT; 503 beyond */
#define SIP_MAX_AORS 100000      /**< addresses of record registered on this node; 503 beyond */
#define SIP_MAX_CONNS 4096       /**< TCP connections; new ones are closed beyond */
#define SIP_TCP_PARTIAL_TICKS 60 /**< a half-received message may wait 30 s for its rest */
#define SIP_TCP_IDLE_TICKS 240   /**< an idle TCP connection is closed after 120 s */
#define SIP_NONCE_TTL 300        /**< seconds a digest nonce is fresh */
#define SIP_MAX_REPLY_CONTACTS 64 /**< Contacts listed in one 200 or 302 */

#define SIP_ALLOW "INVITE, ACK, CANCEL, OPTIONS, REGISTER, MESSAGE, SUBSCRIBE, NOTIFY, REFER, INFO, UPDATE, PRACK, PUBLISH, BYE"

/* ---- a growable text buffer ------------------------------------------------- */

/** Text being built. Every writer is a no-op once @c oom is set. */
struct sip_buf {
	char *p;    /**< owned, NUL-terminated when len > 0 */
	size_t len; /**< bytes written */
	size_t cap; /**< bytes allocated */
	bool oom;   /**< an allocation failed: the text is incomplete */
};

void sbuf_put(struct sip_buf *b, const char *s, size_t n);
void sbuf_puts(struct sip_buf *b, const char *s);
void sbuf_printf(struct sip_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sbuf_free(struct sip_buf *b);

/* ---- msg.c: one request, split and checked ---------------------------------- */

enum sip_hdr_id {
	HDR_OTHER = 0,
	HDR_VIA,
	HDR_FROM,
	HDR_TO,
	HDR_CALL_ID,
	HDR_CSEQ,
	HDR_MAX_FORWARDS,
	HDR_CONTACT,
	HDR_EXPIRES,
	HDR_CONTENT_LENGTH,
	HDR_REQUIRE,
	HDR_AUTHORIZATION,
	HDR_DATE,
	HDR__N,
};

/** One header line, unfolded. */
struct sip_hdr {
	enum sip_hdr_id id;
	const char *name;  /**< as received; points into sip_msg.text */
	const char *value; /**< trimmed, NUL-terminated; points into sip_msg.text */
};

/** A received message. msg_parse() fills it; msg_free() releases it. */
struct sip_msg {
	char *text;                     /**< owned: the unfolded header block every string points into */
	bool response;                  /**< a status line: always dropped */
	const char *method;             /**< request method */
	const char *ruri;               /**< Request-URI as received */
	const char *version;            /**< "SIP/2.0" */
	struct sip_hdr *hdrs;           /**< owned array of n_hdrs */
	size_t n_hdrs;
	size_t count[HDR__N];           /**< header lines of each kind */
	const char *first[HDR__N];      /**< value of the first line of each kind, or NULL */
	size_t len;                     /**< bytes of the message the input held (headers + body) */
	osip_via_t *via;                /**< owned: the top Via, or NULL (then no reply can be routed) */
	const char *via_rest;           /**< the top Via line after its first value ("" or ", ..."), in text */
	osip_from_t *from;              /**< owned, or NULL */
	osip_to_t *to;                  /**< owned, or NULL */
	osip_uri_t *uri;                /**< owned: the Request-URI, or NULL */
	uint32_t cseq;                  /**< CSeq number */
	const char *cseq_method;        /**< CSeq method, in text */
	int max_forwards;               /**< -1 when absent */
	int err_code;                   /**< 0, or the status to answer with (400, 416, 505) */
	const char *err_reason;         /**< static reason phrase for err_code */
};

/**
 * Find where the message at the start of a stream ends.
 * @return 0 and *ret_len; -EAGAIN (need more bytes); -EMSGSIZE (the
 *         header block or message exceeds SIP_MAX_MSG); -EBADMSG (bad Content-Length).
 */
int msg_frame(const uint8_t *data, size_t len, size_t *ret_len);

/**
 * Split and check one message. On return @p m is always initialized (msg_free() it).
 * @param stream true for TCP (the body length is given by Content-Length, already framed).
 * @return 0 (m->err_code says whether it is acceptable), -EPROTO (a response, or no
 *         start line at all: drop), -ENOMEM.
 */
int msg_parse(struct sip_msg *m, const uint8_t *data, size_t len, bool stream);

void msg_free(struct sip_msg *m);

/** @return the header value of @p id's first line, or NULL. */
static inline const char *msg_get(const struct sip_msg *m, enum sip_hdr_id id)
{
	return m->first[id];
}

/** @return the top Via's branch, or NULL. Borrowed from @p m. */
const char *msg_branch(const struct sip_msg *m);

/**
 * Split a comma-separated header value at top-level commas (outside quotes and <>).
 * @return the length of the first element of @p s; *ret_next is the next element or NULL.
 */
size_t msg_split_comma(const char *s, const char **ret_next);

/** @return true if @p s is a valid SIP token (RFC 3261 section 25.1). */
bool msg_is_token(const char *s, size_t n);

/** Parse a decimal number without sign into *ret; false if not digits or above @p max. */
bool msg_parse_uint(const char *s, uint64_t max, uint64_t *ret);

/* ---- transport.c: where a reply goes ---------------------------------------- */

struct sip_conn; /**< one TCP connection (transport.c) */

/** Where a response is sent. */
struct sip_dest {
	struct rd_sock *udp;           /**< borrowed: the UDP socket the request came on, or NULL */
	struct sip_conn *conn;         /**< a reference (conn_ref) on the TCP connection, or NULL */
	struct sockaddr_storage addr;  /**< UDP: where to send (from Via, RFC 3261 18.2.2 and RFC 3581) */
	socklen_t addr_len;
	struct sockaddr_storage src;   /**< where the request came from */
	socklen_t src_len;
};

void conn_ref(struct sip_conn *c);
void conn_unref(struct sip_conn *c);

/** Send @p len bytes to @p d. Errors are logged at debug level (a reply is best effort). */
void transport_send(struct sip_registrar *r, const struct sip_dest *d, const char *data, size_t len);

/** Per-tick work: close TCP connections that are idle or stuck on a partial message. */
void transport_tick(struct sip_registrar *r);

/** Open every listener of @p endpoints. @return 0 or -errno (logged). */
int transport_open(struct sip_registrar *r, const char *const *endpoints, size_t n);

/** Close listeners and connections. */
void transport_close(struct sip_registrar *r);

/* ---- txn.c: server transactions --------------------------------------------- */

enum txn_state {
	TXN_PENDING,   /**< waiting for the DHT; retransmissions are absorbed */
	TXN_COMPLETED, /**< final response sent and kept */
	TXN_CONFIRMED, /**< INVITE: the ACK came */
};

/** A server transaction: its key, where replies go, and its final response. */
struct sip_txn {
	struct sip_txn *hnext;     /**< hash chain */
	struct sip_txn *prev, *next; /**< the pending list or the completed FIFO */
	char *key;                 /**< owned */
	uint64_t hash;
	enum txn_state state;
	bool invite;               /**< an INVITE transaction (Timer G/H apply, ACK matches it) */
	struct sip_txn *rprev, *rnext; /**< the list of INVITEs whose response Timer G repeats */
	struct sip_dest dest;      /**< owns the conn reference */
	char *echo_head;           /**< owned: the Via and From lines of every response */
	char *echo_to;             /**< owned: the To value, or NULL if the request had none */
	bool to_tagged;            /**< the request's To has a tag already */
	char tag[20];              /**< our To tag */
	char *echo_tail;           /**< owned: the Call-ID and CSeq lines */
	char *resp;                /**< owned: the final response, once sent */
	size_t resp_len;
	uint64_t expire_tick;      /**< COMPLETED/CONFIRMED: when it is forgotten */
	uint64_t retx_tick;        /**< INVITE over UDP: next Timer G retransmission */
	unsigned retx_interval;    /**< ticks until the one after */
	void *job;                 /**< pending work (registrar.c, redirect.c) that points back here */
};

/** The transaction table: a hash table plus two lists. */
struct txn_table {
	struct sip_txn **buckets; /**< owned, n_buckets entries */
	size_t n_buckets;
	size_t n;                 /**< transactions in the table */
	struct sip_txn pending;   /**< list head: TXN_PENDING */
	struct sip_txn done;      /**< list head: completed, oldest first (expire order) */
	struct sip_txn retx;      /**< list head (rprev/rnext): INVITE responses Timer G repeats */
	size_t n_pending;
	uint64_t seed;            /**< hash seed */
};

int txn_table_init(struct txn_table *t);
void txn_table_deinit(struct sip_registrar *r, struct txn_table *t);

/** Build the key of @p m's transaction (ACK and CANCEL use INVITE's). @return owned string or NULL. */
char *txn_key(const struct sip_msg *m, const char *method);

struct sip_txn *txn_find(struct txn_table *t, const char *key);

/**
 * A new pending transaction, taking @p key and the reference in @p dest.
 * @return NULL (ENOMEM, or too many pending: the caller answers 503 statelessly).
 */
struct sip_txn *txn_new(struct sip_registrar *r, char *key, const struct sip_dest *dest, bool invite);

/**
 * Send the final response @p code and keep it (Timer J / H), or free the
 * transaction at once over TCP. @p extra: more header lines ending in CRLF, or NULL.
 */
void txn_reply(struct sip_registrar *r, struct sip_txn *t, int code, const char *reason, const char *extra);

/** Send a provisional response (100 Trying) without keeping it. */
void txn_provisional(struct sip_registrar *r, struct sip_txn *t, int code, const char *reason);

/**
 * Fill the echo fields of @p t from @p m: Via lines (the top one with
 * received and rport, RFC 3581), From, To, Call-ID, CSeq. @return 0, -ENOMEM.
 */
int txn_echo(struct sip_txn *t, const struct sip_msg *m, const struct sip_dest *d, uint64_t tag);

/** Free @p t now (unlinks it everywhere). */
void txn_free(struct sip_registrar *r, struct sip_txn *t);

/** A retransmitted request: send the kept response again (or absorb it while pending). */
void txn_retransmit(struct sip_registrar *r, struct sip_txn *t);

/** The ACK for a non-2xx final response: stop Timer G. */
void txn_ack(struct sip_txn *t);

/** Per-tick work: Timer G retransmissions, expiry. */
void txn_tick(struct sip_registrar *r);

/* ---- auth.c: digest ----------------------------------------------------------- */

struct sip_user {
	char *name;           /**< owned */
	const char *password; /**< borrowed from the config */
};

enum auth_result {
	AUTH_OK,       /**< credentials valid: *ret_user set */
	AUTH_CHALLENGE, /**< none or wrong: 401 */
	AUTH_STALE,    /**< right password, old nonce: 401 stale=true */
	AUTH_BAD,      /**< malformed credentials: 400 */
};

/**
 * Check a REGISTER's Authorization headers against the users.
 * @param realm the realm in force.
 * @param[out] ret_user the authenticated user name, borrowed from the config.
 * @param[out] ret_reason on AUTH_BAD, a static reason.
 */
enum auth_result auth_check(struct sip_registrar *r, const struct sip_msg *m, const char *realm,
			    const char **ret_user, const char **ret_reason);

/** Append the two WWW-Authenticate lines (MD5, then SHA-256) for @p realm to @p b. */
void auth_challenge(struct sip_registrar *r, const char *realm, bool stale, struct sip_buf *b);

/* ---- registrar.c and redirect.c ------------------------------------------------ */

/** One binding this node registered. */
struct reg_binding {
	char *instance;  /**< owned */
	char *contact;   /**< owned */
	uint16_t q;
	uint64_t expires; /**< absolute */
	char *call_id;   /**< owned */
	uint32_t cseq;
};

/** The bindings this node registered for one address of record. */
struct reg_aor {
	struct reg_aor *hnext;
	char *name;                  /**< owned: the normalized AoR */
	struct reg_binding *b;       /**< owned array */
	size_t n, cap;
};

/** Handle a REGISTER on its new transaction @p t. */
void registrar_handle(struct sip_registrar *r, struct sip_txn *t, const struct sip_msg *m);

/** Forget expired local bindings. */
void registrar_tick(struct sip_registrar *r);

void registrar_free_state(struct sip_registrar *r);

/** Redirect: answer @p m (any method but REGISTER, ACK, CANCEL) with 302, 404 or 480. */
void redirect_handle(struct sip_registrar *r, struct sip_txn *t, const struct sip_msg *m);

/** A DHT lookup in flight for a transaction (server.c runs it). */
struct sip_job {
	struct sip_job *prev, *next;  /**< the registrar's list of jobs */
	struct sip_registrar *r;      /**< borrowed */
	struct sip_txn *txn;          /**< borrowed; NULL once the transaction was answered otherwise */
	/** The lookup finished (status as rd_resolve_cb). The job is freed right after. */
	void (*done)(struct sip_job *j, int status, uint64_t now, const struct rd_binding *b, size_t n);
	void (*free)(struct sip_job *j); /**< free the job's own data and the job */
};

/**
 * Resolve @p name for @p j (already filled but for prev/next/r) and run j->done.
 * On error j is freed and the error returned; t->job is set while in flight.
 */
int job_start(struct sip_registrar *r, struct sip_txn *t, struct sip_job *j, const char *name);

/** Cancel the pending work of a transaction that is being answered or dropped. */
void job_detach(struct sip_txn *t);

/** Append q=... text for @p q in thousandths (1000 -> "1", 500 -> "0.5"). */
void sip_put_q(struct sip_buf *b, uint16_t q);

/** @return true if @p contact can be put inside <> in a header: visible ASCII, no <>" or spaces. */
bool sip_contact_ok(const char *contact);

/* ---- server.c ------------------------------------------------------------------ */

/** The server: config, listeners, transactions and registrations. Loop thread only. */
struct sip_registrar {
	const struct rd_host_api *api; /**< borrowed */
	struct rd_host *host;          /**< borrowed */
	unsigned min_expires, default_expires, max_expires, max_contacts;
	const char *realm;             /**< "" means the To host */
	struct sip_user *users;        /**< owned array */
	size_t n_users;
	uint8_t secret[32];            /**< nonce HMAC key, random per start */
	uint64_t tag_counter;          /**< for To tags */
	struct rd_sock **listeners;    /**< owned array of sockets we opened */
	size_t n_listeners;
	char **self_hosts;             /**< owned: hosts of the listen endpoints, for "to the server itself" */
	size_t n_self;
	struct sip_conn *conns;        /**< list of open TCP connections */
	size_t n_conns;
	struct rd_timer *tick;         /**< the sweep timer */
	uint64_t ticks;                /**< sweeps so far */
	struct txn_table txns;
	struct reg_aor **aors;         /**< hash of registered AoRs (registrar.c) */
	size_t n_aor_buckets, n_aors;
	struct sip_job jobs;           /**< list head: DHT lookups in flight */
};

/**
 * One message from a transport, routed per RFC 3261 section 18.2.2.
 * @param d where it came from: d->conn referenced for the call only.
 */
void server_input(struct sip_registrar *r, const struct sip_dest *d, const uint8_t *data, size_t len);

/** Log through the host. */
#define SIP_LOG(r, lvl, ...) ((r)->api->log((r)->host, (lvl), __VA_ARGS__))
