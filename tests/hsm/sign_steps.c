/*
 * sign_steps.c - a host for the device tests: loads vdkim.so, opens an
 * instance on a config, and signs on command, so that a test can pull a
 * token out, put it back, break the PIN or fork between two messages.
 *
 *   hsm_steps SO CONFIG FROM-ADDRESS      then, one command per line:
 *     sign            -> "signed d=... s=..." or "ACTION REASON-CODE: sentence"
 *     save PATH       -> sign, write the signed message to PATH, as above
 *     threads T M     -> T threads sign M messages each: "threads ok N" or
 *                        "threads failed K: REASON-CODE"
 *     fork N M        -> N children sign M messages each (keys opened
 *                        after the fork): "fork ok" or "fork failed K"
 *     quit
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vdkim/vdkim.h"

static const vdkim_api *api;
static vdkim_instance *inst;
static char message[1024];
static atomic_int failures;
static char last_code[128];

/* Signs one message; 1 when signed.  line gets the outcome. */
static int
sign_one(char *line, size_t len, const char *save)
{
	vdkim_msg_info info;
	vdkim_hook_result res;
	vdkim_msg *m;
	char err[256];
	int ok;

	memset(&info, 0, sizeof(info));
	info.size = sizeof(info);
	info.rcpt_domain = "example.net";
	if (api->msg_begin(inst, VDKIM_HOOK_PRE_DELIVERY, &info, &m, err,
	    sizeof(err)) != 0) {
		snprintf(line, len, "error %s", err);
		return 0;
	}
	api->msg_chunk(m, message, strlen(message));
	memset(&res, 0, sizeof(res));
	res.size = sizeof(res);
	if (api->msg_end(m, &res) != 0) {
		api->msg_free(m);
		snprintf(line, len, "error msg_end");
		return 0;
	}
	ok = res.nsigned > 0;
	if (ok)
		snprintf(line, len, "signed %s", res.signatures);
	else
		snprintf(line, len, "%s %s: %s", res.action ==
		    VDKIM_ACTION_DEFER ? "deferred" : res.action ==
		    VDKIM_ACTION_REJECT ? "rejected" : "unsigned",
		    res.reason_code, res.reason);
	if (!ok)
		snprintf(last_code, sizeof(last_code), "%s", res.reason_code);
	if (ok && save != NULL) {
		FILE *f = fopen(save, "w");
		if (f != NULL) {
			fwrite(res.add_headers, 1, res.add_headers_len, f);
			fputs(message, f);
			fclose(f);
		}
	}
	api->msg_free(m);
	return ok;
}

static void *
thread_main(void *arg)
{
	long n = (long)arg;
	char line[1024];

	for (long i = 0; i < n; i++)
		if (!sign_one(line, sizeof(line), NULL))
			atomic_fetch_add(&failures, 1);
	return NULL;
}

static void
run_threads(long t, long n)
{
	pthread_t tid[64];

	if (t > 64)
		t = 64;
	atomic_store(&failures, 0);
	for (long i = 0; i < t; i++)
		pthread_create(&tid[i], NULL, thread_main, (void *)n);
	for (long i = 0; i < t; i++)
		pthread_join(tid[i], NULL);
	if (atomic_load(&failures) == 0)
		printf("threads ok %ld\n", t * n);
	else
		printf("threads failed %d: %s\n", atomic_load(&failures),
		    last_code);
}

static void
run_forks(long n, long per)
{
	int failed = 0;

	fflush(stdout);
	for (long i = 0; i < n; i++) {
		pid_t pid = fork();

		if (pid == 0) {
			char line[1024];
			int bad = 0;

			for (long k = 0; k < per; k++)
				bad += !sign_one(line, sizeof(line), NULL);
			if (bad)
				fprintf(stderr, "child: %s\n", line);
			_exit(bad ? 1 : 0);
		}
		if (pid < 0)
			failed++;
	}
	for (long i = 0; i < n; i++) {
		int st;

		if (wait(&st) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
			failed++;
	}
	if (failed == 0)
		printf("fork ok\n");
	else
		printf("fork failed %d\n", failed);
}

int
main(int argc, char **argv)
{
	vdkim_get_api_fn get;
	char cmd[4200], line[1024], err[512];
	void *h;

	if (argc != 4) {
		fprintf(stderr, "usage: hsm_steps SO CONFIG FROM\n");
		return 2;
	}
	snprintf(message, sizeof(message), "From: %s\r\nTo: b@example.net\r\n"
	    "Subject: device test\r\nMessage-ID: <steps@example.com>\r\n\r\n"
	    "Signed by a key that never left its device.\r\n", argv[3]);
	h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
	if (h == NULL) {
		fprintf(stderr, "hsm_steps: %s\n", dlerror());
		return 2;
	}
	get = (vdkim_get_api_fn)dlsym(h, "vdkim_get_api");
	if (get == NULL || get(VDKIM_ABI_VERSION, &api, err, sizeof(err)) != 0 ||
	    api->open(argv[2], NULL, &inst, err, sizeof(err)) != 0) {
		fprintf(stderr, "hsm_steps: %s\n", get ? err : dlerror());
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("ready\n");
	while (fgets(cmd, sizeof(cmd), stdin) != NULL) {
		long a, b;
		char path[4096];

		cmd[strcspn(cmd, "\n")] = '\0';
		if (strcmp(cmd, "sign") == 0) {
			sign_one(line, sizeof(line), NULL);
			printf("%s\n", line);
		} else if (sscanf(cmd, "save %4095s", path) == 1) {
			sign_one(line, sizeof(line), path);
			printf("%s\n", line);
		} else if (sscanf(cmd, "threads %ld %ld", &a, &b) == 2) {
			run_threads(a, b);
		} else if (sscanf(cmd, "fork %ld %ld", &a, &b) == 2) {
			run_forks(a, b);
		} else if (strcmp(cmd, "quit") == 0) {
			break;
		} else {
			printf("error unknown command\n");
		}
	}
	api->close(inst);
	return 0;
}
