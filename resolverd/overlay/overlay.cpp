// SPDX-License-Identifier: GPL-3.0-or-later
// The overlay adapter: OpenDHT's C++ API behind overlay.h, with every callback moved to the loop thread.

#include "resolverd/overlay/overlay.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include <atomic>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include <opendht/dhtrunner.h>
#include <opendht/value.h>

extern "C" {
#include "resolverd/core/log.h"
#include "resolverd/core/state.h"
}

namespace {

// A get or listen. The loop thread owns `cancelled`; `stop` tells OpenDHT's
// threads to end the search at their next callback.
struct Op {
	struct overlay *ov {nullptr};
	overlay_values_cb values_cb {nullptr};
	overlay_done_cb done_cb {nullptr};
	void *ud {nullptr};
	bool cancelled {false};
	std::atomic<bool> stop {false};
	bool is_listen {false};
	dht::InfoHash key {};
	std::shared_future<size_t> token {};
};

// One result on its way from an OpenDHT thread to the loop.
struct Event {
	std::shared_ptr<Op> op;
	std::vector<std::shared_ptr<dht::Value>> vals;
	bool expired {false};
	bool done {false};
	bool ok {false};
};

// loop_job must be the first member of a standard-layout struct so that the
// job pointer converts back to its container.
struct Posted {
	struct loop_job job;
	Event *ev;
};

const char *const SUBSYS = "overlay";

} // namespace

struct overlay_op {
	std::shared_ptr<Op> op;
};

struct overlay {
	dht::DhtRunner runner;
	struct rd_loop *loop {nullptr};
	std::string state_dir;
	dht::InfoHash id {};
	size_t max_value_size {0};
};

namespace {

void deliver(Event &ev)
{
	Op &op = *ev.op;
	if (ev.done) {
		if (op.done_cb)
			op.done_cb(op.ud, ev.ok);
		return;
	}
	std::vector<struct overlay_value> out;
	out.reserve(ev.vals.size());
	for (const auto &v : ev.vals)
		out.push_back({v->id, v->data.data(), v->data.size()});
	if (!out.empty())
		op.values_cb(op.ud, out.data(), out.size(), ev.expired);
}

void run_event(struct loop_job *job, bool cancelled)
{
	auto *posted = reinterpret_cast<Posted *>(job);
	Event *ev = posted->ev;
	if (!cancelled && !ev->op->cancelled)
		deliver(*ev);
	delete ev;
	delete posted;
}

// Called on OpenDHT threads: copy nothing but shared pointers, then post.
void post_event(const std::shared_ptr<Op> &op, Event *ev)
{
	try {
		auto *posted = new Posted;
		posted->job.fn = run_event;
		posted->job.next = nullptr;
		posted->ev = ev;
		loop_post(op->ov->loop, &posted->job);
	} catch (const std::bad_alloc &) {
		delete ev;
	}
}

void post_values(const std::shared_ptr<Op> &op, const std::vector<std::shared_ptr<dht::Value>> &vals,
		 bool expired)
{
	try {
		auto *ev = new Event;
		ev->op = op;
		ev->vals = vals;
		ev->expired = expired;
		post_event(op, ev);
	} catch (const std::bad_alloc &) {
	}
}

void post_done(const std::shared_ptr<Op> &op, bool ok)
{
	try {
		auto *ev = new Event;
		ev->op = op;
		ev->done = true;
		ev->ok = ok;
		post_event(op, ev);
	} catch (const std::bad_alloc &) {
	}
}

dht::Value::Filter type_filter(size_t max_size)
{
	return [max_size](const dht::Value &v) {
		return v.type == OVERLAY_VALUE_TYPE && v.data.size() <= max_size;
	};
}

std::string hex(const uint8_t *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	std::string s;
	for (size_t i = 0; i < n; i++) {
		s += digits[p[i] >> 4];
		s += digits[p[i] & 15];
	}
	return s;
}

// The node id survives restarts, so peers' routing tables stay valid.
int load_node_id(const std::string &dir, dht::InfoHash &ret)
{
	std::string path = dir + "/dht.id";
	uint8_t *data = nullptr;
	size_t len = 0;
	int rc = state_read_file(path.c_str(), 128, &data, &len);
	if (rc == 0) {
		dht::InfoHash id(std::string(reinterpret_cast<char *>(data), len >= 40 ? 40 : len));
		free(data);
		if (!id)
			return -EBADMSG;
		ret = id;
		return 0;
	}
	if (rc != -ENOENT)
		return rc;
	dht::InfoHash id = dht::InfoHash::getRandom();
	std::string text = id.toString() + "\n";
	rc = state_write_atomic(path.c_str(), text.data(), text.size(), 0600);
	if (rc == 0)
		ret = id;
	return rc;
}

bool parse_addr(const std::string &ip, const std::string &port, dht::SockAddr &ret)
{
	struct sockaddr_storage ss {};
	unsigned long p = strtoul(port.c_str(), nullptr, 10);
	if (p == 0 || p > 65535)
		return false;
	auto *sin = reinterpret_cast<struct sockaddr_in *>(&ss);
	auto *sin6 = reinterpret_cast<struct sockaddr_in6 *>(&ss);
	if (inet_pton(AF_INET, ip.c_str(), &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(static_cast<uint16_t>(p));
		ret = dht::SockAddr(reinterpret_cast<sockaddr *>(&ss), sizeof(*sin));
		return true;
	}
	if (inet_pton(AF_INET6, ip.c_str(), &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(static_cast<uint16_t>(p));
		ret = dht::SockAddr(reinterpret_cast<sockaddr *>(&ss), sizeof(*sin6));
		return true;
	}
	return false;
}

// dht.nodes: one "NODEID IP PORT" line per known node.
void load_nodes(struct overlay &ov)
{
	std::string path = ov.state_dir + "/dht.nodes";
	uint8_t *data = nullptr;
	size_t len = 0;
	if (state_read_file(path.c_str(), 4 << 20, &data, &len) < 0)
		return;
	std::string text(reinterpret_cast<char *>(data), len);
	free(data);
	size_t pos = 0, count = 0;
	while (pos < text.size()) {
		size_t end = text.find('\n', pos);
		if (end == std::string::npos)
			end = text.size();
		std::string line = text.substr(pos, end - pos);
		pos = end + 1;
		size_t a = line.find(' '), b = line.rfind(' ');
		if (a == std::string::npos || a == b)
			continue;
		dht::InfoHash id(line.substr(0, a));
		dht::SockAddr addr;
		if (!id || !parse_addr(line.substr(a + 1, b - a - 1), line.substr(b + 1), addr))
			continue;
		ov.runner.bootstrap(id, addr);
		count++;
	}
	log_info(SUBSYS, "loaded %zu known nodes from %s", count, path.c_str());
}

void bootstrap_from(struct overlay &ov, const char *hostport)
{
	std::string s(hostport);
	size_t colon = s.rfind(':');
	if (colon == std::string::npos)
		return;
	std::string host = s.substr(0, colon), port = s.substr(colon + 1);
	if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
		host = host.substr(1, host.size() - 2);
	ov.runner.bootstrap(host, port);
}

int start(struct overlay &ov, const struct overlay_conf *conf)
{
	dht::DhtRunner::Config cfg;
	cfg.dht_config.node_config.network = conf->network;
	cfg.dht_config.node_config.node_id = ov.id;
	cfg.threaded = true;
	dht::SockAddr bind(conf->listen, conf->listen_len);
	if (conf->listen->sa_family == AF_INET6)
		cfg.bind6 = bind;
	else
		cfg.bind4 = bind;
	try {
		ov.runner.run(cfg, dht::DhtRunner::Context {});
	} catch (const std::system_error &e) {
		log_error(SUBSYS, "cannot start OpenDHT: %s", e.what());
		return e.code().value() > 0 ? -e.code().value() : -EIO;
	} catch (const std::exception &e) {
		log_error(SUBSYS, "cannot start OpenDHT: %s", e.what());
		return strstr(e.what(), "in use") ? -EADDRINUSE : -EIO;
	}
	size_t max = conf->max_value_size;
	ov.runner.registerType(dht::ValueType(
		OVERLAY_VALUE_TYPE, "resolverd-record", std::chrono::minutes(10),
		[max](dht::InfoHash, const std::shared_ptr<dht::Value> &v, const dht::InfoHash &,
		      const dht::SockAddr &) {
			// Keep only what could be a record: the magic and the size cap.
			return v->data.size() >= 3 && v->data.size() <= max && v->data[0] == 'r' &&
			       v->data[1] == 'd';
		}));
	return 0;
}

} // namespace

extern "C" int overlay_new(const struct overlay_conf *conf, struct rd_loop *loop, struct overlay **ret)
{
	struct overlay *ov = nullptr;
	try {
		ov = new struct overlay;
		ov->loop = loop;
		ov->state_dir = conf->state_dir;
		ov->max_value_size = conf->max_value_size;
		int rc = load_node_id(ov->state_dir, ov->id);
		if (rc == 0)
			rc = start(*ov, conf);
		if (rc < 0) {
			delete ov;
			return rc;
		}
		load_nodes(*ov);
		for (size_t i = 0; i < conf->n_bootstrap; i++)
			bootstrap_from(*ov, conf->bootstrap[i]);
		log_info(SUBSYS, "node %s on network %u", ov->id.toString().c_str(), conf->network);
		*ret = ov;
		return 0;
	} catch (const std::bad_alloc &) {
		delete ov;
		return -ENOMEM;
	}
}

extern "C" int overlay_save_nodes(struct overlay *ov)
{
	try {
		std::string text;
		for (const auto &n : ov->runner.exportNodes()) {
			char ip[INET6_ADDRSTRLEN] = "";
			unsigned port = 0;
			const auto *sa = reinterpret_cast<const struct sockaddr *>(&n.ss);
			if (sa->sa_family == AF_INET) {
				const auto *sin = reinterpret_cast<const struct sockaddr_in *>(sa);
				inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof(ip));
				port = ntohs(sin->sin_port);
			} else if (sa->sa_family == AF_INET6) {
				const auto *sin6 = reinterpret_cast<const struct sockaddr_in6 *>(sa);
				inet_ntop(AF_INET6, &sin6->sin6_addr, ip, sizeof(ip));
				port = ntohs(sin6->sin6_port);
			} else {
				continue;
			}
			text += n.id.toString() + " " + ip + " " + std::to_string(port) + "\n";
		}
		std::string path = ov->state_dir + "/dht.nodes";
		return state_write_atomic(path.c_str(), text.data(), text.size(), 0600);
	} catch (const std::bad_alloc &) {
		return -ENOMEM;
	}
}

extern "C" void overlay_free(struct overlay *ov)
{
	if (!ov)
		return;
	int rc = overlay_save_nodes(ov);
	if (rc < 0)
		log_warn(SUBSYS, "cannot save the routing table: %s", strerror(-rc));
	try {
		ov->runner.join();
	} catch (const std::exception &e) {
		log_warn(SUBSYS, "shutdown: %s", e.what());
	}
	delete ov;
}

static int new_op(struct overlay *ov, const uint8_t key[OVERLAY_KEY_LEN], overlay_values_cb values_cb,
		  overlay_done_cb done_cb, void *ud, struct overlay_op **ret_op)
{
	try {
		auto *handle = new struct overlay_op;
		handle->op = std::make_shared<Op>();
		handle->op->ov = ov;
		handle->op->values_cb = values_cb;
		handle->op->done_cb = done_cb;
		handle->op->ud = ud;
		handle->op->key = dht::InfoHash(key, OVERLAY_KEY_LEN);
		*ret_op = handle;
		return 0;
	} catch (const std::bad_alloc &) {
		return -ENOMEM;
	}
}

extern "C" int overlay_get(struct overlay *ov, const uint8_t key[OVERLAY_KEY_LEN],
			   overlay_values_cb values_cb, overlay_done_cb done_cb, void *ud,
			   struct overlay_op **ret_op)
{
	struct overlay_op *handle = nullptr;
	int rc = new_op(ov, key, values_cb, done_cb, ud, &handle);
	if (rc < 0)
		return rc;
	std::shared_ptr<Op> op = handle->op;
	try {
		ov->runner.get(
			op->key,
			[op](const std::vector<std::shared_ptr<dht::Value>> &vals) {
				post_values(op, vals, false);
				return !op->stop.load();
			},
			[op](bool ok) { post_done(op, ok); }, type_filter(ov->max_value_size));
	} catch (const std::exception &e) {
		log_warn(SUBSYS, "get: %s", e.what());
		delete handle;
		return -ENOMEM;
	}
	*ret_op = handle;
	return 0;
}

extern "C" int overlay_listen(struct overlay *ov, const uint8_t key[OVERLAY_KEY_LEN],
			      overlay_values_cb values_cb, void *ud, struct overlay_op **ret_op)
{
	struct overlay_op *handle = nullptr;
	int rc = new_op(ov, key, values_cb, nullptr, ud, &handle);
	if (rc < 0)
		return rc;
	std::shared_ptr<Op> op = handle->op;
	op->is_listen = true;
	try {
		op->token = ov->runner
				    .listen(
					    op->key,
					    [op](const std::vector<std::shared_ptr<dht::Value>> &vals,
						 bool expired) {
						    post_values(op, vals, expired);
						    return !op->stop.load();
					    },
					    type_filter(ov->max_value_size))
				    .share();
	} catch (const std::exception &e) {
		log_warn(SUBSYS, "listen: %s", e.what());
		delete handle;
		return -ENOMEM;
	}
	*ret_op = handle;
	return 0;
}

extern "C" void overlay_op_cancel(struct overlay_op *handle)
{
	if (!handle)
		return;
	Op &op = *handle->op;
	op.cancelled = true;
	op.stop = true;
	if (op.is_listen) {
		try {
			op.ov->runner.cancelListen(op.key, op.token);
		} catch (const std::exception &e) {
			log_warn(SUBSYS, "cancel listen: %s", e.what());
		}
	}
	delete handle;
}

extern "C" int overlay_put(struct overlay *ov, const uint8_t key[OVERLAY_KEY_LEN], uint64_t id,
			   const uint8_t *data, size_t len, bool permanent)
{
	try {
		auto value = std::make_shared<dht::Value>(OVERLAY_VALUE_TYPE, data, len, id);
		ov->runner.put(dht::InfoHash(key, OVERLAY_KEY_LEN), value, dht::DoneCallbackSimple {},
			       dht::time_point::max(), permanent);
		return 0;
	} catch (const std::exception &e) {
		log_warn(SUBSYS, "put: %s", e.what());
		return -ENOMEM;
	}
}

extern "C" void overlay_cancel_put(struct overlay *ov, const uint8_t key[OVERLAY_KEY_LEN], uint64_t id)
{
	try {
		ov->runner.cancelPut(dht::InfoHash(key, OVERLAY_KEY_LEN), id);
	} catch (const std::exception &e) {
		log_warn(SUBSYS, "cancel put: %s", e.what());
	}
}

extern "C" void overlay_get_stats(struct overlay *ov, struct overlay_stats *ret)
{
	*ret = {};
	try {
		for (sa_family_t af : {AF_INET, AF_INET6}) {
			dht::NodeStats s = ov->runner.getNodesStats(af);
			ret->good_nodes += s.good_nodes;
			ret->dubious_nodes += s.dubious_nodes;
			ret->known_nodes += s.getKnownNodes();
			ret->searches += s.searches;
		}
		auto store = ov->runner.getStoreSize();
		ret->store_bytes = store.first;
		ret->stored_values = store.second;
	} catch (const std::exception &e) {
		log_warn(SUBSYS, "stats: %s", e.what());
	}
}

extern "C" void overlay_node_id(const struct overlay *ov, char ret_hex[2 * OVERLAY_KEY_LEN + 1])
{
	std::string s = hex(ov->id.data(), OVERLAY_KEY_LEN);
	memcpy(ret_hex, s.c_str(), s.size() + 1);
}
