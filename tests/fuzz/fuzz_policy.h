/*
 * fuzz_policy.h - a fixed policy for the harnesses that decide: the
 * RFC 8463 test keys copied (mode 0600) into a private temporary folder,
 * and a config naming them, with a source allowed X-DKIM-Options.
 */
#ifndef VDKIM_FUZZ_POLICY_H
#define VDKIM_FUZZ_POLICY_H

/* The config's path (made once per process; aborts when it cannot be).
 * extra is appended to the config (a host's block), or NULL. */
const char *fuzz_policy_config(const char *extra);

#endif
