/*
 * cli.c - helpers shared by vdkimctl's commands.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "secret.h"
#include "file_replace.h"
#include "vdkim/vdkim.h"

int
cli_fail(const char *cmd, int status, const char *fmt, ...)
{
	char raw[2048], masked[sizeof(raw)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	/* An argument may be a key URI someone put a PIN in. */
	fprintf(stderr, "vdkimctl %s: %s\n", cmd,
	    vdkim_mask_pin(raw, masked, sizeof(masked)));
	return status;
}

int
cli_exit_for(vdkim_rc rc)
{
	switch (rc) {
	case VDKIM_OK:
		return CLI_OK;
	case VDKIM_ENOMEM:
		return CLI_OSERR;
	case VDKIM_EINVAL:
		return CLI_USAGE;
	case VDKIM_EIO:
		return CLI_NOINPUT;
	case VDKIM_ECRYPTO:
		return CLI_SOFTWARE;
	case VDKIM_EDEV_UNAVAILABLE:
	case VDKIM_EDEV_PIN:
	case VDKIM_EDEV_ERROR:
		return CLI_UNAVAILABLE;
	case VDKIM_EDEV_TIMEOUT:
		return CLI_TEMPFAIL;
	default:
		/* ESTATE, ELIMIT, ESYNTAX, EKEY, EKEYSIZE, ESELFCHECK: what
		 * was given cannot be used. */
		return CLI_DATA;
	}
}

int
cli_getopt(const char *cmd, int argc, char **argv, const struct option *opts)
{
	int c;

	opterr = 0; /* our sentences, not getopt's */
	c = getopt_long(argc, argv, "", opts, NULL);
	if (c != '?')
		return c;
	/* A known option without its value has its val in optopt. */
	for (size_t i = 0; optopt != 0 && opts[i].name != NULL; i++)
		if (opts[i].val == optopt) {
			cli_fail(cmd, CLI_USAGE, "option --%s needs a value",
			    opts[i].name);
			return '?';
		}
	cli_fail(cmd, CLI_USAGE, "unknown option %s (see vdkimctl %s --help)",
	    optind > 0 && optind <= argc ? argv[optind - 1] : "", cmd);
	return '?';
}

int
cli_parse_time(const char *cmd, const char *arg, time_t *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(arg, &end, 10);
	if (*arg == '\0' || *end != '\0' || errno != 0 || v <= 0)
		return cli_fail(cmd, CLI_USAGE, "--time must be seconds since "
		    "1970 (date +%%s), not \"%s\"", arg);
	*out = (time_t)v;
	return 0;
}

int
cli_options(const char *cmd, int argc, char **argv, const cli_opt *opts,
    size_t n)
{
	struct option lo[CLI_MAX_OPTS + 1];
	int c;

	if (n > CLI_MAX_OPTS)
		return cli_fail(cmd, CLI_SOFTWARE, "internal error: %zu "
		    "options, at most %d", n, CLI_MAX_OPTS);
	/* getopt_long answers an option with its index in opts, plus one
	 * (0 would mean "stored through flag"). */
	for (size_t i = 0; i < n; i++)
		lo[i] = (struct option){ opts[i].name, required_argument, NULL,
		    (int)i + 1 };
	lo[n] = (struct option){ NULL, 0, NULL, 0 };
	while ((c = cli_getopt(cmd, argc, argv, lo)) != -1) {
		if (c < 1 || (size_t)c > n)
			return CLI_USAGE;
		*opts[c - 1].value = optarg;
	}
	return 0;
}

int
cli_write(FILE *f, const void *buf, size_t len)
{
	return len == 0 || fwrite(buf, 1, len, f) == len ? 0 : -1;
}

char **
cli_split_list(const char *text)
{
	size_t n = 1, len = strlen(text);
	char **list, *copy;
	size_t k = 0;

	for (const char *p = text; *p != '\0'; p++)
		n += (*p == ',' || *p == ':' || *p == ' ');
	/* The array, then a copy of the text the entries point into. */
	list = malloc((n + 1) * sizeof(*list) + len + 1);
	if (list == NULL)
		return NULL;
	copy = (char *)(list + n + 1);
	memcpy(copy, text, len + 1);
	for (char *tok = strtok(copy, ",: \t"); tok != NULL;
	    tok = strtok(NULL, ",: \t"))
		list[k++] = tok;
	list[k] = NULL;
	return list;
}

const char *const cli_host_blocks[] = { VDKIM_SHIPPED_HOST_BLOCKS, NULL };

int
cli_write_file(const char *path, const void *data, size_t len, int mode,
    int excl, char *why, size_t whylen)
{
	if (excl && access(path, F_OK) == 0) {
		snprintf(why, whylen, "%s already exists; not replacing it",
		    path);
		return -1;
	}
	return file_replace(path, data, len, mode, why, whylen);
}
