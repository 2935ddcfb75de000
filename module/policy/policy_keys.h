/*
 * policy_keys.h - the key files of a policy: each read once, each content
 * parsed once, across the machine's cores, and on a reload the previous
 * policy's parsed keys reused for every file that did not change.
 *
 * An email service provider signs for tens of thousands of domains, each
 * with its own key file (and often the same key in many files).  A file
 * is known by its identity (device, inode, size, modification and change
 * times) and its content (SHA-256): a reload that finds the identity
 * unchanged reads nothing, and a content already parsed, in this load or
 * the previous one, is not parsed again: one vdkim_key serves every file
 * that holds it.  A content whose key has a warning (a weak RSA key) is
 * parsed per file, so each warning names its own file.
 */
#ifndef VDKIM_POLICY_KEYS_H
#define VDKIM_POLICY_KEYS_H

#include "policy_model.h"

/*
 * Loads the key of every domain-key of p whose KEYFILE is a file (not a
 * device URI, not a rotation): k->key, or k->error and a warning naming
 * FILE:LINE and why.  prev: the policy in use, on a reload (else NULL).
 * On a reload, a file whose key prev had loaded that no longer loads
 * fails the whole load (err names FILE:LINE, the key file and why): the
 * policy in use, which still signs with that key, stays in force.
 */
vdkim_rc policy_load_key_files(vdkim_policy *p, const vdkim_policy *prev,
    vdkim_error *err);

/* Frees what policy_load_key_files kept (p->key_files). */
void policy_key_files_free(struct key_files *kf);

/* Of p's load: the key files named (distinct paths), and how many of
 * them had their key parsed (not reused from the previous policy, not
 * shared with a file of the same content). */
size_t policy_key_files_count(const vdkim_policy *p);
size_t policy_keys_parsed(const vdkim_policy *p);

#endif
