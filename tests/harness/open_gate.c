/*
 * open_gate.c - a slow disk on demand, for tests (LD_PRELOAD).
 *
 * A reload that takes long (a config with 100,000 keys, a slow disk) must
 * not stop the harness from serving SMTP.  How long a real reload takes
 * depends on the machine and on how fast the module loads keys, so a test
 * that relied on it would prove nothing on a fast machine.  This library,
 * preloaded into the harness, makes one file's open() wait for as long as
 * the test wants, in whatever thread opens it:
 *
 *   OPEN_GATE_PATH  the path, as the program passes it to open()/openat()
 *   OPEN_GATE_FILE  while this file exists, opening OPEN_GATE_PATH waits
 *   OPEN_GATE_SEEN  created when an open starts waiting (the test knows
 *                   then that the reload is inside its key loading)
 *
 * A wait ends after 120 s at most (tests are bounded); then the open goes
 * on as usual.  Without the variables the library changes nothing.
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define GATE_MAX_MS 120000
#define GATE_POLL_MS 10

typedef int (*openat_fn)(int, const char *, int, ...);
typedef int (*open_fn)(const char *, int, ...);

static void
gate(const char *path)
{
	const char *want = getenv("OPEN_GATE_PATH");
	const char *file = getenv("OPEN_GATE_FILE");
	const char *seen = getenv("OPEN_GATE_SEEN");
	struct timespec poll = { 0, GATE_POLL_MS * 1000000L };

	if (want == NULL || file == NULL || path == NULL ||
	    strcmp(path, want) != 0 || access(file, F_OK) != 0)
		return;
	if (seen != NULL) {
		int fd = ((open_fn)dlsym(RTLD_NEXT, "open"))(seen,
		    O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
		if (fd >= 0)
			close(fd);
	}
	for (int waited = 0; waited < GATE_MAX_MS && access(file, F_OK) == 0;
	    waited += GATE_POLL_MS)
		nanosleep(&poll, NULL);
}

/* The mode argument exists only with O_CREAT or O_TMPFILE. */
static mode_t
mode_of(int flags, va_list ap)
{
	return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE ?
	    (mode_t)va_arg(ap, int) : 0;
}

#define GATED_OPENAT(name)                                              \
	int name(int dirfd, const char *path, int flags, ...)           \
	{                                                               \
		va_list ap;                                             \
		mode_t mode;                                            \
		va_start(ap, flags);                                    \
		mode = mode_of(flags, ap);                              \
		va_end(ap);                                             \
		gate(path);                                             \
		return ((openat_fn)dlsym(RTLD_NEXT, #name))(dirfd, path, \
		    flags, mode);                                       \
	}

#define GATED_OPEN(name)                                                \
	int name(const char *path, int flags, ...)                      \
	{                                                               \
		va_list ap;                                             \
		mode_t mode;                                            \
		va_start(ap, flags);                                    \
		mode = mode_of(flags, ap);                              \
		va_end(ap);                                             \
		gate(path);                                             \
		return ((open_fn)dlsym(RTLD_NEXT, #name))(path, flags,  \
		    mode);                                              \
	}

GATED_OPENAT(openat)
GATED_OPENAT(openat64)
GATED_OPEN(open)
GATED_OPEN(open64)
