/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The daemon's configuration: one declarative table, loaded from YAML (libyaml) and --set overrides. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "resolverd/core/log.h"

/**
 * Where one value came from, kept for config_validate()'s messages: a file
 * position, a --set, or nothing for a built-in default. Private to config.c.
 */
struct config_origin;

/** A list of owned strings. */
struct config_strv {
	char **v;  /**< owned array of owned strings */
	size_t n;
};

/** policy.domains.<name> */
struct config_domain {
	char *name;             /**< lower-case domain */
	struct config_strv keys; /**< hex Ed25519 public keys (validated: 64 hex digits) */
	struct config_origin *origins; /**< owned, private to config.c: where the entry and its fields came from */
};

/** http.tokens.<name> */
struct config_token {
	char *name;               /**< the map key, for logs */
	char *token;              /**< the bearer secret (>= 16 characters) */
	struct config_strv scopes; /**< URI globs ('*' wildcard) this token may write */
	struct config_origin *origins; /**< owned, private to config.c: where the entry and its fields came from */
};

/** dns.dht_zones.<apex>: a zone served authoritatively from DHT records. */
struct config_zone {
	char *apex;                /**< owned; the map key: a host name, stored lower-case, no trailing dot */
	struct config_strv ns;     /**< .ns: NS host names; default ["ns.<apex>"]; config_validate() wants one */
	char *hostmaster;          /**< owned; .hostmaster: SOA RNAME as a host name; default "hostmaster.<apex>" */
	unsigned serial;           /**< .serial: SOA serial, 1..4294967295, default 1 */
	unsigned negative_ttl;     /**< .negative_ttl: SOA MINIMUM, seconds, 0..86400, default 60 */
	struct config_origin *origins; /**< owned, private to config.c: where the entry and its fields came from */
};

/** What a plugin-specific value (struct config_raw) is. */
enum config_raw_kind {
	CONFIG_RAW_SCALAR = 0, /**< one value: ->text (and ->items, one item, or the items of a --set list) */
	CONFIG_RAW_LIST,       /**< a YAML sequence of scalars: ->items */
	CONFIG_RAW_MAP,        /**< a YAML mapping: its entries are the values whose key extends this one */
};

/**
 * One plugin-specific value, plugins.<name>.<key>: the core does not know
 * the key, so it keeps the text and where it came from, for the plugin's
 * host config getters (host/host.c) to check on the plugin's behalf.
 */
struct config_raw {
	char *key;                 /**< owned: dotted, below the section ("users.alice.password") */
	size_t leaf_off;           /**< offset in key of its last segment: key[0..leaf_off-1] is the parent + '.' */
	enum config_raw_kind kind;
	char *text;                /**< owned: a SCALAR's text ("" for a YAML null); NULL otherwise */
	struct config_strv items;  /**< SCALAR: its text (or, from --set, its comma-separated items); LIST: the items */
	bool is_string;            /**< SCALAR: a string under the YAML 1.2 core schema (quoted, or plain non-number) */
	bool plain;                /**< SCALAR: written plain (unquoted), as integers and booleans must be */
	bool is_null;              /**< SCALAR: a YAML null (empty, ~ or null) */
	bool from_set;             /**< set by --set: any text is accepted as any type */
	char *where;               /**< owned: "FILE:LINE:COLUMN" or "--set KEY" */
};

/** plugins.<name>: one plugin's section. */
struct config_plugin {
	char *name;                /**< owned; the map key: [a-z][a-z0-9_]*, at most 31 characters */
	int enabled;               /**< .enabled: load it, 0 or 1; default 1 */
	char *path;                /**< owned; .path: the rd_<name>.so to load; NULL: search (host/loader.h) */
	int fallback;              /**< .fallback: use its DNS fallback in GET /v1/resolve, 0 or 1; default 1 */
	unsigned tcp_max_connections; /**< .tcp.max_connections: open TCP connections per listener, 1..100000 */
	unsigned tcp_idle_timeout_ms; /**< .tcp.idle_timeout_ms: a silent TCP connection is closed, 100..3600000 */
	struct config_raw *raw;    /**< owned array: every other key of the section, in file order */
	size_t n_raw;
	struct config_origin *origins; /**< owned, private to config.c: where the entry and its fields came from */
};

/**
 * The whole configuration. Every member is documented in etc/resolverd.yaml
 * and schemas/config.schema.json; names below mirror the dotted option names.
 */
struct rd_config {
	char *state_dir; /**< state_dir */
	struct {
		char *listen;                /**< dht.listen, ADDR:PORT (validated) */
		uint32_t network;            /**< dht.network, overlay id */
		struct config_strv bootstrap; /**< dht.bootstrap, HOST:PORT each */
		unsigned get_timeout_ms;     /**< dht.get_timeout_ms, read deadline, 10..10000 */
		unsigned max_record_size;    /**< dht.max_record_size, bytes, 256..RECORD_MAX_SIZE: larger values are neither stored nor accepted */
	} dht;
	struct {
		struct config_strv listen;   /**< http.listen, ADDR:PORT each */
		unsigned threads;            /**< http.threads, 1..64 */
		unsigned max_body;           /**< http.max_body, bytes, 256..1048576 */
		unsigned max_connections;    /**< http.max_connections, 1..100000 */
		unsigned max_connections_per_ip; /**< http.max_connections_per_ip, 1..100000 */
		unsigned timeout_s;          /**< http.timeout_s, idle connection timeout, 1..3600 */
		struct config_strv read_acl; /**< http.read_acl, CIDRs allowed to read */
		struct {
			unsigned requests_per_second; /**< http.rate_limit.requests_per_second, per client, 0..1000000; 0: off */
			unsigned burst;               /**< http.rate_limit.burst, requests at once, 1..1000000 */
		} rate_limit;                         /**< per client address: one IPv4 /32 or IPv6 /64 */
		struct config_token *tokens; /**< http.tokens.<name>.{token,scopes} */
		size_t n_tokens;
	} http;
	struct {
		struct config_strv listen;   /**< dns.listen, ADDR:PORT each */
		struct config_strv enum_suffixes; /**< dns.enum_suffixes, host names (stored lower-case) */
		unsigned max_ttl;            /**< dns.max_ttl, seconds, cap on answer TTLs, 1..604800 */
		unsigned edns_payload;       /**< dns.edns_payload, our EDNS0 UDP payload size, 512..4096 */
		struct config_zone *zones;   /**< owned array: dns.dht_zones.<apex>.{ns,hostmaster,serial,negative_ttl} */
		size_t n_zones;
		struct {
			struct config_strv upstreams; /**< dns.forward.upstreams, ADDR:PORT each; empty: none */
			struct config_strv allow;     /**< dns.forward.allow, CIDRs of clients that may forward */
			unsigned timeout_ms;          /**< dns.forward.timeout_ms, 100..30000 */
			unsigned cache_entries;       /**< dns.forward.cache_entries, answers cached, 0..1000000 */
		} forward;
		struct {
			unsigned responses_per_second; /**< dns.rrl.responses_per_second, 0..1000000; 0: no RRL */
			unsigned slip;                 /**< dns.rrl.slip, every Nth limited reply is TC=1, 0..10 */
			unsigned ipv4_prefix;          /**< dns.rrl.ipv4_prefix, bits of one client, 8..32 */
			unsigned ipv6_prefix;          /**< dns.rrl.ipv6_prefix, bits of one client, 32..128 */
			unsigned table_size;           /**< dns.rrl.table_size, buckets, 1024..16777216 */
		} rrl;
		struct {
			unsigned max_connections;  /**< dns.tcp.max_connections, 1..100000 */
			unsigned idle_timeout_ms;  /**< dns.tcp.idle_timeout_ms, 100..600000 */
		} tcp;
	} dns;
	struct {
		int default_mode;            /**< policy.default: 0 open, 1 keys (enum policy_mode) */
		struct config_domain *domains; /**< policy.domains.<domain>.keys */
		size_t n_domains;
	} policy;
	struct {
		unsigned max_bindings;       /**< resolve.max_bindings, 1..1000 */
		unsigned max_values_per_key; /**< resolve.max_values_per_key, 1..100000 */
	} resolve;
	struct {
		unsigned default_expires;    /**< publish.default_expires, seconds, 1..max_expires */
		unsigned max_expires;        /**< publish.max_expires, seconds, 1..31536000 */
		unsigned max_publications;   /**< publish.max_publications, 1..1000000 */
	} publish;
	struct {
		unsigned max_entries;        /**< cache.max_entries, 1..10000000 */
		unsigned idle_s;             /**< cache.idle_s, seconds a key stays listened to unused, 1..86400 */
	} cache;
	struct {
		enum log_level level;        /**< log.level */
	} log;
	struct config_plugin *plugins;   /**< owned array: plugins.<name>.*; sip, xmpp, h323 and tel by default */
	size_t n_plugins;
	struct {
		struct config_strv servers;  /**< fallback.servers: DNS servers for plugin fallbacks, ADDR:PORT; empty: resolv.conf */
		unsigned timeout_ms;         /**< fallback.timeout_ms: per try, 100..30000 */
	} fallback;
	struct config_origin *origins; /**< owned, private to config.c: where each option's value came from */
};

/** Fill @p cfg with the built-in defaults (the same values as etc/resolverd.yaml). @return 0, -ENOMEM. */
int config_init(struct rd_config *cfg);

/** Release everything @p cfg owns. Safe after a failed config_init(). */
void config_deinit(struct rd_config *cfg);

/**
 * Load @p path over the current contents of @p cfg (call config_init() first).
 * Unknown keys, wrong types and out-of-range values are errors.
 * @param[out] ret_error on failure, an owned message "FILE:LINE:COLUMN: reason".
 * @return 0, -EINVAL (bad content), -errno (file cannot be read).
 */
int config_load(struct rd_config *cfg, const char *path, char **ret_error);

/**
 * Apply one override "dotted.key=value"; lists are comma-separated.
 * Map keys may contain dots: "policy.domains.example.com.keys=HEX,HEX",
 * "dns.dht_zones.a.p2p.ns=ns1.a.p2p,ns2.a.p2p". A plugin's own key is kept
 * as text for its getters: "plugins.sip.min_expires=60",
 * "plugins.sip.users.alice.password=secret" (the maps above it are made),
 * "plugins.sip.listen=127.0.0.1:5060,127.0.0.1:5062" (a list to config_list()).
 * @param[out] ret_error on failure, an owned message "--set KEY: reason".
 * @return 0, -EINVAL.
 */
int config_set(struct rd_config *cfg, const char *assignment, char **ret_error);

/**
 * Cross-field checks run after all overrides: default_expires <= max_expires,
 * http.listen is not empty, token secrets, every zone has a name server and a
 * hostmaster, and no dns.forward.upstreams entry is one of our own dns.listen
 * addresses.
 * The message names where the offending value was last set:
 * "FILE:LINE:COLUMN: NAME: reason" (a file), "--set NAME: reason" (an
 * override of that very option), "--set KEY: NAME: reason" (an override of a
 * related one, such as the map entry field that created an entry), or
 * "NAME: reason" (a built-in default).
 * @param[out] ret_error owned message on failure. @return 0, -EINVAL.
 */
int config_validate(const struct rd_config *cfg, char **ret_error);

/* ---- plugin sections: the host's config getters check values through these ---- */

/** The plugins.<name> entry, borrowed from @p cfg, or NULL. */
const struct config_plugin *config_plugin_find(const struct rd_config *cfg, const char *name);

/** Was plugins.<name> named by the configuration file or a --set (not only a built-in default)? */
bool config_plugin_is_explicit(const struct config_plugin *p);

/** The index in p->raw of the value of @p key (dotted, below the section), or -1. */
long config_plugin_raw_index(const struct config_plugin *p, const char *key);

/**
 * The text of @p r as a string option (borrowed from @p r).
 * @return 0, -EINVAL (not a string: *ret_reason owned, without the option's name), -ENOMEM.
 */
int config_raw_string(const struct config_raw *r, const char **ret, char **ret_reason);

/** @p r as an integer in [@p min, @p max]. @return 0, -EINVAL (*ret_reason owned), -ENOMEM. */
int config_raw_uint(const struct config_raw *r, unsigned min, unsigned max, unsigned *ret, char **ret_reason);

/** @p r as true (1) or false (0). @return 0, -EINVAL (*ret_reason owned), -ENOMEM. */
int config_raw_bool(const struct config_raw *r, int *ret, char **ret_reason);

/** @p r as a list of strings (one scalar is a list of one). @return 0, -EINVAL (*ret_reason owned), -ENOMEM. */
int config_raw_list(const struct config_raw *r, const char *const **ret_v, size_t *ret_n, char **ret_reason);

/**
 * A message about plugins.<p->name>.@p key, placed like a core option's:
 * "FILE:LINE:COLUMN: plugins.NAME.KEY: REASON" for a value from a file,
 * "--set plugins.NAME.KEY: REASON" for an override, else at the section's
 * own origin if it has one, else "plugins.NAME.KEY: REASON".
 * @param r the value (p->raw[i]), or NULL when the key is absent.
 * @return an owned string, NULL if out of memory.
 */
char *config_plugin_message(const struct config_plugin *p, const struct config_raw *r, const char *key,
			    const char *reason);

/**
 * Parse a listening endpoint "a.b.c.d:PORT" or "[IPv6]:PORT" (numeric
 * addresses only, PORT 1..65535), as found in dht.listen, http.listen and
 * dns.listen. Pure function, any thread.
 * @param[out] ret_ss the socket address (AF_INET or AF_INET6, port set).
 * @param[out] ret_len the length of the address in @p ret_ss.
 * @return 0, -EINVAL (malformed address or port out of range).
 */
int config_parse_endpoint(const char *text, struct sockaddr_storage *ret_ss, socklen_t *ret_len);

