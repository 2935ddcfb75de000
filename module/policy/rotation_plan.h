/*
 * rotation_plan.h - the rotation rules an operator (or a host) asks about,
 * as data: what the schedules say per domain, which selectors are in play,
 * which are too late for the next period, which may leave DNS, and what
 * signing looks like after a check (SIGNING, HELD, BROKEN).  Nothing here
 * prints: vdkimctl prints these and picks its exit status; a host logs
 * them.
 *
 * Every entry points into the policy it was made from (its binding): keep
 * the policy referenced while the plan or check is in use.
 *
 *   rotation_plan()       per schedule, domain and algorithm: the selectors
 *                         around now, with their dates, what DNS says now
 *                         (optional) and what the state file recorded
 *   rotation_check_state  the checker's rule on one state file in memory:
 *                         query DNS for the selectors in play, record the
 *                         answers, judge the outcome
 *   rotation_check_run    the same for every state file of the policy,
 *                         each under its lock, written atomically
 */
#ifndef VDKIM_ROTATION_PLAN_H
#define VDKIM_ROTATION_PLAN_H

#include "rotation.h"

/* Calls fn once per binding (a schedule and domain bound in several
 * scopes counts once) and algorithm of its schedule, in the policy's key
 * order; only domain (NULL: any) and only bindings whose schedule writes
 * state_file (NULL: any).  Stops at fn's first non-zero result and
 * returns it. */
typedef int (*rot_binding_fn)(const rot_binding *b, int alg, void *ctx);
int rotation_for_each(const vdkim_policy *p, const char *domain,
    const char *state_file, rot_binding_fn fn, void *ctx);

/* ----------------------------------------------------------------- plan */

enum rot_key_have {
	ROT_KEY_NONE = 0,          /* no key file for the selector */
	ROT_KEY_ERROR,             /* a file, but it did not load */
	ROT_KEY_LOADED
};

/* One selector of a plan. */
typedef struct rot_plan_sel {
	char selector[ROT_SELECTOR_MAX];
	long period;
	int have;                  /* enum rot_key_have */
	const char *key_error;     /* ROT_KEY_ERROR: why (in the policy) */
	int in_use;                /* the choice at now signs with it */
	time_t publish_by;         /* its period's start - publish-ahead */
	time_t current_from;       /* its period's start */
	time_t superseded;         /* when a newer selector became ready;
	                              0: not yet */
	time_t remove_after;       /* superseded + overlap: may leave DNS
	                              from then; 0: not yet superseded */
	int dns;                   /* enum rot_status found now; -1 when not
	                              looked up (no DNS asked, or no key) */
	int recorded;              /* the state file has a record: */
	int rec_status;            /*   enum rot_status */
	time_t rec_since;          /*   seen matching since (0: not) */
} rot_plan_sel;

/* One binding and algorithm. */
typedef struct rot_plan_entry {
	const rot_binding *b;
	int alg;                   /* vdkim_alg */
	rot_choice choice;         /* what signs at now, and why */
	rot_plan_sel *sels;        /* the periods around now, oldest first */
	size_t nsels;
	rot_plan_sel *retire;      /* keys out of use whose overlap has
	                              passed (remove_after <= now) */
	size_t nretire;
} rot_plan_entry;

typedef struct rot_plan {
	rot_plan_entry *e;
	size_t n;
} rot_plan;

/*
 * The plan of every binding of p (only domain's, when not NULL) at now,
 * by the state files loaded with p.  With lookup_dns, each selector that
 * has a loaded key is looked up through lookup (NULL: the resolver).
 * VDKIM_OK, or VDKIM_ENOMEM (out is then empty).
 */
vdkim_rc rotation_plan(const vdkim_policy *p, const char *domain, time_t now,
    int lookup_dns, vdkim_txt_lookup_fn lookup, void *ctx, rot_plan *out,
    vdkim_error *err);
void rotation_plan_free(rot_plan *pl);

/* ---------------------------------------------------------------- check */

enum rot_verdict {
	ROT_SIGNING = 0,           /* the schedule's selector signs */
	ROT_HELD,                  /* an older selector signs (detail says
	                              why the newer one is held back) */
	ROT_BROKEN                 /* nothing signs, or the selector in use
	                              is not in DNS */
};

/* One selector in play (the key in use and every newer one). */
typedef struct rot_check_sel {
	const rot_key *k;          /* into the policy */
	int status;                /* enum rot_status; ROT_UNKNOWN with
	                              key_error */
	int key_error;             /* the key did not load: not looked up */
	char why[VDKIM_ERRMSG_MAX];
} rot_check_sel;

#define ROT_MAX_REPAIRS 4
#define ROT_REPAIR_MAX 1024

typedef struct rot_check_entry {
	const rot_binding *b;
	int alg;
	rot_check_sel *sels;
	size_t nsels;
	int verdict;               /* enum rot_verdict, after recording */
	rot_choice after;
	/* Too late to be on time for the next period: its selector will be
	 * held back (late_no_key: it has no key yet). */
	int late, late_no_key;
	char late_selector[ROT_SELECTOR_MAX];
	time_t late_from;          /* the next period's start */
	time_t late_by;            /* when it had to be in DNS */
} rot_check_entry;

typedef struct rot_check {
	rot_check_entry *e;
	size_t n;
	size_t lookups;            /* selectors looked up in DNS */
	int broken;                /* a domain cannot sign (or not verifiably) */
	int attention;             /* a key error, a hold-back, one late */
	int dns_down;              /* a lookup got no answer (not recorded) */
	/* Damaged state files repaired by the check: one line each. */
	char repairs[ROT_MAX_REPAIRS][ROT_REPAIR_MAX];
	size_t nrepairs;
} rot_check;

enum rot_outcome {
	ROT_OUTCOME_OK = 0,
	ROT_OUTCOME_BROKEN,
	ROT_OUTCOME_ATTENTION,
	ROT_OUTCOME_DNS_DOWN
};

/* The one outcome that matters most: BROKEN, then DNS_DOWN, then
 * ATTENTION, else OK. */
int rotation_check_outcome(const rot_check *c);

/*
 * The checker's rule for the bindings of p whose schedule writes
 * state_file (only domain's, when not NULL), at now, on st (that file's
 * contents): looks up every selector in play through lookup (NULL: the
 * resolver), records the answers in st (rot_state_update), and appends
 * what it found to out.  VDKIM_OK, or VDKIM_ENOMEM.
 */
vdkim_rc rotation_check_state(const vdkim_policy *p, const char *state_file,
    rot_state *st, const char *domain, time_t now, vdkim_txt_lookup_fn lookup,
    void *ctx, rot_check *out, vdkim_error *err);

/*
 * The whole check, as "vdkimctl rotation check" and a host's key check run
 * it: for each state file of p's schedules, takes its lock (FILE.lock, so
 * that two checkers take turns), reads it anew (another checker may have
 * written it since p was loaded), runs rotation_check_state and writes the
 * file atomically when something changed (nothing is learnt when DNS is
 * down: the file stays as it was).  out holds what was checked, also on
 * failure; VDKIM_OK, or an error naming the file that could not be locked,
 * read or written.  Load the policy again afterwards to sign by it.
 */
vdkim_rc rotation_check_run(const vdkim_policy *p, const char *domain,
    time_t now, vdkim_txt_lookup_fn lookup, void *ctx, rot_check *out,
    vdkim_error *err);
void rotation_check_free(rot_check *c);

/* What one entry found, as lines ("DOMAIN SELECTOR STATUS why",
 * "DOMAIN: BROKEN|HELD ...", "DOMAIN: signing with s=...", "DOMAIN: NOT
 * READY ..."), each ending in "\n", appended to sb. */
void rotation_check_text(const rot_check_entry *e, strbuf *sb);

#endif
