/*
 * vdkim/dkim.h - the DKIM signing and verifying engine (RFC 6376, RFC 8463,
 * RFC 8301).
 *
 * The API has the shape of libopendkim's streaming API: create a context,
 * feed header fields one by one, mark the end of the headers, feed the body
 * in chunks of any size (split anywhere), then finish.  The body is never
 * held in memory.  Alternatively feed the raw message in arbitrary chunks
 * with *_message() and the engine splits header and body itself.
 *
 * Ownership: every object returned through an "out" pointer belongs to the
 * caller and is released with the matching *_free/_unref function.  Strings
 * passed in are copied unless stated otherwise.  Text returned through a
 * "char **" is malloc'd: the caller frees it with free().  A "const char *"
 * returned is borrowed: never freed by the caller, valid as long as each
 * function says (static strings: for ever).  Every *_free/_unref accepts
 * NULL.
 *
 * Errors: every function that can fail returns a vdkim_rc and, when the
 * caller passes a vdkim_error, fills it with a one-sentence explanation.
 * Nothing in the engine aborts, exits or prints.  On failure there is
 * nothing to free: an "out" pointer is left alone or set to NULL.
 *
 * Threads: a vdkim_key is immutable after loading and may be used by any
 * number of threads at once.  Signer and verifier contexts belong to one
 * thread at a time.  Functions without a context (names, parsing) are
 * thread-safe.
 *
 * These functions are those of the engine's static library (libvdkim.a,
 * linked by vdkimctl and the tests).  vdkim.so does not export them, and
 * "make install" does not install this header: an MTA uses vdkim/vdkim.h.
 */
#ifndef VDKIM_DKIM_H
#define VDKIM_DKIM_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define VDKIM_API __attribute__((visibility("default")))
#else
#define VDKIM_API
#endif

/* ---------------------------------------------------------------- errors */

typedef enum vdkim_rc {
	VDKIM_OK = 0,
	VDKIM_ENOMEM,   /* out of memory */
	VDKIM_EINVAL,   /* a bad argument or option */
	VDKIM_ESTATE,   /* a call made out of order */
	VDKIM_ELIMIT,   /* the input exceeds a configured limit */
	VDKIM_ESYNTAX,  /* malformed input (message, header, record) */
	VDKIM_EKEY,     /* a key could not be read or parsed */
	VDKIM_EKEYSIZE, /* a key of a refused size */
	VDKIM_EIO,      /* a file could not be read or written */
	VDKIM_ECRYPTO,  /* the crypto library failed */
	/* A key held by a device (PKCS#11 token, TPM, offload card). */
	VDKIM_EDEV_UNAVAILABLE, /* the device or its key cannot be reached */
	VDKIM_EDEV_PIN,         /* the device refused the PIN */
	VDKIM_EDEV_TIMEOUT,     /* the device did not answer in time */
	VDKIM_EDEV_ERROR,       /* the device failed the operation */
	/* A signature made did not verify with the key's public half: it
	 * was dropped (vdkim_sig_spec.self_check). */
	VDKIM_ESELFCHECK
} vdkim_rc;

/* Room for a sentence and the chain of causes a device reports (a
 * PKCS#11 module's own error comes after its engine's and OpenSSL's). */
#define VDKIM_ERRMSG_MAX 512

typedef struct vdkim_error {
	vdkim_rc rc;
	char msg[VDKIM_ERRMSG_MAX]; /* one human sentence, no trailing newline */
} vdkim_error;

/* A short stable name for a result code, e.g. "key-error"; "unknown" for a
 * value out of range.  Static, never NULL. */
VDKIM_API const char *vdkim_rc_name(vdkim_rc rc);

/* ------------------------------------------------------------------ keys */

typedef enum vdkim_key_type {
	VDKIM_KEY_RSA = 1,
	VDKIM_KEY_ED25519 = 2
} vdkim_key_type;

typedef enum vdkim_alg {
	VDKIM_ALG_NONE = 0,
	VDKIM_ALG_RSA_SHA256 = 1,
	VDKIM_ALG_ED25519_SHA256 = 2,
	VDKIM_ALG_RSA_SHA1 = 3 /* recognised when verifying, always refused */
} vdkim_alg;

/* "rsa-sha256", "ed25519-sha256", "rsa-sha1" ("none" otherwise).  Static. */
VDKIM_API const char *vdkim_alg_name(vdkim_alg alg);
/* Parses an algorithm name; VDKIM_ALG_NONE when unknown. */
VDKIM_API vdkim_alg vdkim_alg_from_name(const char *name);

#define VDKIM_RSA_MIN_BITS 1024  /* refused below (RFC 8301) */
#define VDKIM_RSA_WARN_BITS 2048 /* warned below */
#define VDKIM_RSA_MAX_BITS 4096  /* refused above for signing */

typedef struct vdkim_key vdkim_key;

/*
 * Loads a private key: PEM (PKCS#1 RSA, PKCS#8 RSA or Ed25519), or an
 * Ed25519 key as base64 of the 32-byte seed (RFC 8463's form) or of the
 * 64-byte seed+public pair.  RSA keys outside 1024..4096 bits are refused.
 * The file is read once; the parsed key is reused for every message.
 * VDKIM_OK with *out holding one reference (vdkim_key_unref when done);
 * else VDKIM_EIO (unreadable), VDKIM_EKEY (not a key), VDKIM_EKEYSIZE,
 * VDKIM_EINVAL or VDKIM_ENOMEM.
 */
VDKIM_API vdkim_rc vdkim_key_load_file(const char *path, vdkim_key **out,
    vdkim_error *err);
/* Same from memory (data is only read during the call); label names the
 * source in error messages.  Same results and ownership. */
VDKIM_API vdkim_rc vdkim_key_load_mem(const void *data, size_t len,
    const char *label, vdkim_key **out, vdkim_error *err);
/* Generates a new key (bits is ignored for Ed25519; 0 means 2048).
 * VDKIM_OK with *out holding one reference; VDKIM_EKEYSIZE, VDKIM_EINVAL
 * (type), VDKIM_ECRYPTO. */
VDKIM_API vdkim_rc vdkim_key_generate(vdkim_key_type type, unsigned bits,
    vdkim_key **out, vdkim_error *err);
/* The private key as PKCS#8 PEM text: VDKIM_OK with *pem malloc'd,
 * NUL-terminated, *len bytes (the caller wipes it, then free()s it);
 * VDKIM_EKEY for a key held by a device, VDKIM_ECRYPTO, VDKIM_ENOMEM. */
VDKIM_API vdkim_rc vdkim_key_private_pem(const vdkim_key *key, char **pem,
    size_t *len, vdkim_error *err);
/* The DNS TXT value "v=DKIM1; k=rsa; p=..." (malloc'd: the caller free()s
 * *value). For Ed25519, p= is the raw 32-byte public key (RFC 8463).
 * VDKIM_OK; a device code when the key's device cannot be reached;
 * VDKIM_ECRYPTO, VDKIM_ENOMEM. */
VDKIM_API vdkim_rc vdkim_key_dns_value(const vdkim_key *key, char **value,
    vdkim_error *err);
/* The key's type, and its size in bits (as OpenSSL counts it).  key must
 * not be NULL. */
VDKIM_API vdkim_key_type vdkim_key_get_type(const vdkim_key *key);
VDKIM_API unsigned vdkim_key_get_bits(const vdkim_key *key);
/* The signing algorithm this key produces. */
VDKIM_API vdkim_alg vdkim_key_get_alg(const vdkim_key *key);
/* A warning sentence about the key (e.g. RSA under 2048 bits), or NULL.
 * Borrowed from the key: valid while the caller holds a reference. */
VDKIM_API const char *vdkim_key_warning(const vdkim_key *key);
/* Reference counting: keys are shared; the last unref wipes and frees.
 * ref returns key (NULL stays NULL); both are atomic, from any thread. */
VDKIM_API vdkim_key *vdkim_key_ref(vdkim_key *key);
VDKIM_API void vdkim_key_unref(vdkim_key *key);

/*
 * The zone-file line for a TXT record: NAME. IN TXT ( "..." "..." ) with the
 * value split into quoted strings of at most 255 bytes.  VDKIM_OK with *line
 * malloc'd (the caller free()s it); VDKIM_EINVAL for a selector or domain
 * that is not a DNS name; VDKIM_ENOMEM.
 */
VDKIM_API vdkim_rc vdkim_dns_zone_line(const char *selector,
    const char *domain, const char *value, char **line, vdkim_error *err);

/* --------------------------------------------------------------- signing */

typedef enum vdkim_canon {
	VDKIM_CANON_SIMPLE = 0,
	VDKIM_CANON_RELAXED = 1
} vdkim_canon;

/* "simple" / "relaxed" (static); parse returns 0 with *out set, or -1 on
 * an unknown name (*out untouched). */
VDKIM_API const char *vdkim_canon_name(vdkim_canon c);
VDKIM_API int vdkim_canon_from_name(const char *name, vdkim_canon *out);

/* The default h= set (PowerMTA's base set), NULL-terminated. Each name is
 * signed when the message has it.  Static: never freed. */
VDKIM_API const char *const *vdkim_default_headers(void);

/*
 * What one signature should look like.  Initialise with
 * vdkim_sig_spec_init() and set at least key, domain and selector.
 */
typedef struct vdkim_sig_spec {
	size_t size;           /* sizeof(vdkim_sig_spec), set by _init */
	vdkim_key *key;        /* referenced, not copied */
	const char *domain;    /* d= */
	const char *selector;  /* s= */
	vdkim_canon header_canon;
	vdkim_canon body_canon;
	const char *identity;  /* i=, NULL to omit; must be in d= */
	/* NULL-terminated lists; NULL means the default. */
	const char *const *headers;       /* default: vdkim_default_headers() */
	const char *const *extra_headers; /* added to the set; default none */
	const char *const *oversign;      /* default: { "From" } */
	int add_timestamp;     /* t=, default 1 */
	long expire_after;     /* x= = t + this many seconds; 0 omits x= */
	int body_length;       /* l=, default 0 */
	time_t now;            /* signing time; 0 = time(NULL) at eoh */
	/*
	 * Verify the signature with the key's public half before releasing
	 * it: 1 yes, 0 no, VDKIM_SELF_CHECK_DEFAULT (what _init sets) by the
	 * key: RSA yes, Ed25519 no.  A key held by a device is always
	 * checked.  A spec of the size before this field (an older caller)
	 * gets the default.
	 */
	int self_check;
} vdkim_sig_spec;

#define VDKIM_SELF_CHECK_DEFAULT (-1)

/* Sets size and every default; the caller's struct (no allocation). */
VDKIM_API void vdkim_sig_spec_init(vdkim_sig_spec *spec);

typedef struct vdkim_signer vdkim_signer;

/*
 * Signer calls return VDKIM_OK or an error; a call out of order (or any
 * call after one that failed) is VDKIM_ESTATE: a signer that failed stays
 * failed.  Other codes: VDKIM_ENOMEM, VDKIM_ELIMIT, VDKIM_ESYNTAX (a
 * header that is not a field), VDKIM_EINVAL, and at eom VDKIM_ECRYPTO or a
 * device code.  One signer per message; it is the caller's until
 * vdkim_signer_free(), and one thread uses it at a time.
 */
VDKIM_API vdkim_rc vdkim_signer_new(vdkim_signer **out, vdkim_error *err);
/* Adds one signature to make; call before the first header. Up to
 * VDKIM_MAX_SIGNATURES per message.  The signer copies spec's strings and
 * header lists and takes its own reference to spec->key: the spec may go
 * once this returns. */
#define VDKIM_MAX_SIGNATURES 8
VDKIM_API vdkim_rc vdkim_signer_add(vdkim_signer *s,
    const vdkim_sig_spec *spec, vdkim_error *err);
/*
 * One complete header field ("Name: value", continuation lines included),
 * with or without its final line end.  CRLF or bare LF line ends.
 */
VDKIM_API vdkim_rc vdkim_signer_header(vdkim_signer *s, const char *field,
    size_t len, vdkim_error *err);
VDKIM_API vdkim_rc vdkim_signer_eoh(vdkim_signer *s, vdkim_error *err);
/* Body bytes, any chunk size, split anywhere. */
VDKIM_API vdkim_rc vdkim_signer_body(vdkim_signer *s, const void *data,
    size_t len, vdkim_error *err);
/* Alternatively, the raw message (headers, blank line, body) in chunks of
 * any size; do not mix with _header/_eoh/_body. */
VDKIM_API vdkim_rc vdkim_signer_message(vdkim_signer *s, const void *data,
    size_t len, vdkim_error *err);
/*
 * Finishes: computes every signature (waits for a device's answer).
 * VDKIM_ESELFCHECK when a signature failed its self-check
 * (vdkim_sig_spec.self_check): that one is dropped (its _result is NULL)
 * and err says which; the others are made.
 */
VDKIM_API vdkim_rc vdkim_signer_eom(vdkim_signer *s, vdkim_error *err);
/* The number of signatures made (after a successful eom; 0 before). */
VDKIM_API size_t vdkim_signer_count(const vdkim_signer *s);
/*
 * The i-th signature header, "DKIM-Signature: ..." folded at 78 columns,
 * with the message's line ends and a final line end; valid until the
 * signer is freed.  Prepend it to the message.  NULL when i is out of
 * range, eom has not succeeded, or the signature was dropped by its
 * self-check.  Borrowed: never freed by the caller.
 */
VDKIM_API const char *vdkim_signer_result(const vdkim_signer *s, size_t i,
    size_t *len);
/* The line end the message uses: "\r\n" or "\n" (static). */
VDKIM_API const char *vdkim_signer_eol(const vdkim_signer *s);
/* 1 when the body's last line had no line end (signed as if it had). */
VDKIM_API int vdkim_signer_added_final_eol(const vdkim_signer *s);
VDKIM_API void vdkim_signer_free(vdkim_signer *s);

/* ------------------------------------------------------------- verifying */

typedef enum vdkim_result {
	VDKIM_RES_NONE = 0,
	VDKIM_RES_PASS,
	VDKIM_RES_FAIL,
	VDKIM_RES_NEUTRAL,
	VDKIM_RES_TEMPERROR,
	VDKIM_RES_PERMERROR
} vdkim_result;

typedef enum vdkim_reason {
	VDKIM_R_OK = 0,
	VDKIM_R_BODY_HASH_MISMATCH,
	VDKIM_R_BAD_SIGNATURE,     /* the signature did not verify */
	VDKIM_R_KEY_NOT_FOUND,     /* no key record (NXDOMAIN, no TXT) */
	VDKIM_R_KEY_SYNTAX,        /* the key record is malformed */
	VDKIM_R_KEY_REVOKED,       /* p= is empty */
	VDKIM_R_KEY_TEMPFAIL,      /* the lookup failed temporarily */
	VDKIM_R_KEY_HASH_RESTRICTED, /* key h= excludes the hash */
	VDKIM_R_KEY_TYPE_MISMATCH, /* key k= differs from a= */
	VDKIM_R_KEY_SERVICE,       /* key s= excludes email */
	VDKIM_R_KEY_TOO_SMALL,     /* RSA under 1024 bits (RFC 8301) */
	VDKIM_R_KEY_STRICT_IDENTITY, /* key t=s and i= domain differs */
	VDKIM_R_EXPIRED,           /* x= is in the past */
	VDKIM_R_FUTURE_TIMESTAMP,  /* t= is in the future */
	VDKIM_R_SIG_SYNTAX,        /* the DKIM-Signature is malformed */
	VDKIM_R_UNSUPPORTED_VERSION,
	VDKIM_R_UNSUPPORTED_ALG,
	VDKIM_R_UNSUPPORTED_CANON,
	VDKIM_R_UNSUPPORTED_QUERY,
	VDKIM_R_SHA1_REFUSED,      /* rsa-sha1 (RFC 8301) */
	VDKIM_R_IDENTITY_MISMATCH, /* i= outside d= */
	VDKIM_R_FROM_NOT_SIGNED,   /* h= lacks From */
	VDKIM_R_TOO_MANY_SIGNATURES,
	VDKIM_R_INTERNAL           /* out of memory or a crypto failure */
} vdkim_reason;

/* Static names ("unknown" out of range), never NULL. */
VDKIM_API const char *vdkim_result_name(vdkim_result r); /* "pass"... */
VDKIM_API const char *vdkim_reason_name(vdkim_reason r); /* stable code */

typedef struct vdkim_sig_result {
	vdkim_result result;
	vdkim_reason reason;
	vdkim_alg alg;
	const char *domain;   /* d=, or "" when unparsable */
	const char *selector; /* s=, or "" */
	const char *identity; /* i= (default "@d="), or "" */
	unsigned key_bits;    /* 0 when the key was not reached */
	int testing;          /* key record t=y */
	char detail[VDKIM_ERRMSG_MAX]; /* a human sentence */
} vdkim_sig_result;

/* What a TXT lookup answers. */
typedef enum vdkim_lookup_rc {
	VDKIM_LOOKUP_FOUND = 0,
	VDKIM_LOOKUP_NOTFOUND,  /* NXDOMAIN or no TXT record */
	VDKIM_LOOKUP_TEMPFAIL   /* server failure, timeout */
} vdkim_lookup_rc;

/*
 * Looks up the TXT record at qname ("sel._domainkey.example.com"); writes
 * the record (strings of one record joined, NUL-terminated) to buf.  When
 * several TXT records exist the first is used.  Returns FOUND, NOTFOUND or
 * TEMPFAIL (also a record longer than buflen).  A verifier may call it
 * from whichever thread runs the verifier.
 */
typedef vdkim_lookup_rc (*vdkim_txt_lookup_fn)(void *ctx, const char *qname,
    char *buf, size_t buflen);

/* The default: DNS through the system resolver (thread-safe res_nquery;
 * ctx is unused). */
VDKIM_API vdkim_lookup_rc vdkim_dns_txt_lookup(void *ctx, const char *qname,
    char *buf, size_t buflen);

/* A static map qname -> record, for tests and tools.  new: VDKIM_OK with
 * *out the caller's until vdkim_keymap_free; add copies both strings
 * (VDKIM_EINVAL for a NULL, VDKIM_ENOMEM).  Once filled, lookups may run
 * from any number of threads; add must not run beside them. */
typedef struct vdkim_keymap vdkim_keymap;
VDKIM_API vdkim_rc vdkim_keymap_new(vdkim_keymap **out, vdkim_error *err);
VDKIM_API vdkim_rc vdkim_keymap_add(vdkim_keymap *map, const char *qname,
    const char *record, vdkim_error *err);
VDKIM_API void vdkim_keymap_free(vdkim_keymap *map);
/* Use with ctx = the map (names compare without case or final dot);
 * the map must outlive every verifier using it. */
VDKIM_API vdkim_lookup_rc vdkim_keymap_lookup(void *ctx, const char *qname,
    char *buf, size_t buflen);

typedef struct vdkim_verifier vdkim_verifier;

/*
 * Verifier calls follow the signer's rules: VDKIM_OK or an error, and
 * VDKIM_ESTATE out of order or after a failure.  Signatures that do not
 * verify are results, not errors.  One verifier per message, the caller's
 * until vdkim_verifier_free(), one thread at a time.
 *
 * lookup NULL means vdkim_dns_txt_lookup.  lookup and lookup_ctx are
 * borrowed: they must stay valid until the verifier is freed.
 */
VDKIM_API vdkim_rc vdkim_verifier_new(vdkim_txt_lookup_fn lookup,
    void *lookup_ctx, vdkim_verifier **out, vdkim_error *err);
/* The time used for t=/x= checks; 0 (default) = time(NULL). */
VDKIM_API void vdkim_verifier_set_time(vdkim_verifier *v, time_t now);
#define VDKIM_MAX_VERIFY 16 /* signatures checked per message */
VDKIM_API vdkim_rc vdkim_verifier_header(vdkim_verifier *v,
    const char *field, size_t len, vdkim_error *err);
VDKIM_API vdkim_rc vdkim_verifier_eoh(vdkim_verifier *v, vdkim_error *err);
VDKIM_API vdkim_rc vdkim_verifier_body(vdkim_verifier *v, const void *data,
    size_t len, vdkim_error *err);
VDKIM_API vdkim_rc vdkim_verifier_message(vdkim_verifier *v,
    const void *data, size_t len, vdkim_error *err);
VDKIM_API vdkim_rc vdkim_verifier_eom(vdkim_verifier *v, vdkim_error *err);
/* One result per DKIM-Signature field, top to bottom (after eom).  A
 * result is borrowed from the verifier: valid until vdkim_verifier_free;
 * NULL when i is out of range. */
VDKIM_API size_t vdkim_verifier_count(const vdkim_verifier *v);
VDKIM_API const vdkim_sig_result *vdkim_verifier_result(
    const vdkim_verifier *v, size_t i);
VDKIM_API void vdkim_verifier_free(vdkim_verifier *v);

/* Limits applied to every message (signing and verifying). */
#define VDKIM_MAX_HEADER_BYTES (1024 * 1024)
#define VDKIM_MAX_HEADER_FIELDS 1000

#ifdef __cplusplus
}
#endif
#endif /* VDKIM_DKIM_H */
