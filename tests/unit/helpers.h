/*
 * helpers.h - shared helpers of the unit tests: a deterministic random
 * generator, test data files, a naive reference body canonicalizer, a naive
 * message splitter, signing and verifying through the public API, and
 * hand-made ("crafted") DKIM-Signature fields for the verifier tests.
 *
 * Helpers that cannot go on fail the running test with ck_assert.
 */
#ifndef VDKIM_TEST_HELPERS_H
#define VDKIM_TEST_HELPERS_H

#include <stddef.h>
#include <sys/types.h>
#include <stdint.h>
#include <time.h>

#include <check.h>
#include <openssl/evp.h>

#include "vdkim/dkim.h"

/* Every test case gets this timeout (seconds), generous enough for the
 * sanitizer build; the heavy ones set their own. */
#define TEST_TIMEOUT 60

/* ------------------------------------------------------------ random */

typedef struct trng {
	uint64_t s;
} trng;

void trng_seed(trng *r, uint64_t seed);
uint64_t trng_next(trng *r);
/* Uniform in [0, n); 0 when n is 0. */
size_t trng_below(trng *r, size_t n);

/* ------------------------------------------------------------- files */

/* The absolute path of a file in tests/data (static buffer). */
const char *td_path(const char *name);
/* The whole file, NUL-terminated, malloc'd. */
char *td_read(const char *name, size_t *len);
/* A key loaded with vdkim_key_load_file; fails the test on error. */
vdkim_key *td_key(const char *name);
/* A private key loaded with OpenSSL alone (for crafted signatures). */
EVP_PKEY *td_pkey(const char *name);

/* ----------------------------------------------------------- strings */

char *xstrdup(const char *s);
char *xmemdup(const void *p, size_t n);
/* a followed by b (lengths given), NUL-terminated, malloc'd. */
char *xconcat(const char *a, size_t alen, const char *b, size_t blen,
    size_t *outlen);
/* Every CRLF turned into LF. */
char *to_lf(const char *s, size_t n, size_t *outlen);
/* Replaces the first occurrence of from by to; malloc'd; fails the test
 * when from is absent. */
char *replace_once(const char *s, const char *from, const char *to);

/* SHA-256 of p[0..n), and its base64 (OpenSSL's encoder). */
void sha256(const void *p, size_t n, unsigned char out[32]);
void sha256_b64(const void *p, size_t n, char out[45]);
void b64_encode_ossl(const unsigned char *p, size_t n, char *out);

/* -------------------------------------------- reference canonicalizer */

/*
 * The canonical body (RFC 6376 3.4.3, 3.4.4) computed the obvious way over
 * the whole buffer: lines end at LF (a CR just before it belongs to the line
 * end), relaxed reduces WSP runs and strips WSP at line ends, empty lines at
 * the end are dropped, a last line without a line end gets CRLF, and an
 * empty simple body becomes CRLF.  malloc'd.
 */
unsigned char *ref_body_canon(const unsigned char *in, size_t n,
    vdkim_canon canon, size_t *outlen);

/* ---------------------------------------------------- naive splitting */

#define TMSG_MAX_FIELDS 64

typedef struct tmsg {
	size_t nfields;
	const char *field[TMSG_MAX_FIELDS]; /* into the message */
	size_t flen[TMSG_MAX_FIELDS];       /* with the line end */
	int has_body;                       /* the empty line was there */
	const char *body;
	size_t blen;
} tmsg;

/* Splits a complete message held in memory. */
void tmsg_parse(tmsg *m, const char *msg, size_t len);
/* The length of a field without its final line end. */
size_t field_len_noeol(const char *f, size_t len);

/* ------------------------------------------------ signing, verifying */

enum feed_mode {
	FEED_FIELDS = 0, /* _header() per field, _eoh(), _body() in pieces */
	FEED_WHOLE,      /* _message() once */
	FEED_CHUNKS,     /* _message() in random chunks */
	FEED_BYTES,      /* _message() one byte at a time */
	FEED_NMODES
};

/*
 * Signs msg with the specs; on success *out is the signed message (every
 * signature prepended in order), malloc'd.  Returns the first error.
 */
vdkim_rc sign_message(const char *msg, size_t len,
    const vdkim_sig_spec *specs, size_t nspecs, int mode, uint64_t seed,
    char **out, size_t *outlen, int *added_eol, vdkim_error *err);
/* Same, failing the test on error. */
char *sign_ok(const char *msg, size_t len, const vdkim_sig_spec *specs,
    size_t nspecs, int mode, uint64_t seed, size_t *outlen);

typedef struct vres {
	vdkim_result result;
	vdkim_reason reason;
	vdkim_alg alg;
	unsigned key_bits;
	int testing;
	char domain[256];
	char selector[256];
	char identity[256];
	char detail[VDKIM_ERRMSG_MAX];
} vres;

#define VRES_MAX 24

/* Verifies; returns the number of results (copied into out[]). now 0
 * leaves the verifier's clock alone.  Fails the test on an API error. */
size_t verify_message(const char *msg, size_t len, vdkim_txt_lookup_fn fn,
    void *ctx, time_t now, int mode, uint64_t seed, vres *out);

/* A keymap with one qname -> record entry (more with keymap_add). */
vdkim_keymap *keymap1(const char *qname, const char *record);
void keymap_add(vdkim_keymap *map, const char *qname, const char *record);
/* A DNS that never answers (VDKIM_LOOKUP_TEMPFAIL), for any qname. */
vdkim_lookup_rc dns_down_lookup(void *ctx, const char *qname, char *buf,
    size_t len);

/* The DNS record of a loaded key (vdkim_key_dns_value), malloc'd. */
char *key_record_of(const vdkim_key *key);
/* "v=DKIM1; k=...; p=..." for an OpenSSL key, extra tags inserted before
 * p= (e.g. "h=sha1; "), malloc'd. */
char *record_for_pkey(EVP_PKEY *pkey, const char *extra);

/* ----------------------------------------------- the shared test keys */

typedef struct test_keys {
	vdkim_key *rsa1024, *rsa2048, *rsa4096, *ed;
	vdkim_keymap *map; /* r1024, r2048, r4096, ed ._domainkey.example.com */
} test_keys;

extern test_keys TK;
void tk_setup(void);
void tk_teardown(void);

/* A spec for example.com with the given key and selector. */
void spec_for(vdkim_sig_spec *spec, vdkim_key *key, const char *selector);

/* The standard message of the sign/verify tests (CRLF). */
extern const char STD_MSG[];

/* -------------------------------------------------- crafted signatures */

/*
 * A DKIM-Signature field (CRLF-terminated, malloc'd) made by hand: tags is
 * the whole tag list ending in "b=" with its value empty (or holding
 * "b=%B%" anywhere, where the signature then goes); "%BH%" in it is
 * replaced by the body hash of m's body under bcanon.  The fields named in
 * hnames (colon-separated) are picked bottom-up from m, canonicalized with
 * hcanon, and the signature is made with pkey (RSA PKCS#1 v1.5 SHA-256 or
 * Ed25519 over the SHA-256 digest).  The result is the message to verify:
 * the field followed by m's text.
 */
char *craft_signed(EVP_PKEY *pkey, const char *tags, const char *hnames,
    vdkim_canon hcanon, vdkim_canon bcanon, const char *msg, size_t len,
    size_t *outlen);

/* Lines of a folded header: checks every line is at most 78 columns (a
 * tab advancing to the next multiple of 8), the line ends are all CRLF or
 * all LF as asked, continuation lines start with WSP, and it ends with a
 * line end. */
void check_folded(const char *hdr, size_t len, int crlf);

/* The value of tag name in a DKIM-Signature field (FWS removed), into buf.
 * Returns 0 when absent. */
int sig_tag(const char *field, size_t len, const char *name, char *buf,
    size_t buflen);

/* Writes a test file with exactly this mode (whatever the umask). */
void write_file(const char *path, const char *data, size_t len, mode_t mode);

/* Removes a directory tree (test scratch folders). */
void rm_tree(const char *dir);

#endif
