// The C half of package rootless (see session.go): two things that must
// happen before the Go runtime starts threads, because a multithreaded
// process cannot enter a user namespace.
//
//   exe __session            the session holder: it was cloned into new
//                            user, mount and network namespaces; it waits on
//                            fd 3 until its parent has written the ID maps,
//                            then sleeps, keeping the namespaces alive.
//   _EDGERUN_JOIN=PID:START  enter the user and mount namespaces of the
//                            holder PID (checked by its start time), keep
//                            the working directory, then go on into Go.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SESSION_ARG "__session"
#define JOIN_ENV "_EDGERUN_JOIN"
#define SYNC_FD 3

static void session_fail(const char *what)
{
	fprintf(stderr, "edgerun: rootless session: %s: %s\n", what, strerror(errno));
	_exit(125);
}

// session_hold never returns: the holder waits for its maps, then sleeps
// until SIGTERM or SIGKILL ends it (and with it the namespaces).
static void session_hold(void)
{
	char go = 0;
	ssize_t n;
	do {
		n = read(SYNC_FD, &go, 1);
	} while (n < 0 && errno == EINTR);
	if (n != 1 || go != 'g')
		_exit(1); // the parent failed to map us, or died
	close(SYNC_FD);
	if (chdir("/") != 0)
		_exit(1);
	signal(SIGHUP, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	for (;;)
		pause();
}

// proc_start reads field 22 (starttime) of /proc/PID/stat, or 0.
static unsigned long long proc_start(long pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	char *p = strrchr(buf, ')');
	if (!p)
		return 0;
	p++;
	if (p[0] != ' ' || p[1] == 'Z' || p[1] == 'X')
		return 0; // exited: a zombie has no namespaces left
	// Fields after the name start at 3 (state); starttime is 22.
	for (int field = 3; field < 22; field++) {
		p = strchr(p + 1, ' ');
		if (!p)
			return 0;
	}
	return strtoull(p + 1, NULL, 10);
}

static void session_join(const char *spec)
{
	char *end;
	long pid = strtol(spec, &end, 10);
	if (pid <= 0 || *end != ':') {
		errno = EINVAL;
		session_fail("bad " JOIN_ENV);
	}
	unsigned long long want = strtoull(end + 1, NULL, 10);
	if (proc_start(pid) != want) {
		errno = ESRCH;
		session_fail("the session's holder process is gone (run the command again)");
	}
	char path[64], cwd[PATH_MAX];
	int have_cwd = getcwd(cwd, sizeof(cwd)) != NULL;
	snprintf(path, sizeof(path), "/proc/%ld/ns/user", pid);
	int user = open(path, O_RDONLY | O_CLOEXEC);
	if (user < 0)
		session_fail("open the session's user namespace");
	snprintf(path, sizeof(path), "/proc/%ld/ns/mnt", pid);
	int mnt = open(path, O_RDONLY | O_CLOEXEC);
	if (mnt < 0)
		session_fail("open the session's mount namespace");
	if (setns(user, CLONE_NEWUSER) != 0)
		session_fail("enter the session's user namespace");
	if (setns(mnt, CLONE_NEWNS) != 0)
		session_fail("enter the session's mount namespace");
	close(user);
	close(mnt);
	// Entering a mount namespace moves to its root; come back.
	if (have_cwd && chdir(cwd) != 0 && chdir("/") != 0)
		session_fail("change directory");
}

__attribute__((constructor)) static void edgerun_session(int argc, char **argv, char **envp)
{
	(void)envp;
	if (argc >= 2 && strcmp(argv[1], SESSION_ARG) == 0)
		session_hold();
	const char *join = getenv(JOIN_ENV);
	if (join == NULL)
		return;
	session_join(join);
	unsetenv(JOIN_ENV);
}
