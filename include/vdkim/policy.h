/*
 * vdkim/policy.h - per-virtual-MTA signing policy: PowerMTA-style
 * directives in a libconfuse file, keys loaded once, decisions without I/O.
 *
 *   vdkim_policy_load()    parses the file and loads every key it names
 *   vdkim_policy_decide()  given the VMTA, the envelope and the header
 *                          fields: the signatures to make, or why none
 *   vdkim_slot_*           the current policy of a running instance,
 *                          replaced atomically on reload
 *
 * The directives and their meaning: conf-examples/README.md (the config
 * grammar, the key choice rules, X-DKIM-Options, reason names).
 *
 * A vdkim_policy is immutable once loaded and reference counted: any
 * number of threads may decide and sign with it at once.
 *
 * Results, ownership and errors follow vdkim/dkim.h: a vdkim_rc, and the
 * sentence in the vdkim_error when one is passed; objects returned through
 * "out" pointers are the caller's, to give back with their *_unref or *_free
 * (NULL accepted); "char **" text is malloc'd, free() it; a "const char *"
 * returned is borrowed for as long as each function says.
 *
 * Like dkim.h, these are functions of the engine's static library, which
 * vdkim.so does not export: hosts use vdkim/vdkim.h, and "make install"
 * installs only that.
 */
#ifndef VDKIM_POLICY_H
#define VDKIM_POLICY_H

#include "vdkim/dkim.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct vdkim_policy vdkim_policy;

/*
 * Parses path and loads every key.  A syntax error, an unknown directive or
 * a bad value fails the load with "FILE:LINE: what was expected".  A key
 * that cannot be used (missing file, unsafe permissions, bad key, wrong
 * algorithm for its selector) does not fail the load: it is recorded, a
 * warning says why, and decisions that would pick it answer
 * VDKIM_WHY_KEY_NOT_LOADED.  vdkimctl config-test treats such warnings as
 * errors.  VDKIM_OK with *out holding one reference (vdkim_policy_unref);
 * else an error with err filled: VDKIM_ESYNTAX for what the file says,
 * VDKIM_EIO when it (or the rotation state) cannot be read, VDKIM_EINVAL,
 * VDKIM_ENOMEM.  It reads files (the config, every key): not for a thread that
 * must not block.
 */
VDKIM_API vdkim_rc vdkim_policy_load(const char *path, vdkim_policy **out,
    vdkim_error *err);
/*
 * The same, skipping the top-level blocks named in host_blocks
 * (NULL-terminated; NULL: none): a host keeps its own settings in the
 * policy's file, in a block of its own that it reads itself.  The module
 * names no host: the caller says which blocks are hosts' (the ABI skips
 * the blocks of the hosts shipped with vdkim and the one the host
 * registers, vdkim_host.config_block).
 */
VDKIM_API vdkim_rc vdkim_policy_load_skipping(const char *path,
    const char *const *host_blocks, vdkim_policy **out, vdkim_error *err);
/* ref returns p (NULL stays NULL); the last unref frees the policy and
 * the keys only it held.  Both atomic, from any thread. */
VDKIM_API vdkim_policy *vdkim_policy_ref(vdkim_policy *p);
VDKIM_API void vdkim_policy_unref(vdkim_policy *p);

/* Problems found while loading (keys that failed, weak keys, keys readable
 * by everyone); each a sentence naming the file, borrowed from p (valid
 * while the caller holds its reference); NULL when i >= the count. */
VDKIM_API size_t vdkim_policy_warning_count(const vdkim_policy *p);
VDKIM_API const char *vdkim_policy_warning(const vdkim_policy *p, size_t i);
/* 1 when a warning is an error for config-test (a key that is unusable);
 * 0 otherwise, also when i is out of range. */
VDKIM_API int vdkim_policy_warning_is_error(const vdkim_policy *p, size_t i);

/* Writes the effective table per VMTA (keys, domains, options) to a
 * malloc'd text, for config-test: VDKIM_OK with *text the caller's to
 * free(); VDKIM_ENOMEM. */
VDKIM_API vdkim_rc vdkim_policy_describe(const vdkim_policy *p, char **text,
    vdkim_error *err);

/*
 * Opens the key at uri ("pkcs11:...", "handle:0x81000001") through the
 * device p declares for its scheme (openssl-engine / openssl-provider),
 * e.g. for its DNS record.  VDKIM_OK with *out holding one reference
 * (vdkim_key_unref); VDKIM_EINVAL when p declares no device for the
 * scheme; a device code (VDKIM_EDEV_*) when it cannot be reached, and
 * then *out is NULL.  May block for as long as the device takes.
 */
VDKIM_API vdkim_rc vdkim_policy_device_key(const vdkim_policy *p,
    const char *uri, vdkim_key **out, vdkim_error *err);

/* The stats-file the config names (its counters, shared by every process
 * of a host), borrowed from p; NULL when it names none. */
VDKIM_API const char *vdkim_policy_stats_file(const vdkim_policy *p);
/* 1 when the config turns the counters off (stats-counters no: only for
 * measuring what they cost). */
VDKIM_API int vdkim_policy_stats_off(const vdkim_policy *p);

/* ------------------------------------------------------------- decisions */

typedef enum vdkim_verdict {
	VDKIM_VERDICT_SIGN = 0, /* make the signatures in the decision */
	VDKIM_VERDICT_NOSIGN,   /* deliver unsigned; why says why */
	VDKIM_VERDICT_DEFER     /* dkim-require: do not deliver unsigned */
} vdkim_verdict;

/* Why a message is not signed (or, with SIGN, a note such as
 * VDKIM_WHY_NOT_ALIGNED).  The names (vdkim_why_name) are stable: hosts
 * log them. */
typedef enum vdkim_why {
	VDKIM_WHY_OK = 0,
	VDKIM_WHY_UNKNOWN_VMTA,      /* the VMTA is not in a config that
	                                defines VMTAs (DEFER under a global
	                                dkim-require) */
	VDKIM_WHY_DISABLED,          /* dkim-sign no for this VMTA/domain */
	VDKIM_WHY_NO_IDENTITY,       /* no usable From:/Sender: address */
	VDKIM_WHY_NO_KEY,            /* no key for the identity's domain */
	VDKIM_WHY_KEY_NOT_LOADED,    /* the matching key failed to load */
	VDKIM_WHY_NOT_ALIGNED,       /* dkim-align: no key aligns with From */
	VDKIM_WHY_OPTIONS_REFUSED,   /* X-DKIM-Options from a source not
	                                allowed to give them (ignored) */
	VDKIM_WHY_OPTIONS_INVALID,   /* X-DKIM-Options malformed */
	VDKIM_WHY_OPTIONS_NO_KEY,    /* X-DKIM-Options named no loaded key */
	VDKIM_WHY_BAD_MESSAGE,       /* header fields the decision cannot use */
	VDKIM_WHY_ROTATION_HELD,     /* note: the schedule's current selector
	                                is not ready in DNS; an older one signs */
	VDKIM_WHY_ROTATION_NOT_IN_DNS, /* note: the selector in use was
	                                missing or different at the last check */
	VDKIM_WHY_ROTATION_UNVERIFIED, /* no selector of the schedule has been
	                                seen in DNS: none may sign */
	VDKIM_WHY_MULTIPLE_FROM,     /* more than one From: field (RFC 5322
	                                allows one; DMARC receivers reject
	                                such a message): never signed */
	VDKIM_WHY_DNS_MISSING,       /* note (dkim-dns-check warn): the key's
	                                record was missing at the last
	                                vdkimctl check-dns */
	VDKIM_WHY_DNS_MISMATCH,      /* note (dkim-dns-check warn): the key's
	                                record was wrong at the last check
	                                (another key, revoked, k=, h=, s=) */
	VDKIM_WHY_KEY_DNS_MISMATCH   /* dkim-dns-check require: every key
	                                that could sign failed its last DNS
	                                check (a key never checked counts as
	                                good) */
} vdkim_why;

/* Static names, never NULL ("sign", "nosign", "defer" for verdicts). */
VDKIM_API const char *vdkim_why_name(vdkim_why why);
VDKIM_API const char *vdkim_verdict_name(vdkim_verdict v);

/* Borrowed for the call only: vdkim_policy_decide copies what it keeps. */
typedef struct vdkim_envelope {
	size_t size;             /* sizeof(vdkim_envelope) */
	const char *vmta;        /* the virtual MTA (NULL: "default") */
	const char *pool;        /* its pool when the host knows; else the
	                            first pool listing the VMTA */
	const char *source;      /* the source name (for X-DKIM-Options) */
	const char *mail_from;   /* envelope sender, may be NULL */
	const char *rcpt_domain; /* destination domain (domain blocks) */
} vdkim_envelope;

typedef struct vdkim_header {
	const char *field;       /* "Name: value", as in the message */
	size_t len;
} vdkim_header;

#define VDKIM_POLICY_MAX_SIGS 2

/*
 * The outcome.  specs[0..nsigs) are ready for vdkim_signer_add(); their
 * keys and header lists belong to the policy, their strings to this
 * struct: keep both (the policy reference and the decision) until the
 * signer has been given the specs.
 */
typedef struct vdkim_decision {
	vdkim_verdict verdict;
	vdkim_why why;           /* OK, or the reason (also a note on SIGN) */
	char detail[VDKIM_ERRMSG_MAX]; /* a sentence, naming what to change */
	int strip_x_dkim_options; /* remove X-DKIM-Options before sending */
	int aligned;             /* the first signature's d= aligns with From */
	int require;             /* dkim-require applies to this message */
	size_t nsigs;
	vdkim_sig_spec specs[VDKIM_POLICY_MAX_SIGS];
	/* Storage the specs point into. */
	char domain[VDKIM_POLICY_MAX_SIGS][256];
	char selector[VDKIM_POLICY_MAX_SIGS][256];
	char identity[VDKIM_POLICY_MAX_SIGS][330];
} vdkim_decision;

/*
 * Decides for one message.  No I/O, no allocation of its own that
 * outlives the call.  now chooses the selector of keys bound to a rotation
 * schedule (dkim-rotation-key), by the DNS checks recorded when the policy
 * was loaded.  Returns VDKIM_OK with the outcome in *out (NOSIGN and
 * DEFER are outcomes, not errors), or an error for bad arguments.
 * env and hdrs (and the fields they point to) are only read during the
 * call; *out is the caller's struct, filled in place (its specs borrow
 * from p: see vdkim_decision).  Thread-safe on a shared p.
 */
VDKIM_API vdkim_rc vdkim_policy_decide(const vdkim_policy *p,
    const vdkim_envelope *env, const vdkim_header *hdrs, size_t nhdrs,
    time_t now, vdkim_decision *out, vdkim_error *err);

/* ---------------------------------------------------------------- reload */

/* Holds the current policy of an instance; reload swaps it atomically.
 * acquire and reload may run from any number of threads at once. */
typedef struct vdkim_slot vdkim_slot;

/* Loads path as vdkim_policy_load_skipping does (host_blocks, NULL-
 * terminated or NULL, is copied; reloads skip the same blocks): VDKIM_OK
 * with *out the caller's until vdkim_slot_free; else that load's error. */
VDKIM_API vdkim_rc vdkim_slot_new(const char *path,
    const char *const *host_blocks, vdkim_slot **out, vdkim_error *err);
/* Loads the file anew; on failure the old policy stays and err says why
 * (the load's code).  Reads files outside any lock: acquire never waits
 * for a reload.  Policies already acquired stay as they were. */
VDKIM_API vdkim_rc vdkim_slot_reload(vdkim_slot *s, vdkim_error *err);
/* The current policy, referenced: vdkim_policy_unref() when done.
 * Never NULL. */
VDKIM_API vdkim_policy *vdkim_slot_acquire(vdkim_slot *s);
/* Drops the slot's reference to its policy (acquired ones live on) and
 * frees it; NULL is fine.  Not beside another call on s. */
VDKIM_API void vdkim_slot_free(vdkim_slot *s);

#ifdef __cplusplus
}
#endif
#endif
