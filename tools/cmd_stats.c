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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>

#include "cli.h"
#include "stats_file.h"
#include "stats_format.h"

#define DEFAULT_CONFIG "/etc/vdkim/vdkim.conf"

int
cmd_stats(int argc, char **argv)
{
	const char *path = DEFAULT_CONFIG, *file = NULL;
	int format = STATS_FORMAT_SUMMARY;
	vdkim_policy *p;
	vdkim_error err;
	stats_map m;
	struct stat st;
	size_t len = 0;
	char *text;
	int rc = 0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			path = argv[++i];
		else if (strcmp(argv[i], "--prometheus") == 0)
			format = STATS_FORMAT_PROMETHEUS;
		else if (strcmp(argv[i], "--json") == 0)
			format = STATS_FORMAT_JSON;
		else {
			cli_error("stats", "unexpected argument \"%s\" "
			    "(see vdkimctl stats --help)", argv[i]);
			return EX_USAGE;
		}
	}
	if (cli_policy_load("stats", path, &p) != 0)
		return EX_CONFIG;
	file = vdkim_policy_stats_file(p);
	if (file == NULL) {
		cli_error("stats", "%s names no stats-file: the counters live "
		    "in each host's memory (ask the host: GET /metrics on its "
		    "metrics-address)", path);
		vdkim_policy_unref(p);
		return EX_CONFIG;
	}
	if (stat(file, &st) != 0 && errno == ENOENT) {
		cli_error("stats", "%s: no such file (the host creates it "
		    "when it loads the config)", file);
		vdkim_policy_unref(p);
		return EX_NOINPUT;
	}
	if (stats_map_file_ro(file, &m, &err) != VDKIM_OK) {
		cli_error("stats", "%s", err.msg);
		vdkim_policy_unref(p);
		return err.rc == VDKIM_EIO ? EX_NOINPUT : EX_DATAERR;
	}
	vdkim_policy_unref(p);
	text = stats_format(m.l, format, time(NULL), &len);
	stats_unmap(&m);
	if (text == NULL) {
		cli_error("stats", "out of memory");
		return EX_OSERR;
	}
	if (cli_write(stdout, text, len) != 0 || fflush(stdout) != 0) {
		cli_error("stats", "cannot write: %s", strerror(errno));
		rc = EX_IOERR;
	}
	free(text);
	return rc;
}
