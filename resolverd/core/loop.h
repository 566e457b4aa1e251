/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The loop thread's inbox: other threads hand it jobs through a queue and uv_async_send(). */
#pragma once

#include <pthread.h>
#include <stdbool.h>
#include <uv.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * DESIGN
 * One libuv loop thread owns all mutable daemon state. OpenDHT callbacks
 * (its own threads) and libmicrohttpd handlers (its thread pool) never touch
 * that state: they fill a struct loop_job, embedded in their own request
 * struct, and loop_post() it. The loop runs jobs in FIFO order. A job is run
 * exactly once: by the loop, or by loop_deinit() with @p cancelled set, so
 * every job's memory is released on every path.
 */

struct loop_job;

/**
 * Run (or, when @p cancelled, just release) a job. Called on the loop thread,
 * or from loop_deinit(). The callee owns @p job from then on.
 */
typedef void (*loop_job_fn)(struct loop_job *job, bool cancelled);

/** Embed in the caller's struct; set fn before loop_post(). */
struct loop_job {
	loop_job_fn fn;        /**< what to do on the loop thread */
	struct loop_job *next; /**< queue link, owned by the queue while posted */
};

/** The loop plus its inbox. Embed; initialise with loop_init(). */
struct rd_loop {
	uv_loop_t uv;          /**< the libuv loop (loop thread only) */
	uv_async_t wakeup;     /**< signalled by loop_post() */
	pthread_mutex_t lock;  /**< guards head/tail */
	struct loop_job *head; /**< oldest posted job */
	struct loop_job *tail; /**< newest posted job */
	bool closing;          /**< loop_deinit() started: later posts are run cancelled */
};

/** @return 0 or -errno. */
int loop_init(struct rd_loop *loop);

/**
 * Close the inbox, run every remaining job cancelled, close the loop. Call on
 * the loop thread after every other thread that posts has stopped.
 */
void loop_deinit(struct rd_loop *loop);

/**
 * Hand @p job to the loop thread. Thread-safe; never blocks for long; never
 * fails. Ownership of @p job passes to the loop. Once loop_deinit() has
 * started, the job runs cancelled at once, on the calling thread.
 */
void loop_post(struct rd_loop *loop, struct loop_job *job);

/** Run queued jobs now (the async callback; also useful while draining). Loop thread. */
void loop_run_jobs(struct rd_loop *loop);

#ifdef __cplusplus
}
#endif
