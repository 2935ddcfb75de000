/*
 * sim_provider.c - a simulated offload card, as an OpenSSL 3 provider, for
 * tests and benchmarks only.
 *
 * It offers RSA signing ("provider=vdkimsim").  Each signature occupies
 * one of the card's N slots for a fixed latency; requests beyond N wait
 * for a slot, so at most N are ever in flight.  The signature itself is
 * real, made with the key (imported from the default provider) by the
 * card's own engine threads, as an offload card spares the host's CPU.  Inside an OpenSSL ASYNC job the request pauses the job
 * and the card wakes it through an eventfd in the job's wait context;
 * outside one the caller sleeps until the answer, as with a synchronous
 * driver.
 *
 *   VDKIM_SIM_LATENCY_MS   latency per signature (default 20)
 *   VDKIM_SIM_SLOTS        signatures in flight at most (default 64)
 *   VDKIM_SIM_STATS        file written when the provider is unloaded:
 *                          "requests=N max_in_flight=M slots=S"
 *   VDKIM_SIM_CORRUPT_EVERY  a faulty card: every Nth signature (by the
 *                          card's request count) comes back with one bit
 *                          flipped, as a success (default 0: never)
 *   VDKIM_SIM_CORRUPT_LOG  file that gets one line per corrupted
 *                          signature, appended at once (so it counts even
 *                          when the host is killed)
 *   VDKIM_SIM_FAIL_EVERY   a failing card: every Nth request (by the card's
 *                          request count, from 1) is answered with an
 *                          error and no signature (default 0: never)
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <openssl/async.h>
#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rsa.h>

/* ------------------------------------------------------------ the card */

typedef struct request {
	struct request *next;   /* waiting or in flight */
	struct request *cnext;  /* to compute */
	struct timespec due;
	int fd;                 /* eventfd to signal, or -1: condvar */
	atomic_int done;
	int computed, ok;
	unsigned long seq;      /* the card's count of this request */
	EVP_PKEY *pkey;         /* what to sign */
	const char *md;
	const unsigned char *tbs;
	size_t tbslen;
	unsigned char *sig;
	size_t siglen;
} request;

typedef struct card {
	pthread_mutex_t lock;
	pthread_cond_t work;    /* the card thread waits here */
	pthread_cond_t answered;/* synchronous callers wait here */
	request *wait_head, *wait_tail;  /* no slot yet */
	request *fly_head, *fly_tail;    /* in flight, due in order */
	request *calc_head, *calc_tail;  /* in flight, to compute */
	pthread_cond_t calc;    /* the engine threads wait here */
	pthread_t engines[8];
	int nengines;
	int in_flight, max_in_flight, slots;
	long latency_ms;
	unsigned long requests;
	long corrupt_every;     /* 0: a sound card */
	long fail_every;        /* 0: the card never refuses a request */
	char corrupt_log[512];
	int stop;
	pthread_t thread;
	OSSL_LIB_CTX *soft;     /* where the real signatures are made */
	char stats[512];
} card;

static void
ts_add_ms(struct timespec *t, long ms)
{
	t->tv_sec += ms / 1000;
	t->tv_nsec += (ms % 1000) * 1000000L;
	if (t->tv_nsec >= 1000000000L) {
		t->tv_sec++;
		t->tv_nsec -= 1000000000L;
	}
}

static int
ts_before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec &&
	    a->tv_nsec < b->tv_nsec);
}

/* Moves waiting requests into free slots (lock held). */
static void
fill_slots(card *c)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	while (c->wait_head != NULL && c->in_flight < c->slots) {
		request *r = c->wait_head;

		c->wait_head = r->next;
		if (c->wait_head == NULL)
			c->wait_tail = NULL;
		r->next = NULL;
		r->due = now;
		ts_add_ms(&r->due, c->latency_ms);
		if (c->fly_tail)
			c->fly_tail->next = r;
		else
			c->fly_head = r;
		c->fly_tail = r;
		r->cnext = NULL;
		if (c->calc_tail)
			c->calc_tail->cnext = r;
		else
			c->calc_head = r;
		c->calc_tail = r;
		pthread_cond_signal(&c->calc);
		if (++c->in_flight > c->max_in_flight)
			c->max_in_flight = c->in_flight;
	}
}

static void *
card_main(void *arg)
{
	card *c = arg;

	pthread_mutex_lock(&c->lock);
	while (!c->stop || c->fly_head != NULL || c->wait_head != NULL) {
		struct timespec now, until;
		int answered = 0;

		fill_slots(c);
		clock_gettime(CLOCK_MONOTONIC, &now);
		while (c->fly_head != NULL && c->fly_head->computed &&
		    !ts_before(&now, &c->fly_head->due)) {
			request *r = c->fly_head;
			uint64_t one = 1;

			c->fly_head = r->next;
			if (c->fly_head == NULL)
				c->fly_tail = NULL;
			c->in_flight--;
			atomic_store(&r->done, 1);
			if (r->fd >= 0 && write(r->fd, &one, sizeof(one)) < 0)
				(void)0; /* the waiter also polls done */
			answered = 1;
		}
		if (answered)
			pthread_cond_broadcast(&c->answered);
		fill_slots(c);
		if (c->fly_head == NULL) {
			if (c->wait_head == NULL && !c->stop)
				pthread_cond_wait(&c->work, &c->lock);
			continue;
		}
		/* The condvar uses CLOCK_MONOTONIC (set in card_new); an
		 * engine thread wakes it when a signature is computed. */
		until = c->fly_head->due;
		if (!c->fly_head->computed || ts_before(&now, &until))
			pthread_cond_timedwait(&c->work, &c->lock, &until);
	}
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

/* The faulty card's fault: one bit of the signature, logged. */
static void
corrupt(card *c, request *r)
{
	char line[64];
	int fd, n;

	r->sig[r->siglen / 2] ^= 0x10;
	if (c->corrupt_log[0] == '\0')
		return;
	n = snprintf(line, sizeof(line), "corrupted request=%lu\n", r->seq);
	fd = open(c->corrupt_log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
	    0600);
	if (fd >= 0) {
		if (write(fd, line, (size_t)n) != n)
			(void)0; /* the count is then short: the test says so */
		close(fd);
	}
}

static int
compute(card *c, request *r)
{
	EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_pkey(c->soft, r->pkey, NULL);
	int ok;

	if (c->fail_every > 0 && r->seq % c->fail_every == 0) {
		/* The failing card's fault: an error, as a card reports
		 * one (the host sees a failed sign call). */
		EVP_PKEY_CTX_free(pc);
		return 0;
	}
	ok = pc != NULL && EVP_PKEY_sign_init(pc) == 1 &&
	    EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PADDING) == 1 &&
	    EVP_PKEY_CTX_set_signature_md(pc, EVP_get_digestbyname(r->md)) ==
	    1 && EVP_PKEY_sign(pc, r->sig, &r->siglen, r->tbs, r->tbslen) == 1;
	EVP_PKEY_CTX_free(pc);
	if (ok && c->corrupt_every > 0 && r->seq % c->corrupt_every == 0)
		corrupt(c, r);
	return ok;
}

/* The card's crypto engines: compute in-flight signatures. */
static void *
engine_main(void *arg)
{
	card *c = arg;

	pthread_mutex_lock(&c->lock);
	for (;;) {
		request *r = c->calc_head;

		if (r == NULL) {
			if (c->stop)
				break;
			pthread_cond_wait(&c->calc, &c->lock);
			continue;
		}
		c->calc_head = r->cnext;
		if (c->calc_head == NULL)
			c->calc_tail = NULL;
		pthread_mutex_unlock(&c->lock);
		r->ok = compute(c, r);
		pthread_mutex_lock(&c->lock);
		r->computed = 1;
		pthread_cond_signal(&c->work);
	}
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

static long
env_long(const char *name, long dflt)
{
	const char *v = getenv(name);

	return v != NULL && atol(v) > 0 ? atol(v) : dflt;
}

static card *
card_new(void)
{
	card *c = calloc(1, sizeof(*c));
	pthread_condattr_t ca;

	if (c == NULL)
		return NULL;
	c->latency_ms = env_long("VDKIM_SIM_LATENCY_MS", 20);
	c->slots = (int)env_long("VDKIM_SIM_SLOTS", 64);
	c->corrupt_every = env_long("VDKIM_SIM_CORRUPT_EVERY", 0);
	c->fail_every = env_long("VDKIM_SIM_FAIL_EVERY", 0);
	snprintf(c->corrupt_log, sizeof(c->corrupt_log), "%s",
	    getenv("VDKIM_SIM_CORRUPT_LOG") ? getenv("VDKIM_SIM_CORRUPT_LOG") :
	    "");
	snprintf(c->stats, sizeof(c->stats), "%s",
	    getenv("VDKIM_SIM_STATS") ? getenv("VDKIM_SIM_STATS") : "");
	c->soft = OSSL_LIB_CTX_new();
	pthread_mutex_init(&c->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&c->work, &ca);
	pthread_condattr_destroy(&ca);
	pthread_cond_init(&c->answered, NULL);
	pthread_cond_init(&c->calc, NULL);
	c->nengines = (int)env_long("VDKIM_SIM_ENGINES", 2);
	if (c->nengines > 8)
		c->nengines = 8;
	if (c->soft == NULL ||
	    pthread_create(&c->thread, NULL, card_main, c) != 0) {
		OSSL_LIB_CTX_free(c->soft);
		free(c);
		return NULL;
	}
	for (int i = 0; i < c->nengines; i++)
		if (pthread_create(&c->engines[i], NULL, engine_main, c) != 0)
			c->nengines = i; /* run with the engines it got */
	if (c->nengines == 0)
		c->nengines = pthread_create(&c->engines[0], NULL, engine_main,
		    c) == 0;
	return c;
}

static void
card_free(card *c)
{
	FILE *f;

	pthread_mutex_lock(&c->lock);
	c->stop = 1;
	pthread_cond_signal(&c->work);
	pthread_cond_broadcast(&c->calc);
	pthread_mutex_unlock(&c->lock);
	pthread_join(c->thread, NULL);
	for (int i = 0; i < c->nengines; i++)
		pthread_join(c->engines[i], NULL);
	if (c->stats[0] != '\0' && (f = fopen(c->stats, "w")) != NULL) {
		fprintf(f, "requests=%lu max_in_flight=%d slots=%d\n",
		    c->requests, c->max_in_flight, c->slots);
		fclose(f);
	}
	OSSL_LIB_CTX_free(c->soft);
	free(c);
}

static void
close_fd(ASYNC_WAIT_CTX *w, const void *key, OSSL_ASYNC_FD fd, void *custom)
{
	(void)w;
	(void)key;
	(void)custom;
	close(fd);
}

/* Waits for a slot and the latency: pauses the ASYNC job, or sleeps. */
static int
card_sign(card *c, request *rq)
{
	static const int fd_key = 0; /* identifies our fd in a wait ctx */
	ASYNC_JOB *job = ASYNC_get_current_job();
	request r = *rq;
	uint64_t v;

	r.fd = -1;
	if (job != NULL) {
		ASYNC_WAIT_CTX *w = ASYNC_get_wait_ctx(job);
		OSSL_ASYNC_FD fd;
		void *custom;

		if (ASYNC_WAIT_CTX_get_fd(w, &fd_key, &fd, &custom) != 1) {
			fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
			if (fd < 0 || ASYNC_WAIT_CTX_set_wait_fd(w, &fd_key,
			    fd, NULL, close_fd) != 1) {
				if (fd >= 0)
					close(fd);
				return 0;
			}
		}
		r.fd = fd;
	}
	pthread_mutex_lock(&c->lock);
	r.seq = ++c->requests;
	if (c->wait_tail)
		c->wait_tail->next = &r;
	else
		c->wait_head = &r;
	c->wait_tail = &r;
	pthread_cond_signal(&c->work);
	if (job == NULL) {
		while (!atomic_load(&r.done))
			pthread_cond_wait(&c->answered, &c->lock);
		pthread_mutex_unlock(&c->lock);
	} else {
		pthread_mutex_unlock(&c->lock);
		/* r lives on this job's stack: the job must not end before
		 * the card is done with it. */
		while (!atomic_load(&r.done))
			ASYNC_pause_job();
		if (read(r.fd, &v, sizeof(v)) < 0)
			(void)0; /* drained by an earlier wake-up */
	}
	rq->siglen = r.siglen;
	return r.ok;
}

/* ------------------------------------------------------------ keymgmt */

typedef struct sim_key {
	card *c;
	EVP_PKEY *pkey;         /* in c->soft */
} sim_key;

static void *
km_new(void *provctx)
{
	sim_key *k = calloc(1, sizeof(*k));

	if (k != NULL)
		k->c = provctx;
	return k;
}

static void
km_free(void *kd)
{
	sim_key *k = kd;

	if (k != NULL)
		EVP_PKEY_free(k->pkey);
	free(k);
}

static int
km_has(const void *kd, int selection)
{
	const sim_key *k = kd;

	(void)selection;
	return k != NULL && k->pkey != NULL;
}

static int
km_import(void *kd, int selection, const OSSL_PARAM params[])
{
	sim_key *k = kd;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(k->c->soft, "RSA",
	    NULL);
	int ok;

	(void)selection;
	ok = ctx != NULL && EVP_PKEY_fromdata_init(ctx) == 1 &&
	    EVP_PKEY_fromdata(ctx, &k->pkey, EVP_PKEY_KEYPAIR,
		(OSSL_PARAM *)params) == 1;
	EVP_PKEY_CTX_free(ctx);
	return ok;
}

static const OSSL_PARAM *
km_import_types(int selection)
{
	static const OSSL_PARAM types[] = {
		OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_N, NULL, 0),
		OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_E, NULL, 0),
		OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_D, NULL, 0),
		OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_FACTOR1, NULL, 0),
		OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_FACTOR2, NULL, 0),
		OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_EXPONENT1, NULL, 0),
		OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_EXPONENT2, NULL, 0),
		OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_COEFFICIENT1, NULL, 0),
		OSSL_PARAM_END
	};

	(void)selection;
	return types;
}

static int
km_get_params(void *kd, OSSL_PARAM params[])
{
	sim_key *k = kd;
	OSSL_PARAM *p;

	if (k->pkey == NULL)
		return 0;
	if ((p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_BITS)) != NULL &&
	    !OSSL_PARAM_set_int(p, EVP_PKEY_get_bits(k->pkey)))
		return 0;
	if ((p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_SECURITY_BITS)) !=
	    NULL && !OSSL_PARAM_set_int(p, EVP_PKEY_get_security_bits(k->pkey)))
		return 0;
	if ((p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_MAX_SIZE)) != NULL &&
	    !OSSL_PARAM_set_int(p, EVP_PKEY_get_size(k->pkey)))
		return 0;
	return 1;
}

static const OSSL_PARAM *
km_gettable_params(void *provctx)
{
	static const OSSL_PARAM p[] = {
		OSSL_PARAM_int(OSSL_PKEY_PARAM_BITS, NULL),
		OSSL_PARAM_int(OSSL_PKEY_PARAM_SECURITY_BITS, NULL),
		OSSL_PARAM_int(OSSL_PKEY_PARAM_MAX_SIZE, NULL),
		OSSL_PARAM_END
	};

	(void)provctx;
	return p;
}

static const OSSL_DISPATCH keymgmt_fns[] = {
	{ OSSL_FUNC_KEYMGMT_NEW, (void (*)(void))km_new },
	{ OSSL_FUNC_KEYMGMT_FREE, (void (*)(void))km_free },
	{ OSSL_FUNC_KEYMGMT_HAS, (void (*)(void))km_has },
	{ OSSL_FUNC_KEYMGMT_IMPORT, (void (*)(void))km_import },
	{ OSSL_FUNC_KEYMGMT_IMPORT_TYPES, (void (*)(void))km_import_types },
	{ OSSL_FUNC_KEYMGMT_GET_PARAMS, (void (*)(void))km_get_params },
	{ OSSL_FUNC_KEYMGMT_GETTABLE_PARAMS,
	    (void (*)(void))km_gettable_params },
	{ 0, NULL }
};

/* ---------------------------------------------------------- signature */

typedef struct sig_ctx {
	card *c;
	sim_key *key;
	char md[32];
} sig_ctx;

static void *
sig_new(void *provctx, const char *propq)
{
	sig_ctx *s = calloc(1, sizeof(*s));

	(void)propq;
	if (s != NULL) {
		s->c = provctx;
		strcpy(s->md, "SHA256");
	}
	return s;
}

static void
sig_free(void *ctx)
{
	free(ctx);
}

static void *
sig_dup(void *ctx)
{
	sig_ctx *s = malloc(sizeof(*s));

	if (s != NULL)
		memcpy(s, ctx, sizeof(*s));
	return s;
}

static int
sig_init(void *ctx, void *kd, const OSSL_PARAM params[])
{
	sig_ctx *s = ctx;

	(void)params;
	s->key = kd;
	return s->key != NULL && s->key->pkey != NULL;
}

static int
sig_sign(void *ctx, unsigned char *sig, size_t *siglen, size_t sigsize,
    const unsigned char *tbs, size_t tbslen)
{
	sig_ctx *s = ctx;
	request r;

	if (sig == NULL) {
		*siglen = (size_t)EVP_PKEY_get_size(s->key->pkey);
		return 1;
	}
	memset(&r, 0, sizeof(r));
	r.pkey = s->key->pkey;
	r.md = s->md;
	r.tbs = tbs;
	r.tbslen = tbslen;
	r.sig = sig;
	r.siglen = sigsize;
	if (!card_sign(s->c, &r))
		return 0;
	*siglen = r.siglen;
	return 1;
}

static int
sig_set_params(void *ctx, const OSSL_PARAM params[])
{
	sig_ctx *s = ctx;
	const OSSL_PARAM *p;
	int pad;

	p = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_DIGEST);
	if (p != NULL) {
		char *v = s->md;
		if (!OSSL_PARAM_get_utf8_string(p, &v, sizeof(s->md)))
			return 0;
	}
	p = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_PAD_MODE);
	if (p != NULL && p->data_type == OSSL_PARAM_INTEGER &&
	    (!OSSL_PARAM_get_int(p, &pad) || pad != RSA_PKCS1_PADDING))
		return 0; /* the card does PKCS#1 v1.5 only */
	return 1;
}

static const OSSL_PARAM *
sig_settable(void *ctx, void *provctx)
{
	static const OSSL_PARAM p[] = {
		OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_DIGEST, NULL, 0),
		OSSL_PARAM_int(OSSL_SIGNATURE_PARAM_PAD_MODE, NULL),
		OSSL_PARAM_END
	};

	(void)ctx;
	(void)provctx;
	return p;
}

static const OSSL_DISPATCH signature_fns[] = {
	{ OSSL_FUNC_SIGNATURE_NEWCTX, (void (*)(void))sig_new },
	{ OSSL_FUNC_SIGNATURE_FREECTX, (void (*)(void))sig_free },
	{ OSSL_FUNC_SIGNATURE_DUPCTX, (void (*)(void))sig_dup },
	{ OSSL_FUNC_SIGNATURE_SIGN_INIT, (void (*)(void))sig_init },
	{ OSSL_FUNC_SIGNATURE_SIGN, (void (*)(void))sig_sign },
	{ OSSL_FUNC_SIGNATURE_SET_CTX_PARAMS, (void (*)(void))sig_set_params },
	{ OSSL_FUNC_SIGNATURE_SETTABLE_CTX_PARAMS,
	    (void (*)(void))sig_settable },
	{ 0, NULL }
};

/* ----------------------------------------------------------- provider */

static const OSSL_ALGORITHM keymgmts[] = {
	{ "RSA:rsaEncryption", "provider=vdkimsim", keymgmt_fns,
	    "simulated offload card RSA keys" },
	{ NULL, NULL, NULL, NULL }
};

static const OSSL_ALGORITHM signatures[] = {
	{ "RSA:rsaEncryption", "provider=vdkimsim", signature_fns,
	    "simulated offload card RSA signatures" },
	{ NULL, NULL, NULL, NULL }
};

static const OSSL_ALGORITHM *
query(void *provctx, int op, int *no_cache)
{
	(void)provctx;
	*no_cache = 0;
	if (op == OSSL_OP_KEYMGMT)
		return keymgmts;
	if (op == OSSL_OP_SIGNATURE)
		return signatures;
	return NULL;
}

static void
teardown(void *provctx)
{
	card_free(provctx);
}

static const OSSL_DISPATCH provider_fns[] = {
	{ OSSL_FUNC_PROVIDER_TEARDOWN, (void (*)(void))teardown },
	{ OSSL_FUNC_PROVIDER_QUERY_OPERATION, (void (*)(void))query },
	{ 0, NULL }
};

int OSSL_provider_init(const OSSL_CORE_HANDLE *handle,
    const OSSL_DISPATCH *in, const OSSL_DISPATCH **out, void **provctx);

__attribute__((visibility("default"))) int
OSSL_provider_init(const OSSL_CORE_HANDLE *handle, const OSSL_DISPATCH *in,
    const OSSL_DISPATCH **out, void **provctx)
{
	(void)handle;
	(void)in;
	*provctx = card_new();
	if (*provctx == NULL)
		return 0;
	*out = provider_fns;
	return 1;
}
