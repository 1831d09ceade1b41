// The health probes of the C monitor: see probe.h.
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "probe.h"

// parse_ms reads a number of milliseconds, 0 to a year.
static int parse_ms(const char *s, long long *v)
{
	char *end;
	if (*s == '\0')
		return -1;
	errno = 0;
	*v = strtoll(s, &end, 10);
	return (errno != 0 || *end != '\0' || *v < 0 || *v > 365LL * 24 * 3600 * 1000) ? -1 : 0;
}

// probe_parse reads the health= argument: INTERVAL,START_INTERVAL,START_PERIOD,TIMEOUT.
int probe_parse(struct relay_health *h, char *val)
{
	long long *f[4] = {&h->interval, &h->start_interval, &h->start_period, &h->timeout};
	for (int i = 0; i < 4; i++) {
		char *end = strchr(val, ',');
		if ((end == NULL) != (i == 3))
			return -1;
		if (end != NULL)
			*end = '\0';
		if (parse_ms(val, f[i]) < 0)
			return -1;
		if (end != NULL) {
			*end = ',';
			val = end + 1;
		}
	}
	return (h->interval > 0 && h->start_interval > 0 && h->timeout > 0) ? 0 : -1;
}

static long long wall_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_REALTIME, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

// probe_next is the delay before the next probe (health.Config.Next).
long long probe_next(const struct relay_health *h)
{
	if (h->status == PROBE_STARTING && wall_ms() - h->started_ms < h->start_period)
		return h->start_interval;
	return h->interval;
}

static void close_from(int lowfd)
{
	if (syscall(SYS_close_range, (unsigned)lowfd, ~0U, 0) == 0)
		return;
	long max = sysconf(_SC_OPEN_MAX);
	for (int fd = lowfd; fd < (max > 0 && max < 65536 ? max : 65536); fd++)
		close(fd);
}

// probe_start runs one probe as a child: "edgerun-probe __health ROOT STATE ID",
// with none of the monitor's descriptors (the owner lock above all) and
// the signal dispositions of an ordinary process.
// relay_spawn runs "/proc/self/exe CMD ROOT STATE ID" (argv[0] name, the
// rest from the monitor's argv) as the monitor's child, with the default
// signal dispositions, the given mask and no descriptor past stderr. It
// returns the child's PID, or -1 when fork failed.
pid_t relay_spawn(const char *name, const char *cmd, char **argv, const sigset_t *mask)
{
	pid_t p = fork();
	if (p == 0) {
		signal(SIGHUP, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGPIPE, SIG_DFL);
		sigprocmask(SIG_SETMASK, mask, NULL);
		close_from(3);
		char *args[] = {(char *)name, (char *)cmd, argv[2], argv[3], argv[4], NULL};
		execve("/proc/self/exe", args, environ);
		_exit(2);
	}
	return p;
}

void probe_start(struct relay_health *h)
{
	pid_t p = relay_spawn("edgerun-probe", "__health", h->argv, &h->mask);
	if (p < 0) { // out of processes: try again at the next interval
		h->due = relay_now_ms() + h->interval;
		return;
	}
	h->pid = p;
	h->due = relay_now_ms() + h->timeout + PROBE_SLACK_MS;
}

// probe_reap collects a probe that has ended and schedules the next one.
void probe_reap(struct relay_health *h)
{
	int st;
	if (h->pid <= 0 || waitpid(h->pid, &st, WNOHANG) != h->pid)
		return;
	h->pid = 0;
	if (WIFEXITED(st)) {
		switch (WEXITSTATUS(st)) {
		case PROBE_HEALTHY:
		case PROBE_UNHEALTHY:
		case PROBE_STARTING:
			h->status = WEXITSTATUS(st);
		}
	}
	h->due = relay_now_ms() + probe_next(h);
}

// probe_tick starts a probe that is due, or kills one that overran; it
// returns the milliseconds until it needs to be called again.
long long probe_tick(struct relay_health *h)
{
	long long left = h->due - relay_now_ms();
	if (left > 0)
		return left;
	if (h->pid > 0) {
		kill(h->pid, SIGKILL); // reaped by probe_reap
		h->due = relay_now_ms() + 1000;
		return 1000;
	}
	probe_start(h);
	return h->due - relay_now_ms();
}

// probe_stop kills and reaps a running probe: the container has exited.
void probe_stop(struct relay_health *h)
{
	if (h->pid <= 0)
		return;
	kill(h->pid, SIGKILL);
	while (waitpid(h->pid, NULL, 0) < 0 && errno == EINTR)
		;
	h->pid = 0;
}
