/*
 * helpers.c - shared helpers of the unit tests (see helpers.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <unistd.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "header_canon.h"
#include "helpers.h"

/* ------------------------------------------------------------ random */

void
trng_seed(trng *r, uint64_t seed)
{
	r->s = seed * 0x9E3779B97F4A7C15ULL + 0x632BE59BD9B4E019ULL;
	if (r->s == 0)
		r->s = 1;
}

uint64_t
trng_next(trng *r)
{
	/* xorshift64* */
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return r->s * 0x2545F4914F6CDD1DULL;
}

size_t
trng_below(trng *r, size_t n)
{
	if (n == 0)
		return 0;
	return (size_t)(trng_next(r) >> 11) % n;
}

/* ------------------------------------------------------------- files */

const char *
td_path(const char *name)
{
	static char buf[4096];

	snprintf(buf, sizeof(buf), "%s/%s", VDKIM_TESTDATA, name);
	return buf;
}

char *
td_read(const char *name, size_t *len)
{
	FILE *f = fopen(td_path(name), "rb");
	char *buf;
	long n;

	ck_assert_msg(f != NULL, "cannot open test data %s", td_path(name));
	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	ck_assert_int_ge(n, 0);
	rewind(f);
	buf = malloc((size_t)n + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	if (len != NULL)
		*len = (size_t)n;
	return buf;
}

vdkim_key *
td_key(const char *name)
{
	vdkim_key *key = NULL;
	vdkim_error err;
	vdkim_rc rc = vdkim_key_load_file(td_path(name), &key, &err);

	ck_assert_msg(rc == VDKIM_OK, "loading %s: %s", name, err.msg);
	ck_assert_ptr_nonnull(key);
	return key;
}

EVP_PKEY *
td_pkey(const char *name)
{
	size_t len;
	char *pem = td_read(name, &len);
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	EVP_PKEY *pkey;

	ck_assert_ptr_nonnull(bio);
	pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	BIO_free(bio);
	free(pem);
	ck_assert_msg(pkey != NULL, "OpenSSL cannot read %s", name);
	return pkey;
}

/* ----------------------------------------------------------- strings */

char *
xmemdup(const void *p, size_t n)
{
	char *d = malloc(n + 1);

	ck_assert_ptr_nonnull(d);
	if (n > 0)
		memcpy(d, p, n);
	d[n] = '\0';
	return d;
}

char *
xstrdup(const char *s)
{
	return xmemdup(s, strlen(s));
}

char *
xconcat(const char *a, size_t alen, const char *b, size_t blen,
    size_t *outlen)
{
	char *d = malloc(alen + blen + 1);

	ck_assert_ptr_nonnull(d);
	if (alen > 0)
		memcpy(d, a, alen);
	if (blen > 0)
		memcpy(d + alen, b, blen);
	d[alen + blen] = '\0';
	if (outlen != NULL)
		*outlen = alen + blen;
	return d;
}

char *
to_lf(const char *s, size_t n, size_t *outlen)
{
	char *d = malloc(n + 1);
	size_t w = 0;

	ck_assert_ptr_nonnull(d);
	for (size_t i = 0; i < n; i++)
		if (!(s[i] == '\r' && i + 1 < n && s[i + 1] == '\n'))
			d[w++] = s[i];
	d[w] = '\0';
	if (outlen != NULL)
		*outlen = w;
	return d;
}

char *
replace_once(const char *s, const char *from, const char *to)
{
	const char *at = strstr(s, from);
	size_t head, flen = strlen(from), tlen = strlen(to);
	char *d;

	ck_assert_msg(at != NULL, "\"%s\" not found", from);
	head = (size_t)(at - s);
	d = malloc(strlen(s) - flen + tlen + 1);
	ck_assert_ptr_nonnull(d);
	memcpy(d, s, head);
	memcpy(d + head, to, tlen);
	strcpy(d + head + tlen, at + flen);
	return d;
}

void
sha256(const void *p, size_t n, unsigned char out[32])
{
	unsigned int len = 0;

	ck_assert_int_eq(EVP_Digest(p, n, out, &len, EVP_sha256(), NULL), 1);
	ck_assert_uint_eq(len, 32);
}

void
b64_encode_ossl(const unsigned char *p, size_t n, char *out)
{
	EVP_EncodeBlock((unsigned char *)out, p, (int)n);
}

void
sha256_b64(const void *p, size_t n, char out[45])
{
	unsigned char d[32];

	sha256(p, n, d);
	b64_encode_ossl(d, 32, out);
}

/* -------------------------------------------- reference canonicalizer */

typedef struct obuf {
	unsigned char *p;
	size_t n, cap;
} obuf;

static void
ob_add(obuf *o, const void *p, size_t n)
{
	if (o->n + n + 1 > o->cap) {
		size_t ncap = o->cap ? o->cap : 256;
		while (ncap < o->n + n + 1)
			ncap *= 2;
		o->p = realloc(o->p, ncap);
		ck_assert_ptr_nonnull(o->p);
		o->cap = ncap;
	}
	memcpy(o->p + o->n, p, n);
	o->n += n;
}

/* One line's content (no line end) in canonical form, into line. */
static size_t
canon_line(const unsigned char *l, size_t n, vdkim_canon canon,
    unsigned char *line)
{
	size_t w = 0;

	if (canon == VDKIM_CANON_SIMPLE) {
		memcpy(line, l, n);
		return n;
	}
	for (size_t i = 0; i < n; i++) {
		if (l[i] == ' ' || l[i] == '\t') {
			if (w == 0 || line[w - 1] != ' ')
				line[w++] = ' ';
		} else {
			line[w++] = l[i];
		}
	}
	while (w > 0 && line[w - 1] == ' ')
		w--;
	return w;
}

unsigned char *
ref_body_canon(const unsigned char *in, size_t n, vdkim_canon canon,
    size_t *outlen)
{
	obuf o = { NULL, 0, 0 };
	unsigned char *line = malloc(n + 1);
	size_t start = 0, empties = 0;

	ck_assert_ptr_nonnull(line);
	ob_add(&o, "", 0);
	while (start < n) {
		const unsigned char *nl = memchr(in + start, '\n', n - start);
		size_t end = nl ? (size_t)(nl - in) : n, clen, len;

		len = end - start;
		if (nl != NULL && len > 0 && in[end - 1] == '\r')
			len--; /* the CR of CRLF */
		clen = canon_line(in + start, len, canon, line);
		if (clen == 0) {
			empties++;
		} else {
			for (; empties > 0; empties--)
				ob_add(&o, "\r\n", 2);
			ob_add(&o, line, clen);
			ob_add(&o, "\r\n", 2);
		}
		start = nl ? end + 1 : n;
	}
	if (canon == VDKIM_CANON_SIMPLE && o.n == 0)
		ob_add(&o, "\r\n", 2);
	free(line);
	*outlen = o.n;
	return o.p;
}

/* ---------------------------------------------------- naive splitting */

void
tmsg_parse(tmsg *m, const char *msg, size_t len)
{
	size_t i = 0;

	memset(m, 0, sizeof(*m));
	while (i < len) {
		size_t start = i;

		if (msg[i] == '\n' || (msg[i] == '\r' && i + 1 < len &&
		    msg[i + 1] == '\n')) {
			m->has_body = 1;
			m->body = msg + i + (msg[i] == '\n' ? 1 : 2);
			m->blen = len - (size_t)(m->body - msg);
			return;
		}
		for (;;) {
			const char *nl = memchr(msg + i, '\n', len - i);
			if (nl == NULL) {
				i = len;
				break;
			}
			i = (size_t)(nl - msg) + 1;
			if (i >= len || (msg[i] != ' ' && msg[i] != '\t'))
				break;
		}
		ck_assert_uint_lt(m->nfields, TMSG_MAX_FIELDS);
		m->field[m->nfields] = msg + start;
		m->flen[m->nfields++] = i - start;
	}
	m->body = msg + len;
}

size_t
field_len_noeol(const char *f, size_t len)
{
	if (len > 0 && f[len - 1] == '\n')
		len--;
	if (len > 0 && f[len - 1] == '\r')
		len--;
	return len;
}

/* ------------------------------------------------ signing, verifying */

/* Calls feed(ctx, p, n) over data in pieces chosen by mode. */
typedef vdkim_rc (*feed_fn)(void *ctx, const void *p, size_t n,
    vdkim_error *err);

static vdkim_rc
feed_pieces(feed_fn fn, void *ctx, const char *p, size_t n, int mode,
    trng *r, vdkim_error *err)
{
	vdkim_rc rc = VDKIM_OK;

	if (mode == FEED_WHOLE)
		return n > 0 ? fn(ctx, p, n, err) : VDKIM_OK;
	while (n > 0 && rc == VDKIM_OK) {
		size_t take = 1;

		if (mode == FEED_CHUNKS || mode == FEED_FIELDS) {
			/* Mostly small, sometimes large pieces. */
			take = trng_below(r, 4) == 0 ?
			    1 + trng_below(r, 2000) : 1 + trng_below(r, 40);
		}
		if (take > n)
			take = n;
		rc = fn(ctx, p, take, err);
		p += take;
		n -= take;
	}
	return rc;
}

static vdkim_rc
s_body(void *ctx, const void *p, size_t n, vdkim_error *err)
{
	return vdkim_signer_body(ctx, p, n, err);
}

static vdkim_rc
s_msg(void *ctx, const void *p, size_t n, vdkim_error *err)
{
	return vdkim_signer_message(ctx, p, n, err);
}

static vdkim_rc
v_body(void *ctx, const void *p, size_t n, vdkim_error *err)
{
	return vdkim_verifier_body(ctx, p, n, err);
}

static vdkim_rc
v_msg(void *ctx, const void *p, size_t n, vdkim_error *err)
{
	return vdkim_verifier_message(ctx, p, n, err);
}

vdkim_rc
sign_message(const char *msg, size_t len, const vdkim_sig_spec *specs,
    size_t nspecs, int mode, uint64_t seed, char **out, size_t *outlen,
    int *added_eol, vdkim_error *err)
{
	vdkim_signer *s = NULL;
	vdkim_rc rc;
	trng r;
	size_t total = 0, pos = 0;

	*out = NULL;
	trng_seed(&r, seed);
	rc = vdkim_signer_new(&s, err);
	if (rc != VDKIM_OK)
		return rc;
	for (size_t i = 0; i < nspecs && rc == VDKIM_OK; i++)
		rc = vdkim_signer_add(s, &specs[i], err);
	if (rc == VDKIM_OK && mode == FEED_FIELDS) {
		tmsg m;

		tmsg_parse(&m, msg, len);
		for (size_t i = 0; i < m.nfields && rc == VDKIM_OK; i++)
			rc = vdkim_signer_header(s, m.field[i], i % 2 == 0 ?
			    m.flen[i] : field_len_noeol(m.field[i], m.flen[i]),
			    err);
		if (rc == VDKIM_OK)
			rc = vdkim_signer_eoh(s, err);
		if (rc == VDKIM_OK)
			rc = feed_pieces(s_body, s, m.body, m.blen, mode, &r,
			    err);
	} else if (rc == VDKIM_OK) {
		rc = feed_pieces(s_msg, s, msg, len, mode, &r, err);
	}
	if (rc == VDKIM_OK)
		rc = vdkim_signer_eom(s, err);
	if (rc != VDKIM_OK) {
		vdkim_signer_free(s);
		return rc;
	}
	ck_assert_uint_eq(vdkim_signer_count(s), nspecs);
	for (size_t i = 0; i < nspecs; i++) {
		size_t n = 0;
		ck_assert_ptr_nonnull(vdkim_signer_result(s, i, &n));
		total += n;
	}
	*out = malloc(total + len + 1);
	ck_assert_ptr_nonnull(*out);
	for (size_t i = 0; i < nspecs; i++) {
		size_t n = 0;
		const char *h = vdkim_signer_result(s, i, &n);
		memcpy(*out + pos, h, n);
		pos += n;
	}
	memcpy(*out + pos, msg, len);
	(*out)[pos + len] = '\0';
	if (outlen != NULL)
		*outlen = pos + len;
	if (added_eol != NULL)
		*added_eol = vdkim_signer_added_final_eol(s);
	vdkim_signer_free(s);
	return VDKIM_OK;
}

char *
sign_ok(const char *msg, size_t len, const vdkim_sig_spec *specs,
    size_t nspecs, int mode, uint64_t seed, size_t *outlen)
{
	vdkim_error err = { VDKIM_OK, "" };
	char *out = NULL;
	vdkim_rc rc = sign_message(msg, len, specs, nspecs, mode, seed, &out,
	    outlen, NULL, &err);

	ck_assert_msg(rc == VDKIM_OK, "signing failed: %s: %s",
	    vdkim_rc_name(rc), err.msg);
	return out;
}

static void
copy_str(char *dst, size_t n, const char *src)
{
	snprintf(dst, n, "%s", src != NULL ? src : "(null)");
}

size_t
verify_message(const char *msg, size_t len, vdkim_txt_lookup_fn fn,
    void *ctx, time_t now, int mode, uint64_t seed, vres *out)
{
	vdkim_verifier *v = NULL;
	vdkim_error err = { VDKIM_OK, "" };
	vdkim_rc rc;
	trng r;
	size_t n;

	trng_seed(&r, seed);
	rc = vdkim_verifier_new(fn, ctx, &v, &err);
	ck_assert_msg(rc == VDKIM_OK, "verifier_new: %s", err.msg);
	if (now != 0)
		vdkim_verifier_set_time(v, now);
	if (mode == FEED_FIELDS) {
		tmsg m;

		tmsg_parse(&m, msg, len);
		for (size_t i = 0; i < m.nfields && rc == VDKIM_OK; i++)
			rc = vdkim_verifier_header(v, m.field[i], i % 2 == 0 ?
			    m.flen[i] : field_len_noeol(m.field[i], m.flen[i]),
			    &err);
		if (rc == VDKIM_OK)
			rc = vdkim_verifier_eoh(v, &err);
		if (rc == VDKIM_OK)
			rc = feed_pieces(v_body, v, m.body, m.blen, mode, &r,
			    &err);
	} else {
		rc = feed_pieces(v_msg, v, msg, len, mode, &r, &err);
	}
	if (rc == VDKIM_OK)
		rc = vdkim_verifier_eom(v, &err);
	ck_assert_msg(rc == VDKIM_OK, "verifying failed: %s: %s",
	    vdkim_rc_name(rc), err.msg);
	n = vdkim_verifier_count(v);
	ck_assert_uint_le(n, VRES_MAX);
	for (size_t i = 0; i < n; i++) {
		const vdkim_sig_result *sr = vdkim_verifier_result(v, i);

		ck_assert_ptr_nonnull(sr);
		memset(&out[i], 0, sizeof(out[i]));
		out[i].result = sr->result;
		out[i].reason = sr->reason;
		out[i].alg = sr->alg;
		out[i].key_bits = sr->key_bits;
		out[i].testing = sr->testing;
		copy_str(out[i].domain, sizeof(out[i].domain), sr->domain);
		copy_str(out[i].selector, sizeof(out[i].selector),
		    sr->selector);
		copy_str(out[i].identity, sizeof(out[i].identity),
		    sr->identity);
		copy_str(out[i].detail, sizeof(out[i].detail), sr->detail);
	}
	ck_assert_ptr_null(vdkim_verifier_result(v, n));
	vdkim_verifier_free(v);
	return n;
}

vdkim_keymap *
keymap1(const char *qname, const char *record)
{
	vdkim_keymap *map = NULL;
	vdkim_error err;

	ck_assert_int_eq(vdkim_keymap_new(&map, &err), VDKIM_OK);
	keymap_add(map, qname, record);
	return map;
}

void
keymap_add(vdkim_keymap *map, const char *qname, const char *record)
{
	vdkim_error err;

	ck_assert_int_eq(vdkim_keymap_add(map, qname, record, &err),
	    VDKIM_OK);
}

vdkim_lookup_rc
dns_down_lookup(void *ctx, const char *qname, char *buf, size_t len)
{
	(void)ctx;
	(void)qname;
	(void)buf;
	(void)len;
	return VDKIM_LOOKUP_TEMPFAIL;
}

char *
key_record_of(const vdkim_key *key)
{
	char *value = NULL;
	vdkim_error err;

	ck_assert_int_eq(vdkim_key_dns_value(key, &value, &err), VDKIM_OK);
	ck_assert_ptr_nonnull(value);
	return value;
}

char *
record_for_pkey(EVP_PKEY *pkey, const char *extra)
{
	unsigned char *der = NULL, raw[32];
	const unsigned char *pub;
	size_t publen;
	const char *k;
	char *b64, *out;

	if (EVP_PKEY_is_a(pkey, "ED25519")) {
		publen = sizeof(raw);
		ck_assert_int_eq(EVP_PKEY_get_raw_public_key(pkey, raw,
		    &publen), 1);
		pub = raw;
		k = "ed25519";
	} else {
		int n = i2d_PUBKEY(pkey, &der);
		ck_assert_int_gt(n, 0);
		pub = der;
		publen = (size_t)n;
		k = "rsa";
	}
	b64 = malloc(publen * 2 + 8);
	ck_assert_ptr_nonnull(b64);
	b64_encode_ossl(pub, publen, b64);
	out = malloc(strlen(b64) + strlen(extra ? extra : "") + 64);
	ck_assert_ptr_nonnull(out);
	sprintf(out, "v=DKIM1; k=%s; %sp=%s", k, extra ? extra : "", b64);
	free(b64);
	OPENSSL_free(der);
	return out;
}

/* ----------------------------------------------- the shared test keys */

test_keys TK;

void
tk_setup(void)
{
	char *rec;

	TK.rsa1024 = td_key("rsa1024.pem");
	TK.rsa2048 = td_key("rsa2048.pem");
	TK.rsa4096 = td_key("rsa4096.pem");
	TK.ed = td_key("ed25519.pem");
	rec = key_record_of(TK.rsa1024);
	TK.map = keymap1("r1024._domainkey.example.com", rec);
	free(rec);
	rec = key_record_of(TK.rsa2048);
	keymap_add(TK.map, "r2048._domainkey.example.com", rec);
	free(rec);
	rec = key_record_of(TK.rsa4096);
	keymap_add(TK.map, "r4096._domainkey.example.com", rec);
	free(rec);
	rec = key_record_of(TK.ed);
	keymap_add(TK.map, "ed._domainkey.example.com", rec);
	free(rec);
}

void
tk_teardown(void)
{
	vdkim_key_unref(TK.rsa1024);
	vdkim_key_unref(TK.rsa2048);
	vdkim_key_unref(TK.rsa4096);
	vdkim_key_unref(TK.ed);
	vdkim_keymap_free(TK.map);
	memset(&TK, 0, sizeof(TK));
}

void
spec_for(vdkim_sig_spec *spec, vdkim_key *key, const char *selector)
{
	vdkim_sig_spec_init(spec);
	spec->key = key;
	spec->domain = "example.com";
	spec->selector = selector;
}

const char STD_MSG[] =
    "From: Alice Example <alice@example.com>\r\n"
    "To: Bob <bob@example.net>\r\n"
    "Subject: Round   trip\r\n"
    "  folded subject line\r\n"
    "Date: Mon, 01 Jan 2024 10:00:00 +0000\r\n"
    "Message-ID: <std-1@example.com>\r\n"
    "Received: from mx.example.com by relay.example.net;\r\n"
    "\tMon, 01 Jan 2024 10:00:01 +0000\r\n"
    "\r\n"
    "Hello Bob,\r\n"
    "  this line has   extra  spaces \t \r\n"
    "\r\n"
    "Regards.\r\n"
    "\r\n"
    "\r\n";

/* -------------------------------------------------- crafted signatures */

static int
field_named(const char *f, size_t len, const char *name, size_t nlen)
{
	const char *colon = memchr(f, ':', len);
	size_t n;

	if (colon == NULL)
		return 0;
	n = (size_t)(colon - f);
	while (n > 0 && (f[n - 1] == ' ' || f[n - 1] == '\t'))
		n--;
	return n == nlen && strncasecmp(f, name, n) == 0;
}

static void
sign_digest(EVP_PKEY *pkey, const unsigned char *digest,
    unsigned char *sig, size_t *siglen)
{
	if (EVP_PKEY_is_a(pkey, "ED25519")) {
		EVP_MD_CTX *md = EVP_MD_CTX_new();
		ck_assert_ptr_nonnull(md);
		ck_assert_int_eq(EVP_DigestSignInit_ex(md, NULL, NULL, NULL,
		    NULL, pkey, NULL), 1);
		ck_assert_int_eq(EVP_DigestSign(md, sig, siglen, digest, 32),
		    1);
		EVP_MD_CTX_free(md);
	} else {
		EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey,
		    NULL);
		ck_assert_ptr_nonnull(ctx);
		ck_assert_int_eq(EVP_PKEY_sign_init(ctx), 1);
		ck_assert_int_eq(EVP_PKEY_CTX_set_rsa_padding(ctx,
		    RSA_PKCS1_PADDING), 1);
		ck_assert_int_eq(EVP_PKEY_CTX_set_signature_md(ctx,
		    EVP_sha256()), 1);
		ck_assert_int_eq(EVP_PKEY_sign(ctx, sig, siglen, digest, 32),
		    1);
		EVP_PKEY_CTX_free(ctx);
	}
}

char *
craft_signed(EVP_PKEY *pkey, const char *tags, const char *hnames,
    vdkim_canon hcanon, vdkim_canon bcanon, const char *msg, size_t len,
    size_t *outlen)
{
	tmsg m;
	size_t clen, flen;
	unsigned char *canon, digest[32], sig[1024];
	size_t siglen = sizeof(sig);
	unsigned dlen = 0;
	char bh[45], b64[1400];
	char *tagtext, *field, *hashed, *signed_field, *out;
	unsigned char used[TMSG_MAX_FIELDS] = { 0 };
	EVP_MD_CTX *md;
	const char *p = hnames;

	tmsg_parse(&m, msg, len);
	canon = ref_body_canon((const unsigned char *)m.body, m.blen, bcanon,
	    &clen);
	sha256_b64(canon, clen, bh);
	free(canon);
	tagtext = strstr(tags, "%BH%") ? replace_once(tags, "%BH%", bh) :
	    xstrdup(tags);
	field = xconcat("DKIM-Signature: ", 16, tagtext, strlen(tagtext),
	    &flen);
	free(tagtext);
	/* The field as hashed: b= empty wherever it is. */
	hashed = strstr(field, "%B%") ? replace_once(field, "%B%", "") :
	    xstrdup(field);

	md = EVP_MD_CTX_new();
	ck_assert_ptr_nonnull(md);
	ck_assert_int_eq(EVP_DigestInit_ex(md, EVP_sha256(), NULL), 1);
	while (*p != '\0') {
		const char *end = strchr(p, ':');
		size_t n = end ? (size_t)(end - p) : strlen(p);

		for (size_t k = m.nfields; k-- > 0;) {
			if (!used[k] && field_named(m.field[k], m.flen[k], p,
			    n)) {
				used[k] = 1;
				ck_assert_int_eq(header_canon_hash(md, hcanon,
				    m.field[k], m.flen[k], 1), 0);
				break;
			}
		}
		p += n;
		if (*p == ':')
			p++;
	}
	ck_assert_int_eq(header_canon_hash(md, hcanon, hashed, strlen(hashed),
	    0), 0);
	free(hashed);
	ck_assert_int_eq(EVP_DigestFinal_ex(md, digest, &dlen), 1);
	EVP_MD_CTX_free(md);

	sign_digest(pkey, digest, sig, &siglen);
	b64_encode_ossl(sig, siglen, b64);
	if (strstr(field, "%B%") != NULL) {
		/* b= somewhere inside the list: hashed empty, filled in
		 * place. */
		signed_field = replace_once(field, "%B%", b64);
		flen = strlen(signed_field);
	} else {
		signed_field = xconcat(field, flen, b64, strlen(b64), &flen);
	}
	free(field);
	field = xconcat(signed_field, flen, "\r\n", 2, &flen);
	free(signed_field);
	out = xconcat(field, flen, msg, len, outlen);
	free(field);
	return out;
}

void
check_folded(const char *hdr, size_t len, int crlf)
{
	size_t i = 0, line = 0;

	ck_assert_uint_gt(len, 0);
	ck_assert_msg(hdr[len - 1] == '\n', "no final line end");
	ck_assert_msg(strncmp(hdr, "DKIM-Signature:", 15) == 0,
	    "does not start with the field name");
	while (i < len) {
		const char *nl = memchr(hdr + i, '\n', len - i);
		size_t end, col = 0;

		ck_assert_ptr_nonnull(nl);
		end = (size_t)(nl - hdr);
		if (crlf) {
			ck_assert_msg(end > i && hdr[end - 1] == '\r',
			    "line %zu does not end in CRLF", line);
			end--;
		}
		for (size_t k = i; k < end; k++) {
			ck_assert_msg(hdr[k] != '\r', "stray CR in line %zu",
			    line);
			col = hdr[k] == '\t' ? (col / 8 + 1) * 8 : col + 1;
		}
		ck_assert_msg(col <= 78, "line %zu is %zu columns: %.*s", line,
		    col, (int)(end - i), hdr + i);
		if (line > 0)
			ck_assert_msg(hdr[i] == ' ' || hdr[i] == '\t',
			    "continuation line %zu starts with 0x%02x", line,
			    (unsigned char)hdr[i]);
		i = (size_t)(nl - hdr) + 1;
		line++;
	}
}

int
sig_tag(const char *field, size_t len, const char *name, char *buf,
    size_t buflen)
{
	const char *p = memchr(field, ':', len), *end = field + len;
	size_t nlen = strlen(name);

	ck_assert_ptr_nonnull(p);
	p++;
	while (p < end) {
		const char *semi = memchr(p, ';', (size_t)(end - p));
		const char *q = p, *eq;

		if (semi == NULL)
			semi = end;
		while (q < semi && (*q == ' ' || *q == '\t' || *q == '\r' ||
		    *q == '\n'))
			q++;
		eq = memchr(q, '=', (size_t)(semi - q));
		if (eq != NULL) {
			const char *ne = eq;
			while (ne > q && (ne[-1] == ' ' || ne[-1] == '\t'))
				ne--;
			if ((size_t)(ne - q) == nlen &&
			    strncmp(q, name, nlen) == 0) {
				size_t w = 0;
				for (const char *v = eq + 1; v < semi; v++) {
					if (*v == ' ' || *v == '\t' ||
					    *v == '\r' || *v == '\n')
						continue;
					ck_assert_uint_lt(w + 1, buflen);
					buf[w++] = *v;
				}
				buf[w] = '\0';
				return 1;
			}
		}
		p = semi + 1;
	}
	return 0;
}

static int
rm_entry(const char *path, const struct stat *sb, int flag,
    struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void
rm_tree(const char *dir)
{
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

void
write_file(const char *path, const char *data, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	ck_assert_msg(fd >= 0, "cannot create %s: %s", path, strerror(errno));
	ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
	/* Exactly this mode, whatever the umask. */
	ck_assert_int_eq(fchmod(fd, mode), 0);
	ck_assert_int_eq(close(fd), 0);
}
