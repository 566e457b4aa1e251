-- SPDX-License-Identifier: GPL-3.0-or-later
-- wrk script for tests/bench/http/run: counts every response that is not 2xx,
-- and every 2xx response whose body lacks an expected substring (the first
-- script argument, after "--" on wrk's command line), then prints one
-- machine-readable line starting with "BENCH" for run to parse.
-- Latencies are in microseconds.

local threads = {}

function setup(thread)
	table.insert(threads, thread)
end

function init(args)
	expect = args[1]
	ok, non2xx, nobody, first_bad = 0, 0, 0, 0
end

function response(status, headers, body)
	if status < 200 or status > 299 then
		non2xx = non2xx + 1
		if first_bad == 0 then
			first_bad = status
		end
	elseif expect ~= nil and expect ~= "" and (body == nil or not string.find(body, expect, 1, true)) then
		nobody = nobody + 1
	else
		ok = ok + 1
	end
end

function done(summary, latency, requests)
	local t_ok, t_non2xx, t_nobody, t_first = 0, 0, 0, 0
	for _, t in ipairs(threads) do
		t_ok = t_ok + t:get("ok")
		t_non2xx = t_non2xx + t:get("non2xx")
		t_nobody = t_nobody + t:get("nobody")
		if t_first == 0 then
			t_first = t:get("first_bad")
		end
	end
	local e = summary.errors
	io.write(string.format(
		"BENCH requests=%d duration_us=%d bytes=%d ok=%d non2xx=%d first_non2xx=%d missing_body=%d " ..
		"err_connect=%d err_read=%d err_write=%d err_timeout=%d " ..
		"p50_us=%d p90_us=%d p99_us=%d max_us=%d\n",
		summary.requests, summary.duration, summary.bytes, t_ok, t_non2xx, t_first, t_nobody,
		e.connect, e.read, e.write, e.timeout,
		latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
