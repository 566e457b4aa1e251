/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The plugin ABI: the one header a resolverd plugin includes. */
#pragma once

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * DESIGN
 * A plugin is a shared object, plugins/<name>/rd_<name>.so, loaded with
 * dlopen(RTLD_NOW | RTLD_LOCAL). It exports one symbol, RD_PLUGIN_ENTRY, a
 * function returning a pointer to its struct rd_plugin: a vtable that
 * starts with the ABI version it was built against and its own size.
 *
 * Versioning. The major number changes when a member changes meaning or
 * place; the loader refuses any other major. The minor number grows when
 * members are appended to struct rd_plugin or struct rd_host_api; the loader
 * refuses a plugin built against a newer minor than the daemon knows (it may
 * rely on host functions this daemon lacks), and accepts an older minor: it
 * reads only the first rd_plugin.size bytes of the vtable and treats members
 * past them as NULL. Members are only ever appended. Each member is marked
 * MUST (the loader refuses a plugin that leaves it NULL) or MAY (NULL means
 * "not provided").
 *
 * The host. A plugin never links against daemon symbols. It reaches the
 * daemon only through the struct rd_host_api it is given in init(): logging,
 * its own config section (plugins.<name>.*), resolve and publish, async DNS
 * (c-ares), timers and sockets. The host API's own size and minor let a
 * plugin built against a newer header see which members this daemon has.
 *
 * Threads. Everything runs on the daemon's loop thread, except normalize(),
 * which the HTTP thread pool calls concurrently: it MUST be pure and
 * thread-safe. Host functions are loop-thread only unless marked "any
 * thread". Callbacks from the host run on the loop thread.
 *
 * Errors are 0 or a negative errno, never -1. A host function that takes a
 * callback and returns an error never calls that callback.
 */

#define RD_PLUGIN_ABI_MAJOR 1
#define RD_PLUGIN_ABI_MINOR 0

/** The symbol every plugin exports, of type rd_plugin_entry_fn. */
#define RD_PLUGIN_ENTRY "rd_plugin_entry"

#define RD_NAME_MAX 512     /**< longest normalized URI (RECORD_MAX_URI) */
#define RD_HOST_MAX 253     /**< longest host/domain */
#define RD_INSTANCE_MAX 128 /**< longest instance id (RECORD_MAX_INSTANCE) */
#define RD_Q_MAX 1000       /**< q in thousandths: 1000 is q=1.0 */

struct rd_host; /**< opaque: the daemon's handle for one loaded plugin */
struct rd_host_api;

/* ---- normalization ------------------------------------------------------- */

/** What normalize() produces. Every field is a NUL-terminated string in a caller buffer. */
struct rd_name {
	char name[RD_NAME_MAX + 1];         /**< the normalized URI: the DHT name */
	char host[RD_HOST_MAX + 1];         /**< lower-case domain policy applies to; "" if none (tel:) */
	char instance[RD_INSTANCE_MAX + 1]; /**< instance the URI itself names (an XMPP resource); "" if none */
};

/* ---- fallback ------------------------------------------------------------ */

/** One result of a conventional DNS fallback: a URL of the domain's server. */
struct rd_target {
	const char *url;  /**< e.g. "sip:sip.example.com:5060;transport=udp"; borrowed for the callback */
	uint16_t q;       /**< preference 0..RD_Q_MAX, from the DNS order/priority/weight; higher first */
	uint32_t ttl;     /**< seconds the answer may be cached: the smallest TTL on the path */
	const char *via;  /**< how it was found, e.g. "NAPTR SIP+D2U", "SRV _sip._udp", "A"; borrowed */
};

/**
 * The end of a fallback().
 * @param status 0 (targets found, @p n >= 1), -ENOENT (the domain publishes
 *        none, or does not exist), -ETIMEDOUT or -EIO (DNS failed),
 *        -ECANCELED (the plugin or daemon is stopping: @p n is 0).
 * @param targets borrowed for the call only, best first.
 */
typedef void (*rd_fallback_cb)(void *ud, int status, const struct rd_target *targets, size_t n);

/* ---- the vtable ---------------------------------------------------------- */

/** A plugin's vtable. Returned by the entry point; must stay valid until unload. */
struct rd_plugin {
	uint16_t abi_major; /**< MUST: RD_PLUGIN_ABI_MAJOR as built */
	uint16_t abi_minor; /**< MUST: RD_PLUGIN_ABI_MINOR as built */
	uint32_t size;      /**< MUST: sizeof(struct rd_plugin) as built */
	const char *name;   /**< MUST: the plugin's name, equal to its plugins.<name> section */
	const char *const *schemes; /**< MUST: lower-case URI schemes it normalizes, NULL-terminated */

	/**
	 * MUST. Normalize @p uri (its scheme is one of ->schemes, in any case)
	 * to its address of record, so that every equivalent spelling gives the
	 * same ret->name and different URIs give different names. Pure and
	 * thread-safe (any thread); @p state is init()'s, or NULL before init.
	 * @param[out] ret written on success only.
	 * @param[out] ret_reason on -EINVAL, a static English sentence.
	 * @return 0, -EINVAL (not a valid URI of this scheme), -ENAMETOOLONG.
	 */
	int (*normalize)(void *state, const char *uri, struct rd_name *ret, const char **ret_reason);

	/**
	 * MAY. Start: read plugins.<name>.* through @p api, open listeners.
	 * @param api borrowed; valid until deinit() returns.
	 * @param host borrowed; pass it to every @p api call.
	 * @param[out] ret_state the plugin's state, passed to every member.
	 * @return 0 or -errno; on failure the plugin has logged why and holds nothing.
	 */
	int (*init)(const struct rd_host_api *api, struct rd_host *host, void **ret_state);

	/**
	 * MAY. Stop and free @p state. Every DNS query, timer and socket the
	 * plugin still holds is released by the host right after this returns,
	 * without callbacks; a plugin may also release them itself here.
	 */
	void (*deinit)(void *state);

	/**
	 * MAY. The protocol's conventional DNS resolution for a name the DHT has
	 * no live binding for (RFC 3263, RFC 6120, H.323 Annex O...), through
	 * api->dns_query(). Not called when plugins.<name>.fallback is false.
	 * @param name a normalized URI as produced by normalize(), borrowed for the call.
	 * @param cb run exactly once when 0 is returned, possibly before return.
	 * @return 0, -ENOTSUP (no fallback for this name), -ENOMEM.
	 */
	int (*fallback)(void *state, const struct rd_name *name, rd_fallback_cb cb, void *ud);
};

/** The entry point's type: return the plugin's vtable (static storage), or NULL. */
typedef const struct rd_plugin *(*rd_plugin_entry_fn)(void);

/**
 * Mark the entry point exported (the daemon builds with -fvisibility=hidden):
 * RD_PLUGIN_EXPORT const struct rd_plugin *rd_plugin_entry(void) { return &my_plugin; }
 */
#define RD_PLUGIN_EXPORT __attribute__((visibility("default")))

/* ---- the host API ---------------------------------------------------------- */

enum rd_log_level { RD_LOG_ERROR = 0, RD_LOG_WARN = 1, RD_LOG_INFO = 2, RD_LOG_DEBUG = 3 };

/** A live binding as resolve() reports it. Strings are borrowed for the callback. */
struct rd_binding {
	const char *contact;  /**< the device URL */
	const char *instance; /**< device id */
	uint16_t q;           /**< 0..RD_Q_MAX */
	uint64_t expires;     /**< absolute, unix seconds */
};

/**
 * The end of a resolve().
 * @param status 0 (@p n may be 0: no live binding), -ECANCELED (stopping).
 * @param now the unix time the answer was computed at (expires - now is the remaining lifetime).
 * @param bindings best first (q, then newest), borrowed for the call.
 */
typedef void (*rd_resolve_cb)(void *ud, int status, uint64_t now, const struct rd_binding *bindings, size_t n);

/** A binding this node signs and keeps alive in the DHT. */
struct rd_publication {
	const char *name;     /**< a normalized URI (the plugin's own normalize() output) */
	const char *host;     /**< its domain, for policy; may be NULL */
	const char *contact;  /**< device URL, at most RD_NAME_MAX bytes */
	const char *instance; /**< device id, 1..RD_INSTANCE_MAX bytes */
	uint16_t q;           /**< 0..RD_Q_MAX */
	uint64_t expires;     /**< absolute, unix seconds, in the future */
};

/** DNS record types dns_query() understands. */
enum rd_dns_type { RD_DNS_A = 1, RD_DNS_NAPTR = 35, RD_DNS_SRV = 33, RD_DNS_AAAA = 28 };

/** One answer record, already parsed. Strings are borrowed for the callback. */
struct rd_dns_rr {
	uint16_t type; /**< enum rd_dns_type */
	uint32_t ttl;
	union {
		struct {
			char addr[46]; /**< A/AAAA: numeric text */
		} a;
		struct {
			uint16_t priority, weight, port;
			const char *target; /**< no trailing dot; "." target means "none" */
		} srv;
		struct {
			uint16_t order, preference;
			const char *flags, *service, *regexp;
			const char *replacement; /**< no trailing dot; "" when "." */
		} naptr;
	} u;
};

/**
 * The end of a dns_query().
 * @param status 0 (@p n >= 1), -ENOENT (NXDOMAIN or no records of the type),
 *        -ETIMEDOUT, -EIO (SERVFAIL, malformed), -ECANCELED (stopping).
 * @param rrs records of the asked type only, as the server ordered them; borrowed.
 */
typedef void (*rd_dns_cb)(void *ud, int status, const struct rd_dns_rr *rrs, size_t n);

struct rd_timer; /**< opaque, owned by the plugin until timer_free() */
struct rd_sock;  /**< opaque: a UDP socket, a TCP listener or a TCP connection */

typedef void (*rd_timer_cb)(void *ud);

/**
 * Data arrived. For UDP, one datagram from @p peer. For TCP, the next bytes
 * of connection @p s, from @p peer (its remote address); a stream parser
 * keeps what it has not consumed itself. @p data is borrowed for the call.
 * With @p len 0 on TCP, the peer closed or the connection failed: @p s is
 * freed right after the callback returns.
 */
typedef void (*rd_recv_cb)(void *ud, struct rd_sock *s, const struct sockaddr *peer, socklen_t peer_len,
			   const uint8_t *data, size_t len);

/**
 * A new TCP connection on a listener. Return the user data for its rd_recv_cb
 * calls (the listener's own @p ud is a fine choice).
 */
typedef void *(*rd_accept_cb)(void *ud, struct rd_sock *conn, const struct sockaddr *peer, socklen_t peer_len);

/** The host's functions. Loop thread only unless marked otherwise. Members are appended only. */
struct rd_host_api {
	uint16_t abi_major; /**< RD_PLUGIN_ABI_MAJOR of the daemon */
	uint16_t abi_minor; /**< RD_PLUGIN_ABI_MINOR of the daemon */
	uint32_t size;      /**< sizeof(struct rd_host_api) in the daemon */

	/** Log one line tagged with the plugin's name. Any thread. */
	void (*log)(struct rd_host *h, enum rd_log_level level, const char *fmt, ...)
		__attribute__((format(printf, 3, 4)));

	/* -- the plugin's config section, plugins.<name>.<key> (init() only) -- */

	/**
	 * A string option. @return 0 (*ret set: borrowed until deinit), -ENOENT
	 * (absent: *ret = @p dflt), -EINVAL (not a scalar: logged with file:line:column).
	 */
	int (*config_string)(struct rd_host *h, const char *key, const char *dflt, const char **ret);
	/** An integer option in [@p min, @p max]. @return 0, -ENOENT (*ret = @p dflt), -EINVAL (logged). */
	int (*config_uint)(struct rd_host *h, const char *key, unsigned min, unsigned max, unsigned dflt,
			   unsigned *ret);
	/** A boolean option (true/false). @return 0, -ENOENT (*ret = @p dflt), -EINVAL (logged). */
	int (*config_bool)(struct rd_host *h, const char *key, int dflt, int *ret);
	/**
	 * A list of strings (a YAML sequence, or one scalar). *ret_v is borrowed
	 * until deinit. @return 0, -ENOENT (*ret_n = 0), -EINVAL (logged).
	 */
	int (*config_list)(struct rd_host *h, const char *key, const char *const **ret_v, size_t *ret_n);
	/**
	 * The names of the entries of a map option (e.g. "users" for
	 * plugins.sip.users.<name>.password). Read an entry's fields with the
	 * getters above and the key "users.<name>.password".
	 * @return 0, -ENOENT (*ret_n = 0), -EINVAL (logged).
	 */
	int (*config_keys)(struct rd_host *h, const char *key, const char *const **ret_v, size_t *ret_n);
	/**
	 * Report a bad value for @p key, logged as "file:line:column:
	 * plugins.<name>.<key>: <reason>". @return -EINVAL, for a tail call.
	 */
	int (*config_error)(struct rd_host *h, const char *key, const char *fmt, ...)
		__attribute__((format(printf, 3, 4)));

	/* -- the DHT -- */

	/**
	 * Normalize @p uri with the registered rules of its scheme (any plugin's, or RFC 3986). Any thread.
	 * @return as rd_plugin.normalize.
	 */
	int (*normalize)(struct rd_host *h, const char *uri, struct rd_name *ret, const char **ret_reason);
	/**
	 * The live bindings of @p name (a normalized URI), from the cache or
	 * the DHT. @p cb runs once when 0 is returned, possibly before return.
	 * @return 0, -EINVAL, -ENOMEM.
	 */
	int (*resolve)(struct rd_host *h, const char *name, rd_resolve_cb cb, void *ud);
	/**
	 * Sign @p pub with the node key, journal it and announce it; a newer
	 * publication for the same (name, instance) replaces the older one.
	 * @param[out] ret_reason on failure, a static sentence.
	 * @return 0, -EACCES (policy: this node may not publish for pub->host),
	 *         -ENOSPC (publish.max_publications), -EINVAL, -EIO.
	 */
	int (*publish)(struct rd_host *h, const struct rd_publication *pub, const char **ret_reason);
	/** Replace this node's binding (@p name, @p instance) by a tombstone. @return 0, -ENOENT, -EIO. */
	int (*unpublish)(struct rd_host *h, const char *name, const char *instance);
	/** Unix time in seconds, the clock every expiry is checked against. Any thread. */
	uint64_t (*now)(struct rd_host *h);

	/* -- async DNS through c-ares, on the servers of fallback.servers -- */

	/**
	 * Ask for the @p type records of @p name. @p cb runs exactly once when 0
	 * is returned, never before this returns. @return 0, -EINVAL, -ENOMEM.
	 */
	int (*dns_query)(struct rd_host *h, const char *name, enum rd_dns_type type, rd_dns_cb cb, void *ud);

	/* -- timers -- */

	/** @return a stopped timer, or NULL (ENOMEM). */
	struct rd_timer *(*timer_new)(struct rd_host *h, rd_timer_cb cb, void *ud);
	/** (Re)start: first run after @p ms, then every @p repeat_ms (0: once). */
	void (*timer_start)(struct rd_timer *t, uint64_t ms, uint64_t repeat_ms);
	void (*timer_stop)(struct rd_timer *t);
	/** Stop and free. NULL is a no-op. Safe from the timer's own callback. */
	void (*timer_free)(struct rd_timer *t);

	/* -- sockets -- */

	/**
	 * Bind a UDP socket on @p endpoint ("ADDR:PORT" or "[V6]:PORT").
	 * @return 0 and *ret, -EINVAL (endpoint), -EADDRINUSE, -errno.
	 */
	int (*udp_bind)(struct rd_host *h, const char *endpoint, rd_recv_cb cb, void *ud, struct rd_sock **ret);
	/** Send one datagram. @return 0, -EAGAIN (would block: dropped), -errno. */
	int (*udp_send)(struct rd_sock *s, const struct sockaddr *to, socklen_t to_len, const uint8_t *data,
			size_t len);
	/**
	 * Listen for TCP on @p endpoint. Each accepted connection is announced
	 * by @p on_accept, then fed to @p on_data. @return 0 and *ret, -errno.
	 */
	int (*tcp_listen)(struct rd_host *h, const char *endpoint, rd_accept_cb on_accept, rd_recv_cb on_data,
			  void *ud, struct rd_sock **ret);
	/**
	 * Queue @p data on a TCP connection (copied). @return 0, -ENOBUFS (more
	 * than 1 MiB queued: the connection is closed), -EPIPE (closing).
	 */
	int (*tcp_send)(struct rd_sock *conn, const uint8_t *data, size_t len);
	/**
	 * Close a socket, listener or connection once queued data is sent. No
	 * callback runs for it afterwards. NULL is a no-op.
	 */
	void (*sock_close)(struct rd_sock *s);
	/** The local address of @p s (where a datagram arrived, for Via checks). @return 0, -errno. */
	int (*sock_name)(struct rd_sock *s, struct sockaddr_storage *ret, socklen_t *ret_len);
};

#ifdef __cplusplus
}
#endif
