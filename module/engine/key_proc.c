/*
 * key_proc.c - a software RSA key's signing state, one per process (see
 * key_proc.h for why).
 *
 * The key holds a list of states, newest first, each stamped with the pid
 * of the process that made it.  A signature uses the newest one when its
 * pid is the caller's; otherwise the caller is a process forked since, and
 * it pushes a state of its own, made from a copy of the key (EVP_PKEY_dup:
 * the key's numbers only, no blinding and no cached Montgomery values).
 * Older states stay on the list until the key is freed: in a child they
 * are its parents' (one per generation of forks that signed), never used
 * again, and freeing them while another thread of the child may still be
 * reading the list head would need a lock.
 *
 * No lock is used at all: one held by a parent's thread at the moment of a
 * fork would never be released in the child.  A new state is published by
 * compare-and-swap; when two threads of a new child race, the loser frees
 * its copy and uses the winner's.  OpenSSL itself shares a state's
 * blinding among the threads of a process.
 *
 * The check costs a getpid() per signature.  A process that reuses the pid
 * of a dead ancestor whose state it inherited without signing in between
 * would take that state over: OpenSSL's own generator detects forks the
 * same way (by pid), and the case needs a chain of forks across a pid
 * wrap-around.
 */
#include <stdlib.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "error.h"
#include "key.h"
#include "key_proc.h"

struct key_proc {
	pid_t pid;               /* the process that made and uses it */
	EVP_PKEY_CTX *tmpl;      /* EVP_PKEY_sign ready; holds its key */
	struct key_proc *older;  /* the state this process inherited */
};

/* A state for process pid signing with pkey (the template takes its own
 * reference); NULL with OpenSSL's error queue set. */
static struct key_proc *
proc_new(EVP_PKEY *pkey, pid_t pid)
{
	struct key_proc *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return NULL;
	p->pid = pid;
	p->tmpl = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
	if (p->tmpl == NULL || EVP_PKEY_sign_init(p->tmpl) != 1 ||
	    EVP_PKEY_CTX_set_rsa_padding(p->tmpl, RSA_PKCS1_PADDING) != 1 ||
	    EVP_PKEY_CTX_set_signature_md(p->tmpl, EVP_sha256()) != 1) {
		EVP_PKEY_CTX_free(p->tmpl);
		free(p);
		return NULL;
	}
	return p;
}

int
key_proc_init(vdkim_key *key)
{
	/* The loading process signs with the loaded key itself. */
	struct key_proc *p = proc_new(key->pkey, getpid());

	if (p == NULL)
		return -1;
	atomic_store_explicit(&key->rsa_proc, p, memory_order_release);
	return 0;
}

/* The first signature of process pid with key: pushes its own state
 * (see the top of the file).  cur is the list head the caller saw. */
static EVP_PKEY_CTX *
proc_start(const vdkim_key *key, struct key_proc *cur, pid_t pid,
    vdkim_error *err)
{
	/*
	 * The key is shared read-only; this list is the one thing in it that
	 * a signature may change, once per process.  The cast drops const
	 * for that alone.
	 */
	_Atomic(struct key_proc *) *head =
	    (_Atomic(struct key_proc *) *)&key->rsa_proc;
	EVP_PKEY *copy = EVP_PKEY_dup(key->pkey);
	struct key_proc *mine = copy != NULL ? proc_new(copy, pid) : NULL;

	EVP_PKEY_free(copy); /* the template holds its own reference */
	if (mine == NULL) {
		vdkim_fail_ssl(err, VDKIM_ECRYPTO, "cannot set up the RSA key "
		    "for signing in process %ld", (long)pid);
		return NULL;
	}
	for (;;) {
		mine->older = cur;
		if (atomic_compare_exchange_strong_explicit(head, &cur, mine,
		    memory_order_acq_rel, memory_order_acquire))
			return mine->tmpl;
		/* Only threads of this process change its list: a thread
		 * that was first pushed this process's state. */
		if (cur->pid == pid) {
			EVP_PKEY_CTX_free(mine->tmpl);
			free(mine);
			return cur->tmpl;
		}
	}
}

EVP_PKEY_CTX *
key_proc_template(const vdkim_key *key, vdkim_error *err)
{
	pid_t pid = getpid();
	struct key_proc *cur = atomic_load_explicit(&key->rsa_proc,
	    memory_order_acquire);

	if (cur != NULL && cur->pid == pid)
		return cur->tmpl;
	if (cur == NULL) {
		vdkim_fail(err, VDKIM_ECRYPTO, "the RSA key was not set up "
		    "for signing");
		return NULL;
	}
	return proc_start(key, cur, pid, err);
}

void
key_proc_free(vdkim_key *key)
{
	struct key_proc *p = atomic_load_explicit(&key->rsa_proc,
	    memory_order_acquire);

	while (p != NULL) {
		struct key_proc *older = p->older;

		EVP_PKEY_CTX_free(p->tmpl);
		free(p);
		p = older;
	}
}
