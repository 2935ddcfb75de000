/*
 * rotation.h - selector rotation schedules ("dkim-rotation" blocks).
 *
 * A schedule turns time into selectors: periods (monthly, quarterly, every
 * N days from a start date, or an explicit list of selectors with start
 * dates), each with its selector name (a pattern such as "k%Yq%Q").  A
 * domain bound to a schedule ("dkim-rotation-key = NAME,DOMAIN") has one
 * key per selector, found in the schedule's key-dir when the policy loads.
 *
 * Which selector signs is decided per message from the time alone and the
 * checker's recorded DNS results (the state file, read when the policy
 * loads): the newest selector whose period has begun and whose public key
 * has been seen in DNS, matching its private key, for publish-ahead.  A
 * selector that is not ready yet is held back with a warning; nothing on
 * the per-message path touches DNS or the disk.
 *
 *   rotation_schedule.c  periods, selector names, config values
 *   rotation_state.c     the state file: parsing, formatting, update rule
 *   rotation_keys.c      a domain's keys at load, the choice per message
 *   rotation_check.c     one selector against DNS (for the checker)
 *   rotation_plan.c      the rules as data: plan, in play, BROKEN/HELD
 *   rotation_check_file.c  the check of each state file, locked
 */
#ifndef VDKIM_ROTATION_H
#define VDKIM_ROTATION_H

#include <time.h>

#include "policy_model.h"
#include "strbuf.h"

#define ROT_MAX_ALGS 2
#define ROT_MAX_KEYS 64        /* keys per domain and algorithm */
#define ROT_SELECTOR_MAX 64    /* a DNS label and its NUL */
#define ROT_DEFAULT_STATE "/var/lib/vdkim/rotation.state"
#define ROT_DEFAULT_AHEAD (7L * 86400)
#define ROT_DEFAULT_OVERLAP (14L * 86400)

enum rot_period { ROT_MONTHLY, ROT_QUARTERLY, ROT_DAYS, ROT_LIST };

typedef struct rot_listed {
	char *selector;
	time_t start;
} rot_listed;

struct rot_schedule {
	char *name;
	int line;
	int period;                /* enum rot_period */
	long days;                 /* ROT_DAYS: the period's length */
	time_t epoch;              /* ROT_DAYS: the first period's start */
	char *pattern;             /* the selector pattern (not ROT_LIST) */
	rot_listed *list;          /* ROT_LIST, by start */
	size_t nlist;
	char *key_dir;             /* "%d" stands for the domain */
	int algs[ROT_MAX_ALGS];    /* vdkim_alg */
	size_t nalgs;
	long publish_ahead;        /* seconds */
	long overlap;              /* seconds */
	char *state_file;
};
typedef struct rot_schedule rot_schedule;

/* A directive of a dkim-rotation block as written, and its line. */
typedef struct rot_text_val {
	const char *v;
	int line;
} rot_text_val;

/* A dkim-rotation block as the config parser hands it over. */
typedef struct rot_text {
	const char *name;
	int line;                  /* the block's first line */
	rot_text_val pattern, period, start, key_dir, ahead, overlap, state;
	const rot_text_val *algs;
	size_t nalgs;
	const rot_text_val *selectors; /* "SELECTOR,YYYY-MM-DD" */
	size_t nselectors;
} rot_text;

/* ------------------------------------------------------------ schedule */

/*
 * What a single directive of a dkim-rotation block (or
 * dkim-rotation-key) must look like: NULL when v suits, or when name is
 * not a rotation directive; else what was expected.
 */
const char *rot_check_value(const char *name, const char *v);
/* Builds s from a block; -1 with *line and why naming the problem. */
int rot_schedule_build(const rot_text *t, rot_schedule *s, int *line,
    char *why, size_t whylen);
void rot_schedule_free(rot_schedule *s);

/* 1 when s signs with alg (vdkim_alg). */
int rot_has_alg(const rot_schedule *s, int alg);
/* The period holding t (ROT_LIST: -1 before the first selector). */
long rot_period_at(const rot_schedule *s, time_t t);
/* When period i starts ((time_t)-1 when i names no period). */
time_t rot_period_start(const rot_schedule *s, long i);
/* The selector of period i for algorithm alg; -1 when there is none. */
int rot_selector(const rot_schedule *s, long i, int alg, char *buf,
    size_t len);
/* The period and algorithm whose selector is name; -1 when none. */
int rot_match(const rot_schedule *s, const char *name, long *period,
    int *alg);
/* "YYYY-MM-DD" (UTC midnight) into *t; -1 when it is no such date. */
int rot_parse_date(const char *text, time_t *t);
/* t as "YYYY-MM-DD HH:MM UTC" into buf (at least 24 bytes). */
void rot_format_time(time_t t, char *buf, size_t len);

/* --------------------------------------------------------------- state */

/*
 * What a key check found for one selector.  The first five are rotation's
 * (its state file holds only those); the DNS check of every key
 * (dns_check.h) records the finer ones too.  The names (rot_status_name)
 * are the words of the state files and of the checkers' lines.
 */
enum rot_status {
	ROT_UNKNOWN = 0,           /* never checked */
	ROT_MATCHING,              /* published, the key matches */
	ROT_MISSING,               /* no record (NXDOMAIN, no TXT) */
	ROT_MISMATCHED,            /* a record, but another key */
	ROT_DNS_ERROR,             /* DNS did not answer */
	ROT_BAD_RECORD,            /* a record that does not parse */
	ROT_REVOKED,               /* p= empty */
	ROT_WRONG_TYPE,            /* k= is not the key's type */
	ROT_HASH_REFUSED,          /* h= does not allow sha256 */
	ROT_SERVICE_REFUSED,       /* s= allows neither email nor * */
	ROT_TESTING,               /* matches, but t=y (a warning) */
	ROT_WEAK,                  /* matches, an RSA key under 2048 bits
	                              (a warning) */
	ROT_STATUS_MAX = ROT_WEAK
};

/* 1 when status means receivers fail signatures made with the key. */
int rot_status_fails(int status);
/* 1 when status means the key works but deserves a look (testing, weak). */
int rot_status_warns(int status);
/* The status the rotation rules (and rotation's state file) know: a
 * warning counts as matching, any other failure as mismatched. */
int rot_status_for_rotation(int status);

/* What the checker last found for one selector of one domain. */
typedef struct rot_record {
	char domain[254];
	char selector[ROT_SELECTOR_MAX];
	int status;                /* enum rot_status */
	time_t since;              /* seen matching without a break since;
	                              0: not matching now */
	time_t checked;            /* the last check that got an answer */
} rot_record;

typedef struct rot_state {
	rot_record *r;             /* sorted by domain, then selector */
	size_t n, cap;
} rot_state;

const char *rot_status_name(int status);
/* Parses a state file's text; label names it in errors ("FILE:LINE: "). */
vdkim_rc rot_state_parse(const char *text, size_t len, const char *label,
    rot_state *st, vdkim_error *err);
/* Reads and parses path.  A file that does not exist is an empty state
 * with *missing set. */
vdkim_rc rot_state_load(const char *path, rot_state *st, int *missing,
    vdkim_error *err);
/* The text of a state file (malloc'd), NULL when out of memory. */
char *rot_state_format(const rot_state *st);
const rot_record *rot_state_find(const rot_state *st, const char *domain,
    const char *selector);
/*
 * The checker's update rule for one selector whose period starts at
 * start: an answer from DNS is recorded (checked = now); "seen since"
 * starts at the first matching answer and is kept while answers match; a
 * missing or different key breaks it, unless the selector is already in
 * use (its period has begun and it was ready), where the break is only
 * recorded for the warnings.  A DNS error changes nothing.
 * Returns -1 when out of memory.
 */
int rot_state_update(rot_state *st, const char *domain, const char *selector,
    int status, time_t now, time_t start, long publish_ahead);
/*
 * The DNS check's rule for one key (key_state.h): an answer is recorded
 * with its status (checked = now; since = when this status was first
 * found without a break); a DNS error changes nothing.  -1 when out of
 * memory.
 */
int rot_state_set(rot_state *st, const char *domain, const char *selector,
    int status, time_t now);
void rot_state_free(rot_state *st);

/* ---------------------------------------------------------------- keys */

/* One selector's key for the domain of a binding. */
typedef struct rot_key {
	long period;
	time_t start;
	int alg;                   /* vdkim_alg */
	key_entry entry;           /* selector, domain, path, key, error */
} rot_key;

/* A domain bound to a schedule (one dkim-rotation-key). */
struct rot_binding {
	char *sched_name;
	const rot_schedule *sched;
	const rot_state *state;    /* the schedule's state file, loaded */
	char *domain;
	char *key_dir;             /* key-dir with %d replaced */
	rot_key *keys;             /* by algorithm, then period */
	size_t nkeys;
	int dir_unreadable;        /* key-dir could not be read (warned) */
};
typedef struct rot_binding rot_binding;

/* The state files the policy's schedules name, loaded with it. */
struct rot_state_file {
	char *path;
	rot_state st;
	int missing;
};

/*
 * Loading a binding k->rot, in two steps around the key loader (policy.c
 * loads every key; this code loads none): rotation_find_keys reads the
 * schedule's state file (once per file) and finds the key files of its
 * selectors in key-dir; once they are loaded, rotation_keys_loaded
 * refuses a key of the wrong algorithm for its selector and says when
 * there is none.  Problems are warnings; rotation_find_keys fails only
 * for a state file that cannot be read or parsed (the load must fail), or
 * when out of memory.
 */
vdkim_rc rotation_find_keys(vdkim_policy *p, key_entry *k, vdkim_error *err);
void rotation_keys_loaded(vdkim_policy *p, const key_entry *k);
void rotation_free(vdkim_policy *p);
void rotation_binding_free(rot_binding *b);

/* What signs now for a binding, and what to say about it. */
typedef struct rot_choice {
	const rot_key *key;        /* NULL: none can sign (why says why) */
	long scheduled;            /* the period the clock is in */
	vdkim_why why;             /* OK, ROTATION_HELD, ROTATION_NOT_IN_DNS,
	                              or ROTATION_UNVERIFIED (key NULL) */
	char detail[VDKIM_ERRMSG_MAX];
} rot_choice;

/*
 * The choice for binding b, algorithm alg (UNSET: the schedule's first),
 * at now, by the recorded results in st.  No I/O.
 */
void rotation_choose(const rot_binding *b, int alg, time_t now,
    const rot_state *st, rot_choice *out);
/*
 * When key k stopped being used: the time the first newer selector became
 * ready; 0 while none has.  It may leave DNS overlap after that.
 */
time_t rotation_superseded(const rot_binding *b, const rot_key *k,
    const rot_state *st);

/* The binding's lines of config-test's table. */
void rotation_describe(strbuf *sb, const key_entry *k);

/* --------------------------------------------------------------- check */

/* Looks up sel._domainkey.domain through lookup (NULL: the resolver) and
 * judges it as receivers would for key (RFC 6376 3.6.1, parsed by the
 * engine's key_record): ROT_MISSING, ROT_BAD_RECORD, ROT_REVOKED,
 * ROT_WRONG_TYPE, ROT_MISMATCHED, ROT_HASH_REFUSED, ROT_SERVICE_REFUSED,
 * ROT_TESTING, ROT_WEAK, ROT_MATCHING (first that applies), or
 * ROT_DNS_ERROR; why says what was found.  One comparison for both
 * checkers: rotation collapses the answer (rot_status_for_rotation). */
int rotation_check_dns(const vdkim_key *key, const char *selector,
    const char *domain, vdkim_txt_lookup_fn lookup, void *ctx, char *why,
    size_t whylen);

#endif
