/*
 * cmd_stats.c - "vdkimctl stats": the counters of the config's stats-file
 * (every process of the host that maps it), read without a lock, printed
 * by the module's one formatter (stats_format.c): a summary for a person,
 * Prometheus's text format (--prometheus) or JSON (--json).
 *
 * Exit status (sysexits): 0; 64 a bad option; 66 the stats file is
 * missing; 65 it is not a stats file of this version; 78 the config
 * cannot be loaded or names no stats-file; 74 output failed.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"
#include "stats_file.h"
#include "stats_format.h"

#define DEFAULT_CONFIG "/etc/vdkim/vdkim.conf"

int
cmd_stats(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "prometheus", no_argument, NULL, 'p' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 }
	};
	const char *path = DEFAULT_CONFIG, *file = NULL;
	int format = STATS_FORMAT_SUMMARY;
	vdkim_policy *p;
	vdkim_error err;
	stats_map m;
	struct stat st;
	size_t len = 0;
	char *text;
	int c, rc = 0;

	while ((c = cli_getopt("stats", argc, argv, opts)) != -1) {
		switch (c) {
		case 'c': path = optarg; break;
		case 'p': format = STATS_FORMAT_PROMETHEUS; break;
		case 'j': format = STATS_FORMAT_JSON; break;
		default:
			return CLI_USAGE;
		}
	}
	if (optind != argc)
		return cli_fail("stats", CLI_USAGE, "unexpected argument \"%s\"",
		    argv[optind]);
	if ((rc = cli_policy_load("stats", path, &p)) != 0)
		return rc;
	file = vdkim_policy_stats_file(p);
	if (file == NULL) {
		vdkim_policy_unref(p);
		return cli_fail("stats", CLI_CONFIG, "%s names no stats-file: "
		    "the counters live in each host's memory (ask the host: "
		    "GET /metrics on its metrics-address)", path);
	}
	if (stat(file, &st) != 0 && errno == ENOENT) {
		rc = cli_fail("stats", CLI_NOINPUT, "%s: no such file (the "
		    "host creates it when it loads the config)", file);
		vdkim_policy_unref(p);
		return rc;
	}
	if (stats_map_file_ro(file, &m, &err) != VDKIM_OK) {
		vdkim_policy_unref(p);
		return cli_fail("stats", err.rc == VDKIM_EIO ? CLI_NOINPUT :
		    CLI_DATA, "%s", err.msg);
	}
	vdkim_policy_unref(p);
	text = stats_format(m.l, format, time(NULL), &len);
	stats_unmap(&m);
	if (text == NULL)
		return cli_fail("stats", CLI_OSERR, "out of memory");
	if (cli_write(stdout, text, len) != 0 || fflush(stdout) != 0)
		rc = cli_fail("stats", CLI_IOERR, "cannot write: %s",
		    strerror(errno));
	free(text);
	return rc;
}
