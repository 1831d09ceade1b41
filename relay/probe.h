// The health probes of the C monitor (relay.c), and relay_spawn, how it
// runs every child of its own (probes, device syncs, OOM recorders): when a container has a
// health check, the monitor runs "exe __health ROOT STATE ID"
// (container/health.go) as its child at each due time, one at a time, and
// reads the status the probe left from its exit code to time the next one.
#ifndef EDGERUN_RELAY_PROBE_H
#define EDGERUN_RELAY_PROBE_H

#include <signal.h>
#include <sys/types.h>
#include <time.h>

// What the exit code of a probe says (container/health.go).
enum { PROBE_HEALTHY = 0, PROBE_UNHEALTHY = 1, PROBE_STARTING = 3 };

// The slack a probe gets beyond the check's timeout before it is killed:
// its own start, and the container lock it records the result under.
#define PROBE_SLACK_MS 30000

struct relay_health {
	long long interval, start_interval, start_period, timeout; // ms; interval 0: no check
	long long started_ms; // when the container started, wall-clock ms
	long long due;        // monotonic ms of the next probe, or of its kill while one runs
	int pid, status;      // the running probe (0: none), the status the last one left
	char **argv;          // the monitor's arguments: argv[0] and ROOT STATE ID for the probe
	sigset_t mask;        // the signal mask a probe starts with
};

static inline long long relay_now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

pid_t relay_spawn(const char *name, const char *cmd, char **argv, const sigset_t *mask);

int probe_parse(struct relay_health *h, char *val);
long long probe_next(const struct relay_health *h);
void probe_start(struct relay_health *h);
void probe_reap(struct relay_health *h);
long long probe_tick(struct relay_health *h);
void probe_stop(struct relay_health *h);

#endif
