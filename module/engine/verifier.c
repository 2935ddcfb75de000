/*
 * verifier.c - checking DKIM signatures (RFC 6376 6, RFC 8463, RFC 8301).
 *
 * At the end of the header every DKIM-Signature field is parsed strictly
 * and the body hashes the valid ones need are set up (shared between
 * signatures that agree on c= and l=).  The body is hashed as it streams
 * by.  At the end of the message each signature's key is fetched through
 * the lookup function, the key record checked, the body hash compared and
 * the header hash verified.  Every signature gets a result and a reason.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base64.h"
#include "body_set.h"
#include "domain_name.h"
#include "error.h"
#include "header_canon.h"
#include "header_fields.h"
#include "key.h"
#include "key_record.h"
#include "msg_stream.h"
#include "tag_list.h"

#define TXT_MAX 8192
/* How far in the future t= may be before we call it wrong (clock skew). */
#define FUTURE_SKEW 900

typedef struct sig_check {
	vdkim_sig_result res;
	size_t field;        /* index in the header fields */
	int done;            /* result decided before eom */
	char *domain, *selector, *identity;
	vdkim_canon hcanon, bcanon;
	int64_t limit;       /* l=, or -1 */
	int body_idx;
	char **h;            /* h= names */
	size_t nh;
	unsigned char bh[64];
	long bhlen;
	unsigned char b[1024];
	long blen;
} sig_check;

struct vdkim_verifier {
	msg_stream ms;      /* call order, body hashes, raw input */
	vdkim_txt_lookup_fn lookup;
	void *lookup_ctx;
	time_t now;
	header_fields hf;
	size_t nsigs;
	sig_check sigs[VDKIM_MAX_VERIFY + 1];
};

static void
set_result(sig_check *c, vdkim_result r, vdkim_reason why, const char *fmt,
    ...) __attribute__((format(printf, 4, 5)));

static void
set_result(sig_check *c, vdkim_result r, vdkim_reason why, const char *fmt,
    ...)
{
	va_list ap;

	c->res.result = r;
	c->res.reason = why;
	va_start(ap, fmt);
	vsnprintf(c->res.detail, sizeof(c->res.detail), fmt, ap);
	va_end(ap);
	c->done = 1;
}

static void
sig_check_free(sig_check *c)
{
	free(c->domain);
	free(c->selector);
	free(c->identity);
	for (size_t i = 0; i < c->nh; i++)
		free(c->h[i]);
	free(c->h);
}

/* Copies s[0..n) with FWS at both ends removed. */
static char *
dup_trimmed(const char *s, size_t n)
{
	char *d;

	while (n > 0 && tag_is_fws((unsigned char)*s)) {
		s++;
		n--;
	}
	while (n > 0 && tag_is_fws((unsigned char)s[n - 1]))
		n--;
	d = malloc(n + 1);
	if (d != NULL) {
		memcpy(d, s, n);
		d[n] = '\0';
	}
	return d;
}

/* A decimal number of at most 18 digits (fits int64); -1 otherwise. */
static int64_t
parse_number(const char *s)
{
	int64_t v = 0;
	size_t n = 0;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++, n++) {
		if (*s < '0' || *s > '9' || n >= 18)
			return -1;
		v = v * 10 + (*s - '0');
	}
	return v;
}

/* Splits h= into names; a syntax error leaves c->nh == 0. */
static int
parse_h(sig_check *c, const char *h)
{
	c->h = calloc(H_ENTRIES_MAX, sizeof(*c->h));
	if (c->h == NULL)
		return -1;
	while (c->nh < H_ENTRIES_MAX) {
		const char *end = strchr(h, ':');
		size_t len = end ? (size_t)(end - h) : strlen(h);
		char *name = dup_trimmed(h, len);

		if (name == NULL)
			return -1;
		c->h[c->nh++] = name;
		if (end == NULL)
			return 0;
		h = end + 1;
	}
	return 1; /* too many entries */
}

/*
 * Parses one DKIM-Signature field into c; on any problem sets the result
 * (permerror with a reason).  Order of checks follows RFC 6376 6.1.1.
 */
static void
parse_signature(vdkim_verifier *v, sig_check *c)
{
	const char *text = header_fields_text(&v->hf, c->field);
	size_t len = v->hf.f[c->field].len;
	const char *colon = memchr(text, ':', len);
	const char *tv, *ta, *tb, *tbh, *td, *th, *ts, *tc, *ti, *tl_, *tq,
	    *tt, *tx;
	tag_list tl;
	char why[160];
	vdkim_alg alg;
	int64_t t = -1, x = -1;
	time_t now = v->now ? v->now : time(NULL);

	c->limit = -1;
	c->body_idx = -1;
	if (tag_list_parse(&tl, colon + 1, len - (size_t)(colon + 1 - text),
	    why, sizeof(why)) != 0) {
		set_result(c, VDKIM_RES_PERMERROR, VDKIM_R_SIG_SYNTAX,
		    "the signature's tag list is malformed: %s", why);
		return;
	}
	tv = tag_list_get(&tl, "v");
	ta = tag_list_get(&tl, "a");
	tb = tag_list_get(&tl, "b");
	tbh = tag_list_get(&tl, "bh");
	td = tag_list_get(&tl, "d");
	th = tag_list_get(&tl, "h");
	ts = tag_list_get(&tl, "s");
	tc = tag_list_get(&tl, "c");
	ti = tag_list_get(&tl, "i");
	tl_ = tag_list_get(&tl, "l");
	tq = tag_list_get(&tl, "q");
	tt = tag_list_get(&tl, "t");
	tx = tag_list_get(&tl, "x");

	/* Copy what the result reports first, so it names the signature. */
	c->domain = strdup(td ? td : "");
	c->selector = strdup(ts ? ts : "");
	if (c->domain == NULL || c->selector == NULL) {
		set_result(c, VDKIM_RES_TEMPERROR, VDKIM_R_INTERNAL,
		    "out of memory");
		goto out;
	}
	c->res.domain = c->domain;
	c->res.selector = c->selector;
	/* i= defaults to "@" d= (RFC 6376 3.5). */
	if (ti != NULL) {
		c->identity = strdup(ti);
	} else if ((c->identity = malloc(strlen(c->domain) + 2)) != NULL) {
		c->identity[0] = '@';
		strcpy(c->identity + 1, c->domain);
	}
	if (c->identity == NULL) {
		set_result(c, VDKIM_RES_TEMPERROR, VDKIM_R_INTERNAL,
		    "out of memory");
		goto out;
	}
	c->res.identity = c->identity;

	if (tv == NULL || ta == NULL || tb == NULL || tbh == NULL ||
	    td == NULL || th == NULL || ts == NULL) {
		set_result(c, VDKIM_RES_PERMERROR, VDKIM_R_SIG_SYNTAX,
		    "a required tag is missing (v, a, b, bh, d, h and s "
		    "are required)");
		goto out;
	}
	if (strcmp(tv, "1") != 0) {
		set_result(c, VDKIM_RES_PERMERROR, VDKIM_R_UNSUPPORTED_VERSION,
		    "signature version v=%s is not 1", tv);
		goto out;
	}
	alg = vdkim_alg_from_name(ta);
	c->res.alg = alg;
	if (alg == VDKIM_ALG_RSA_SHA1) {
		set_result(c, VDKIM_RES_PERMERROR, VDKIM_R_SHA1_REFUSED,
		    "rsa-sha1 signatures are refused (RFC 8301)");
		goto out;
	}
	if (alg == VDKIM_ALG_NONE) {
		set_result(c, VDKIM_RES_PERMERROR, VDKIM_R_UNSUPPORTED_ALG,
		    "unsupported algorithm a=%s", ta);
		goto out;
	}
	c->hcanon = c->bcanon = VDKIM_CANON_SIMPLE;
	if (tc != NULL) {
		char hc[16] = "", bc[16] = "simple";
		const char *slash = strchr(tc, '/');
		size_t hl = slash ? (size_t)(slash - tc) : strlen(tc);

		if (hl < sizeof(hc))
			memcpy(hc, tc, hl), hc[hl] = '\0';
		if (slash != NULL && strlen(slash + 1) < sizeof(bc))
			strcpy(bc, slash + 1);
		else if (slash != NULL)
			bc[0] = '\0';
		if (vdkim_canon_from_name(hc, &c->hcanon) != 0 ||
		    vdkim_canon_from_name(bc, &c->bcanon) != 0) {
			set_result(c, VDKIM_RES_PERMERROR,
			    VDKIM_R_UNSUPPORTED_CANON,
			    "unsupported canonicalization c=%s", tc);
			goto out;
		}
	}
	if (!domain_is_valid(td)) {
		set_result(c, VDKIM_RES_PERMERROR, VDKIM_R_SIG_SYNTAX,
		    "d=%s is not a domain name", td);
		goto out;
	}
	if (!domain_is_valid(ts)) {
		set_result(c, VDKIM_RES_PERMERROR, VDKIM_R_SIG_SYNTAX,
		    "s=%s is not a valid selector", ts);
		goto out;
	}
	if (tq != NULL && strstr(tq, "dns/txt") == NULL) {
		set_result(c, VDKIM_RES_PERMERROR, VDKIM_R_UNSUPPORTED_QUERY,
		    "unsupported query method q=%s", tq);
		goto out;
	}
	/* i= must lie within d= (RFC 6376 3.5). */
	if (ti != NULL) {
		const char *at = strrchr(ti, '@');
		if (at == NULL || !domain_within(at + 1, td)) {
			set_result(c, VDKIM_RES_PERMERROR,
			    VDKIM_R_IDENTITY_MISMATCH,
			    "i=%s is not within d=%s", ti, td);
			goto out;
		}
	}
	if (parse_h(c, th) != 0) {
		set_result(c, VDKIM_RES_PERMERROR, VDKIM_R_SIG_SYNTAX,
		    "h= is malformed or lists more than %d fields",
		    H_ENTRIES_MAX);
		goto out;
	}
	for (size_t i = 0; i < c->nh; i++) {
		if (!header_name_is_valid(c->h[i])) {
			set_result(c, VDKIM_RES_PERMERROR, VDKIM_R_SIG_SYNTAX,
			    "h= holds an invalid field name \"%s\"", c->h[i]);
			goto out;
		}
	}
	{
		int from = 0;
		for (size_t i = 0; i < c->nh; i++)
			from |= strcasecmp(c->h[i], "From") == 0;
		if (!from) {
			set_result(c, VDKIM_RES_PERMERROR,
			    VDKIM_R_FROM_NOT_SIGNED,
			    "h= does not include From (RFC 6376 5.4)");
			goto out;
		}
	}
	if (tl_ != NULL && (c->limit = parse_number(tl_)) < 0) {
		set_result(c, VDKIM_RES_PERMERROR, VDKIM_R_SIG_SYNTAX,
		    "l=%s is not a number", tl_);
		goto out;
	}
	if ((tt != NULL && (t = parse_number(tt)) < 0) ||
	    (tx != NULL && (x = parse_number(tx)) < 0)) {
		set_result(c, VDKIM_RES_PERMERROR, VDKIM_R_SIG_SYNTAX,
		    "t= or x= is not a number");
		goto out;
	}
	if (t >= 0 && x >= 0 && x < t) {
		set_result(c, VDKIM_RES_PERMERROR, VDKIM_R_SIG_SYNTAX,
		    "x= is before t=");
		goto out;
	}
	if (x >= 0 && x < (int64_t)now) {
		set_result(c, VDKIM_RES_PERMERROR, VDKIM_R_EXPIRED,
		    "the signature expired at x=%lld", (long long)x);
		goto out;
	}
	if (t > (int64_t)now + FUTURE_SKEW) {
		set_result(c, VDKIM_RES_PERMERROR, VDKIM_R_FUTURE_TIMESTAMP,
		    "the signature's timestamp t=%lld is in the future",
		    (long long)t);
		goto out;
	}
	c->bhlen = base64_decode(tbh, strlen(tbh), c->bh, sizeof(c->bh));
	c->blen = base64_decode(tb, strlen(tb), c->b, sizeof(c->b));
	if (c->bhlen != 32 || c->blen <= 0) {
		set_result(c, VDKIM_RES_PERMERROR, VDKIM_R_SIG_SYNTAX,
		    "%s is not valid base64 of the right size",
		    c->bhlen != 32 ? "bh=" : "b=");
		goto out;
	}
	c->body_idx = body_set_get(&v->ms.bodies, c->bcanon, c->limit);
	if (c->body_idx < 0)
		set_result(c, VDKIM_RES_TEMPERROR, VDKIM_R_INTERNAL,
		    "out of memory");
out:
	tag_list_free(&tl);
}

/*
 * The signature field as it was hashed: the b= value (and the white space
 * around it) removed, everything else untouched.  Returns a malloc'd copy.
 */
static char *
without_b_value(const char *field, size_t len, size_t *outlen)
{
	const char *p = memchr(field, ':', len) + 1;
	const char *end = field + len;
	char *out;

	while (p < end) {
		const char *seg = p, *semi, *q;

		semi = memchr(p, ';', (size_t)(end - p));
		if (semi == NULL)
			semi = end;
		q = seg;
		while (q < semi && tag_is_fws((unsigned char)*q))
			q++;
		if (q < semi && *q == 'b') {
			q++;
			while (q < semi && tag_is_fws((unsigned char)*q))
				q++;
			if (q < semi && *q == '=') {
				size_t head = (size_t)(q + 1 - field);
				size_t tail = (size_t)(end - semi);
				out = malloc(head + tail + 1);
				if (out == NULL)
					return NULL;
				memcpy(out, field, head);
				memcpy(out + head, semi, tail);
				out[head + tail] = '\0';
				*outlen = head + tail;
				return out;
			}
		}
		p = semi + 1;
	}
	return NULL; /* not reached: b= was checked present */
}

static int
hash_signed_headers(const vdkim_verifier *v, const sig_check *c,
    unsigned char *digest, unsigned *dlen)
{
	const char *self = header_fields_text(&v->hf, c->field);
	size_t selflen = 0;
	char *stripped = without_b_value(self, v->hf.f[c->field].len,
	    &selflen);
	unsigned char *used = calloc(v->hf.n + 1, 1);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int bad = stripped == NULL || used == NULL || md == NULL ||
	    EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1;

	for (size_t i = 0; !bad && i < c->nh; i++) {
		size_t idx = header_fields_pick(&v->hf, c->h[i],
		    strlen(c->h[i]), used);
		if (idx == (size_t)-1)
			continue; /* a missing (or over-signed) field */
		bad = header_canon_hash(md, c->hcanon,
		    header_fields_text(&v->hf, idx), v->hf.f[idx].len, 1) != 0;
	}
	if (!bad)
		bad = header_canon_hash(md, c->hcanon, stripped, selflen, 0) !=
		    0 || EVP_DigestFinal_ex(md, digest, dlen) != 1;
	EVP_MD_CTX_free(md);
	free(used);
	free(stripped);
	return bad ? -1 : 0;
}

/* Fetches and checks the key; returns 0 with rec filled, or sets c. */
static int
fetch_key(vdkim_verifier *v, sig_check *c, key_record *rec)
{
	char qname[600], why[160];
	char *txt = malloc(TXT_MAX);
	vdkim_lookup_rc lrc;
	vdkim_reason r;

	if (txt == NULL) {
		set_result(c, VDKIM_RES_TEMPERROR, VDKIM_R_INTERNAL,
		    "out of memory");
		return -1;
	}
	snprintf(qname, sizeof(qname), "%s._domainkey.%s", c->selector,
	    c->domain);
	lrc = v->lookup(v->lookup_ctx, qname, txt, TXT_MAX);
	if (lrc != VDKIM_LOOKUP_FOUND) {
		free(txt);
		if (lrc == VDKIM_LOOKUP_NOTFOUND)
			set_result(c, VDKIM_RES_PERMERROR,
			    VDKIM_R_KEY_NOT_FOUND,
			    "no key record at %s", qname);
		else
			set_result(c, VDKIM_RES_TEMPERROR,
			    VDKIM_R_KEY_TEMPFAIL,
			    "the lookup of %s failed temporarily", qname);
		return -1;
	}
	r = key_record_parse(txt, rec, why, sizeof(why));
	free(txt);
	if (r != VDKIM_R_OK) {
		set_result(c, VDKIM_RES_PERMERROR, r, "key record at %s: %s",
		    qname, why);
		return -1;
	}
	c->res.testing = rec->testing;
	c->res.key_bits = rec->bits;
	if (rec->revoked)
		set_result(c, VDKIM_RES_PERMERROR, VDKIM_R_KEY_REVOKED,
		    "the key at %s is revoked (empty p=)", qname);
	else if ((rec->type == VDKIM_KEY_RSA) !=
	    (c->res.alg == VDKIM_ALG_RSA_SHA256))
		set_result(c, VDKIM_RES_PERMERROR, VDKIM_R_KEY_TYPE_MISMATCH,
		    "the key at %s is of type %s but a=%s", qname,
		    rec->type == VDKIM_KEY_RSA ? "rsa" : "ed25519",
		    vdkim_alg_name(c->res.alg));
	else if (!rec->sha256_allowed)
		set_result(c, VDKIM_RES_PERMERROR, VDKIM_R_KEY_HASH_RESTRICTED,
		    "the key at %s does not allow sha256 (h=)", qname);
	else if (!rec->email_allowed)
		set_result(c, VDKIM_RES_PERMERROR, VDKIM_R_KEY_SERVICE,
		    "the key at %s is not for email (s=)", qname);
	else if (rec->type == VDKIM_KEY_RSA && rec->bits < VDKIM_RSA_MIN_BITS)
		set_result(c, VDKIM_RES_PERMERROR, VDKIM_R_KEY_TOO_SMALL,
		    "the key at %s has %u bits, under %u (RFC 8301)", qname,
		    rec->bits, VDKIM_RSA_MIN_BITS);
	else if (rec->strict && c->identity != NULL &&
	    strcasecmp(strrchr(c->identity, '@') + 1, c->domain) != 0)
		set_result(c, VDKIM_RES_PERMERROR, VDKIM_R_KEY_STRICT_IDENTITY,
		    "the key at %s has t=s but i= is a subdomain of d=", qname);
	if (c->done) {
		key_record_free(rec);
		return -1;
	}
	return 0;
}

static void
check_signature(vdkim_verifier *v, sig_check *c)
{
	const body_hash *bh = v->ms.bodies.h[c->body_idx];
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned dlen = 0;
	key_record rec;

	if (fetch_key(v, c, &rec) != 0)
		return;
	if (c->limit >= 0 && (uint64_t)c->limit > bh->total) {
		set_result(c, VDKIM_RES_PERMERROR, VDKIM_R_SIG_SYNTAX,
		    "l=%lld is longer than the body (%llu bytes)",
		    (long long)c->limit, (unsigned long long)bh->total);
	} else if (bh->dlen != (unsigned)c->bhlen ||
	    memcmp(bh->digest, c->bh, bh->dlen) != 0) {
		set_result(c, VDKIM_RES_FAIL, VDKIM_R_BODY_HASH_MISMATCH,
		    "the body hash in bh= does not match the body");
	} else if (hash_signed_headers(v, c, digest, &dlen) != 0) {
		set_result(c, VDKIM_RES_TEMPERROR, VDKIM_R_INTERNAL,
		    "hashing the header failed");
	} else if (!key_record_verify(&rec, digest, dlen, c->b,
	    (size_t)c->blen)) {
		set_result(c, VDKIM_RES_FAIL, VDKIM_R_BAD_SIGNATURE,
		    "the signature did not verify");
	} else {
		set_result(c, VDKIM_RES_PASS, VDKIM_R_OK, "%s%s",
		    "the signature verified",
		    rec.testing ? " (the key is in testing mode, t=y)" : "");
	}
	key_record_free(&rec);
}

/* ---------------------------------------------------- the streaming API */

vdkim_rc
vdkim_verifier_new(vdkim_txt_lookup_fn lookup, void *lookup_ctx,
    vdkim_verifier **out, vdkim_error *err)
{
	vdkim_verifier *v;

	if (out == NULL)
		return vdkim_fail(err, VDKIM_EINVAL, "no output pointer");
	v = calloc(1, sizeof(*v));
	if (v == NULL)
		return vdkim_fail(err, VDKIM_ENOMEM, "out of memory");
	v->lookup = lookup ? lookup : vdkim_dns_txt_lookup;
	v->lookup_ctx = lookup_ctx;
	header_fields_init(&v->hf);
	msg_stream_init(&v->ms, "verifier");
	*out = v;
	return VDKIM_OK;
}

void
vdkim_verifier_set_time(vdkim_verifier *v, time_t now)
{
	v->now = now;
}

vdkim_rc
vdkim_verifier_header(vdkim_verifier *v, const char *field, size_t len,
    vdkim_error *err)
{
	vdkim_rc rc;

	if (v == NULL || field == NULL)
		return vdkim_fail(err, VDKIM_EINVAL, "no verifier or field");
	rc = msg_stream_header_turn(&v->ms, "vdkim_verifier_header", err);
	if (rc != VDKIM_OK)
		return rc;
	return msg_stream_track(&v->ms, header_fields_add(&v->hf, field, len,
	    err));
}

vdkim_rc
vdkim_verifier_eoh(vdkim_verifier *v, vdkim_error *err)
{
	vdkim_rc rc;

	if (v == NULL)
		return vdkim_fail(err, VDKIM_EINVAL, "no verifier");
	rc = msg_stream_eoh_turn(&v->ms, "vdkim_verifier_eoh", err);
	if (rc != VDKIM_OK)
		return rc;
	for (size_t i = 0; i < v->hf.n; i++) {
		sig_check *c;

		if (!header_fields_is(&v->hf, i, "DKIM-Signature", 14))
			continue;
		c = &v->sigs[v->nsigs++];
		memset(c, 0, sizeof(*c));
		c->field = i;
		c->res.domain = c->res.selector = c->res.identity = "";
		if (v->nsigs > VDKIM_MAX_VERIFY) {
			/* One slot past the limit reports the rest. */
			set_result(c, VDKIM_RES_NEUTRAL,
			    VDKIM_R_TOO_MANY_SIGNATURES, "more than %d "
			    "signatures: the rest were not checked",
			    VDKIM_MAX_VERIFY);
			break;
		}
		parse_signature(v, c);
	}
	msg_stream_to_body(&v->ms);
	return VDKIM_OK;
}

vdkim_rc
vdkim_verifier_body(vdkim_verifier *v, const void *data, size_t len,
    vdkim_error *err)
{
	if (v == NULL || (data == NULL && len > 0))
		return vdkim_fail(err, VDKIM_EINVAL, "no verifier or data");
	return msg_stream_body(&v->ms, data, len, "vdkim_verifier_body", err);
}

/* Raw input's header fields go through the same checks as the caller's. */
static vdkim_rc
raw_header(void *verifier, const char *field, size_t len, vdkim_error *err)
{
	return vdkim_verifier_header(verifier, field, len, err);
}

static vdkim_rc
raw_eoh(void *verifier, vdkim_error *err)
{
	return vdkim_verifier_eoh(verifier, err);
}

static const msg_stream_owner verifier_input = {
	raw_header, raw_eoh, "vdkim_verifier_body"
};

vdkim_rc
vdkim_verifier_message(vdkim_verifier *v, const void *data, size_t len,
    vdkim_error *err)
{
	if (v == NULL || (data == NULL && len > 0))
		return vdkim_fail(err, VDKIM_EINVAL, "no verifier or data");
	return msg_stream_feed(&v->ms, &verifier_input, v, data, len,
	    "vdkim_verifier_message", err);
}

vdkim_rc
vdkim_verifier_eom(vdkim_verifier *v, vdkim_error *err)
{
	vdkim_rc rc;

	if (v == NULL)
		return vdkim_fail(err, VDKIM_EINVAL, "no verifier");
	rc = msg_stream_eom(&v->ms, "vdkim_verifier_eom", err);
	if (rc != VDKIM_OK)
		return rc;
	for (size_t i = 0; i < v->nsigs; i++)
		if (!v->sigs[i].done)
			check_signature(v, &v->sigs[i]);
	msg_stream_done(&v->ms);
	return VDKIM_OK;
}

size_t
vdkim_verifier_count(const vdkim_verifier *v)
{
	return v != NULL && v->ms.phase == MSG_DONE ? v->nsigs : 0;
}

const vdkim_sig_result *
vdkim_verifier_result(const vdkim_verifier *v, size_t i)
{
	if (v == NULL || v->ms.phase != MSG_DONE || i >= v->nsigs)
		return NULL;
	return &v->sigs[i].res;
}

void
vdkim_verifier_free(vdkim_verifier *v)
{
	if (v == NULL)
		return;
	for (size_t i = 0; i < v->nsigs; i++)
		sig_check_free(&v->sigs[i]);
	header_fields_free(&v->hf);
	msg_stream_free(&v->ms);
	free(v);
}
