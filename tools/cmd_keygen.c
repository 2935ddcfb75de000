/*
 * cmd_keygen.c - "vdkimctl keygen" and "vdkimctl dns-record".
 */
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "cli.h"
#include "vdkim/dkim.h"
#include "vdkim/policy.h"

/* The zone-file line for key (malloc'd into *line); 0, or the exit status
 * after printing why. */
int
cli_zone_line(const char *cmd, const vdkim_key *key, const char *selector,
    const char *domain, char **line)
{
	vdkim_error err;
	char *value = NULL;

	if (vdkim_key_dns_value(key, &value, &err) != VDKIM_OK ||
	    vdkim_dns_zone_line(selector, domain, value, line, &err) !=
	    VDKIM_OK) {
		free(value);
		return cli_fail(cmd, cli_exit_for(err.rc), "%s", err.msg);
	}
	free(value);
	return 0;
}

int
cli_keygen_write(const char *cmd, vdkim_key_type type, unsigned bits,
    const char *selector, const char *domain, const char *dir, char **out)
{
	char *pem = NULL, *line = NULL, path[4096], why[4200];
	size_t pemlen = 0;
	vdkim_key *key = NULL;
	vdkim_error err;
	struct stat st;
	int rc;

	/* Before the key is made: a folder that is not there is said as
	 * such, and no key is generated for nothing. */
	if (stat(dir, &st) != 0 && errno == ENOENT)
		return cli_fail(cmd, CLI_CANTCREAT, "the folder %s does not "
		    "exist (make it first): no key was generated", dir);
	if (stat(dir, &st) != 0)
		return cli_fail(cmd, CLI_CANTCREAT, "the folder %s: %s (no key "
		    "was generated)", dir, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return cli_fail(cmd, CLI_CANTCREAT,
		    "%s is not a folder (no key "
		    "was generated)", dir);
	if (vdkim_key_generate(type, bits, &key, &err) != VDKIM_OK)
		return cli_fail(cmd, cli_exit_for(err.rc), "%s", err.msg);
	if (vdkim_key_warning(key) != NULL)
		fprintf(stderr, "vdkimctl %s: warning: %s\n", cmd,
		    vdkim_key_warning(key));
	if ((rc = cli_zone_line(cmd, key, selector, domain, &line)) != 0)
		goto out;
	if (vdkim_key_private_pem(key, &pem, &pemlen, &err) != VDKIM_OK) {
		rc = cli_fail(cmd, cli_exit_for(err.rc), "%s", err.msg);
		goto out;
	}
	/* The private key first, refusing to overwrite: a selector's key
	 * is replaced by rotating to a new selector, never in place. */
	snprintf(path, sizeof(path), "%s/%s.private", dir, selector);
	if (cli_write_file(path, pem, pemlen, 0600, 1, why, sizeof(why))) {
		rc = cli_fail(cmd, CLI_CANTCREAT, "%s", why);
		goto out;
	}
	snprintf(path, sizeof(path), "%s/%s.txt", dir, selector);
	{
		size_t n = strlen(line);
		line[n] = '\n';
		if (cli_write_file(path, line, n + 1, 0644, 0, why,
		    sizeof(why))) {
			rc = cli_fail(cmd, CLI_CANTCREAT, "%s", why);
			goto out;
		}
		line[n] = '\0';
	}
	*out = line;
	line = NULL;
	rc = 0;
out:
	if (pem != NULL) {
		OPENSSL_cleanse(pem, pemlen);
		free(pem);
	}
	free(line);
	vdkim_key_unref(key);
	return rc;
}

/*
 * --group: the private key becomes readable by the MTA's group (0640,
 * owner unchanged, group gid), e.g. Debian-exim, which reads keys as its
 * own user.  Only the file: the folder it lies in is the operator's
 * (it must let the group through, and often holds other keys).  The key
 * was written 0600, so it is never readable by more than owner and group.
 */
static int
share_with_group(const char *dir, const char *selector, const char *group,
    gid_t gid)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s.private", dir, selector);
	if (chown(path, (uid_t)-1, gid) != 0 || chmod(path, 0640) != 0)
		return cli_fail("keygen", CLI_CANTCREAT,
		    "%s: cannot give group %s read "
		    "access: %s (the key stays 0600)", path, group,
		    strerror(errno));
	return 0;
}

int
cmd_keygen(int argc, char **argv)
{
	const char *selector = NULL, *domain = NULL, *dir = ".";
	const char *group = NULL, *type_arg = "rsa", *bits_arg = NULL;
	const cli_opt opts[] = {
		{ "selector", &selector }, { "domain", &domain },
		{ "type", &type_arg }, { "bits", &bits_arg }, { "dir", &dir },
		{ "group", &group },
	};
	gid_t gid = 0;
	vdkim_key_type type = VDKIM_KEY_RSA;
	unsigned long bits = 2048;
	char *end, *line = NULL;
	int rc;

	if ((rc = cli_options("keygen", argc, argv, opts,
	    sizeof(opts) / sizeof(opts[0]))) != 0)
		return rc;
	if (optind != argc)
		return cli_fail("keygen", CLI_USAGE, "unexpected argument "
		    "\"%s\"", argv[optind]);
	if (strcmp(type_arg, "ed25519") == 0)
		type = VDKIM_KEY_ED25519;
	else if (strcmp(type_arg, "rsa") != 0)
		return cli_fail("keygen", CLI_USAGE,
		    "--type must be rsa or ed25519, "
		    "not \"%s\"", type_arg);
	if (bits_arg != NULL && type == VDKIM_KEY_ED25519)
		return cli_fail("keygen", CLI_USAGE, "--bits does not apply to "
		    "ed25519 keys (their size is fixed): leave it out");
	if (bits_arg != NULL) {
		bits = strtoul(bits_arg, &end, 10);
		if (*bits_arg == '\0' || *end != '\0')
			return cli_fail("keygen", CLI_USAGE,
			    "--bits must be a number, "
			    "not \"%s\"", bits_arg);
	}
	if (selector == NULL || domain == NULL)
		return cli_fail("keygen", CLI_USAGE,
		    "--selector and --domain are "
		    "required");
	if (strchr(selector, '/') != NULL)
		return cli_fail("keygen", CLI_USAGE,
		    "selector \"%s\" may not contain "
		    "\"/\"", selector);
	if (type == VDKIM_KEY_RSA && bits > 16384)
		return cli_fail("keygen", CLI_USAGE,
		    "--bits %lu is out of range", bits);
	/* Before the key exists: a wrong name leaves nothing behind. */
	if (group != NULL) {
		struct group *gr;

		errno = 0;
		gr = getgrnam(group);
		if (gr == NULL)
			return cli_fail("keygen", CLI_NOUSER,
			    "--group %s: %s", group,
			    errno ? strerror(errno) : "no such group");
		gid = gr->gr_gid;
	}
	if ((rc = cli_keygen_write("keygen", type, (unsigned)bits, selector,
	    domain, dir, &line)) != 0)
		return rc;
	if (group != NULL &&
	    (rc = share_with_group(dir, selector, group, gid)) != 0) {
		free(line);
		return rc;
	}
	printf("%s\n", line);
	free(line);
	return 0;
}

int
cmd_dns_record(int argc, char **argv)
{
	const char *keyfile = NULL, *selector = NULL, *domain = NULL;
	const char *config = NULL;
	const cli_opt opts[] = {
		{ "key", &keyfile }, { "selector", &selector },
		{ "domain", &domain }, { "config", &config },
	};
	vdkim_key *key = NULL;
	vdkim_error err;
	char *line = NULL;
	int rc;

	if ((rc = cli_options("dns-record", argc, argv, opts,
	    sizeof(opts) / sizeof(opts[0]))) != 0)
		return rc;
	if (optind != argc)
		return cli_fail("dns-record", CLI_USAGE, "unexpected argument "
		    "\"%s\"", argv[optind]);
	if (keyfile == NULL || selector == NULL || domain == NULL)
		return cli_fail("dns-record", CLI_USAGE,
		    "--key, --selector and "
		    "--domain are required");
	if (config != NULL) {
		/* A key on a device, reached through the config's
		 * openssl-engine / openssl-provider for its URI. */
		vdkim_policy *p = NULL;

		if (vdkim_policy_load_skipping(config, cli_host_blocks, &p,
		    &err) != VDKIM_OK ||
		    vdkim_policy_device_key(p, keyfile, &key, &err) !=
		    VDKIM_OK) {
			vdkim_policy_unref(p);
			return cli_fail("dns-record", cli_exit_for(err.rc),
			    "%s", err.msg);
		}
		vdkim_policy_unref(p);
	} else if (vdkim_key_load_file(keyfile, &key, &err) != VDKIM_OK) {
		return cli_fail("dns-record", cli_exit_for(err.rc),
		    "%s", err.msg);
	}
	rc = cli_zone_line("dns-record", key, selector, domain, &line);
	if (rc == 0)
		printf("%s\n", line);
	free(line);
	vdkim_key_unref(key);
	return rc;
}
