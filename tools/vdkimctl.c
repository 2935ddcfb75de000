/*
 * vdkimctl - the operator's tool: keys, DNS records, signing, verifying.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *usage;
} commands[] = {
	{ "keygen", cmd_keygen,
	  "keygen --selector S --domain D [--type rsa|ed25519] [--bits N] "
	  "[--dir DIR]" },
	{ "dns-record", cmd_dns_record,
	  "dns-record --key FILE --selector S --domain D" },
	{ "sign", cmd_sign,
	  "sign --domain D --selector S --key FILE [--selector S --key FILE]"
	  "...\n"
	  "           [--algorithm rsa-sha256|ed25519-sha256] "
	  "[--canon HEADER/BODY]\n"
	  "           [--headers LIST] [--extra-headers LIST] "
	  "[--oversign LIST]\n"
	  "           [--identity I] [--expire-after INTERVAL] "
	  "[--body-length] [--no-timestamp]\n"
	  "           < message > signed-message" },
	{ "verify", cmd_verify,
	  "verify [--key SELECTOR._domainkey.DOMAIN=FILE]... < message" },
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void
usage(FILE *f)
{
	fprintf(f, "usage:\n");
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  vdkimctl %s\n", commands[i].usage);
}

int
main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return 0;
	}
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "vdkimctl: unknown command \"%s\"\n", argv[1]);
	usage(stderr);
	return 2;
}
