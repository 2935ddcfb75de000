/*
 * stats_format.c - a stats layout as Prometheus text, JSON or a summary
 * (stats_format.h).
 *
 * A reader first copies the counters into a snapshot, adding up the slots
 * of a name claimed twice (a claimer that gave up waiting, stats_file.c)
 * into the first one, so every series appears once.  It reads while
 * writers add: each counter is read atomically, the whole is not one
 * instant, which no scraper needs.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stats_format.h"
#include "strbuf.h"

static const char *const hook_names[STATS_NHOOKS] = { "pre-queue",
	"pre-delivery" };
static const char *const outcome_names[STATS_NOUTCOMES] = { "signed",
	"unsigned", "deferred", "rejected" };
static const char *const verdict_names[] = { "unchecked", "ok", "missing",
	"mismatch" };

#define NV (STATS_VMTA_MAX + 1)
#define NR (STATS_REASON_MAX + 1)
#define NS (STATS_SIG_MAX + 1)
#define NK (STATS_KIND_MAX + 1)
#define ND (STATS_DEVERR_MAX + 1)

typedef struct snap {
	const stats_layout *l;
	int cv[NV], cr[NR], cs[NS], ck[NK], cd[ND], ckey[STATS_KEY_MAX],
	    csched[STATS_SCHED_MAX];
	uint64_t msgs[STATS_NHOOKS][NV][STATS_NOUTCOMES][NR];
	uint64_t sigs[NS];
	uint64_t lat[NK][STATS_BUCKETS + 1], lat_sum[NK], lat_count[NK];
	uint64_t dev[ND];
	time_t now;
} snap;

static uint64_t
rd(const _Atomic uint64_t *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

/* canon[i]: the first ready slot with slot i's name, -1 for a slot not
 * ready; the "other" index is its own. */
static void
canon(const stats_name *tab, size_t cap, int *out)
{
	for (size_t i = 0; i < cap; i++) {
		out[i] = -1;
		if (atomic_load_explicit(&tab[i].state, memory_order_acquire) !=
		    STATS_SLOT_READY)
			continue;
		out[i] = (int)i;
		for (size_t j = 0; j < i; j++)
			if (out[j] == (int)j &&
			    strcmp(tab[j].name, tab[i].name) == 0) {
				out[i] = (int)j;
				break;
			}
	}
	out[cap] = (int)cap;
}

static const char *
name_of(const stats_name *tab, size_t cap, size_t i)
{
	return i == cap ? "other" : tab[i].name;
}

static void
take(snap *s, const stats_layout *l, time_t now)
{
	memset(s, 0, sizeof(*s));
	s->l = l;
	s->now = now;
	canon(l->vmta, STATS_VMTA_MAX, s->cv);
	canon(l->reason, STATS_REASON_MAX, s->cr);
	canon(l->sig, STATS_SIG_MAX, s->cs);
	canon(l->kind, STATS_KIND_MAX, s->ck);
	canon(l->deverr, STATS_DEVERR_MAX, s->cd);
	{
		int tmp[STATS_KEY_MAX + 1], tmp2[STATS_SCHED_MAX + 1];

		canon(l->key, STATS_KEY_MAX, tmp);
		canon(l->sched, STATS_SCHED_MAX, tmp2);
		memcpy(s->ckey, tmp, sizeof(s->ckey));
		memcpy(s->csched, tmp2, sizeof(s->csched));
	}
	for (size_t h = 0; h < STATS_NHOOKS; h++)
		for (size_t v = 0; v < NV; v++)
			for (size_t o = 0; o < STATS_NOUTCOMES; o++)
				for (size_t r = 0; r < NR; r++)
					if (s->cv[v] >= 0 && s->cr[r] >= 0)
						s->msgs[h][s->cv[v]][o][s->cr[r]] +=
						    rd(&l->msgs[h][v][o][r]);
	for (size_t i = 0; i < NS; i++)
		if (s->cs[i] >= 0)
			s->sigs[s->cs[i]] += rd(&l->sigs[i]);
	for (size_t i = 0; i < ND; i++)
		if (s->cd[i] >= 0)
			s->dev[s->cd[i]] += rd(&l->deverrs[i]);
	for (size_t i = 0; i < NK; i++) {
		int k = s->ck[i];

		if (k < 0)
			continue;
		for (size_t b = 0; b <= STATS_BUCKETS; b++)
			s->lat[k][b] += rd(&l->latency[i].bucket[b]);
		s->lat_sum[k] += rd(&l->latency[i].sum_ns);
		s->lat_count[k] += rd(&l->latency[i].count);
	}
}

/* The selector of a schedule gauge without waiting: "" when a writer
 * was at it during both tries. */
static void
read_selector(const stats_sched_gauge *g, char *out, size_t len)
{
	for (int tries = 0; tries < 2; tries++) {
		uint64_t a = atomic_load(&g->seq);

		if (a % 2 == 0) {
			snprintf(out, len, "%.*s", (int)sizeof(g->selector) - 1,
			    g->selector);
			if (atomic_load(&g->seq) == a)
				return;
		}
	}
	out[0] = '\0';
}

static int
key_live(const snap *s, size_t i)
{
	return s->ckey[i] == (int)i &&
	    rd(&s->l->keys[i].gen) == rd(&s->l->load_gen);
}

static int
sched_live(const snap *s, size_t i)
{
	return s->csched[i] == (int)i &&
	    rd(&s->l->scheds[i].gen) == rd(&s->l->load_gen);
}

static const char *
verdict_name(uint64_t v)
{
	return v < sizeof(verdict_names) / sizeof(verdict_names[0]) ?
	    verdict_names[v] : "unchecked";
}

/* The words of "A B C" (a slot's compound name) into parts. */
static size_t
split3(const char *name, char parts[3][STATS_NAME_MAX])
{
	size_t n = 0;
	const char *p = name;

	memset(parts, 0, 3 * STATS_NAME_MAX);
	while (n < 3 && *p != '\0') {
		const char *sp = n < 2 ? strchr(p, ' ') : NULL;
		size_t len = sp ? (size_t)(sp - p) : strlen(p);

		memcpy(parts[n++], p, len);
		p += len + (sp != NULL);
	}
	return n;
}

/* ------------------------------------------------------------ Prometheus */

/* A label value: backslash, quote and newline escaped (format 0.0.4). */
static void
prom_label(strbuf *sb, const char *key, const char *v, int first)
{
	sb_addf(sb, "%s%s=\"", first ? "" : ",", key);
	for (; *v != '\0'; v++) {
		if (*v == '\\' || *v == '"')
			sb_addf(sb, "\\%c", *v);
		else if (*v == '\n')
			sb_adds(sb, "\\n");
		else
			sb_add(sb, v, 1);
	}
	sb_adds(sb, "\"");
}

static void
prom_family(strbuf *sb, const char *name, const char *type, const char *help)
{
	sb_addf(sb, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void
prom_messages(strbuf *sb, const snap *s)
{
	prom_family(sb, "vdkim_messages_total", "counter", "Messages through "
	    "a hook, by virtual MTA, outcome and reason code.");
	for (size_t h = 0; h < STATS_NHOOKS; h++)
		for (size_t v = 0; v < NV; v++)
			for (size_t o = 0; o < STATS_NOUTCOMES; o++)
				for (size_t r = 0; r < NR; r++) {
					uint64_t n = s->msgs[h][v][o][r];

					if (n == 0)
						continue;
					sb_adds(sb, "vdkim_messages_total{");
					prom_label(sb, "hook", hook_names[h], 1);
					prom_label(sb, "vmta", name_of(s->l->vmta,
					    STATS_VMTA_MAX, v), 0);
					prom_label(sb, "outcome",
					    outcome_names[o], 0);
					prom_label(sb, "reason", name_of(
					    s->l->reason, STATS_REASON_MAX, r),
					    0);
					sb_addf(sb, "} %llu\n",
					    (unsigned long long)n);
				}
}

static void
prom_signatures(strbuf *sb, const snap *s)
{
	char parts[3][STATS_NAME_MAX];

	prom_family(sb, "vdkim_signatures_total", "counter", "Signatures made, "
	    "by d=, s= and algorithm (at most 128 triples, then "
	    "domain \"other\").");
	for (size_t i = 0; i < NS; i++) {
		if (s->cs[i] != (int)i || s->sigs[i] == 0)
			continue;
		if (i == STATS_SIG_MAX)
			split3("other other other", parts);
		else
			split3(s->l->sig[i].name, parts);
		sb_adds(sb, "vdkim_signatures_total{");
		prom_label(sb, "domain", parts[0], 1);
		prom_label(sb, "selector", parts[1], 0);
		prom_label(sb, "algorithm", parts[2], 0);
		sb_addf(sb, "} %llu\n", (unsigned long long)s->sigs[i]);
	}
}

static void
prom_latency(strbuf *sb, const snap *s)
{
	prom_family(sb, "vdkim_signing_duration_seconds", "histogram",
	    "Time to sign one message, by key kind.");
	for (size_t i = 0; i < NK; i++) {
		const char *kind = name_of(s->l->kind, STATS_KIND_MAX, i);
		uint64_t cum = 0;

		if (s->ck[i] != (int)i || s->lat_count[i] == 0)
			continue;
		for (size_t b = 0; b <= STATS_BUCKETS; b++) {
			char le[32];

			cum += s->lat[i][b];
			if (b < STATS_BUCKETS)
				snprintf(le, sizeof(le), "%g", stats_bounds[b]);
			else
				snprintf(le, sizeof(le), "+Inf");
			sb_adds(sb, "vdkim_signing_duration_seconds_bucket{");
			prom_label(sb, "kind", kind, 1);
			prom_label(sb, "le", le, 0);
			sb_addf(sb, "} %llu\n", (unsigned long long)cum);
		}
		sb_adds(sb, "vdkim_signing_duration_seconds_sum{");
		prom_label(sb, "kind", kind, 1);
		sb_addf(sb, "} %.9f\n", (double)s->lat_sum[i] / 1e9);
		sb_adds(sb, "vdkim_signing_duration_seconds_count{");
		prom_label(sb, "kind", kind, 1);
		sb_addf(sb, "} %llu\n", (unsigned long long)s->lat_count[i]);
	}
}

static void
prom_devices(strbuf *sb, const snap *s)
{
	char parts[3][STATS_NAME_MAX];

	prom_family(sb, "vdkim_device_errors_total", "counter", "Signing "
	    "failures of a key's device, by device and code.");
	for (size_t i = 0; i < ND; i++) {
		if (s->cd[i] != (int)i || s->dev[i] == 0)
			continue;
		split3(i == STATS_DEVERR_MAX ? "other other" :
		    s->l->deverr[i].name, parts);
		sb_adds(sb, "vdkim_device_errors_total{");
		prom_label(sb, "device", parts[0], 1);
		prom_label(sb, "code", parts[1], 0);
		sb_addf(sb, "} %llu\n", (unsigned long long)s->dev[i]);
	}
}

static void
prom_policy(strbuf *sb, const snap *s)
{
	const stats_layout *l = s->l;
	uint64_t at = rd(&l->loaded_at);

	prom_family(sb, "vdkim_reloads_total", "counter", "Config reloads, "
	    "by result.");
	sb_addf(sb, "vdkim_reloads_total{result=\"ok\"} %llu\n",
	    (unsigned long long)rd(&l->reloads_ok));
	sb_addf(sb, "vdkim_reloads_total{result=\"failed\"} %llu\n",
	    (unsigned long long)rd(&l->reloads_failed));
	prom_family(sb, "vdkim_policy_loaded_timestamp_seconds", "gauge",
	    "When the config in force was loaded (unix time).");
	sb_addf(sb, "vdkim_policy_loaded_timestamp_seconds %llu\n",
	    (unsigned long long)at);
	prom_family(sb, "vdkim_policy_age_seconds", "gauge", "Seconds since "
	    "the config in force was loaded.");
	sb_addf(sb, "vdkim_policy_age_seconds %lld\n", at ?
	    (long long)s->now - (long long)at : 0LL);
	prom_family(sb, "vdkim_stats_names_dropped_total", "counter",
	    "Names counted under \"other\" (a table was full or a name too "
	    "long).");
	sb_addf(sb, "vdkim_stats_names_dropped_total %llu\n",
	    (unsigned long long)rd(&l->names_dropped));
}

static void
prom_keys(strbuf *sb, const snap *s)
{
	char parts[3][STATS_NAME_MAX];

	prom_family(sb, "vdkim_key_dns_check", "gauge", "1 for each key's last "
	    "DNS-check verdict (unchecked, ok, missing, mismatch).");
	for (size_t i = 0; i < STATS_KEY_MAX; i++) {
		if (!key_live(s, i))
			continue;
		split3(s->l->key[i].name, parts);
		sb_adds(sb, "vdkim_key_dns_check{");
		prom_label(sb, "domain", parts[0], 1);
		prom_label(sb, "selector", parts[1], 0);
		prom_label(sb, "verdict", verdict_name(rd(
		    &s->l->keys[i].verdict)), 0);
		sb_adds(sb, "} 1\n");
	}
	prom_family(sb, "vdkim_key_dns_check_age_seconds", "gauge", "Seconds "
	    "since each checked key's last DNS check.");
	for (size_t i = 0; i < STATS_KEY_MAX; i++) {
		uint64_t at;

		if (!key_live(s, i) || (at = rd(&s->l->keys[i].checked_at)) == 0)
			continue;
		split3(s->l->key[i].name, parts);
		sb_adds(sb, "vdkim_key_dns_check_age_seconds{");
		prom_label(sb, "domain", parts[0], 1);
		prom_label(sb, "selector", parts[1], 0);
		sb_addf(sb, "} %lld\n", (long long)s->now - (long long)at);
	}
}

static void
prom_rotation(strbuf *sb, const snap *s)
{
	static const char *const fam[3][2] = {
	    { "vdkim_rotation_selector", "1 for the selector each rotation "
	      "schedule signs with (per domain and algorithm)." },
	    { "vdkim_rotation_held", "1 when a schedule's cutover to its "
	      "current selector is held back (not yet in DNS)." },
	    { "vdkim_rotation_publish_by_timestamp_seconds", "When the held-back "
	      "selector was due in DNS (its publish-by, unix time)." } };
	char parts[3][STATS_NAME_MAX], sel[64];

	for (size_t f = 0; f < 3; f++) {
		prom_family(sb, fam[f][0], "gauge", fam[f][1]);
		for (size_t i = 0; i < STATS_SCHED_MAX; i++) {
			const stats_sched_gauge *g = &s->l->scheds[i];

			if (!sched_live(s, i) || (f == 2 && rd(&g->publish_by) == 0))
				continue;
			split3(s->l->sched[i].name, parts);
			sb_addf(sb, "%s{", fam[f][0]);
			prom_label(sb, "schedule", parts[0], 1);
			prom_label(sb, "domain", parts[1], 0);
			prom_label(sb, "algorithm", parts[2], 0);
			if (f == 0) {
				read_selector(g, sel, sizeof(sel));
				prom_label(sb, "selector", sel, 0);
			}
			sb_addf(sb, "} %llu\n", f == 0 ? 1ULL :
			    (unsigned long long)(f == 1 ? rd(&g->held) :
			    rd(&g->publish_by)));
		}
	}
}

static void
format_prometheus(strbuf *sb, const snap *s)
{
	prom_messages(sb, s);
	prom_signatures(sb, s);
	prom_latency(sb, s);
	prom_devices(sb, s);
	prom_policy(sb, s);
	prom_keys(sb, s);
	prom_rotation(sb, s);
}

/* ------------------------------------------------------------------ JSON */

static void
json_str(strbuf *sb, const char *v)
{
	sb_adds(sb, "\"");
	for (; *v != '\0'; v++) {
		unsigned char c = (unsigned char)*v;

		if (c == '"' || c == '\\')
			sb_addf(sb, "\\%c", c);
		else if (c < 0x20)
			sb_addf(sb, "\\u%04x", c);
		else
			sb_add(sb, v, 1);
	}
	sb_adds(sb, "\"");
}

static void
format_json(strbuf *sb, const snap *s)
{
	const stats_layout *l = s->l;
	char parts[3][STATS_NAME_MAX], sel[64];
	const char *sep = "";

	sb_addf(sb, "{\"version\":%u,\"created_at\":%llu,\"reloads_ok\":%llu,"
	    "\"reloads_failed\":%llu,\"policy_loaded_at\":%llu,"
	    "\"names_dropped\":%llu,\"messages\":[", l->version,
	    (unsigned long long)rd(&l->created_at),
	    (unsigned long long)rd(&l->reloads_ok),
	    (unsigned long long)rd(&l->reloads_failed),
	    (unsigned long long)rd(&l->loaded_at),
	    (unsigned long long)rd(&l->names_dropped));
	for (size_t h = 0; h < STATS_NHOOKS; h++)
		for (size_t v = 0; v < NV; v++)
			for (size_t o = 0; o < STATS_NOUTCOMES; o++)
				for (size_t r = 0; r < NR; r++) {
					if (s->msgs[h][v][o][r] == 0)
						continue;
					sb_addf(sb, "%s{\"hook\":\"%s\",\"vmta\":",
					    sep, hook_names[h]);
					json_str(sb, name_of(l->vmta,
					    STATS_VMTA_MAX, v));
					sb_addf(sb, ",\"outcome\":\"%s\","
					    "\"reason\":", outcome_names[o]);
					json_str(sb, name_of(l->reason,
					    STATS_REASON_MAX, r));
					sb_addf(sb, ",\"count\":%llu}",
					    (unsigned long long)
					    s->msgs[h][v][o][r]);
					sep = ",";
				}
	sb_adds(sb, "],\"signatures\":[");
	sep = "";
	for (size_t i = 0; i < NS; i++) {
		if (s->cs[i] != (int)i || s->sigs[i] == 0)
			continue;
		split3(i == STATS_SIG_MAX ? "other other other" :
		    l->sig[i].name, parts);
		sb_addf(sb, "%s{\"domain\":", sep);
		json_str(sb, parts[0]);
		sb_adds(sb, ",\"selector\":");
		json_str(sb, parts[1]);
		sb_adds(sb, ",\"algorithm\":");
		json_str(sb, parts[2]);
		sb_addf(sb, ",\"count\":%llu}", (unsigned long long)s->sigs[i]);
		sep = ",";
	}
	sb_adds(sb, "],\"signing_latency\":[");
	sep = "";
	for (size_t i = 0; i < NK; i++) {
		if (s->ck[i] != (int)i || s->lat_count[i] == 0)
			continue;
		sb_addf(sb, "%s{\"kind\":", sep);
		json_str(sb, name_of(l->kind, STATS_KIND_MAX, i));
		sb_addf(sb, ",\"count\":%llu,\"sum_seconds\":%.9f}",
		    (unsigned long long)s->lat_count[i],
		    (double)s->lat_sum[i] / 1e9);
		sep = ",";
	}
	sb_adds(sb, "],\"device_errors\":[");
	sep = "";
	for (size_t i = 0; i < ND; i++) {
		if (s->cd[i] != (int)i || s->dev[i] == 0)
			continue;
		split3(i == STATS_DEVERR_MAX ? "other other" :
		    l->deverr[i].name, parts);
		sb_addf(sb, "%s{\"device\":", sep);
		json_str(sb, parts[0]);
		sb_adds(sb, ",\"code\":");
		json_str(sb, parts[1]);
		sb_addf(sb, ",\"count\":%llu}", (unsigned long long)s->dev[i]);
		sep = ",";
	}
	sb_adds(sb, "],\"keys\":[");
	sep = "";
	for (size_t i = 0; i < STATS_KEY_MAX; i++) {
		if (!key_live(s, i))
			continue;
		split3(l->key[i].name, parts);
		sb_addf(sb, "%s{\"domain\":", sep);
		json_str(sb, parts[0]);
		sb_adds(sb, ",\"selector\":");
		json_str(sb, parts[1]);
		sb_addf(sb, ",\"dns_check\":\"%s\",\"checked_at\":%llu}",
		    verdict_name(rd(&l->keys[i].verdict)),
		    (unsigned long long)rd(&l->keys[i].checked_at));
		sep = ",";
	}
	sb_adds(sb, "],\"rotation\":[");
	sep = "";
	for (size_t i = 0; i < STATS_SCHED_MAX; i++) {
		if (!sched_live(s, i))
			continue;
		split3(l->sched[i].name, parts);
		read_selector(&l->scheds[i], sel, sizeof(sel));
		sb_addf(sb, "%s{\"schedule\":", sep);
		json_str(sb, parts[0]);
		sb_adds(sb, ",\"domain\":");
		json_str(sb, parts[1]);
		sb_adds(sb, ",\"algorithm\":");
		json_str(sb, parts[2]);
		sb_adds(sb, ",\"selector\":");
		json_str(sb, sel);
		sb_addf(sb, ",\"held\":%s,\"publish_by\":%llu}",
		    rd(&l->scheds[i].held) ? "true" : "false",
		    (unsigned long long)rd(&l->scheds[i].publish_by));
		sep = ",";
	}
	sb_adds(sb, "]}\n");
}

/* --------------------------------------------------------------- summary */

static void
summary_vmtas(strbuf *sb, const snap *s)
{
	const stats_layout *l = s->l;

	sb_adds(sb, "Messages per virtual MTA (both hooks):\n");
	for (size_t v = 0; v < NV; v++) {
		uint64_t tot[STATS_NOUTCOMES] = { 0 };

		if (s->cv[v] != (int)v)
			continue;
		for (size_t h = 0; h < STATS_NHOOKS; h++)
			for (size_t o = 0; o < STATS_NOUTCOMES; o++)
				for (size_t r = 0; r < NR; r++)
					tot[o] += s->msgs[h][v][o][r];
		if (tot[0] + tot[1] + tot[2] + tot[3] == 0)
			continue;
		sb_addf(sb, "  %s: signed %llu, unsigned %llu, deferred %llu, "
		    "rejected %llu\n", name_of(l->vmta, STATS_VMTA_MAX, v),
		    (unsigned long long)tot[0], (unsigned long long)tot[1],
		    (unsigned long long)tot[2], (unsigned long long)tot[3]);
		for (size_t o = STATS_UNSIGNED; o < STATS_NOUTCOMES; o++)
			for (size_t r = 0; r < NR; r++) {
				uint64_t n = 0;

				for (size_t h = 0; h < STATS_NHOOKS; h++)
					n += s->msgs[h][v][o][r];
				if (n > 0)
					sb_addf(sb, "    %s %s: %llu\n",
					    outcome_names[o], name_of(l->reason,
					    STATS_REASON_MAX, r),
					    (unsigned long long)n);
			}
	}
}

static void
summary_reasons(strbuf *sb, const snap *s)
{
	uint64_t per[NR] = { 0 };
	int shown = 0;

	for (size_t h = 0; h < STATS_NHOOKS; h++)
		for (size_t v = 0; v < NV; v++)
			for (size_t o = STATS_UNSIGNED; o < STATS_NOUTCOMES; o++)
				for (size_t r = 0; r < NR; r++)
					per[r] += s->msgs[h][v][o][r];
	sb_adds(sb, "Top reasons for unsigned, deferred or rejected mail:\n");
	for (; shown < 5; shown++) {
		size_t best = NR;

		for (size_t r = 0; r < NR; r++)
			if (per[r] > 0 && (best == NR || per[r] > per[best]))
				best = r;
		if (best == NR)
			break;
		sb_addf(sb, "  %s: %llu\n", name_of(s->l->reason,
		    STATS_REASON_MAX, best), (unsigned long long)per[best]);
		per[best] = 0;
	}
	if (shown == 0)
		sb_adds(sb, "  none\n");
}

static void
summary_state(strbuf *sb, const snap *s)
{
	const stats_layout *l = s->l;
	char parts[3][STATS_NAME_MAX], sel[64];
	int any = 0;

	sb_adds(sb, "Devices:\n");
	for (size_t i = 0; i < ND; i++)
		if (s->cd[i] == (int)i && s->dev[i] > 0) {
			split3(i == STATS_DEVERR_MAX ? "other other" :
			    l->deverr[i].name, parts);
			sb_addf(sb, "  %s: %llu errors %s\n", parts[0],
			    (unsigned long long)s->dev[i], parts[1]);
			any = 1;
		}
	if (!any)
		sb_adds(sb, "  no device errors\n");
	for (size_t i = 0; i < NK; i++)
		if (s->ck[i] == (int)i && s->lat_count[i] > 0)
			sb_addf(sb, "  signing with %s: %llu messages, mean "
			    "%.3f ms\n", name_of(l->kind, STATS_KIND_MAX, i),
			    (unsigned long long)s->lat_count[i],
			    (double)s->lat_sum[i] / 1e6 /
			    (double)s->lat_count[i]);
	sb_adds(sb, "DNS checks (as the config in force knows them):\n");
	any = 0;
	for (size_t i = 0; i < STATS_KEY_MAX; i++) {
		uint64_t at;

		if (!key_live(s, i))
			continue;
		split3(l->key[i].name, parts);
		at = rd(&l->keys[i].checked_at);
		sb_addf(sb, "  %s._domainkey.%s: %s", parts[1], parts[0],
		    verdict_name(rd(&l->keys[i].verdict)));
		if (at != 0)
			sb_addf(sb, ", checked %llds ago",
			    (long long)s->now - (long long)at);
		sb_adds(sb, "\n");
		any = 1;
	}
	if (!any)
		sb_adds(sb, "  none\n");
	sb_adds(sb, "Rotation:\n");
	any = 0;
	for (size_t i = 0; i < STATS_SCHED_MAX; i++) {
		if (!sched_live(s, i))
			continue;
		split3(l->sched[i].name, parts);
		read_selector(&l->scheds[i], sel, sizeof(sel));
		sb_addf(sb, "  %s %s %s: selector %s%s\n", parts[0], parts[1],
		    parts[2], sel[0] ? sel : "(none)",
		    rd(&l->scheds[i].held) ? ", cutover held back" : "");
		any = 1;
	}
	if (!any)
		sb_adds(sb, "  none\n");
	sb_addf(sb, "Reloads: %llu ok, %llu failed; config loaded %llds ago\n",
	    (unsigned long long)rd(&l->reloads_ok),
	    (unsigned long long)rd(&l->reloads_failed),
	    rd(&l->loaded_at) ? (long long)s->now -
	    (long long)rd(&l->loaded_at) : 0LL);
}

char *
stats_format(const stats_layout *l, int format, time_t now, size_t *len)
{
	strbuf sb = STRBUF_INIT;
	snap *s;
	char *text;

	if (l == NULL || (format != STATS_FORMAT_PROMETHEUS &&
	    format != STATS_FORMAT_JSON && format != STATS_FORMAT_SUMMARY))
		return NULL;
	s = malloc(sizeof(*s));
	if (s == NULL)
		return NULL;
	take(s, l, now);
	if (format == STATS_FORMAT_PROMETHEUS)
		format_prometheus(&sb, s);
	else if (format == STATS_FORMAT_JSON)
		format_json(&sb, s);
	else {
		summary_vmtas(&sb, s);
		summary_reasons(&sb, s);
		summary_state(&sb, s);
	}
	free(s);
	if (len != NULL)
		*len = sb.len;
	text = sb_take(&sb);
	return text;
}
