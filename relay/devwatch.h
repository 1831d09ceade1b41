// Hotplug in the C monitor: when a container follows host devices, the
// monitor watches their directories with inotify and, after a change,
// runs "edgerun-dev __devices ROOT STATE ID" (container/devices_sync.go)
// as its child, one at a time, to make the container's nodes what the
// host has. A change while one runs runs another after it.
#ifndef EDGERUN_RELAY_DEVWATCH_H
#define EDGERUN_RELAY_DEVWATCH_H

#include <signal.h>

// How long a burst of changes (a replug: remove, add, udev's links) is
// let settle before a sync.
#define DEVWATCH_SETTLE_MS 100

struct relay_devices {
	const char *dirs; // the devices= argument: DIR:DIR..., NULL: no hotplug
	int fd;           // inotify, -1 when closed
	int pid;          // the running sync, 0: none
	long long due;    // monotonic ms of the next sync, 0: none due
	char **argv;      // the monitor's arguments: ROOT STATE ID for the sync
	sigset_t mask;    // the signal mask a sync starts with
};

int devwatch_open(struct relay_devices *d);
int devwatch_fd(const struct relay_devices *d);
void devwatch_read(struct relay_devices *d);
void devwatch_reap(struct relay_devices *d);
long long devwatch_tick(struct relay_devices *d);
void devwatch_stop(struct relay_devices *d);

#endif
