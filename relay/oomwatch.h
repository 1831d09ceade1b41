// OOM kills in the C monitor: the Go monitor hands over the kernel's
// notice of the container's memory cgroup (cgroups.OOMWatch: a v1 eventfd,
// or a v2 inotify watch of memory.events with memory.events itself), and
// the monitor, woken by it, runs "edgerun-oom __oom ROOT STATE ID"
// (container/oom.go) as its child, one at a time, to record the kill and
// journal the oom event. On v2 it first reads memory.events' oom_kill
// counter, so that the other counters of the file (max, high: a container
// working at its limit moves them all the time) wake nothing.
#ifndef EDGERUN_RELAY_OOMWATCH_H
#define EDGERUN_RELAY_OOMWATCH_H

#include <signal.h>

// How long a burst of kills is let settle before they are recorded.
#define OOMWATCH_SETTLE_MS 50

struct relay_oom {
	int note;                // the notice (eventfd or inotify), -1: none
	int events;              // v2: memory.events, -1 on v1
	unsigned long long kills; // v2: the oom_kill count last seen
	int pid;                 // the running recorder, 0: none
	long long due;           // monotonic ms of the next recorder, 0: none due
	char **argv;             // the monitor's arguments: ROOT STATE ID
	sigset_t mask;           // the signal mask a recorder starts with
};

int oomwatch_parse(struct relay_oom *o, const char *val);
int oomwatch_open(struct relay_oom *o);
int oomwatch_fd(const struct relay_oom *o);
void oomwatch_read(struct relay_oom *o);
void oomwatch_reap(struct relay_oom *o);
long long oomwatch_tick(struct relay_oom *o);
void oomwatch_stop(struct relay_oom *o);

#endif
