/*
 * policy_files.h - every file a loaded policy makes its host read.
 *
 * The MTA that loads vdkim.conf opens these files as its own user
 * (Debian's Exim as Debian-exim), which is seldom the user who wrote
 * them.  "vdkimctl config-test --user NAME" opens each as that user; the
 * list comes from here so that a new kind of file in the config is never
 * forgotten by the tools that check access.
 */
#ifndef VDKIM_POLICY_FILES_H
#define VDKIM_POLICY_FILES_H

#include "vdkim/dkim.h"
#include "vdkim/policy.h"

typedef enum vdkim_policy_file_kind {
	VDKIM_PFILE_CONFIG = 1,  /* the config file itself */
	VDKIM_PFILE_KEY,         /* a private key (domain-key, a rotation
	                            key, domain-key-fallback) */
	VDKIM_PFILE_PIN,         /* a device's pin-file */
	VDKIM_PFILE_DEVICE,      /* a device's openssl-config, so-path or
	                            module-path */
	VDKIM_PFILE_STATE        /* a rotation or DNS check state file (may
	                            not exist yet: the checker creates it) */
} vdkim_policy_file_kind;

/* One file; the strings belong to the policy (valid while it is). */
typedef struct vdkim_policy_file {
	const char *path;
	vdkim_policy_file_kind kind;
	int line;                /* the config line naming it; 0 for the
	                            config itself */
	const char *directive;   /* "domain-key", "pin-file", ... */
	const char *selector;    /* keys: the selector, else NULL */
	const char *domain;      /* keys: the domain, else NULL */
} vdkim_policy_file;

/* Called once per file; non-zero stops the walk (and is returned). */
typedef int (*vdkim_policy_file_fn)(void *ctx, const vdkim_policy_file *f);

/*
 * Calls fn for every file p reads: the config, then keys, devices' files
 * and state files in config order, each path once (the first mention).
 * Keys on devices (URIs) are not files and are left out.  Returns 0, fn's
 * non-zero answer, or -1 with err set (out of memory).
 */
int vdkim_policy_files(const vdkim_policy *p, vdkim_policy_file_fn fn,
    void *ctx, vdkim_error *err);

/* "key", "pin file", ... for sentences. */
const char *vdkim_policy_file_kind_name(vdkim_policy_file_kind kind);

#endif
