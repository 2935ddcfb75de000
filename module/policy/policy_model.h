/*
 * policy_model.h - the loaded signing policy (internal view).
 *
 * The config file becomes this model once; decisions only read it.
 *
 *   scopes   global, each virtual-mta, each virtual-mta-pool, each
 *            domain-key-list: keys in file order, and (not for key
 *            lists) domain rules
 *   rules    "domain PATTERN { ... }" blocks: options that may be unset,
 *            so that a VMTA's rule can override one option and inherit
 *            the rest from its pool's rules and then the global ones
 *   keys     every domain-key, loaded once (or recorded as failed)
 */
#ifndef VDKIM_POLICY_MODEL_H
#define VDKIM_POLICY_MODEL_H

#include <stdatomic.h>
#include <stdint.h>

#include <libpsl.h>

#include "vdkim/dkim.h"
#include "vdkim/policy.h"

#define UNSET (-1)

struct strbuf;
struct device;

/* dkim-identity modes. */
enum identity_mode {
	ID_SENDER_OR_FROM = 0, /* PowerMTA's default */
	ID_STRICT_FROM,        /* the From: address only */
	ID_FIXED               /* an address or @domain given in the config */
};

enum align_mode { ALIGN_OFF = 0, ALIGN_RELAXED, ALIGN_STRICT };

/* dkim-dns-check: what a key whose last DNS check failed does. */
enum dns_check_mode { DNS_CHECK_OFF = 0, DNS_CHECK_WARN, DNS_CHECK_REQUIRE };

/* The options of one signature; UNSET (or NULL) where the rule is silent. */
typedef struct sig_opts {
	int sign;                /* dkim-sign */
	int identity_mode;       /* enum identity_mode */
	char *identity;          /* with ID_FIXED */
	char *identity_fallback; /* dkim-identity-fallback */
	char **headers;          /* dkim-headers, NULL-terminated */
	int alg;                 /* vdkim_alg; UNSET = by the key */
	int header_canon, body_canon;
	long expire_after;       /* seconds; 0 = none */
	int add_timestamp;
	int body_limit;          /* l= */
	int oversign_all;        /* dkim-disallow-adding-headers */
	int verify;              /* dkim-verify-signatures; UNSET: by the
	                            key (vdkim_sig_spec.self_check) */
} sig_opts;

typedef struct domain_rule {
	char *pattern;           /* "example.com", "*.example.com", "*" */
	int line;
	sig_opts sig[VDKIM_POLICY_MAX_SIGS]; /* dkim-*, second-dkim-* */
	int require;             /* dkim-require */
	int align;               /* enum align_mode */
	int dns_check;           /* enum dns_check_mode */
	int key_subdomains;      /* dkim-key-subdomains: a key's DOMAIN
	                            also signs for its subdomains */
} domain_rule;

typedef struct key_entry {
	char *selector;
	char *domain;            /* lower case, or "*" */
	int subdomains_only;     /* DOMAIN was "*.D": it signs for the
	                            subdomains of D (d=D), not for D */
	char *path;
	int line;
	vdkim_key *key;          /* NULL when it failed to load */
	char *error;             /* why it did not load (malloc'd, only on
	                            failure; read it with policy_key_error) */
	struct rot_binding *rot; /* dkim-rotation-key: the key is chosen per
	                            message (rotation.h); key, path unused */
} key_entry;

enum scope_kind { SCOPE_GLOBAL, SCOPE_VMTA, SCOPE_POOL, SCOPE_KEYLIST };

typedef struct scope {
	enum scope_kind kind;
	char *name;
	int line;
	key_entry **keys;        /* into the policy's key table */
	size_t nkeys;
	domain_rule *rules;
	size_t nrules;
	char **members;          /* pools: VMTA names */
	size_t nmembers;
	struct key_index *index; /* keys by domain (policy_index.c) */
	const struct scope *pool; /* VMTAs: the first pool listing it */
	unsigned algs;           /* bit 1 << vdkim_alg of each loaded key
	                            (policy_check_algorithms) */
} scope;

typedef struct source_policy {
	char *name;
	int allow_options;       /* process-x-dkim-options */
} source_policy;

/* domain-key-fallback: a software key for a device key. */
typedef struct key_fallback {
	char *selector;
	char *domain;
	char *path;
	int line;
} key_fallback;

typedef struct policy_warning {
	char *text;
	int is_error;
} policy_warning;

struct vdkim_policy {
	atomic_int refs;
	char *path;
	scope global;
	scope *vmtas, *pools, *lists;
	size_t nvmtas, npools, nlists;
	const scope **vmtas_by_name, **pools_by_name, **lists_by_name;
	source_policy *sources;
	size_t nsources;
	key_entry *keytab;
	size_t nkeytab;
	struct key_files *key_files; /* the key files, once each
	                                (policy_keys.h) */
	policy_warning *warnings;
	size_t nwarnings;
	psl_ctx_t *psl;          /* Public Suffix List, for dkim-align */
	struct rot_schedule *schedules; /* dkim-rotation blocks */
	size_t nschedules;
	struct rot_state_file *rot_states; /* their state files, loaded */
	size_t nrot_states;
	struct device **devices; /* openssl-provider / openssl-engine */
	size_t ndevices;
	key_fallback *fallbacks;
	size_t nfallbacks;
	/* dns-check-state-file and its verdicts, loaded (dns_check.h). */
	char *dns_state_path;    /* NULL: no DNS check recorded */
	int dns_state_line;
	struct rot_state *dns_state; /* NULL when none could be used */
	char *stats_path;        /* stats-file; NULL: counters in memory */
	int stats_off;           /* stats-counters no: none at all */
	int load_for_checker;    /* a checker's load: damaged state files
	                            load as unchecked (it repairs them) */
	int keys_on_demand;      /* vdkimctl's one-message load: key files
	                            are loaded when a decision picks them
	                            (policy_key_on_demand); never a host's */
};

/* policy_index.c: the indexes every lookup of a message uses. */

/* Builds the indexes of a parsed model (scopes by name, VMTAs' pools,
 * keys by domain); -1 when out of memory. */
int policy_index_build(vdkim_policy *p);
void policy_key_index_free(struct key_index *ix);

/* Looks up a scope by name (case-sensitive, as PowerMTA's names are) in
 * one of the policy's *_by_name arrays of n scopes. */
const scope *policy_find(const scope *const *by_name, size_t n,
    const char *name);

/*
 * The keys of a scope whose domain covers a domain (the domain itself, a
 * parent of it, or "*"), in file order: policy_keys_for, then
 * policy_keys_next until NULL.  One hash probe per label of the domain,
 * whatever the number of keys.
 */
#define KEY_ITER_MAX 130 /* a domain's labels (at most 127), and "*" */
typedef struct key_iter {
	const scope *sc;
	const uint32_t *list[KEY_ITER_MAX];
	uint32_t left[KEY_ITER_MAX];
	size_t n;
} key_iter;
void policy_keys_for(key_iter *it, const scope *sc, const char *domain);
const key_entry *policy_keys_next(key_iter *it);

/* policy_model.c: warnings and devices, for every policy file. */

/* Records a warning; returns -1 when out of memory. */
int policy_warn(vdkim_policy *p, int is_error, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Records why k's key did not load (replaces an earlier sentence; on
 * out of memory none is kept and policy_key_error says so). */
void policy_key_set_error(key_entry *k, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Why k's key did not load: its sentence, never NULL. */
const char *policy_key_error(const key_entry *k);

/* The device p declares for uri's scheme; NULL when none. */
struct device *policy_device_for(const vdkim_policy *p, const char *uri);

/* policy.c: loading (the one caller of the loaders) and freeing. */

/* vdkim_policy_load_skipping, as flags say.  POLICY_LOAD_CHECKER: a
 * checker's load (vdkimctl rotation check, check-dns), where a damaged
 * state file loads as unchecked, with a warning, since the checker
 * repairs it.  POLICY_LOAD_KEYS_ON_DEMAND: vdkimctl checking one message
 * (sign, explain): the domain-keys' key files are not loaded now, each is
 * loaded when a decision picks it (policy_key_on_demand), so that a
 * config of 100,000 keys answers at once; such a policy is for one
 * thread, and no host loads one (they load every key up front, never on
 * a message's path). */
#define POLICY_LOAD_CHECKER 1u
#define POLICY_LOAD_KEYS_ON_DEMAND 2u
vdkim_rc policy_load(const char *path, const char *const *host_blocks,
    unsigned flags, vdkim_policy **out, vdkim_error *err);

/* Of a policy loaded with POLICY_LOAD_KEYS_ON_DEMAND: loads k's key file
 * if it was not tried yet (k->key, or k->error naming the file and why).
 * Does nothing for any other policy, or a key already tried. */
void policy_key_on_demand(const vdkim_policy *p, const key_entry *k);

/* Frees everything the model owns (not the struct's refcount logic). */
void policy_free(vdkim_policy *p);

/* The organizational domain (RFC 7489 3.2) of domain: its registrable
 * part per the Public Suffix List, or domain itself. */
const char *policy_org_domain(const vdkim_policy *p, const char *domain);

/* policy_device.c: a domain-key whose KEYFILE is a device URI, and its
 * software fallback (which policy.c loads); the devices in config-test's
 * table; freeing them. */
void policy_load_device_key(vdkim_policy *p, key_entry *k);
const key_fallback *policy_fallback_for(const vdkim_policy *p,
    const key_entry *k);
void policy_attach_fallback(vdkim_policy *p, key_entry *k,
    const key_fallback *f, vdkim_key *fb);
void policy_describe_devices(const vdkim_policy *p, struct strbuf *sb);
void policy_free_devices(vdkim_policy *p);

#endif
