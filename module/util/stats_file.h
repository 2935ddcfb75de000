/*
 * stats_file.h - the module's counters, in memory every process of one
 * host shares (the stats-file directive), updated with atomic operations.
 *
 * The counters live in one fixed layout (struct stats_layout): a header
 * with a magic and a version, then tables of names and counters of fixed
 * sizes.  The layout is mapped MAP_SHARED, from the stats file (every
 * process of a host, also Exim's per-message processes, adds into the
 * same counters) or from anonymous memory (one process and the children it
 * forks).  Writers only ever add with relaxed atomic operations; readers
 * read the same memory and never take a lock, so neither waits for the
 * other.  Names (VMTAs, reason codes, d=/s=/algorithm, key kinds ...) are
 * claimed into a table slot with an atomic compare-and-swap the first time
 * they are seen; a table that is full counts further names under "other"
 * (the cardinality cap, STATS_*_MAX below).  A name longer than a slot
 * holds is counted under "other" too.
 *
 * Gauges that describe the loaded policy (each key's last DNS check, each
 * rotation schedule's selector) are written when a policy loads; a reader
 * shows only those of the newest load (their generation).
 */
#ifndef VDKIM_STATS_FILE_H
#define VDKIM_STATS_FILE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "vdkim/dkim.h"

#define STATS_MAGIC "VDKIMST\n"
#define STATS_VERSION 1u

/* The caps: names past them count under "other" (documented in README). */
#define STATS_NAME_MAX 112   /* bytes of a name, its NUL included */
#define STATS_VMTA_MAX 32
#define STATS_REASON_MAX 32
#define STATS_SIG_MAX 128    /* d=/s=/algorithm triples */
#define STATS_KIND_MAX 8     /* key kinds: rsa, ed25519, device:NAME */
#define STATS_DEVERR_MAX 16  /* device/code pairs */
#define STATS_KEY_MAX 64     /* keys with a DNS-check gauge */
#define STATS_SCHED_MAX 16   /* rotation schedule/domain/algorithm */
#define STATS_BUCKETS 14     /* latency histogram bounds (stats_bounds) */

enum stats_hook { STATS_HOOK_PRE_QUEUE, STATS_HOOK_PRE_DELIVERY,
	STATS_NHOOKS };
enum stats_outcome { STATS_SIGNED, STATS_UNSIGNED, STATS_DEFERRED,
	STATS_REJECTED, STATS_NOUTCOMES };

/* A slot's state: free, being written by a claimer, ready to read. */
enum { STATS_SLOT_FREE = 0, STATS_SLOT_CLAIMING = 1, STATS_SLOT_READY = 2 };

typedef struct stats_name {
	_Atomic uint32_t state;
	uint32_t pad;
	char name[STATS_NAME_MAX];
} stats_name;

typedef struct stats_hist {
	_Atomic uint64_t bucket[STATS_BUCKETS + 1]; /* the last is +Inf */
	_Atomic uint64_t sum_ns;
	_Atomic uint64_t count;
} stats_hist;

/* A key's last DNS check as the loaded policy knows it. */
typedef struct stats_key_gauge {
	_Atomic uint64_t gen;        /* the load that wrote it */
	_Atomic uint64_t verdict;    /* enum stats_dns_verdict */
	_Atomic uint64_t checked_at; /* unix time; 0: never checked */
} stats_key_gauge;

enum stats_dns_verdict { STATS_DNS_UNCHECKED, STATS_DNS_OK,
	STATS_DNS_MISSING, STATS_DNS_MISMATCH };

/* A rotation schedule's state (per domain and algorithm). */
typedef struct stats_sched_gauge {
	_Atomic uint64_t gen;
	_Atomic uint64_t held;       /* 1: a cutover is held back */
	_Atomic uint64_t publish_by; /* when the held-back selector was
	                                due in DNS (0: none held) */
	_Atomic uint64_t seq;        /* odd while selector is written */
	char selector[64];           /* the selector in use ("" none) */
} stats_sched_gauge;

/* The file's layout, version 1.  Slot index CAP of each counter array is
 * "other". */
typedef struct stats_layout {
	char magic[8];
	uint32_t version;
	uint32_t size;               /* sizeof(stats_layout) */
	_Atomic uint64_t created_at;
	_Atomic uint64_t reloads_ok;
	_Atomic uint64_t reloads_failed;
	_Atomic uint64_t loaded_at;  /* the newest policy load, unix time */
	_Atomic uint64_t load_gen;   /* counts loads; gauges carry theirs */
	_Atomic uint64_t names_dropped; /* names counted under "other" */

	stats_name vmta[STATS_VMTA_MAX];
	stats_name reason[STATS_REASON_MAX];
	_Atomic uint64_t msgs[STATS_NHOOKS][STATS_VMTA_MAX + 1]
	    [STATS_NOUTCOMES][STATS_REASON_MAX + 1];

	stats_name sig[STATS_SIG_MAX];      /* "DOMAIN SELECTOR ALG" */
	_Atomic uint64_t sigs[STATS_SIG_MAX + 1];

	stats_name kind[STATS_KIND_MAX];
	stats_hist latency[STATS_KIND_MAX + 1];

	stats_name deverr[STATS_DEVERR_MAX]; /* "DEVICE CODE" */
	_Atomic uint64_t deverrs[STATS_DEVERR_MAX + 1];

	stats_name key[STATS_KEY_MAX];      /* "DOMAIN SELECTOR" */
	stats_key_gauge keys[STATS_KEY_MAX];

	stats_name sched[STATS_SCHED_MAX];  /* "SCHEDULE DOMAIN ALG" */
	stats_sched_gauge scheds[STATS_SCHED_MAX];
} stats_layout;

/* The histogram's upper bounds in seconds (STATS_BUCKETS of them). */
extern const double stats_bounds[STATS_BUCKETS];

/* A mapped layout: a file's (path set) or anonymous memory's. */
typedef struct stats_map {
	stats_layout *l;
	int writable;
	char path[4096];             /* "" for anonymous memory */
} stats_map;

/*
 * Maps path for writing, creating it when missing (O_NOFOLLOW, a regular
 * file, mode 0640 or what the file has; its size is the layout's).  A
 * file of another version, another size or not a stats file is refused
 * with a sentence that says what to do.  VDKIM_OK, or VDKIM_EIO /
 * VDKIM_EINVAL with err filled.  It takes the file's lock while it
 * creates the layout: call it where blocking is fine (at load).
 */
vdkim_rc stats_map_file(const char *path, stats_map *out, vdkim_error *err);
/* The same, read-only, never creating (vdkimctl stats). */
vdkim_rc stats_map_file_ro(const char *path, stats_map *out,
    vdkim_error *err);
/* Anonymous shared memory (a host without stats-file). */
vdkim_rc stats_map_anon(stats_map *out, vdkim_error *err);
/* Checks a layout's header (magic, version, size): VDKIM_OK or
 * VDKIM_EINVAL with the sentence (label names the file). */
vdkim_rc stats_check_header(const stats_layout *l, size_t size,
    const char *label, vdkim_error *err);
void stats_unmap(stats_map *m);

/* The slot of name in a table of cap slots, claimed when new; cap (the
 * "other" index) when the table is full or the name too long. */
size_t stats_claim(stats_layout *l, stats_name *tab, size_t cap,
    const char *name);

/* --- the writers (any thread, any process; lock-free) --- */

/* One message's outcome. */
void stats_count_message(stats_layout *l, int hook, const char *vmta,
    int outcome, const char *reason);
/* One signature made. */
void stats_count_signature(stats_layout *l, const char *domain,
    const char *selector, const char *alg);
/* The time one message's signing took, for its key kind. */
void stats_count_latency(stats_layout *l, const char *kind, uint64_t ns);
/* A device's failure, by its code. */
void stats_count_device_error(stats_layout *l, const char *device,
    const char *code);
/* A reload (ok 1 or 0); a load sets loaded_at and starts a generation,
 * which the gauges written after it carry (returned). */
void stats_count_reload(stats_layout *l, int ok);
uint64_t stats_loaded(stats_layout *l, time_t now);
void stats_set_key(stats_layout *l, uint64_t gen, const char *domain,
    const char *selector, int verdict, time_t checked_at);
void stats_set_schedule(stats_layout *l, uint64_t gen, const char *name,
    const char *selector, int held, time_t publish_by);

#endif
