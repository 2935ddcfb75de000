/*
 * vdkim/vdkim.h - the hook ABI of vdkim.so, for any MTA.
 *
 * The only symbol a host looks up is vdkim_get_api().  It asks for the ABI
 * version it was built against and receives a table of entry points, or a
 * clear refusal.  Every struct that crosses the ABI starts with its size,
 * so either side can grow it later without breaking the other.
 *
 *   const vdkim_api *api;
 *   char err[256];
 *   vdkim_get_api_fn get = (vdkim_get_api_fn)dlsym(h, "vdkim_get_api");
 *   if (get(VDKIM_ABI_VERSION, &api, err, sizeof err) != 0) refuse(err);
 *   api->open("/etc/vdkim/vdkim.conf", &host, &inst, err, sizeof err);
 *   ... per message, in any thread:
 *   api->msg_begin(inst, VDKIM_HOOK_PRE_DELIVERY, &info, &m, err, sizeof err);
 *   api->msg_chunk(m, data, len);          raw message, any chunking
 *   api->msg_end(m, &res);                 headers to prepend, or a verdict
 *   api->msg_free(m);
 *
 * The module keeps no global state: everything lives in the instance.  An
 * instance may be used by many threads at once, and survives fork() (keys
 * are plain memory; nothing holds a descriptor or a thread).  Nothing in
 * the module exits, aborts or prints: failures come back as codes and
 * sentences, and through the host's log callback.
 *
 * Conventions for every entry point below:
 *   - Results: int functions return 0 on success and -1 on failure; a
 *     function that takes (char *err, size_t errlen) then writes one
 *     NUL-terminated sentence there, cut to errlen bytes (err may be NULL
 *     or errlen 0: nothing is written).  err is never written on success.
 *   - Ownership: the host owns what it passes in; the module copies what
 *     it keeps (paths, the vdkim_host struct, the vdkim_msg_info strings),
 *     so those may be freed or reused as soon as the call returns.  What
 *     the module hands out through an "out" pointer (instance, message,
 *     batch) belongs to the host until given back to its own release
 *     function (close, msg_free, batch_free), never free().  Strings the
 *     module returns (module_version, the vdkim_hook_result fields) are
 *     borrowed: never freed by the host, valid for as long as each says.
 *   - Threads: an instance, and anything that only reads the table, may
 *     be used from any number of threads at once; one message or one
 *     batch is used by one thread at a time.
 */
#ifndef VDKIM_VDKIM_H
#define VDKIM_VDKIM_H

#include <stddef.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

#define VDKIM_ABI_VERSION 1

typedef struct vdkim_instance vdkim_instance;
typedef struct vdkim_msg vdkim_msg;
typedef struct vdkim_batch vdkim_batch;

enum vdkim_log_level {
	VDKIM_LOG_ERR = 3,
	VDKIM_LOG_WARNING = 4,
	VDKIM_LOG_INFO = 6,
	VDKIM_LOG_DEBUG = 7
};

/* What the host gives the module.  open() copies the struct; the
 * callbacks and ctx must stay valid until close() returns, after which
 * the module calls neither (messages still open then stay quiet and use
 * time(NULL)). */
typedef struct vdkim_host {
	size_t size;           /* sizeof(vdkim_host) */
	void *ctx;             /* passed back to the callbacks */
	/* One line, no newline, starting "vdkim: "; may be called from any
	 * thread.  NULL: quiet.  One line per message (its outcome). */
	void (*log)(void *ctx, int level, const char *line);
	/* The time; NULL: time(NULL).  Tests inject a clock here. */
	time_t (*now)(void *ctx);
	/* Since module 0.3: the name of the host's own top-level block in
	 * the config file (its settings, which it reads itself), skipped by
	 * the module; NULL: none.  The blocks of the hosts shipped with vdkim
	 * (VDKIM_SHIPPED_HOST_BLOCKS) are always skipped, so that one file
	 * serves them all. */
	const char *config_block;
} vdkim_host;

/* The top-level config blocks of the hosts that ship with vdkim, which
 * the ABI and vdkimctl skip (the module itself names no host). */
#define VDKIM_SHIPPED_HOST_BLOCKS "harness", "milter"

enum vdkim_hook_point {
	VDKIM_HOOK_PRE_QUEUE = 1,   /* accepted, not yet queued */
	VDKIM_HOOK_PRE_DELIVERY = 2 /* VMTA chosen, next hop known */
};

/*
 * The message's envelope and routing, as the host knows it.  msg_begin
 * copies the struct and its strings: the host may free them when it
 * returns.  rcpt_domain is one domain: a host delivering one
 * message to several domains runs one hook per domain (the policy's
 * domain blocks are per destination).  The null sender is NULL.
 */
typedef struct vdkim_msg_info {
	size_t size;              /* sizeof(vdkim_msg_info) */
	const char *vmta;         /* virtual MTA, NULL = "default" */
	const char *pool;         /* its pool, NULL = found from the config */
	const char *source;       /* the listener/source name */
	const char *mail_from;    /* envelope sender, may be NULL */
	const char *rcpt_domain;  /* destination domain */
	const char *queue_id;     /* for log lines, may be NULL */
} vdkim_msg_info;

enum vdkim_action {
	VDKIM_ACTION_CONTINUE = 0, /* go on: prepend add_headers (maybe "") */
	VDKIM_ACTION_DEFER = 1,    /* answer/record smtp_reply (4xx) */
	VDKIM_ACTION_REJECT = 2    /* answer smtp_reply (5xx) */
};

/* What the module answers at the end of a message.  The host sets size;
 * msg_end fills the rest.  Every string is borrowed from the message
 * (reason_code from the module itself): valid, unchanged, until
 * msg_free(m), never freed by the host. */
typedef struct vdkim_hook_result {
	size_t size;               /* set by the host: sizeof(vdkim_hook_result) */
	int action;                /* enum vdkim_action */
	int nsigned;               /* signatures in add_headers */
	const char *add_headers;   /* fields to prepend, with the message's
	                              line ends; "" when none */
	size_t add_headers_len;
	int strip_x_dkim_options;  /* remove X-DKIM-Options fields */
	const char *reason_code;   /* "ok", "no-key", "signing-disabled" ... */
	const char *reason;        /* a sentence */
	const char *smtp_reply;    /* "451 4.7.5 ..." for DEFER/REJECT */
	const char *signatures;    /* "d=example.com s=k1; d=... s=..." or "" */
} vdkim_hook_result;

/* What check_keys found, worst first after OK.  The values are those of
 * "vdkimctl rotation check"'s exit status. */
enum vdkim_check_outcome {
	VDKIM_CHECK_OK = 0,        /* every key in use is in DNS */
	VDKIM_CHECK_BROKEN = 1,    /* a domain cannot sign, or the key it
	                              signs with is not in DNS */
	VDKIM_CHECK_ATTENTION = 2, /* a key is held back, did not load, or
	                              will be late for its period */
	VDKIM_CHECK_DNS_DOWN = 3   /* DNS did not answer: nothing recorded */
};

/* The outcome of check_keys.  Its findings, one sentence each, go to the
 * host's log callback. */
typedef struct vdkim_check_summary {
	size_t size;               /* set by the host: sizeof(...) */
	int outcome;               /* enum vdkim_check_outcome */
	int reload;                /* 1: results were recorded: reload, so
	                              that signing follows them */
	unsigned lookups;          /* keys looked up in DNS */
	unsigned domains;          /* domains (per algorithm) judged */
} vdkim_check_summary;

/* The formats of the stats entry's snapshot. */
enum vdkim_stats_format {
	VDKIM_STATS_PROMETHEUS = 1, /* text exposition format 0.0.4 */
	VDKIM_STATS_JSON = 2,
	VDKIM_STATS_SUMMARY = 3     /* lines for a person */
};

/*
 * The table is the module's, static and read-only: the host never frees
 * it, and it stays valid while the module is loaded (until dlclose).
 */
typedef struct vdkim_api {
	size_t size;               /* sizeof(vdkim_api) of the module */
	unsigned abi_version;
	const char *module_version; /* e.g. "0.2"; static, borrowed */

	/* Opens an instance on a config file: parses it and loads every key
	 * (it reads files: call it where blocking is fine).  0 with *out
	 * set, to be given back with close(); or -1 with err filled and
	 * *out untouched.  config_path is resolved to an absolute path and
	 * copied; host (NULL: quiet, time(NULL)) is copied. */
	int (*open)(const char *config_path, const vdkim_host *host,
	    vdkim_instance **out, char *err, size_t errlen);
	/* Re-reads the config and keys (blocks like open; may run on any
	 * thread, beside messages).  0; or -1 with err filled, and the old
	 * config stays in force.  Safe while other threads have messages
	 * open: each message keeps the policy it began with. */
	int (*reload)(vdkim_instance *inst, char *err, size_t errlen);
	/* Gives the instance back; NULL is fine.  Open messages and batches
	 * keep what they use and stay valid until their own release; inst
	 * itself must not be passed to the module again.  Call it once, when
	 * no other thread is still using inst (reload,
	 * msg_begin, batch_new). */
	void (*close)(vdkim_instance *inst);

	/* One message through one hook (hook_point: enum vdkim_hook_point).
	 * Returns 0 with *out set, the host's until msg_free(); or -1 with
	 * err filled (the message could not even be started: treat as a
	 * temporary failure).  info and its strings are copied. */
	int (*msg_begin)(vdkim_instance *inst, int hook_point,
	    const vdkim_msg_info *info, vdkim_msg **out, char *err,
	    size_t errlen);
	/* Raw message bytes (header, empty line, body), any chunking; data
	 * is only read during the call.  Returns 0; -1 once the message is
	 * known to be unusable (msg_end then tells why). */
	int (*msg_chunk)(vdkim_msg *m, const void *data, size_t len);
	/* Decides and signs (this is where a device is waited for, unless
	 * the message went through a batch).  Fills res (see
	 * vdkim_hook_result: its strings are the message's, valid until
	 * msg_free).  Returns 0, also when the answer is DEFER or REJECT;
	 * -1 only for a bad argument (res->size too small, or a message
	 * still signing in a batch).  A second call gives the same answer. */
	int (*msg_end)(vdkim_msg *m, vdkim_hook_result *res);
	/* Frees the message and everything msg_end handed out; NULL is
	 * fine.  Not while it is outstanding in a batch (poll it back, or
	 * batch_free, first). */
	void (*msg_free)(vdkim_msg *m);

	/*
	 * Since module 0.2 (test with VDKIM_API_HAS(api, batch_free)):
	 * batches, which keep many signatures in flight from one thread for
	 * devices that answer asynchronously (offload cards; see README).
	 * A batch belongs to the thread that made it.  After a message's
	 * last msg_chunk, batch_submit starts its signing (0, or -1 when
	 * max_in_flight are outstanding: poll first); batch_poll waits up
	 * to timeout_ms (-1: until one is done) and hands back finished
	 * messages (their number, or -1 on a bad argument); msg_end on
	 * them answers at once.  batch_free waits for what is outstanding
	 * (msg_end still works on those messages).  Devices that do not
	 * answer asynchronously simply finish within batch_submit.
	 *
	 * Ownership: batch_new: 0 with *out set, the host's until
	 * batch_free(); or -1 with err filled (max_in_flight must be 1 to
	 * 4096).  The batch holds the instance: close() may come first.
	 * batch_submit lends m to the batch (m stays the host's: do not
	 * msg_end or msg_free it) until batch_poll writes it to done[]
	 * (at most max pointers; the messages, not the array, are the
	 * batch's answer) or batch_free returns.  batch_outstanding: the
	 * messages lent and not yet handed back (0 for NULL).  batch_free:
	 * NULL is fine; the messages still lent come back to the host
	 * finished, to msg_end and msg_free as usual.
	 */
	int (*batch_new)(vdkim_instance *inst, unsigned max_in_flight,
	    vdkim_batch **out, char *err, size_t errlen);
	int (*batch_submit)(vdkim_batch *b, vdkim_msg *m);
	int (*batch_poll)(vdkim_batch *b, int timeout_ms, vdkim_msg **done,
	    size_t max);
	unsigned (*batch_outstanding)(const vdkim_batch *b);
	void (*batch_free)(vdkim_batch *b);

	/*
	 * Since module 0.3 (test with VDKIM_API_HAS(api, check_keys)): the
	 * key check of the instance's config, in the host's process: the
	 * selectors of the rotation schedules are looked up in DNS and the
	 * answers recorded in their state files (as "vdkimctl rotation
	 * check" does), and, when the config names a dns-check-state-file,
	 * every key the policy signs with (as "vdkimctl check-dns"); the
	 * checkers take turns on the files' locks.  The outcome is the worse
	 * of the two.  It waits on DNS and the disk: call it
	 * from a thread of its own, never from an event loop.  now: 0 for
	 * the instance's clock.  Returns 0 with *summary filled, or -1 with
	 * err (a state file could not be locked, read or written).  The
	 * module reads the results only when the config loads: call reload
	 * after a check whose summary says so.
	 */
	int (*check_keys)(vdkim_instance *inst, time_t now,
	    vdkim_check_summary *summary, char *err, size_t errlen);

	/*
	 * Since module 0.4 (test with VDKIM_API_HAS(api, stats_free)): a
	 * snapshot of the instance's counters (messages per hook, VMTA,
	 * outcome and reason; signatures per d=/s=/algorithm; signing
	 * latency per key kind; device errors; reloads; each key's DNS-check
	 * verdict and each rotation schedule's selector), in one of the
	 * formats of enum vdkim_stats_format.  With a stats-file in the
	 * config, the counters are those of every process of the host that
	 * maps it.  It reads memory only (no lock a message waits for): any
	 * thread, beside messages.  Returns 0 with *text (NUL-terminated,
	 * *len its length when len is not NULL), the host's until
	 * stats_free(); or -1 with err filled (a bad argument, the counters
	 * turned off, out of memory).
	 */
	int (*stats)(vdkim_instance *inst, int format, char **text,
	    size_t *len, char *err, size_t errlen);
	void (*stats_free)(char *text);
} vdkim_api;

/* 1 when the module's table has entry point f (older modules' tables are
 * shorter: their size says so). */
#define VDKIM_API_HAS(api, f) \
	((api)->size >= offsetof(vdkim_api, f) + sizeof((api)->f))

typedef int (*vdkim_get_api_fn)(unsigned abi_version, const vdkim_api **api,
    char *err, size_t errlen);

/* The module's only entry point (besides host shims such as Exim's).
 * 0 with *api set to the module's static table (borrowed, never freed,
 * valid until the module is unloaded); -1 with *api NULL and err filled
 * when the module does not speak abi_version (or api is NULL).  Any
 * thread, any number of times. */
int vdkim_get_api(unsigned abi_version, const vdkim_api **api, char *err,
    size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
