/*
 * vdkimctl - the operator's tool: keys, DNS records, signing, verifying,
 * the signing policy (config-test, explain, sign --config) and selector
 * rotation (rotation plan|prepare|check|retire), every key in DNS
 * (check-dns), importing a PowerMTA or OpenDKIM config (import), the
 * counters (stats).
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "exit_codes.h"

static const struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *usage;
} commands[] = {
	{ "keygen", cmd_keygen,
	  "keygen --selector S --domain D [--type rsa|ed25519] [--bits N] "
	  "[--dir DIR]\n"
	  "           [--group NAME]  (the private key 0640, group NAME: "
	  "readable by the MTA's\n"
	  "           group, e.g. Debian-exim; the folder is left as it is)" },
	{ "dns-record", cmd_dns_record,
	  "dns-record --key FILE|URI --selector S --domain D [--config FILE]" },
	{ "sign", cmd_sign,
	  "sign --domain D --selector S --key FILE [--selector S --key FILE]"
	  "...\n"
	  "           [--algorithm rsa-sha256|ed25519-sha256] "
	  "[--canon HEADER/BODY]\n"
	  "           [--headers LIST] [--extra-headers LIST] "
	  "[--oversign LIST]\n"
	  "           [--identity I] [--expire-after INTERVAL] "
	  "[--body-length] [--no-timestamp]\n"
	  "           < message > signed-message\n"
	  "  vdkimctl sign --config FILE --vmta NAME [--pool NAME] "
	  "[--source NAME]\n"
	  "           [--rcpt-domain D] [--mail-from A] [--time SECONDS] "
	  "< message > signed-message\n"
	  "           (not signed: the message unchanged, exit 0; deferred: "
	  "nothing, exit 75)" },
	{ "verify", cmd_verify,
	  "verify [--key SELECTOR._domainkey.DOMAIN=FILE]... < message\n"
	  "           (exit 0 a signature passes, 1 none does)" },
	{ "config-test", cmd_config_test,
	  "config-test [--config FILE] [--user NAME]   (default "
	  "/etc/vdkim/vdkim.conf;\n"
	  "           exit 78 on errors; --user: also opens every key, PIN "
	  "and state file\n"
	  "           as user NAME, the MTA's (e.g. Debian-exim), exit 78 "
	  "if one cannot be read)" },
	{ "explain", cmd_explain,
	  "explain --config FILE --vmta NAME [--pool NAME] [--source NAME]\n"
	  "           [--rcpt-domain D] [--mail-from A] [--time SECONDS] "
	  "< message\n"
	  "           (exit 0 signed, 1 not signed, 2 deferred)" },
	{ "check-dns", cmd_check_dns,
	  "check-dns [--config FILE] [--domain D] [--time SECONDS]   (every "
	  "key's record in DNS;\n"
	  "           exit 0 ok, 1 a key fails at receivers, 2 warnings only, "
	  "75 DNS did not\n           answer)" },
	{ "import", cmd_import,
	  "import pmta|opendkim FILE [--explain]   (a PowerMTA config, or an\n"
	  "           opendkim.conf and its tables: a vdkim.conf on stdout, "
	  "which key signs\n"
	  "           what on stderr (--explain: also as comments); exit 66 "
	  "unreadable,\n"
	  "           65 bad syntax (FILE:LINE), 78 cannot be imported)" },
	{ "rotation", cmd_rotation,
	  "rotation plan|prepare|check|retire [--config FILE] "
	  "[--time SECONDS] [--domain D]\n"
	  "           prepare: [--periods N] [--bits N]  (check: exit 0 ok, "
	  "1 signing is broken,\n"
	  "           2 a selector held back or late, 75 DNS did not answer)" },
	{ "stats", cmd_stats,
	  "stats [--config FILE] [--prometheus | --json]   (the counters of "
	  "the config's\n"
	  "           stats-file, from every process of the host; a summary "
	  "by default)" },
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void
usage(FILE *f)
{
	fprintf(f, "usage:\n");
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  vdkimctl %s\n", commands[i].usage);
	fprintf(f, "  vdkimctl COMMAND --help   (one command's usage)\n"
	    "  vdkimctl --version\n\n%s", CLI_EXIT_HELP);
}

/* "--help" anywhere among a command's arguments asks for its usage. */
static int
wants_help(int argc, char **argv)
{
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			return 0;
		if (strcmp(argv[i], "--help") == 0)
			return 1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return CLI_USAGE;
	}
	if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0 ||
	    strcmp(argv[1], "version") == 0) {
		printf("vdkimctl (vdkim) %s\n", VDKIM_VERSION);
		return 0;
	}
	for (size_t i = 0; i < NCOMMANDS; i++) {
		if (strcmp(argv[1], commands[i].name) != 0)
			continue;
		if (wants_help(argc, argv)) {
			printf("usage:\n  vdkimctl %s\n", commands[i].usage);
			return 0;
		}
		return commands[i].run(argc - 1, argv + 1);
	}
	fprintf(stderr, "vdkimctl: unknown command \"%s\" (see vdkimctl "
	    "help)\n", argv[1]);
	return CLI_USAGE;
}
