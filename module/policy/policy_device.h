/*
 * policy_device.h - a policy's device keys as the operator's tools show
 * them (config-test's table, explain), and across a reload.
 */
#ifndef VDKIM_POLICY_DEVICE_H
#define VDKIM_POLICY_DEVICE_H

#include "vdkim/dkim.h"
#include "vdkim/policy.h"

/*
 * A reload, before p's keys are opened: where a device block did not
 * change from prev (the policy in use), p shares prev's device, whose
 * sessions its keys then open in; a changed device reuses what its
 * backend can of prev's (device_share_backend).
 */
void policy_keep_devices(vdkim_policy *p, vdkim_policy *prev);

/*
 * A reload, for k, a domain-key naming a device URI: when p keeps the
 * device (above) and prev had the key at that URI, and reached it, k's
 * key shares prev's opened handle (key_device_carry) and 1 is returned;
 * else 0 and the caller opens the key (policy_load_device_key).
 */
struct key_entry;
int policy_carry_device_key(vdkim_policy *p, struct key_entry *k,
    const vdkim_policy *prev);

/*
 * A reload, after p's keys are opened: every device key of p that prev
 * did not have (a new or changed device, a new URI) signs once; the first
 * that cannot fails the reload with "FILE:LINE: domain-key S,D: ...", so
 * that the policy in use stays.  Keys carried over unchanged are not
 * tested: a device that is away now keeps its keys as at any load.
 */
vdkim_rc policy_test_new_device_keys(const vdkim_policy *p,
    const vdkim_policy *prev, vdkim_error *err);

/*
 * 1 when key is held by a device that could not be opened when the policy
 * was loaded: the key is kept (signing retries the device), but its
 * public half, hence its size, is unknown and it cannot sign until the
 * device answers.  0 for every other key.
 */
int policy_key_unopened(const vdkim_key *key);

#endif
