/*
 * signer.c - making DKIM-Signature header fields (RFC 6376 5, RFC 8463).
 *
 * Life of a signer: _add() one or more signature specs, then the header
 * fields, _eoh(), body chunks, _eom().  The body is hashed on the fly, once
 * per body canonicalization (see body_set.c), and never stored; the header
 * fields are kept (bounded) because h= is only known once all are seen.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "base64.h"
#include "body_set.h"
#include "domain_name.h"
#include "error.h"
#include "header_canon.h"
#include "header_fields.h"
#include "identity.h"
#include "key.h"
#include "msg_stream.h"
#include "sig_fold.h"
#include "signer_header.h"
#include "signer_remake.h"
#include "strbuf.h"

/* PowerMTA's base set, signed when present. */
static const char *const default_headers[] = {
	"From", "Sender", "Reply-To", "Subject", "Date", "Message-ID", "To",
	"Cc", "MIME-Version", "Content-Type", "Content-Transfer-Encoding",
	"Content-ID", "Content-Description", "Resent-Date", "Resent-From",
	"Resent-Sender", "Resent-To", "Resent-Cc", "Resent-Message-ID",
	"In-Reply-To", "References", "List-Id", "List-Help",
	"List-Unsubscribe", "List-Unsubscribe-Post", "List-Subscribe",
	"List-Post", "List-Owner", "List-Archive", "Feedback-ID", NULL
};

static const char *const default_oversign[] = { "From", NULL };

#define MAX_SIGNED_NAMES 64

typedef struct sig_job {
	vdkim_key *key;
	char *domain, *selector, *identity;
	vdkim_canon hcanon, bcanon;
	/* The names to sign (deduplicated), their lengths, and which are
	 * over-signed; the names live in one allocation, name_arena. */
	const char *names[MAX_SIGNED_NAMES];
	size_t name_len[MAX_SIGNED_NAMES];
	unsigned char oversign[MAX_SIGNED_NAMES];
	size_t nnames;
	char *name_arena;
	size_t arena_used;
	int add_timestamp, body_length;
	long expire_after;
	time_t now;
	int self_check;          /* verify before release (key.c decides) */
	int body_idx;
	char *result;            /* NULL after eom: dropped by the check */
	size_t result_len;
} sig_job;

struct vdkim_signer {
	msg_stream ms;      /* call order, body hashes, raw input */
	size_t njobs;
	sig_job jobs[VDKIM_MAX_SIGNATURES];
	header_fields hf;
	int lacked_final_eol;
};

const char *const *
vdkim_default_headers(void)
{
	return default_headers;
}

void
vdkim_sig_spec_init(vdkim_sig_spec *spec)
{
	memset(spec, 0, sizeof(*spec));
	spec->size = sizeof(*spec);
	spec->header_canon = VDKIM_CANON_RELAXED;
	spec->body_canon = VDKIM_CANON_RELAXED;
	spec->add_timestamp = 1;
	spec->self_check = VDKIM_SELF_CHECK_DEFAULT;
}

/* ----------------------------------------------------------- validation */

/* The spec's size before self_check was appended: such a caller gets the
 * default check. */
#define SPEC_SIZE_V1 offsetof(vdkim_sig_spec, self_check)

static vdkim_rc
check_spec(const vdkim_sig_spec *spec, vdkim_error *err)
{
	char why[VDKIM_ERRMSG_MAX];

	if (spec->size != sizeof(*spec) && spec->size != SPEC_SIZE_V1)
		return vdkim_fail(err, VDKIM_EINVAL, "signature spec of "
		    "unknown size %zu (initialise it with "
		    "vdkim_sig_spec_init)", spec->size);
	if (spec->key == NULL)
		return vdkim_fail(err, VDKIM_EINVAL, "no signing key given");
	if (spec->domain == NULL || !domain_is_valid(spec->domain))
		return vdkim_fail(err, VDKIM_EINVAL, "signing domain d=\"%s\" "
		    "is not a valid domain name",
		    spec->domain ? spec->domain : "");
	if (spec->selector == NULL || !domain_is_valid(spec->selector))
		return vdkim_fail(err, VDKIM_EINVAL, "selector s=\"%s\" is "
		    "not a valid DNS label sequence",
		    spec->selector ? spec->selector : "");
	if (spec->header_canon != VDKIM_CANON_SIMPLE &&
	    spec->header_canon != VDKIM_CANON_RELAXED)
		return vdkim_fail(err, VDKIM_EINVAL, "unknown header "
		    "canonicalization %d", (int)spec->header_canon);
	if (spec->body_canon != VDKIM_CANON_SIMPLE &&
	    spec->body_canon != VDKIM_CANON_RELAXED)
		return vdkim_fail(err, VDKIM_EINVAL, "unknown body "
		    "canonicalization %d", (int)spec->body_canon);
	if (spec->expire_after < 0)
		return vdkim_fail(err, VDKIM_EINVAL, "the expiry interval "
		    "must not be negative");
	/* The policy checks i= with the same function (identity.c). */
	if (spec->identity != NULL &&
	    identity_check(spec->identity, spec->domain, why,
	    sizeof(why)) != 0)
		return vdkim_fail(err, VDKIM_EINVAL, "%s", why);
	return VDKIM_OK;
}

/* ---------------------------------------------------------------- jobs */

static void
job_free(sig_job *j)
{
	vdkim_key_unref(j->key);
	free(j->domain);
	free(j->selector);
	free(j->identity);
	free(j->name_arena);
	free(j->result);
	memset(j, 0, sizeof(*j));
}

/* Adds name to the job's set (once, whatever its case). */
static vdkim_rc
job_add_name(sig_job *j, const char *name, int oversign, vdkim_error *err)
{
	size_t len = strlen(name);

	if (!header_name_is_valid(name))
		return vdkim_fail(err, VDKIM_EINVAL, "\"%.40s\" is not a "
		    "header field name (printable, no colon, at most %d bytes)",
		    name, FIELD_NAME_MAX);
	if (len == 14 && strcasecmp(name, "DKIM-Signature") == 0)
		return VDKIM_OK; /* never sign our own kind */
	for (size_t i = 0; i < j->nnames; i++) {
		if (j->name_len[i] == len &&
		    strncasecmp(j->names[i], name, len) == 0) {
			j->oversign[i] |= (unsigned char)oversign;
			return VDKIM_OK;
		}
	}
	if (j->nnames == MAX_SIGNED_NAMES)
		return vdkim_fail(err, VDKIM_EINVAL, "more than %d header "
		    "names to sign", MAX_SIGNED_NAMES);
	/* The arena was sized for every name of every list in job_init. */
	memcpy(j->name_arena + j->arena_used, name, len + 1);
	j->names[j->nnames] = j->name_arena + j->arena_used;
	j->name_len[j->nnames] = len;
	j->oversign[j->nnames++] = (unsigned char)oversign;
	j->arena_used += len + 1;
	return VDKIM_OK;
}

static vdkim_rc
job_add_names(sig_job *j, const char *const *list, int oversign,
    vdkim_error *err)
{
	vdkim_rc rc = VDKIM_OK;

	for (; list != NULL && *list != NULL && rc == VDKIM_OK; list++)
		rc = job_add_name(j, *list, oversign, err);
	return rc;
}

/* Bytes needed to copy every name of list, NULs included. */
static size_t
list_bytes(const char *const *list)
{
	size_t n = 0;

	for (; list != NULL && *list != NULL; list++)
		n += strlen(*list) + 1;
	return n;
}

static char *
dup_or_null(const char *s, int *failed)
{
	char *d;

	if (s == NULL)
		return NULL;
	d = strdup(s);
	if (d == NULL)
		*failed = 1;
	return d;
}

static vdkim_rc
job_init(sig_job *j, const vdkim_sig_spec *spec, vdkim_error *err)
{
	const char *const *headers, *const *oversign;
	int failed = 0;
	vdkim_rc rc;

	memset(j, 0, sizeof(*j));
	j->key = vdkim_key_ref(spec->key);
	j->domain = dup_or_null(spec->domain, &failed);
	j->selector = dup_or_null(spec->selector, &failed);
	j->identity = dup_or_null(spec->identity, &failed);
	if (failed)
		return vdkim_fail(err, VDKIM_ENOMEM, "out of memory");
	j->hcanon = spec->header_canon;
	j->bcanon = spec->body_canon;
	j->add_timestamp = spec->add_timestamp;
	j->body_length = spec->body_length;
	j->expire_after = spec->expire_after;
	j->now = spec->now;
	j->self_check = key_wants_self_check(spec->key,
	    spec->size > SPEC_SIZE_V1 ? spec->self_check :
	    VDKIM_SELF_CHECK_DEFAULT);
	j->body_idx = -1;
	headers = spec->headers ? spec->headers : default_headers;
	oversign = spec->oversign ? spec->oversign : default_oversign;
	j->name_arena = malloc(sizeof("From") + list_bytes(headers) +
	    list_bytes(spec->extra_headers) + list_bytes(oversign));
	if (j->name_arena == NULL)
		return vdkim_fail(err, VDKIM_ENOMEM, "out of memory");
	/* From is always signed (RFC 6376 5.4). */
	rc = job_add_name(j, "From", 0, err);
	if (rc == VDKIM_OK)
		rc = job_add_names(j, headers, 0, err);
	if (rc == VDKIM_OK)
		rc = job_add_names(j, spec->extra_headers, 0, err);
	if (rc == VDKIM_OK)
		rc = job_add_names(j, oversign, 1, err);
	return rc;
}

/* ---------------------------------------------------- the streaming API */

vdkim_rc
vdkim_signer_new(vdkim_signer **out, vdkim_error *err)
{
	vdkim_signer *s;

	if (out == NULL)
		return vdkim_fail(err, VDKIM_EINVAL, "no output pointer");
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return vdkim_fail(err, VDKIM_ENOMEM, "out of memory");
	header_fields_init(&s->hf);
	msg_stream_init(&s->ms, "signer");
	*out = s;
	return VDKIM_OK;
}

vdkim_rc
vdkim_signer_add(vdkim_signer *s, const vdkim_sig_spec *spec,
    vdkim_error *err)
{
	vdkim_rc rc;

	if (s == NULL || spec == NULL)
		return vdkim_fail(err, VDKIM_EINVAL, "no signer or spec");
	if (s->ms.phase != MSG_NEW)
		return msg_stream_refuse(&s->ms, "vdkim_signer_add", err);
	if (s->njobs == VDKIM_MAX_SIGNATURES)
		return vdkim_fail(err, VDKIM_ELIMIT, "at most %d signatures "
		    "per message", VDKIM_MAX_SIGNATURES);
	rc = check_spec(spec, err);
	if (rc != VDKIM_OK)
		return rc;
	rc = job_init(&s->jobs[s->njobs], spec, err);
	if (rc != VDKIM_OK) {
		job_free(&s->jobs[s->njobs]);
		return rc;
	}
	s->njobs++;
	return VDKIM_OK;
}

vdkim_rc
vdkim_signer_header(vdkim_signer *s, const char *field, size_t len,
    vdkim_error *err)
{
	vdkim_rc rc;

	if (s == NULL || field == NULL)
		return vdkim_fail(err, VDKIM_EINVAL, "no signer or field");
	rc = msg_stream_header_turn(&s->ms, "vdkim_signer_header", err);
	if (rc != VDKIM_OK)
		return rc;
	return msg_stream_track(&s->ms, header_fields_add(&s->hf, field, len,
	    err));
}

vdkim_rc
signer_take_header(vdkim_signer *s, header_fields *hf, vdkim_error *err)
{
	if (s == NULL || hf == NULL)
		return vdkim_fail(err, VDKIM_EINVAL, "no signer or header");
	if (s->ms.phase != MSG_NEW) /* only before any field was given */
		return msg_stream_refuse(&s->ms, "signer_take_header", err);
	header_fields_free(&s->hf);
	s->hf = *hf;
	header_fields_init(hf);
	return msg_stream_header_turn(&s->ms, "signer_take_header", err);
}

vdkim_rc
vdkim_signer_eoh(vdkim_signer *s, vdkim_error *err)
{
	vdkim_rc rc;

	if (s == NULL)
		return vdkim_fail(err, VDKIM_EINVAL, "no signer");
	rc = msg_stream_eoh_turn(&s->ms, "vdkim_signer_eoh", err);
	if (rc != VDKIM_OK)
		return rc;
	if (s->njobs == 0)
		return msg_stream_track(&s->ms, vdkim_fail(err, VDKIM_ESTATE,
		    "no signature was asked for: no key was given for this "
		    "message"));
	if (header_fields_count(&s->hf, "From", 4) == 0)
		return msg_stream_track(&s->ms, vdkim_fail(err, VDKIM_ESYNTAX,
		    "the message "
		    "has no From: header field, which DKIM must sign "
		    "(RFC 6376 5.4)"));
	for (size_t i = 0; i < s->njobs; i++) {
		sig_job *j = &s->jobs[i];
		j->body_idx = body_set_get(&s->ms.bodies, j->bcanon, -1);
		if (j->body_idx < 0)
			return msg_stream_track(&s->ms, vdkim_fail(err,
			    VDKIM_ENOMEM, "out of memory"));
	}
	msg_stream_to_body(&s->ms);
	return VDKIM_OK;
}

vdkim_rc
vdkim_signer_body(vdkim_signer *s, const void *data, size_t len,
    vdkim_error *err)
{
	if (s == NULL || (data == NULL && len > 0))
		return vdkim_fail(err, VDKIM_EINVAL, "no signer or data");
	return msg_stream_body(&s->ms, data, len, "vdkim_signer_body", err);
}

/* Raw input's header fields go through the same checks as the caller's. */
static vdkim_rc
raw_header(void *signer, const char *field, size_t len, vdkim_error *err)
{
	return vdkim_signer_header(signer, field, len, err);
}

static vdkim_rc
raw_eoh(void *signer, vdkim_error *err)
{
	return vdkim_signer_eoh(signer, err);
}

static const msg_stream_owner signer_input = {
	raw_header, raw_eoh, "vdkim_signer_body"
};

vdkim_rc
vdkim_signer_message(vdkim_signer *s, const void *data, size_t len,
    vdkim_error *err)
{
	if (s == NULL || (data == NULL && len > 0))
		return vdkim_fail(err, VDKIM_EINVAL, "no signer or data");
	return msg_stream_feed(&s->ms, &signer_input, s, data, len,
	    "vdkim_signer_message", err);
}

/* --------------------------------------------------- building the field */

/*
 * How many h= entries each name gets: one per instance in the message,
 * plus one when over-signed, within H_ENTRIES_MAX in all (a message with
 * hundreds of instances of a signed field keeps its top ones unsigned
 * rather than making an h= no verifier accepts).
 */
static void
plan_entries(const vdkim_signer *s, const sig_job *j, size_t *entries)
{
	size_t budget = H_ENTRIES_MAX;

	for (size_t i = 0; i < j->nnames; i++) {
		size_t n = header_fields_count(&s->hf, j->names[i],
		    j->name_len[i]) + j->oversign[i];
		entries[i] = n < budget ? n : budget;
		budget -= entries[i];
	}
}

/* Writes every tag before the b= value, folded. */
static void
write_tags(const sig_job *j, const size_t *entries, const body_hash *bh,
    time_t now, folder *f)
{
	/* Every value is bounded: d= and s= 253, i= IDENTITY_MAX, names
	 * FIELD_NAME_MAX. */
	char tmp[512];
	char b64[EVP_MAX_MD_SIZE * 2];
	size_t written = 0;

	fold_start(f, f->sb, "DKIM-Signature");
	fold_atom(f, "v=1;");
	snprintf(tmp, sizeof(tmp), "a=%s;",
	    vdkim_alg_name(vdkim_key_get_alg(j->key)));
	fold_atom(f, tmp);
	snprintf(tmp, sizeof(tmp), "c=%s/%s;", vdkim_canon_name(j->hcanon),
	    vdkim_canon_name(j->bcanon));
	fold_atom(f, tmp);
	snprintf(tmp, sizeof(tmp), "d=%s;", j->domain);
	fold_atom(f, tmp);
	if (j->identity != NULL) {
		snprintf(tmp, sizeof(tmp), "i=%s;", j->identity);
		fold_atom(f, tmp);
	}
	snprintf(tmp, sizeof(tmp), "s=%s;", j->selector);
	fold_atom(f, tmp);
	if (j->add_timestamp || j->expire_after > 0) {
		snprintf(tmp, sizeof(tmp), "t=%lld;", (long long)now);
		fold_atom(f, tmp);
	}
	if (j->expire_after > 0) {
		snprintf(tmp, sizeof(tmp), "x=%lld;",
		    (long long)now + j->expire_after);
		fold_atom(f, tmp);
	}
	if (j->body_length) {
		snprintf(tmp, sizeof(tmp), "l=%llu;",
		    (unsigned long long)bh->total);
		fold_atom(f, tmp);
	}
	/* h=: each name as often as it occurs, plus one if over-signed. */
	for (size_t i = 0; i < j->nnames; i++) {
		for (size_t k = 0; k < entries[i]; k++, written++) {
			snprintf(tmp, sizeof(tmp), "%s%s", written ? ":" : "h=",
			    j->names[i]);
			if (written == 0)
				fold_atom(f, tmp);
			else
				fold_glued(f, tmp);
		}
	}
	fold_glued(f, ";");
	base64_encode(bh->digest, bh->dlen, b64);
	snprintf(tmp, sizeof(tmp), "bh=%s;", b64);
	fold_atom(f, tmp);
	fold_break(f);
	fold_glued(f, "b=");
}

/* Hashes the signed header fields, then the signature field itself. */
static vdkim_rc
hash_headers(const vdkim_signer *s, const sig_job *j, const size_t *entries,
    const char *sig, size_t siglen, unsigned char *digest, unsigned *dlen,
    vdkim_error *err)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char *used = calloc(s->hf.n + 1, 1);
	vdkim_rc rc = VDKIM_OK;
	int bad = md == NULL || used == NULL ||
	    EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1;

	for (size_t i = 0; !bad && i < j->nnames; i++) {
		for (size_t k = 0; !bad && k < entries[i]; k++) {
			size_t idx = header_fields_pick(&s->hf, j->names[i],
			    j->name_len[i], used);
			if (idx == (size_t)-1)
				continue; /* the over-signing entry */
			bad = header_canon_hash(md, j->hcanon,
			    header_fields_text(&s->hf, idx),
			    s->hf.f[idx].len, 1) != 0;
		}
	}
	if (!bad)
		bad = header_canon_hash(md, j->hcanon, sig, siglen, 0) != 0 ||
		    EVP_DigestFinal_ex(md, digest, dlen) != 1;
	if (bad)
		rc = vdkim_fail_ssl(err, VDKIM_ECRYPTO,
		    "hashing the header failed");
	EVP_MD_CTX_free(md);
	free(used);
	return rc;
}

/* Rewrites CRLF as LF when the message uses bare LF line ends. */
static void
to_message_eol(char *text, size_t *len, int crlf)
{
	size_t r, w = 0;

	if (crlf)
		return;
	for (r = 0; r < *len; r++)
		if (!(text[r] == '\r' && r + 1 < *len && text[r + 1] == '\n'))
			text[w++] = text[r];
	text[w] = '\0';
	*len = w;
}

/* The signature as a receiver will see it: verified with the public
 * half, or not released (the sentence names which one). */
static vdkim_rc
self_check(const sig_job *j, const unsigned char *digest, size_t dlen,
    const unsigned char *sig, size_t siglen, vdkim_error *err)
{
	vdkim_error e;
	vdkim_rc rc = key_verify_digest(j->key, digest, dlen, sig, siglen, &e);

	if (rc != VDKIM_OK)
		return vdkim_fail(err, rc, "signature d=%s s=%s: %s",
		    j->domain, j->selector, e.msg);
	return VDKIM_OK;
}

static vdkim_rc
make_signature(vdkim_signer *s, sig_job *j, vdkim_error *err)
{
	const body_hash *bh = s->ms.bodies.h[j->body_idx];
	time_t now = j->now ? j->now : time(NULL);
	unsigned char digest[EVP_MAX_MD_SIZE], sig[KEY_MAX_SIG_BYTES];
	char b64[KEY_MAX_SIG_BYTES * 2];
	size_t entries[MAX_SIGNED_NAMES];
	unsigned dlen = 0;
	size_t siglen = 0;
	strbuf sb;
	folder f;
	vdkim_rc rc;

	sb_init(&sb);
	f.sb = &sb;
	plan_entries(s, j, entries);
	write_tags(j, entries, bh, now, &f);
	if (sb.failed) {
		sb_free(&sb);
		return vdkim_fail(err, VDKIM_ENOMEM, "out of memory");
	}
	/* The hash covers the field exactly as emitted, with b= empty. */
	rc = hash_headers(s, j, entries, sb.s, sb.len, digest, &dlen, err);
	if (rc == VDKIM_OK)
		rc = key_sign_digest(j->key, digest, dlen, sig, &siglen, err);
	if (rc == VDKIM_OK && j->self_check)
		rc = self_check(j, digest, dlen, sig, siglen, err);
	if (rc != VDKIM_OK) {
		sb_free(&sb);
		return rc;
	}
	base64_encode(sig, siglen, b64);
	fold_stream(&f, b64);
	sb_adds(&sb, "\r\n");
	j->result_len = sb.len;
	j->result = sb_take(&sb);
	if (j->result == NULL)
		return vdkim_fail(err, VDKIM_ENOMEM, "out of memory");
	to_message_eol(j->result, &j->result_len,
	    !s->hf.eol_seen || s->hf.eol_crlf);
	return VDKIM_OK;
}

vdkim_rc
vdkim_signer_eom(vdkim_signer *s, vdkim_error *err)
{
	vdkim_rc rc;
	int dropped = 0;

	if (s == NULL)
		return vdkim_fail(err, VDKIM_EINVAL, "no signer");
	rc = msg_stream_eom(&s->ms, "vdkim_signer_eom", err);
	if (rc != VDKIM_OK)
		return rc;
	s->lacked_final_eol = body_set_lacked_final_eol(&s->ms.bodies);
	/* A signature that fails its self-check is dropped, the others
	 * are made; the first such failure is the answer. */
	for (size_t i = 0; i < s->njobs; i++) {
		vdkim_error e;

		rc = make_signature(s, &s->jobs[i], &e);
		if (rc == VDKIM_OK || (rc == VDKIM_ESELFCHECK && dropped))
			continue;
		if (err != NULL)
			*err = e;
		if (rc != VDKIM_ESELFCHECK)
			return msg_stream_track(&s->ms, rc);
		dropped = 1;
	}
	msg_stream_done(&s->ms);
	return dropped ? VDKIM_ESELFCHECK : VDKIM_OK;
}

vdkim_rc
signer_remake(vdkim_signer *s, size_t i, vdkim_key *key, vdkim_error *err)
{
	sig_job *j;

	if (s == NULL || key == NULL)
		return vdkim_fail(err, VDKIM_EINVAL, "no signer or key");
	if (s->ms.phase != MSG_DONE || i >= s->njobs ||
	    s->jobs[i].result != NULL)
		return vdkim_fail(err, VDKIM_ESTATE, "signature %zu cannot be "
		    "made again: it was not set aside", i);
	j = &s->jobs[i];
	vdkim_key_ref(key);
	vdkim_key_unref(j->key);
	j->key = key;
	/* A fault was just seen: the next signature is checked too. */
	j->self_check = 1;
	return make_signature(s, j, err);
}

size_t
vdkim_signer_count(const vdkim_signer *s)
{
	return s != NULL && s->ms.phase == MSG_DONE ? s->njobs : 0;
}

const char *
vdkim_signer_result(const vdkim_signer *s, size_t i, size_t *len)
{
	if (s == NULL || s->ms.phase != MSG_DONE || i >= s->njobs)
		return NULL;
	if (len != NULL)
		*len = s->jobs[i].result_len;
	return s->jobs[i].result;
}

const char *
vdkim_signer_eol(const vdkim_signer *s)
{
	return s->hf.eol_seen && !s->hf.eol_crlf ? "\n" : "\r\n";
}

int
vdkim_signer_added_final_eol(const vdkim_signer *s)
{
	return s->lacked_final_eol;
}

void
vdkim_signer_free(vdkim_signer *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->njobs; i++)
		job_free(&s->jobs[i]);
	header_fields_free(&s->hf);
	msg_stream_free(&s->ms);
	free(s);
}
