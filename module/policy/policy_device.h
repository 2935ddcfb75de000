/*
 * policy_device.h - a policy's device keys as the operator's tools show
 * them (config-test's table, explain).
 */
#ifndef VDKIM_POLICY_DEVICE_H
#define VDKIM_POLICY_DEVICE_H

#include "vdkim/dkim.h"

/*
 * 1 when key is held by a device that could not be opened when the policy
 * was loaded: the key is kept (signing retries the device), but its
 * public half, hence its size, is unknown and it cannot sign until the
 * device answers.  0 for every other key.
 */
int policy_key_unopened(const vdkim_key *key);

#endif
