// OOM kills in the C monitor: see oomwatch.h.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "oomwatch.h"
#include "probe.h"

static int oom_fd(const char *s, const char **end)
{
	char *e;
	errno = 0;
	long v = strtol(s, &e, 10);
	if (errno != 0 || e == s || v < 3 || v > INT_MAX || fcntl((int)v, F_GETFD) < 0)
		return -1;
	*end = e;
	return (int)v;
}

// oomwatch_parse reads the oom= argument: NOTE (v1) or NOTE,EVENTS (v2).
int oomwatch_parse(struct relay_oom *o, const char *val)
{
	const char *end;
	if ((o->note = oom_fd(val, &end)) < 0)
		return -1;
	if (*end == '\0')
		return 0;
	if (*end != ',' || (o->events = oom_fd(end + 1, &end)) < 0 || *end != '\0')
		return -1;
	return 0;
}

// oom_count reads memory.events' oom_kill counter; -1 if it cannot.
static long long oom_count(int fd)
{
	char buf[512];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	for (char *p = buf; p != NULL && *p != '\0'; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (strncmp(p, "oom_kill ", 9) == 0)
			return strtoll(p + 9, NULL, 10);
	return -1;
}

// oomwatch_open takes the descriptors over (close-on-exec, non-blocking:
// the Go side's Fd made them blocking) and reads the v2 count the kills
// are counted from.
int oomwatch_open(struct relay_oom *o)
{
	if (o->note < 0)
		return 0;
	fcntl(o->note, F_SETFD, FD_CLOEXEC);
	int fl = fcntl(o->note, F_GETFL);
	if (fl < 0 || fcntl(o->note, F_SETFL, fl | O_NONBLOCK) < 0)
		return -1;
	if (o->events >= 0) {
		fcntl(o->events, F_SETFD, FD_CLOEXEC);
		long long n = oom_count(o->events);
		o->kills = n > 0 ? (unsigned long long)n : 0;
	}
	return 0;
}

int oomwatch_fd(const struct relay_oom *o)
{
	return o->note;
}

// oomwatch_read drains the notice and schedules a recorder when a kill
// may have happened: any v1 notice (an OOM of the cgroup), a v2 one only
// when oom_kill moved.
void oomwatch_read(struct relay_oom *o)
{
	char buf[4096] __attribute__((aligned(8)));
	while (read(o->note, buf, sizeof(buf)) > 0)
		;
	if (o->events >= 0) {
		long long n = oom_count(o->events);
		if (n < 0 || (unsigned long long)n <= o->kills)
			return;
		o->kills = (unsigned long long)n;
	}
	if (o->due == 0)
		o->due = relay_now_ms() + OOMWATCH_SETTLE_MS;
}

static void oomwatch_start(struct relay_oom *o)
{
	pid_t p = relay_spawn("edgerun-oom", "__oom", o->argv, &o->mask);
	if (p < 0) { // out of processes (the OOM may be why): try again in a second
		o->due = relay_now_ms() + 1000;
		return;
	}
	o->pid = p;
	o->due = 0;
}

void oomwatch_reap(struct relay_oom *o)
{
	if (o->pid > 0 && waitpid(o->pid, NULL, WNOHANG) == o->pid)
		o->pid = 0;
}

// oomwatch_tick starts a recorder that is due (none runs); it returns the
// milliseconds until it needs to be called again, -1 for never.
long long oomwatch_tick(struct relay_oom *o)
{
	if (o->note < 0 || o->due == 0 || o->pid > 0)
		return -1;
	long long left = o->due - relay_now_ms();
	if (left > 0)
		return left;
	oomwatch_start(o);
	return o->due == 0 ? -1 : o->due - relay_now_ms();
}

// oomwatch_stop kills and reaps a running recorder and stops watching:
// the container has exited, and the Go monitor that records the exit
// counts the kills (a recorder writes the record atomically, so one
// killed midway leaves it whole).
void oomwatch_stop(struct relay_oom *o)
{
	if (o->pid > 0) {
		kill(o->pid, SIGKILL);
		while (waitpid(o->pid, NULL, 0) < 0 && errno == EINTR)
			;
		o->pid = 0;
	}
	if (o->note >= 0)
		close(o->note);
	if (o->events >= 0)
		close(o->events);
	o->note = o->events = -1;
	o->due = 0;
}
