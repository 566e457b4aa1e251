/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The loop thread's inbox: other threads hand it jobs through a queue and uv_async_send(). */
#include "resolverd/core/loop.h"

#include <errno.h>

#include "resolverd/core/log.h"

static void on_wakeup(uv_async_t *handle)
{
	loop_run_jobs(handle->data);
}

int loop_init(struct rd_loop *loop)
{
	int rc = uv_loop_init(&loop->uv);
	if (rc < 0)
		return rc;
	rc = uv_async_init(&loop->uv, &loop->wakeup, on_wakeup);
	if (rc < 0)
		goto out_close_loop;
	loop->wakeup.data = loop;
	rc = -pthread_mutex_init(&loop->lock, NULL);
	if (rc < 0)
		goto out_close_async;
	loop->head = loop->tail = NULL;
	loop->closing = false;
	return 0;

out_close_async:
	uv_close((uv_handle_t *)&loop->wakeup, NULL);
	uv_run(&loop->uv, UV_RUN_NOWAIT);
out_close_loop:
	uv_loop_close(&loop->uv);
	return rc;
}

static struct loop_job *take_all(struct rd_loop *loop)
{
	pthread_mutex_lock(&loop->lock);
	struct loop_job *list = loop->head;
	loop->head = loop->tail = NULL;
	pthread_mutex_unlock(&loop->lock);
	return list;
}

void loop_run_jobs(struct rd_loop *loop)
{
	struct loop_job *job = take_all(loop);
	while (job) {
		struct loop_job *next = job->next;
		job->next = NULL;
		job->fn(job, false);
		job = next;
	}
}

void loop_post(struct rd_loop *loop, struct loop_job *job)
{
	job->next = NULL;
	pthread_mutex_lock(&loop->lock);
	if (loop->closing) {
		pthread_mutex_unlock(&loop->lock);
		job->fn(job, true);
		return;
	}
	if (loop->tail)
		loop->tail->next = job;
	else
		loop->head = job;
	loop->tail = job;
	pthread_mutex_unlock(&loop->lock);
	uv_async_send(&loop->wakeup);
}

void loop_deinit(struct rd_loop *loop)
{
	pthread_mutex_lock(&loop->lock);
	loop->closing = true;
	pthread_mutex_unlock(&loop->lock);
	for (struct loop_job *job = take_all(loop); job;) {
		struct loop_job *next = job->next;
		job->fn(job, true);
		job = next;
	}
	uv_close((uv_handle_t *)&loop->wakeup, NULL);
	/* Every subsystem has closed its handles by now; this runs their close callbacks. */
	uv_run(&loop->uv, UV_RUN_DEFAULT);
	if (uv_loop_close(&loop->uv) < 0)
		log_error("loop", "a handle is still open at exit");
	pthread_mutex_destroy(&loop->lock);
}
