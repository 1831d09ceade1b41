// Hotplug in the C monitor: see devwatch.h.
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/wait.h>
#include <unistd.h>

#include "devwatch.h"
#include "probe.h"

#define DEVWATCH_EVENTS (IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_ATTRIB | IN_DELETE_SELF | IN_ONLYDIR)

// devwatch_arm (re)adds a watch on each directory that exists: one that
// appeared since (a by-id directory made with its first link) is watched
// from now on; adding a watch again is cheap and keeps its descriptor.
static void devwatch_arm(struct relay_devices *d)
{
	char dir[PATH_MAX];
	for (const char *p = d->dirs; *p != '\0';) {
		const char *end = strchr(p, ':');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		if (n > 0 && n < sizeof(dir)) {
			memcpy(dir, p, n);
			dir[n] = '\0';
			inotify_add_watch(d->fd, dir, DEVWATCH_EVENTS); // a missing one is watched through its parent
		}
		p += n;
		if (*p == ':')
			p++;
	}
}

// devwatch_open starts watching, with a first sync due at once: a change
// between the start's resolution and the first watch is not lost.
int devwatch_open(struct relay_devices *d)
{
	d->fd = -1;
	if (d->dirs == NULL)
		return 0;
	d->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (d->fd < 0)
		return -1;
	devwatch_arm(d);
	d->due = relay_now_ms();
	return 0;
}

int devwatch_fd(const struct relay_devices *d)
{
	return d->fd;
}

// devwatch_read drains the events (which directory changed does not
// matter: the sync looks at everything) and schedules a sync.
void devwatch_read(struct relay_devices *d)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	while (read(d->fd, buf, sizeof(buf)) > 0)
		;
	devwatch_arm(d);
	if (d->due == 0)
		d->due = relay_now_ms() + DEVWATCH_SETTLE_MS;
}

static void devwatch_start(struct relay_devices *d)
{
	pid_t p = relay_spawn("edgerun-dev", "__devices", d->argv, &d->mask);
	if (p < 0) { // out of processes: try again in a second
		d->due = relay_now_ms() + 1000;
		return;
	}
	d->pid = p;
	d->due = 0;
}

void devwatch_reap(struct relay_devices *d)
{
	if (d->pid > 0 && waitpid(d->pid, NULL, WNOHANG) == d->pid)
		d->pid = 0;
}

// devwatch_tick starts a sync that is due (none runs); it returns the
// milliseconds until it needs to be called again, -1 for never.
long long devwatch_tick(struct relay_devices *d)
{
	if (d->fd < 0 || d->due == 0 || d->pid > 0)
		return -1;
	long long left = d->due - relay_now_ms();
	if (left > 0)
		return left;
	devwatch_start(d);
	return d->due == 0 ? -1 : d->due - relay_now_ms();
}

// devwatch_stop kills and reaps a running sync and stops watching: the
// container has exited.
void devwatch_stop(struct relay_devices *d)
{
	if (d->pid > 0) {
		kill(d->pid, SIGKILL);
		while (waitpid(d->pid, NULL, 0) < 0 && errno == EINTR)
			;
		d->pid = 0;
	}
	if (d->fd >= 0)
		close(d->fd);
	d->fd = -1;
}
