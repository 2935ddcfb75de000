/*
 * async_pool.c - OpenSSL ASYNC jobs, polled on their wait fds.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/async.h>

#include "async_pool.h"

enum slot_state { SLOT_FREE = 0, SLOT_PENDING, SLOT_DONE };

typedef struct slot {
	enum slot_state state;
	ASYNC_JOB *job;
	ASYNC_WAIT_CTX *wctx;   /* kept for the slot's life: fds reused */
	async_fn fn;
	void *arg;
} slot;

struct async_pool {
	size_t max;
	size_t outstanding;
	int capable;            /* ASYNC jobs work in this build */
	slot *slots;
	struct pollfd *pfd;     /* scratch for poll */
	size_t *pfd_slot;
	size_t nfd_cap;
};

typedef struct call {
	async_fn fn;
	void *arg;
} call;

static int
trampoline(void *p)
{
	call *c = p;

	c->fn(c->arg);
	return 1;
}

async_pool *
async_pool_new(size_t max)
{
	async_pool *a = calloc(1, sizeof(*a));

	if (a == NULL || max == 0)
		goto fail;
	a->max = max;
	a->capable = ASYNC_is_capable();
	a->slots = calloc(max, sizeof(*a->slots));
	if (a->slots == NULL)
		goto fail;
	return a;
fail:
	if (a != NULL)
		free(a->slots);
	free(a);
	return NULL;
}

/* Runs or resumes the job of slot s. */
static void
run(slot *s)
{
	call c = { s->fn, s->arg };
	int ret = 0;

	switch (ASYNC_start_job(&s->job, s->wctx, &ret, trampoline, &c,
	    sizeof(c))) {
	case ASYNC_PAUSE:
		s->state = SLOT_PENDING;
		return;
	case ASYNC_FINISH:
		s->job = NULL;
		s->state = SLOT_DONE;
		return;
	default:
		/* No job could be had (ASYNC_NO_JOBS, ASYNC_ERR) before it
		 * ran: do the work here, synchronously. */
		if (s->job == NULL)
			s->fn(s->arg);
		s->job = NULL;
		s->state = SLOT_DONE;
		return;
	}
}

int
async_pool_start(async_pool *a, async_fn fn, void *arg)
{
	slot *s = NULL;

	for (size_t i = 0; i < a->max && s == NULL; i++)
		if (a->slots[i].state == SLOT_FREE)
			s = &a->slots[i];
	if (s == NULL)
		return -1;
	s->fn = fn;
	s->arg = arg;
	s->job = NULL;
	a->outstanding++;
	if (!a->capable || (s->wctx == NULL &&
	    (s->wctx = ASYNC_WAIT_CTX_new()) == NULL)) {
		fn(arg);
		s->state = SLOT_DONE;
		return 0;
	}
	run(s);
	return 0;
}

/* Gathers the wait fds of pending jobs; 1 when some job has none (it
 * must be resumed without waiting). */
static int
gather(async_pool *a, size_t *nfd)
{
	int fdless = 0;

	*nfd = 0;
	for (size_t i = 0; i < a->max; i++) {
		slot *s = &a->slots[i];
		size_t n = 0;

		if (s->state != SLOT_PENDING)
			continue;
		if (!ASYNC_WAIT_CTX_get_all_fds(s->wctx, NULL, &n) || n == 0) {
			fdless = 1;
			continue;
		}
		if (*nfd + n > a->nfd_cap) {
			size_t cap = (*nfd + n) * 2;
			struct pollfd *p = realloc(a->pfd, cap * sizeof(*p));
			size_t *ps;

			if (p == NULL)
				return 1; /* poll nothing, resume all */
			a->pfd = p;
			ps = realloc(a->pfd_slot, cap * sizeof(*ps));
			if (ps == NULL)
				return 1;
			a->pfd_slot = ps;
			a->nfd_cap = cap;
		}
		{
			OSSL_ASYNC_FD fds[8];

			if (n > 8 || !ASYNC_WAIT_CTX_get_all_fds(s->wctx, fds,
			    &n)) {
				fdless = 1;
				continue;
			}
			for (size_t k = 0; k < n; k++) {
				a->pfd[*nfd].fd = fds[k];
				a->pfd[*nfd].events = POLLIN;
				a->pfd[*nfd].revents = 0;
				a->pfd_slot[(*nfd)++] = i;
			}
		}
	}
	return fdless;
}

static size_t
collect(async_pool *a, void **done, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < a->max && n < max; i++)
		if (a->slots[i].state == SLOT_DONE) {
			done[n++] = a->slots[i].arg;
			a->slots[i].state = SLOT_FREE;
			a->outstanding--;
		}
	return n;
}

size_t
async_pool_poll(async_pool *a, int timeout_ms, void **done, size_t max)
{
	size_t nfd, n = collect(a, done, max);
	int fdless, r;

	if (n > 0 || a->outstanding == 0)
		return n;
	fdless = gather(a, &nfd);
	if (fdless) {
		for (size_t i = 0; i < a->max; i++)
			if (a->slots[i].state == SLOT_PENDING)
				run(&a->slots[i]);
		return collect(a, done, max);
	}
	do
		r = poll(a->pfd, nfd, timeout_ms);
	while (r < 0 && errno == EINTR);
	for (size_t k = 0; r > 0 && k < nfd; k++) {
		slot *s = &a->slots[a->pfd_slot[k]];

		if ((a->pfd[k].revents & (POLLIN | POLLERR | POLLHUP)) &&
		    s->state == SLOT_PENDING)
			run(s);
	}
	return collect(a, done, max);
}

size_t
async_pool_outstanding(const async_pool *a)
{
	return a->outstanding;
}

void
async_pool_free(async_pool *a)
{
	void *sink[16];

	if (a == NULL)
		return;
	/* A paused job holds the device's request on its stack: it must
	 * finish before its memory goes. */
	while (a->outstanding > 0)
		async_pool_poll(a, -1, sink, sizeof(sink) / sizeof(sink[0]));
	for (size_t i = 0; i < a->max; i++)
		ASYNC_WAIT_CTX_free(a->slots[i].wctx);
	free(a->slots);
	free(a->pfd);
	free(a->pfd_slot);
	free(a);
}
