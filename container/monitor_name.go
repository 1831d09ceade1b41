package container

// A monitor names itself so that ps, top and pgrep tell what it is: its
// argv[0] is "edgerun-mon NAME" (its container's name, or the ID's first
// 12 characters when the name is long), and the kernel's comm, which
// execve of /proc/self/exe set to "exe", is "edgerun-mon" (relay.c sets
// it before the Go runtime starts). A probe is "edgerun-probe". Only
// argv[0] changes: everything that finds monitors by their command line
// reads argv[1] (MonitorCommand) and the arguments after it (isMonitorOf,
// the e2e tests, bench/monitor-memory.sh's pgrep -f "__monitor ROOT").
// A renamed container's monitor keeps the name it started with until it
// re-executes.
const (
	monitorComm = "edgerun-mon"
	probeArgv0  = "edgerun-probe"
	// maxArgv0Name is the longest container name argv[0] carries.
	maxArgv0Name = 32
)

// monitorArgv0 is the argv[0] of the monitor of the container.
func monitorArgv0(rec *Record) string {
	n := rec.Name
	if n == "" || len(n) > maxArgv0Name {
		n = rec.ID
		if len(n) > 12 {
			n = n[:12]
		}
	}
	return monitorComm + " " + n
}
