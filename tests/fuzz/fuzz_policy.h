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
/* Removes the folder once everything is loaded: the keys are parsed once
 * and kept, and a process that ends abruptly (libFuzzer's merge and
 * crash exits skip atexit) leaves nothing behind. */
void fuzz_policy_remove(void);

#endif
