/*
 * stats_file.c - the shared counters: mapping the layout, claiming names,
 * adding (stats_file.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "stats_file.h"

const double stats_bounds[STATS_BUCKETS] = {
	0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
	0.1, 0.25, 0.5, 1.0, 2.5
};
/* The same in nanoseconds, for the writers (no floating point). */
static const uint64_t stats_bounds_ns[STATS_BUCKETS] = {
	100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000,
	25000000, 50000000, 100000000, 250000000, 500000000, 1000000000,
	2500000000u
};

/* A claimer that died between claiming a slot and writing its name
 * leaves it CLAIMING for good: a waiter gives up after this many turns
 * and moves on (the slot is then never read). */
#define CLAIM_WAIT_TURNS 2000

static void
init_header(stats_layout *l, time_t now)
{
	l->version = STATS_VERSION;
	l->size = (uint32_t)sizeof(*l);
	atomic_store(&l->created_at, (uint64_t)now);
	/* The magic last: a reader that sees it sees the rest. */
	atomic_thread_fence(memory_order_release);
	memcpy(l->magic, STATS_MAGIC, sizeof(l->magic));
}

vdkim_rc
stats_check_header(const stats_layout *l, size_t size, const char *label,
    vdkim_error *err)
{
	if (size < offsetof(stats_layout, created_at) ||
	    memcmp(l->magic, STATS_MAGIC, sizeof(l->magic)) != 0)
		return vdkim_fail(err, VDKIM_EINVAL, "%s is not a vdkim stats "
		    "file (no vdkim stats header): name another stats-file, "
		    "or remove this one if it is a stale stats file", label);
	if (l->version != STATS_VERSION)
		return vdkim_fail(err, VDKIM_EINVAL, "%s is a stats file of "
		    "layout version %u; this module reads and writes version "
		    "%u: remove it (its counts are lost) or name another "
		    "stats-file", label, l->version, STATS_VERSION);
	if (l->size != sizeof(*l) || size != sizeof(*l))
		return vdkim_fail(err, VDKIM_EINVAL, "%s has %zu bytes and a "
		    "header that says %u; version %u has %zu: the file is "
		    "damaged, remove it", label, size, l->size, STATS_VERSION,
		    sizeof(*l));
	return VDKIM_OK;
}

static vdkim_rc
map_fd(int fd, const char *path, int writable, stats_map *out,
    vdkim_error *err)
{
	struct stat st;
	void *p;

	if (fstat(fd, &st) != 0)
		return vdkim_fail(err, VDKIM_EIO, "%s: %s", path,
		    strerror(errno));
	if (!S_ISREG(st.st_mode))
		return vdkim_fail(err, VDKIM_EINVAL, "%s is not a regular "
		    "file (a stats-file must be one)", path);
	if (writable && st.st_size == 0) {
		if (ftruncate(fd, (off_t)sizeof(stats_layout)) != 0)
			return vdkim_fail(err, VDKIM_EIO, "%s: cannot size the "
			    "stats file: %s", path, strerror(errno));
		st.st_size = (off_t)sizeof(stats_layout);
	} else if (st.st_size != (off_t)sizeof(stats_layout)) {
		/* Read the header to say which it is (version or damage). */
		stats_layout head;
		ssize_t n = pread(fd, &head, sizeof(head), 0);

		if (n < 0)
			return vdkim_fail(err, VDKIM_EIO, "%s: %s", path,
			    strerror(errno));
		return stats_check_header(&head, (size_t)st.st_size, path,
		    err) != VDKIM_OK ? err->rc : vdkim_fail(err, VDKIM_EINVAL,
		    "%s: unexpected size", path);
	}
	p = mmap(NULL, sizeof(stats_layout), writable ? PROT_READ | PROT_WRITE :
	    PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return vdkim_fail(err, VDKIM_EIO, "%s: cannot map the stats "
		    "file: %s", path, strerror(errno));
	out->l = p;
	if (writable && out->l->magic[0] == '\0')
		init_header(out->l, time(NULL));
	if (stats_check_header(out->l, (size_t)st.st_size, path, err) !=
	    VDKIM_OK) {
		munmap(p, sizeof(stats_layout));
		out->l = NULL;
		return err->rc;
	}
	return VDKIM_OK;
}

static vdkim_rc
map_path(const char *path, int writable, stats_map *out, vdkim_error *err)
{
	vdkim_rc rc;
	int fd;

	memset(out, 0, sizeof(*out));
	if (path == NULL || path[0] != '/' ||
	    strlen(path) >= sizeof(out->path))
		return vdkim_fail(err, VDKIM_EINVAL, "stats-file must be an "
		    "absolute path");
	fd = writable ? open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC |
	    O_NONBLOCK, 0640) : open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC |
	    O_NONBLOCK);
	if (fd < 0)
		return vdkim_fail(err, VDKIM_EIO, "%s: cannot open the stats "
		    "file: %s", path, errno == ELOOP ? "it is a symbolic link "
		    "(refused)" : strerror(errno));
	/* Two processes creating the file at once: one sizes and writes
	 * the header, the other waits here (at load, never per message). */
	if (writable && flock(fd, LOCK_EX) != 0) {
		rc = vdkim_fail(err, VDKIM_EIO, "%s: cannot lock the stats "
		    "file: %s", path, strerror(errno));
		close(fd);
		return rc;
	}
	rc = map_fd(fd, path, writable, out, err);
	/* Unlocked by hand: the mapping keeps the open file, and with it a
	 * lock close() alone would leave held. */
	if (writable)
		flock(fd, LOCK_UN);
	close(fd);
	if (rc != VDKIM_OK)
		return rc;
	out->writable = writable;
	snprintf(out->path, sizeof(out->path), "%s", path);
	return VDKIM_OK;
}

vdkim_rc
stats_map_file(const char *path, stats_map *out, vdkim_error *err)
{
	return map_path(path, 1, out, err);
}

vdkim_rc
stats_map_file_ro(const char *path, stats_map *out, vdkim_error *err)
{
	return map_path(path, 0, out, err);
}

vdkim_rc
stats_map_anon(stats_map *out, vdkim_error *err)
{
	void *p = mmap(NULL, sizeof(stats_layout), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	memset(out, 0, sizeof(*out));
	if (p == MAP_FAILED)
		return vdkim_fail(err, VDKIM_ENOMEM, "cannot map memory for "
		    "the counters: %s", strerror(errno));
	out->l = p;
	out->writable = 1;
	init_header(out->l, time(NULL));
	return VDKIM_OK;
}

void
stats_unmap(stats_map *m)
{
	if (m != NULL && m->l != NULL)
		munmap(m->l, sizeof(stats_layout));
	if (m != NULL)
		m->l = NULL;
}

/* ----------------------------------------------------------- names */

/* A name that gets no slot: counted, and its counts go to "other". */
static size_t
dropped(stats_layout *l, size_t cap)
{
	atomic_fetch_add_explicit(&l->names_dropped, 1, memory_order_relaxed);
	return cap;
}

/* The slot of the compound name "A B[ C]" (c may be NULL), made without
 * snprintf (the message path's cost): "other" when it does not fit. */
static size_t
claim_joined(stats_layout *l, stats_name *tab, size_t cap, const char *a,
    const char *b, const char *c)
{
	const char *part[3] = { a, b, c };
	char name[STATS_NAME_MAX];
	size_t used = 0;

	for (size_t i = 0; i < 3 && part[i] != NULL; i++) {
		size_t n = strlen(part[i]);

		if (used + n + 1 >= sizeof(name))
			return dropped(l, cap);
		if (i > 0)
			name[used++] = ' ';
		memcpy(name + used, part[i], n);
		used += n;
	}
	name[used] = '\0';
	return stats_claim(l, tab, cap, name);
}

size_t
stats_claim(stats_layout *l, stats_name *tab, size_t cap, const char *name)
{
	size_t len = strlen(name);

	if (len >= STATS_NAME_MAX)
		return dropped(l, cap);
	for (size_t i = 0; i < cap; i++) {
		uint32_t st = atomic_load_explicit(&tab[i].state,
		    memory_order_acquire);

		if (st == STATS_SLOT_FREE) {
			uint32_t want = STATS_SLOT_FREE;

			if (atomic_compare_exchange_strong(&tab[i].state, &want,
			    STATS_SLOT_CLAIMING)) {
				memcpy(tab[i].name, name, len + 1);
				atomic_store_explicit(&tab[i].state,
				    STATS_SLOT_READY, memory_order_release);
				return i;
			}
			st = want;
		}
		/* Another claimer is writing this slot's name: it may be
		 * ours.  Wait a bounded while for it. */
		for (int turn = 0; st == STATS_SLOT_CLAIMING &&
		    turn < CLAIM_WAIT_TURNS; turn++) {
			sched_yield();
			st = atomic_load_explicit(&tab[i].state,
			    memory_order_acquire);
		}
		if (st == STATS_SLOT_READY && strcmp(tab[i].name, name) == 0)
			return i;
	}
	return dropped(l, cap);
}

static void
add(_Atomic uint64_t *c, uint64_t n)
{
	atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

/* ---------------------------------------------------------- writers */

void
stats_count_message(stats_layout *l, int hook, const char *vmta,
    int outcome, const char *reason)
{
	size_t v, r;

	if (l == NULL || hook < 0 || hook >= STATS_NHOOKS || outcome < 0 ||
	    outcome >= STATS_NOUTCOMES)
		return;
	v = stats_claim(l, l->vmta, STATS_VMTA_MAX, vmta ? vmta : "default");
	r = stats_claim(l, l->reason, STATS_REASON_MAX, reason ? reason : "");
	add(&l->msgs[hook][v][outcome][r], 1);
}

void
stats_count_signature(stats_layout *l, const char *domain,
    const char *selector, const char *alg)
{
	if (l == NULL)
		return;
	add(&l->sigs[claim_joined(l, l->sig, STATS_SIG_MAX, domain, selector,
	    alg)], 1);
}

void
stats_count_latency(stats_layout *l, const char *kind, uint64_t ns)
{
	stats_hist *h;
	size_t b = 0;

	if (l == NULL)
		return;
	h = &l->latency[stats_claim(l, l->kind, STATS_KIND_MAX, kind)];
	while (b < STATS_BUCKETS && ns > stats_bounds_ns[b])
		b++;
	add(&h->bucket[b], 1);   /* one bucket; readers add them up */
	add(&h->sum_ns, ns);
	add(&h->count, 1);
}

void
stats_count_device_error(stats_layout *l, const char *device,
    const char *code)
{
	if (l == NULL)
		return;
	add(&l->deverrs[claim_joined(l, l->deverr, STATS_DEVERR_MAX, device,
	    code, NULL)], 1);
}

void
stats_count_reload(stats_layout *l, int ok)
{
	if (l != NULL)
		add(ok ? &l->reloads_ok : &l->reloads_failed, 1);
}

uint64_t
stats_loaded(stats_layout *l, time_t now)
{
	if (l == NULL)
		return 0;
	atomic_store_explicit(&l->loaded_at, (uint64_t)now,
	    memory_order_relaxed);
	return atomic_fetch_add(&l->load_gen, 1) + 1;
}

void
stats_set_key(stats_layout *l, uint64_t gen, const char *domain,
    const char *selector, int verdict, time_t checked_at)
{
	size_t i;

	if (l == NULL)
		return;
	if ((i = claim_joined(l, l->key, STATS_KEY_MAX, domain, selector,
	    NULL)) == STATS_KEY_MAX)
		return; /* counted in names_dropped */
	atomic_store(&l->keys[i].verdict, (uint64_t)verdict);
	atomic_store(&l->keys[i].checked_at, (uint64_t)checked_at);
	atomic_store(&l->keys[i].gen, gen);
}

void
stats_set_schedule(stats_layout *l, uint64_t gen, const char *name,
    const char *selector, int held, time_t publish_by)
{
	stats_sched_gauge *g;
	size_t i;

	if (l == NULL || (i = stats_claim(l, l->sched, STATS_SCHED_MAX,
	    name)) == STATS_SCHED_MAX)
		return;
	g = &l->scheds[i];
	/* A sequence count around the text: a reader that sees it odd, or
	 * changed, reads again (or shows nothing): it never waits. */
	atomic_fetch_add(&g->seq, 1);
	snprintf(g->selector, sizeof(g->selector), "%s", selector);
	atomic_fetch_add(&g->seq, 1);
	atomic_store(&g->held, (uint64_t)(held != 0));
	atomic_store(&g->publish_by, (uint64_t)publish_by);
	atomic_store(&g->gen, gen);
}
