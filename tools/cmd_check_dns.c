/*
 * cmd_check_dns.c - "vdkimctl check-dns": is every key the policy signs
 * with published in DNS as receivers need it?  The rules and the record
 * are the module's (dns_check.h); this file prints one line per key and
 * picks the exit status:
 *
 *   0  every key checked is good
 *   1  at least one key would fail at receivers
 *   2  warnings only (t=y, an RSA key under 2048 bits, a key not checked)
 *   75 DNS did not answer (EX_TEMPFAIL: nothing recorded for the keys it
 *      did not answer for)
 *   and exit_codes.h's for a check that cannot run (a config that does
 *   not load: 66 or 78; a state file that cannot be locked, read or
 *   written: 74).
 *
 * With dns-check-state-file the verdicts are recorded there, for every
 * process that loads the policy next (hosts at load or reload only).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "dns_check.h"
#include "error.h"
#include "strbuf.h"

#define DEFAULT_CONFIG "/etc/vdkim/vdkim.conf"

static int
run(vdkim_policy *p, const char *domain, time_t now)
{
	static const int status[] = {
		[ROT_OUTCOME_OK] = 0,
		[ROT_OUTCOME_BROKEN] = 1,
		[ROT_OUTCOME_ATTENTION] = 2,
		[ROT_OUTCOME_DNS_DOWN] = CLI_TEMPFAIL,
	};
	dns_check c;
	vdkim_error err;
	vdkim_rc rc;
	strbuf sb = STRBUF_INIT;
	char *text;
	int st;

	rc = dns_check_run(p, domain, now, NULL, NULL, &c, &err);
	for (size_t i = 0; i < c.n; i++)
		dns_check_text(&c.e[i], &sb);
	if (c.repair[0] != '\0')
		sb_addf(&sb, "%s\n", c.repair);
	if (rc == VDKIM_OK && p->dns_state_path == NULL)
		sb_adds(&sb, "(no dns-check-state-file in the config: nothing "
		    "recorded, signing does not follow these verdicts)\n");
	text = sb_take(&sb);
	if (text == NULL)
		rc = vdkim_fail(&err, VDKIM_ENOMEM, "out of memory");
	else
		fputs(text, stdout);
	free(text);
	if (rc == VDKIM_OK && c.n == 0)
		printf("no key to check%s%s\n", domain ? " for " : "",
		    domain ? domain : "");
	st = rc != VDKIM_OK ? cli_fail("check-dns", rc == VDKIM_EIO ?
	    CLI_IOERR : cli_exit_for(err.rc), "%s", err.msg) :
	    status[dns_check_outcome(&c)];
	dns_check_free(&c);
	return st;
}

int
cmd_check_dns(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "time", required_argument, NULL, 't' },
		{ "domain", required_argument, NULL, 'd' },
		{ NULL, 0, NULL, 0 }
	};
	const char *path = DEFAULT_CONFIG, *domain = NULL;
	vdkim_policy *p;
	time_t now = 0;
	int c, rc;

	while ((c = cli_getopt("check-dns", argc, argv, opts)) != -1) {
		switch (c) {
		case 'c': path = optarg; break;
		case 'd': domain = optarg; break;
		case 't':
			if (cli_parse_time("check-dns", optarg, &now) != 0)
				return CLI_USAGE;
			break;
		default:
			return CLI_USAGE;
		}
	}
	if (optind != argc)
		return cli_fail("check-dns", CLI_USAGE,
		    "unexpected argument \"%s\"",
		    argv[optind]);
	if (now == 0)
		now = time(NULL);
	/* The checker repairs a damaged state file: it must load despite
	 * it. */
	if ((rc = cli_policy_load_as("check-dns", path, CLI_LOAD_CHECKER,
	    &p)) != 0)
		return rc;
	rc = run(p, domain, now);
	if (fflush(stdout) != 0)
		rc = cli_fail("check-dns", CLI_IOERR,
		    "cannot write: %s", strerror(errno));
	vdkim_policy_unref(p);
	return rc;
}
