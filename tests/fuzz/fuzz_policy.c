/*
 * fuzz_policy.c - the harnesses' fixed policy, in a private temporary
 * folder removed once loaded.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "fuzz_policy.h"

static char dir[64];
static char conf[128];

static void
copy_key(const char *from, const char *to)
{
	char buf[8192], path[256];
	FILE *in = fopen(fuzz_testdata(from), "rb"), *out;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s", dir, to);
	out = fopen(path, "wb");
	if (in == NULL || out == NULL) {
		fprintf(stderr, "fuzz set-up: cannot copy %s to %s\n", from,
		    path);
		abort();
	}
	n = fread(buf, 1, sizeof(buf), in);
	fwrite(buf, 1, n, out);
	fclose(in);
	fclose(out);
	chmod(path, 0600);
}

void
fuzz_policy_remove(void)
{
	static const char *const files[] = { "rsa.pem", "ed.seed",
		"vdkim.conf" };
	char path[256];

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		unlink(path);
	}
	rmdir(dir);
}

const char *
fuzz_policy_config(const char *extra)
{
	FILE *f;

	if (conf[0] != '\0')
		return conf;
	snprintf(dir, sizeof(dir), "/tmp/vdkim-fuzz-XXXXXX");
	if (mkdtemp(dir) == NULL) {
		perror("fuzz set-up: mkdtemp");
		abort();
	}
	copy_key("rfc8463_rsa.pem", "rsa.pem");
	copy_key("rfc8463_ed25519.seed", "ed.seed");
	snprintf(conf, sizeof(conf), "%s/vdkim.conf", dir);
	f = fopen(conf, "w");
	if (f == NULL) {
		perror(conf);
		abort();
	}
	fprintf(f,
	    "source trusted { process-x-dkim-options = yes }\n"
	    "domain-key = \"" FUZZ_SEL_RSA "," FUZZ_DOMAIN ",%s/rsa.pem\"\n"
	    "domain-key = \"" FUZZ_SEL_ED "," FUZZ_DOMAIN ",%s/ed.seed\"\n"
	    "domain-key = \"any,*,%s/ed.seed\"\n"
	    "domain-key-list tenant42 {\n"
	    "\tdomain-key = \"t42," FUZZ_DOMAIN ",%s/rsa.pem\"\n"
	    "}\n"
	    "domain \"*\" { dkim-sign = yes }\n"
	    "virtual-mta v { }\n"
	    "virtual-mta fixed {\n"
	    "\tdomain \"*\" { dkim-identity = \"@" FUZZ_DOMAIN "\" }\n"
	    "}\n"
	    "virtual-mta strict {\n"
	    "\tdomain \"*\" { dkim-identity = strict-from\n"
	    "\t\tdkim-require = yes }\n"
	    "}\n"
	    "%s", dir, dir, dir, dir, extra != NULL ? extra : "");
	fclose(f);
	return conf;
}
