// The steady-state monitor of a detached container, in C (see relay.go,
// container/monitor_shed.go and docs/architecture.md, "The monitor"). The
// Go monitor starts the container, then re-executes this binary as
//
//	edgerun-mon NAME __monitor ROOT STATE ID relay PID STARTED BACKOFF log=PATH
//	    max-size=N max-file=N [health=MS,MS,MS,MS] [devices=DIR:DIR...] [oom=FD[,FD]]
//	    owner=FD stdout=FD [stderr=FD] [keep=FD]
//
// This constructor takes that over before the Go runtime starts: it holds
// the owner lock (inherited), relays the output streams to the log in the
// format of package logfile, keeps stdin's write end (keep=) open, waits for
// the container's init (its child: the PID is the same across execve) and,
// once it has exited and its output is drained, executes the Go monitor
// again as "... resume PID STARTED BACKOFF exit=CODE [wake=1] owner=FD" to
// record the exit and apply the restart policy. When the arguments are not
// what it expects it returns, and the Go monitor resumes in Go instead.
//
// With devices=DIR:DIR... it follows the container's host devices
// (devwatch.c): a change in one of those directories runs
// "edgerun-dev __devices ROOT STATE ID" as its child.
//
// With oom=NOTE[,EVENTS] it follows the OOM kills in the container's
// memory cgroup (oomwatch.c): the kernel's notice runs
// "edgerun-oom __oom ROOT STATE ID" as its child to record them.
//
// With health=INTERVAL,START_INTERVAL,START_PERIOD,TIMEOUT (milliseconds)
// it also probes the container's health check: at each due time it runs
// "edgerun-probe __health ROOT STATE ID" (container/health.go) as its child, one at
// a time, and reads the status the probe left from its exit code (0
// healthy, 1 unhealthy, 3 starting) to time the next one: the start
// interval while starting within the start period, the interval otherwise.
// The probe records the result and applies --health-on-failure itself; a
// probe still running when the container exits is killed.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "devwatch.h"
#include "oomwatch.h"
#include "probe.h"

#define RELAY_LINE_MAX (16 << 10) // logfile.LineMax
#define RELAY_READ (8 << 10)      // logfile.Writer.CopyStream's read size
#define RELAY_OUT (64 << 10)      // one write(2) of formatted lines, at most
#define RELAY_STREAMS 2
#define RELAY_DRAIN_MS 2000 // the Go monitor's wait for the output (monitorRun.wait)

struct relay_stream {
	int fd;
	const char *name;
	size_t plen; // bytes of a line not yet ended
	char pending[RELAY_LINE_MAX + RELAY_READ];
};

struct relay_log {
	char path[PATH_MAX];
	int fd;
	long long size, max_size;
	int max_file;
	size_t olen;
	char ts[32]; // the timestamp of the lines being formatted
	char out[RELAY_OUT];
};

struct relay {
	char **argv; // the monitor's arguments, reused for the exec back to Go
	int pid, owner, keep, nstreams, wake;
	sigset_t mask; // the signal mask to give the Go monitor
	struct relay_health health;
	struct relay_devices devices;
	struct relay_oom oom;
	struct relay_stream streams[RELAY_STREAMS];
	struct relay_log log;
	char rbuf[RELAY_READ];
};

static struct relay relay_state; // in .bss: only the pages used become resident

static int parse_int(const char *s, long long *v)
{
	char *end;
	if (*s == '\0')
		return -1;
	errno = 0;
	*v = strtoll(s, &end, 10);
	return (errno != 0 || *end != '\0') ? -1 : 0;
}

static int parse_fd(const char *s)
{
	long long v;
	if (parse_int(s, &v) < 0 || v < 3 || v > INT_MAX || fcntl((int)v, F_GETFD) < 0)
		return -1;
	return (int)v;
}

// relay_parse reads argv[6:]; it returns -1 when anything is off.
static int relay_parse(struct relay *r, int argc, char **argv)
{
	long long v;
	r->owner = r->keep = -1;
	r->oom.note = r->oom.events = -1;
	r->log.max_size = 0;
	if (parse_int(argv[6], &v) < 0 || v <= 0 || v > INT_MAX)
		return -1;
	r->pid = (int)v;
	if (parse_int(argv[7], &v) < 0 || v < 0)
		return -1;
	r->health.started_ms = v / 1000000;
	for (int i = 9; i < argc; i++) {
		char *a = argv[i], *val = strchr(a, '=');
		if (val == NULL)
			return -1;
		size_t klen = (size_t)(val - a);
		val++;
		if (klen == 3 && strncmp(a, "log", 3) == 0) {
			if (strlen(val) >= sizeof(r->log.path) - 16)
				return -1;
			strcpy(r->log.path, val);
		} else if (klen == 8 && strncmp(a, "max-size", 8) == 0) {
			if (parse_int(val, &r->log.max_size) < 0 || r->log.max_size <= 0)
				return -1;
		} else if (klen == 8 && strncmp(a, "max-file", 8) == 0) {
			if (parse_int(val, &v) < 0 || v < 1 || v > 1000)
				return -1;
			r->log.max_file = (int)v;
		} else if ((klen == 6 && strncmp(a, "stdout", 6) == 0) || (klen == 6 && strncmp(a, "stderr", 6) == 0)) {
			if (r->nstreams == RELAY_STREAMS)
				return -1;
			struct relay_stream *s = &r->streams[r->nstreams++];
			s->name = strncmp(a, "stdout", 6) == 0 ? "stdout" : "stderr";
			if ((s->fd = parse_fd(val)) < 0)
				return -1;
		} else if (klen == 5 && strncmp(a, "owner", 5) == 0) {
			if ((r->owner = parse_fd(val)) < 0)
				return -1;
		} else if (klen == 4 && strncmp(a, "keep", 4) == 0) {
			if ((r->keep = parse_fd(val)) < 0)
				return -1;
		} else if (klen == 7 && strncmp(a, "devices", 7) == 0) {
			if (*val != '/')
				return -1;
			r->devices.dirs = val;
		} else if (klen == 3 && strncmp(a, "oom", 3) == 0) {
			if (oomwatch_parse(&r->oom, val) < 0)
				return -1;
		} else if (klen == 6 && strncmp(a, "health", 6) == 0) {
			if (probe_parse(&r->health, val) < 0)
				return -1;
		} else {
			return -1;
		}
	}
	if (r->owner < 0 || r->nstreams == 0 || r->log.path[0] == '\0' || r->log.max_size <= 0 || r->log.max_file < 1)
		return -1;
	return 0;
}

static void put_digits(char *p, long v, int n)
{
	for (int i = n - 1; i >= 0; i--, v /= 10)
		p[i] = (char)('0' + v % 10);
}

// log_stamp sets the timestamp of the next lines: RFC 3339, UTC, with
// nanoseconds (logTime).
static void log_stamp(struct relay_log *l)
{
	struct timespec t;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &t);
	gmtime_r(&t.tv_sec, &tm);
	char *p = l->ts; // 2006-01-02T15:04:05.000000000Z
	put_digits(p, tm.tm_year + 1900, 4);
	p[4] = '-';
	put_digits(p + 5, tm.tm_mon + 1, 2);
	p[7] = '-';
	put_digits(p + 8, tm.tm_mday, 2);
	p[10] = 'T';
	put_digits(p + 11, tm.tm_hour, 2);
	p[13] = ':';
	put_digits(p + 14, tm.tm_min, 2);
	p[16] = ':';
	put_digits(p + 17, tm.tm_sec, 2);
	p[19] = '.';
	put_digits(p + 20, t.tv_nsec, 9);
	p[29] = 'Z';
	p[30] = '\0';
}

static int log_open(struct relay_log *l, int flags)
{
	int fd;
	do
		fd = open(l->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | flags, 0600);
	while (fd < 0 && errno == EINTR);
	return fd;
}

// log_rotate shifts container.log -> .1 -> .2 ..., dropping the oldest.
static void log_rotate(struct relay_log *l)
{
	char from[PATH_MAX + 16], to[PATH_MAX + 16];
	close(l->fd);
	l->fd = -1;
	if (l->max_file <= 1) {
		unlink(l->path);
	} else {
		snprintf(to, sizeof(to), "%s.%d", l->path, l->max_file - 1);
		unlink(to);
		for (int i = l->max_file - 2; i >= 1; i--) {
			snprintf(from, sizeof(from), "%s.%d", l->path, i);
			snprintf(to, sizeof(to), "%s.%d", l->path, i + 1);
			rename(from, to);
		}
		snprintf(to, sizeof(to), "%s.1", l->path);
		rename(l->path, to);
	}
	int fd = log_open(l, O_TRUNC);
	if (fd < 0)
		return; // the log is lost until the next rotation; the container runs on
	l->fd = fd;
	l->size = 0;
}

// log_flush writes the formatted lines with one write(2) (more if short),
// rotating first when they would pass max-size.
static void log_flush(struct relay_log *l)
{
	if (l->olen == 0)
		return;
	if (l->size > 0 && l->size + (long long)l->olen > l->max_size)
		log_rotate(l);
	for (size_t off = 0; l->fd >= 0 && off < l->olen;) {
		ssize_t n = write(l->fd, l->out + off, l->olen - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
		l->size += n;
	}
	l->olen = 0;
}

// log_line formats one line: "TIMESTAMP STREAM F|P CONTENT\n".
static void log_line(struct relay_log *l, const char *stream, const char *data, size_t n, int partial)
{
	size_t slen = strlen(stream), need = 30 + 1 + slen + 3 + n + 1;
	if (l->olen + need > sizeof(l->out))
		log_flush(l);
	char *p = l->out + l->olen;
	memcpy(p, l->ts, 30);
	p += 30;
	*p++ = ' ';
	memcpy(p, stream, slen);
	p += slen;
	memcpy(p, partial ? " P " : " F ", 3);
	p += 3;
	memcpy(p, data, n);
	p += n;
	*p++ = '\n';
	l->olen += need;
}

// stream_data logs what one read returned, as copyStream does: the ended
// lines with one timestamp and one write, then 16 KiB parts of a longer
// line not yet ended, each a write of its own.
static void stream_data(struct relay *r, struct relay_stream *s, const char *d, size_t n)
{
	int any = 0;
	while (n > 0) {
		const char *nl = memchr(d, '\n', n);
		if (nl == NULL) {
			memcpy(s->pending + s->plen, d, n); // plen < RELAY_LINE_MAX before a read
			s->plen += n;
			break;
		}
		size_t i = (size_t)(nl - d);
		if (!any)
			log_stamp(&r->log);
		any = 1;
		if (s->plen > 0) {
			memcpy(s->pending + s->plen, d, i);
			log_line(&r->log, s->name, s->pending, s->plen + i, 0);
			s->plen = 0;
		} else {
			log_line(&r->log, s->name, d, i, 0);
		}
		d += i + 1;
		n -= i + 1;
	}
	log_flush(&r->log);
	while (s->plen >= RELAY_LINE_MAX) {
		log_stamp(&r->log);
		log_line(&r->log, s->name, s->pending, RELAY_LINE_MAX, 1);
		log_flush(&r->log);
		s->plen -= RELAY_LINE_MAX;
		memmove(s->pending, s->pending + RELAY_LINE_MAX, s->plen);
	}
}

// stream_end logs the last bytes without a newline as a full line and
// closes the stream.
static void stream_end(struct relay *r, struct relay_stream *s)
{
	if (s->plen > 0) {
		log_stamp(&r->log);
		log_line(&r->log, s->name, s->pending, s->plen, 0);
		log_flush(&r->log);
		s->plen = 0;
	}
	close(s->fd);
	s->fd = -1;
}

static void stream_read(struct relay *r, struct relay_stream *s)
{
	ssize_t n = read(s->fd, r->rbuf, sizeof(r->rbuf));
	if (n > 0)
		stream_data(r, s, r->rbuf, (size_t)n);
	else if (n == 0 || (errno != EINTR && errno != EAGAIN))
		stream_end(r, s); // EOF, or EIO from a pty whose other side closed
}

static long long min_ll(long long a, long long b)
{
	return a < b ? a : b;
}

// reap returns the init's exit code (128+N when killed by signal N, -1 if
// it is not this process's child) once it has exited, or -2.
static int reap(int pid)
{
	int st;
	pid_t p;
	do
		p = waitpid(pid, &st, WNOHANG);
	while (p < 0 && errno == EINTR);
	if (p < 0)
		return -1;
	if (p == 0)
		return -2;
	return WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
}

// relay_loop relays the output until the init has exited and the streams
// are drained (or RELAY_DRAIN_MS after it exited); it returns the exit code.
static int relay_loop(struct relay *r, int sfd)
{
	int code = -2;
	long long deadline = 0;
	struct pollfd pfd[RELAY_STREAMS + 3];
	struct relay_stream *ps[RELAY_STREAMS + 3];
	if (r->health.interval > 0) {
		r->health.status = PROBE_STARTING;
		r->health.due = relay_now_ms() + probe_next(&r->health);
	}
	for (;;) {
		probe_reap(&r->health);
		devwatch_reap(&r->devices);
		oomwatch_reap(&r->oom);
		if (code == -2 && (code = reap(r->pid)) != -2) {
			deadline = relay_now_ms() + RELAY_DRAIN_MS;
			probe_stop(&r->health);
			devwatch_stop(&r->devices);
			oomwatch_stop(&r->oom);
		}
		int n = 0, timeout = -1, ino = -1, oom = -1;
		if (code == -2 && r->health.interval > 0)
			timeout = (int)min_ll(probe_tick(&r->health), INT_MAX);
		if (code == -2 && devwatch_fd(&r->devices) >= 0) {
			long long t = devwatch_tick(&r->devices);
			if (t >= 0 && (timeout < 0 || t < timeout))
				timeout = (int)min_ll(t, INT_MAX);
		}
		if (code == -2 && oomwatch_fd(&r->oom) >= 0) {
			long long t = oomwatch_tick(&r->oom);
			if (t >= 0 && (timeout < 0 || t < timeout))
				timeout = (int)min_ll(t, INT_MAX);
		}
		pfd[n].fd = sfd;
		pfd[n].events = POLLIN;
		ps[n++] = NULL;
		if (devwatch_fd(&r->devices) >= 0) {
			ino = n;
			pfd[n].fd = devwatch_fd(&r->devices);
			pfd[n].events = POLLIN;
			ps[n++] = NULL;
		}
		if (oomwatch_fd(&r->oom) >= 0) {
			oom = n;
			pfd[n].fd = oomwatch_fd(&r->oom);
			pfd[n].events = POLLIN;
			ps[n++] = NULL;
		}
		for (int i = 0; i < r->nstreams; i++) {
			if (r->streams[i].fd >= 0) {
				pfd[n].fd = r->streams[i].fd;
				pfd[n].events = POLLIN;
				ps[n++] = &r->streams[i];
			}
		}
		if (code != -2) {
			long long left = deadline - relay_now_ms();
			if (n == 1 + (ino >= 0) + (oom >= 0) || left <= 0)
				return code;
			timeout = (int)left;
		}
		if (poll(pfd, (nfds_t)n, timeout) < 0)
			continue; // EINTR
		if (pfd[0].revents & POLLIN) {
			struct signalfd_siginfo si;
			while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
				if (si.ssi_signo == SIGUSR1)
					r->wake = 1; // stop's wake-up, for the backoff sleep
		}
		if (ino >= 0 && (pfd[ino].revents & POLLIN))
			devwatch_read(&r->devices);
		if (oom >= 0 && (pfd[oom].revents & POLLIN))
			oomwatch_read(&r->oom);
		for (int i = 1; i < n; i++)
			if (ps[i] != NULL && (pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
				stream_read(r, ps[i]);
	}
}

// relay_back executes the Go monitor to record the exit. argv is rewritten
// in place: "resume" replaces "relay" and the descriptors follow; argv[0]
// (the monitor's name, "edgerun-mon NAME") is kept.
static void relay_back(struct relay *r, int code, const sigset_t *mask)
{
	static char exit_arg[32], owner_arg[32];
	char *args[16];
	int n = 0;
	for (int i = 0; i < 9; i++)
		args[n++] = r->argv[i];
	args[5] = "resume";
	snprintf(exit_arg, sizeof(exit_arg), "exit=%d", code);
	snprintf(owner_arg, sizeof(owner_arg), "owner=%d", r->owner);
	args[n++] = exit_arg;
	if (r->wake)
		args[n++] = "wake=1";
	args[n++] = owner_arg;
	args[n] = NULL;
	sigprocmask(SIG_SETMASK, mask, NULL);
	for (int try = 0; try < 10; try++) {
		execve("/proc/self/exe", args, environ);
		sleep(1); // out of memory or the like: retry, then give up
	}
	// Nothing records the exit: the next edgerun command finds the monitor
	// gone (owner lock free) and reclaims the container (container/cleanup.go).
	_exit(1);
}

// edgerun_name names a monitor "edgerun-mon" and a probe "edgerun-probe"
// in the kernel's comm (what top, pgrep and ps -o comm show; 15 bytes at
// most), which execve set to "exe" from /proc/self/exe. Set here, on the
// main thread before the Go runtime starts, every thread inherits it; the
// Go monitor and the C one alike. Their argv[0] ("edgerun-mon NAME") is
// chosen by whoever executes them (container/monitor_name.go).
__attribute__((constructor)) static void edgerun_name(int argc, char **argv, char **envp)
{
	(void)envp;
	if (argc < 2 || argv == NULL || argv[1] == NULL)
		return;
	if (strcmp(argv[1], "__monitor") == 0)
		prctl(PR_SET_NAME, "edgerun-mon", 0, 0, 0);
	else if (strcmp(argv[1], "__health") == 0)
		prctl(PR_SET_NAME, "edgerun-probe", 0, 0, 0);
	else if (strcmp(argv[1], "__devices") == 0)
		prctl(PR_SET_NAME, "edgerun-dev", 0, 0, 0);
	else if (strcmp(argv[1], "__oom") == 0)
		prctl(PR_SET_NAME, "edgerun-oom", 0, 0, 0);
}

__attribute__((constructor)) static void edgerun_relay(int argc, char **argv, char **envp)
{
	(void)envp;
	if (argc < 10 || argv == NULL || strcmp(argv[1], "__monitor") != 0 || strcmp(argv[5], "relay") != 0)
		return;
	struct relay *r = &relay_state;
	r->argv = argv;
	if (relay_parse(r, argc, argv) < 0)
		return; // the Go monitor resumes instead
	sigset_t mask, old;
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGUSR1);
	if (sigprocmask(SIG_BLOCK, &mask, &old) < 0)
		return;
	r->mask = old;
	r->health.argv = argv;
	r->health.mask = old;
	r->devices.argv = argv;
	r->devices.mask = old;
	r->oom.argv = argv;
	r->oom.mask = old;
	int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		return;
	}
	if (devwatch_open(&r->devices) < 0 || oomwatch_open(&r->oom) < 0) {
		close(sfd);
		sigprocmask(SIG_SETMASK, &old, NULL);
		return; // the Go monitor resumes instead
	}
	r->log.fd = log_open(&r->log, 0);
	struct stat st;
	r->log.size = (r->log.fd >= 0 && fstat(r->log.fd, &st) == 0) ? st.st_size : 0;
	signal(SIGHUP, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	for (int i = 0; i < r->nstreams; i++)
		fcntl(r->streams[i].fd, F_SETFD, FD_CLOEXEC);
	if (r->keep >= 0)
		fcntl(r->keep, F_SETFD, FD_CLOEXEC);
	int code = relay_loop(r, sfd);
	for (int i = 0; i < r->nstreams; i++)
		if (r->streams[i].fd >= 0)
			stream_end(r, &r->streams[i]); // not drained in time
	if (r->keep >= 0)
		close(r->keep);
	if (r->log.fd >= 0)
		close(r->log.fd);
	devwatch_stop(&r->devices);
	oomwatch_stop(&r->oom);
	close(sfd);
	relay_back(r, code, &old);
}
