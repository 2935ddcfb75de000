/*
 * import_out.c - what the importers share (import.h): source files and
 * their lines, the comments and loud warnings of the output, and the end
 * of an import: the vdkim.conf loaded as the module loads it, and each
 * VMTA's or domain's key shown by the module's own decision.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cli.h"
#include "import.h"
#include "policy_model.h"

void
imp_init(imp *im, const char *cmd, const char *source)
{
	memset(im, 0, sizeof(*im));
	im->cmd = cmd;
	im->source = source;
	sb_init(&im->warnings);
	sb_init(&im->skipped);
}

void
imp_free(imp *im)
{
	for (size_t i = 0; i < im->nprobes; i++) {
		free(im->probes[i].vmta);
		free(im->probes[i].from);
		free(im->probes[i].want_d);
		free(im->probes[i].want_s);
		free(im->probes[i].label);
	}
	free(im->probes);
	sb_free(&im->warnings);
	sb_free(&im->skipped);
}

static void
indent(strbuf *sb, int depth)
{
	for (int i = 0; i < depth; i++)
		sb_adds(sb, "    ");
}

void
imp_warn(imp *im, strbuf *sb, int depth, const char *file, int line,
    const char *fmt, ...)
{
	char text[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (sb != NULL) {
		indent(sb, depth);
		sb_addf(sb, "# WARNING: %s:%d: %s\n", file, line, text);
	}
	sb_addf(&im->warnings, "#   %s:%d: %s\n", file, line, text);
	fprintf(stderr, "vdkimctl %s: warning: %s:%d: %s\n", im->cmd, file,
	    line, text);
	im->nwarn++;
}

void
imp_note(strbuf *sb, int depth, const char *fmt, ...)
{
	char text[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	indent(sb, depth);
	sb_addf(sb, "# %s\n", text);
}

void
imp_skip(imp *im, const char *file, int line, const char *text)
{
	sb_addf(&im->skipped, "#   %s:%d: %.200s\n", file, line, text);
	im->nskipped++;
}

int
imp_error(const imp *im, int code, const char *file, int line,
    const char *fmt, ...)
{
	char text[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (file != NULL)
		fprintf(stderr, "vdkimctl %s: %s:%d: %s\n", im->cmd, file, line,
		    text);
	else
		fprintf(stderr, "vdkimctl %s: %s\n", im->cmd, text);
	return code;
}

void
imp_append(strbuf *out, const strbuf *in)
{
	if (in->len > 0)
		sb_add(out, in->s, in->len);
}

void
imp_quoted(strbuf *sb, const char *s)
{
	sb_adds(sb, "\"");
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			sb_adds(sb, "\\");
		sb_add(sb, s, 1);
	}
	sb_adds(sb, "\"");
}

int
imp_name_list(strbuf *sb, const char *list)
{
	const char *p = list;
	size_t n = 0;

	sb_adds(sb, "{");
	while (*p != '\0') {
		size_t len;

		p += strspn(p, ",: \t");
		len = strcspn(p, ",: \t");
		if (len == 0)
			break;
		sb_addf(sb, "%s\"%.*s\"", n++ ? ", " : "", (int)len, p);
		p += len;
	}
	sb_adds(sb, "}");
	return n > 0 ? 0 : -1;
}

int
imp_bool(const char *v)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };

	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(v, yes[i]) == 0)
			return 1;
		if (strcasecmp(v, no[i]) == 0)
			return 0;
	}
	return -1;
}

int
imp_read(const imp *im, const char *path, const char *from, int line,
    vdkim_file *out)
{
	vdkim_error err;

	if (vdkim_file_read(AT_FDCWD, path, "file", IMP_MAX_FILE,
	    VDKIM_FILE_TEXT, VDKIM_EIO, out, &err) == VDKIM_OK)
		return 0;
	return imp_error(im, IMP_EX_NOINPUT, from, line, "%s", err.msg);
}

char *
imp_relative(const char *base, const char *path)
{
	const char *slash = strrchr(base, '/');
	char *out;

	if (path[0] == '/' || slash == NULL)
		return strdup(path);
	if (asprintf(&out, "%.*s/%s", (int)(slash - base), base, path) < 0)
		return NULL;
	return out;
}

char *
imp_next_line(char **cur, int *lineno)
{
	char *s = *cur, *nl;

	if (s == NULL || *s == '\0')
		return NULL;
	nl = strchr(s, '\n');
	if (nl != NULL) {
		*nl = '\0';
		*cur = nl + 1;
	} else {
		*cur = s + strlen(s);
	}
	if (nl != NULL && nl > s && nl[-1] == '\r')
		nl[-1] = '\0';
	(*lineno)++;
	return s;
}

char *
imp_trim(char *s)
{
	size_t n;

	while (isspace((unsigned char)*s))
		s++;
	n = strlen(s);
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	return s;
}

static char *
dup_or_null(const char *s, int *oom)
{
	char *d;

	if (s == NULL)
		return NULL;
	if ((d = strdup(s)) == NULL)
		*oom = 1;
	return d;
}

void
imp_probe_add(imp *im, const char *vmta, const char *from,
    const char *want_d, const char *want_s, const char *label)
{
	imp_probe *pr;

	/* A config with thousands of domains gets the first 10,000. */
	if (im->nprobes >= 10000)
		return;
	for (size_t i = 0; i < im->nprobes; i++)
		if (strcmp(im->probes[i].from, from) == 0 &&
		    (vmta == NULL ? im->probes[i].vmta == NULL :
		    im->probes[i].vmta != NULL &&
		    strcmp(im->probes[i].vmta, vmta) == 0))
			return;
	if (im->nprobes == im->capprobes) {
		size_t cap = im->capprobes ? im->capprobes * 2 : 32;
		imp_probe *n = realloc(im->probes, cap * sizeof(*n));
		if (n == NULL) {
			im->oom = 1;
			return;
		}
		im->probes = n;
		im->capprobes = cap;
	}
	pr = &im->probes[im->nprobes++];
	pr->vmta = dup_or_null(vmta, &im->oom);
	pr->from = dup_or_null(from, &im->oom);
	pr->want_d = dup_or_null(want_d, &im->oom);
	pr->want_s = dup_or_null(want_s, &im->oom);
	pr->label = dup_or_null(label, &im->oom);
}

/* ------------------------------------------------------------ the end */

/* The source "FILE:LINE" a refused output line names (its trailing
 * "# FILE:LINE" comment), into ref; 0, or -1 when it names none. */
static int
source_of_line(const char *text, long lineno, char *ref, size_t reflen)
{
	const char *p = text, *end, *hash;

	for (long i = 1; i < lineno && p != NULL; i++)
		if ((p = strchr(p, '\n')) != NULL)
			p++;
	if (p == NULL)
		return -1;
	end = strchr(p, '\n');
	if (end == NULL)
		end = p + strlen(p);
	hash = NULL;
	for (const char *q = p; q + 1 < end; q++)
		if (q[0] == '#' && q[1] == ' ')
			hash = q;
	if (hash == NULL)
		return -1;
	snprintf(ref, reflen, "%.*s", (int)(end - hash - 2), hash + 2);
	return 0;
}

/* Writes text to a new temporary file; its name into path. */
static int
write_temp(const char *text, char *path, size_t pathlen)
{
	const char *dir = getenv("TMPDIR");
	size_t len = strlen(text);
	int fd;

	snprintf(path, pathlen, "%s/vdkim-import.XXXXXX",
	    dir != NULL && *dir != '\0' ? dir : "/tmp");
	if ((fd = mkstemp(path)) < 0)
		return -1;
	if (write(fd, text, len) != (ssize_t)len || close(fd) != 0) {
		unlink(path);
		return -1;
	}
	return 0;
}

/* s with every tmp replaced by "the imported config" into out. */
static void
unname(const char *s, const char *tmp, strbuf *out)
{
	const char *hit;
	size_t n = strlen(tmp);

	while ((hit = strstr(s, tmp)) != NULL) {
		sb_add(out, s, (size_t)(hit - s));
		sb_adds(out, "the imported config");
		s = hit + n;
	}
	sb_adds(out, s);
}

/* What the module decides for probe pr: one line into out; 1 when it
 * differs from what the original does. */
static int
decide_probe(imp *im, vdkim_policy *p, const imp_probe *pr, strbuf *out)
{
	char msg[1200];
	vdkim_envelope env;
	policy_message *pm = NULL;
	const vdkim_decision *d;
	FILE *in;
	int differs = 0, compared = pr->want_d != NULL;

	memset(&env, 0, sizeof(env));
	env.size = sizeof(env);
	env.vmta = pr->vmta;
	snprintf(msg, sizeof(msg), "From: <%s>\r\nTo: <rcpt@example.net>\r\n"
	    "Subject: vdkimctl import check\r\n\r\n", pr->from);
	sb_addf(out, "%s: From: %s%s%s -> ", pr->label, pr->from,
	    pr->vmta ? " vmta " : "", pr->vmta ? pr->vmta : "");
	in = fmemopen(msg, strlen(msg), "r");
	if (in == NULL || cli_message_new(im->cmd, p, &env, 0, 1, &pm) != 0 ||
	    cli_message_decide(im->cmd, pm, in, NULL) != 0) {
		sb_adds(out, "cannot decide (see above)\n");
		if (in != NULL)
			fclose(in);
		policy_message_free(pm);
		return 1;
	}
	fclose(in);
	d = policy_message_decision(pm);
	if (d->verdict == VDKIM_VERDICT_SIGN) {
		sb_addf(out, "signed d=%s s=%s", d->specs[0].domain,
		    d->specs[0].selector);
		for (size_t i = 1; i < d->nsigs; i++)
			sb_addf(out, " and d=%s s=%s", d->specs[i].domain,
			    d->specs[i].selector);
		if (compared)
			differs = pr->want_d[0] == '\0' ||
			    strcasecmp(pr->want_d, d->specs[0].domain) != 0 ||
			    strcasecmp(pr->want_s, d->specs[0].selector) != 0;
	} else {
		sb_addf(out, "%s (%s)", d->verdict == VDKIM_VERDICT_DEFER ?
		    "deferred" : "not signed", vdkim_why_name(d->why));
		if (d->why == VDKIM_WHY_KEY_NOT_LOADED) {
			sb_adds(out, ": its key file does not load here");
			compared = 0;
		} else if (compared) {
			differs = pr->want_d[0] != '\0';
		}
	}
	if (compared) {
		if (pr->want_d[0] == '\0')
			sb_adds(out, "; the original: not signed");
		else
			sb_addf(out, "; the original: d=%s s=%s", pr->want_d,
			    pr->want_s);
		sb_adds(out, differs ? "  DIFFERS" : "  (same)");
	}
	sb_adds(out, "\n");
	policy_message_free(pm);
	return differs;
}

int
imp_finish(imp *im, const char *header, const strbuf *conf, int explain)
{
	strbuf all = STRBUF_INIT, report = STRBUF_INIT, line = STRBUF_INIT;
	char tmp[4096], ref[1024];
	vdkim_policy *p = NULL;
	vdkim_error err;
	size_t ndiff = 0;
	int rc = IMP_EX_OK;

	sb_adds(&all, header);
	if (im->nwarn > 0) {
		sb_addf(&all, "#\n# %zu WARNING(S): the original does something "
		    "this config cannot do exactly;\n# read each one (also "
		    "where it stands below):\n", im->nwarn);
		imp_append(&all, &im->warnings);
	}
	sb_adds(&all, "\n");
	imp_append(&all, conf);
	if (im->nskipped > 0) {
		sb_addf(&all, "\n# Not about signing, skipped (%zu line%s of "
		    "the original):\n", im->nskipped, im->nskipped == 1 ? "" :
		    "s");
		imp_append(&all, &im->skipped);
	}
	if (all.failed || im->oom || conf->failed) {
		rc = imp_error(im, IMP_EX_SOFTWARE, NULL, 0, "out of memory");
		goto out;
	}
	if (write_temp(all.s, tmp, sizeof(tmp)) != 0) {
		rc = imp_error(im, IMP_EX_SOFTWARE, NULL, 0, "cannot write a "
		    "temporary file to check the config: %s", strerror(errno));
		goto out;
	}
	/* The module's own load: what a host will do with this output. */
	if (policy_load(tmp, cli_host_blocks, 0, &p, &err) != VDKIM_OK) {
		const char *at = strncmp(err.msg, tmp, strlen(tmp)) == 0 ?
		    err.msg + strlen(tmp) : NULL;
		long n = at != NULL && *at == ':' ? strtol(at + 1, NULL, 10) : 0;

		unname(err.msg, tmp, &line);
		if (n > 0 && source_of_line(all.s, n, ref, sizeof(ref)) == 0)
			rc = imp_error(im, IMP_EX_DATAERR, NULL, 0, "%s: vdkim "
			    "cannot take what this line says: %s", ref,
			    line.s ? line.s : "");
		else
			rc = imp_error(im, IMP_EX_DATAERR, NULL, 0, "the "
			    "translation is refused: %s", line.s ? line.s : "");
		unlink(tmp);
		goto out;
	}
	unlink(tmp);
	for (size_t i = 0; i < vdkim_policy_warning_count(p); i++) {
		sb_reset(&line);
		unname(vdkim_policy_warning(p, i), tmp, &line);
		fprintf(stderr, "vdkimctl %s: the imported config: %s: %s\n",
		    im->cmd, vdkim_policy_warning_is_error(p, i) ? "error" :
		    "warning", line.s ? line.s : "");
	}
	for (size_t i = 0; i < im->nprobes; i++)
		ndiff += (size_t)decide_probe(im, p, &im->probes[i], &report);
	if (report.failed) {
		rc = imp_error(im, IMP_EX_SOFTWARE, NULL, 0, "out of memory");
		goto out;
	}
	fputs(all.s, stdout);
	if (explain && report.len > 0) {
		const char *s = report.s;
		printf("\n# Which key signs (the imported config, decided by "
		    "vdkim):\n");
		while (*s != '\0') {
			size_t n = strcspn(s, "\n");
			printf("#   %.*s\n", (int)n, s);
			s += n + (s[n] == '\n');
		}
	}
	if (fflush(stdout) != 0) {
		rc = imp_error(im, IMP_EX_SOFTWARE, NULL, 0, "cannot write: %s",
		    strerror(errno));
		goto out;
	}
	if (report.len > 0)
		fprintf(stderr, "vdkimctl %s: which key signs (the imported "
		    "config, decided by vdkim):\n%s", im->cmd, report.s);
	if (ndiff > 0)
		fprintf(stderr, "vdkimctl %s: WARNING: %zu case%s above "
		    "sign%s differently from the original (DIFFERS)\n",
		    im->cmd, ndiff, ndiff == 1 ? "" : "s",
		    ndiff == 1 ? "s" : "");
	if (im->nwarn > 0)
		fprintf(stderr, "vdkimctl %s: %zu warning(s): read them in the "
		    "config's header before using it\n", im->cmd, im->nwarn);
out:
	vdkim_policy_unref(p);
	sb_free(&all);
	sb_free(&report);
	sb_free(&line);
	return rc;
}

/* ------------------------------------------------------ the command */

int
cmd_import(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "pmta") == 0)
		return import_pmta(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "opendkim") == 0)
		return import_opendkim(argc - 1, argv + 1);
	fprintf(stderr, "vdkimctl import: expected \"pmta FILE\" or "
	    "\"opendkim FILE\" (see vdkimctl import --help)\n");
	return IMP_EX_USAGE;
}
