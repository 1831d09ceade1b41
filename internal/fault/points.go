package fault

// Info describes one fault point: where it is and what a crash there
// leaves for the next command.
type Info struct {
	Name   string // as passed to Point and set in EDGERUN_FAULT
	Leaves string // the state a SIGKILL at this point leaves behind
}

// points is every Point of the module, in the order of the operations they
// belong to. TestEveryPointIsListedOnce holds it to the Point calls in the
// source; e2e/reliability fires each one.
var points = []Info{
	// load (image, images, rootfs)
	{"load/after-ingest", "every blob of the input verified and staged in ingest/, none published"},
	{"load/after-blob", "some blobs published, no layer unpacked, no name"},
	{"layers/before-publish", "a layer unpacked and synced in layers/staging/, not yet renamed into the cache (also on pull and run)"},
	{"load/before-index", "blobs published and layers unpacked, images.json not yet naming the image"},
	{"load/after-index", "the image named in images.json, the command not yet told"},
	// pull (image)
	{"pull/mid-blob", "a partial blob and its lock file in ingest/, for the next pull to resume"},
	{"pull/after-blob", "a layer blob published, not yet unpacked, no name"},
	{"pull/before-index", "every blob published and every layer unpacked, images.json not yet naming the image"},
	// image prune (images, rootfs)
	{"image-prune/after-blobs", "unreferenced blobs removed, their unpacked layers still in the cache"},
	{"image-prune/after-unpublish", "a layer renamed out of the cache into staging/, not yet deleted"},
	// run and run -d: create (container, netns)
	{"run/after-lock", "the container's lock and owner lock files, nothing else"},
	{"run/after-name", "a name claim whose container has no directory"},
	{"run/after-rootfs", "a container directory without a record, its overlay mounted"},
	{"network/after-lease", "address and port leases of a container that has no namespace or veth"},
	{"network/after-veth", "a namespace and a veth on the bridge without address, route or DNAT rules"},
	{"run/after-network", "a container directory without a record, with its full network"},
	{"run/after-record", "a record in state created, no libcontainer state"},
	{"run/after-libcontainer", "a created container with libcontainer state, no process"},
	// foreground run (container)
	{"run/after-start", "the container's init waiting to exec in its cgroup, the record still created"},
	{"run/after-exec", "the container running, recorded running, its edgerun gone"},
	{"run/after-exit", "the container exited, recorded running, cgroup and mount not released"},
	// run -d: the hand-over (container)
	{"run-d/before-handover", "a detached record in state created, owned by nobody"},
	{"run-d/after-handover", "a monitor starting the container, the command not yet told"},
	// the monitor (container)
	{"monitor/after-libcontainer", "libcontainer state of a detached container, no process, its monitor gone"},
	{"monitor/after-start", "the container running and recorded running, the monitor gone before it told run -d"},
	{"monitor/before-exit-record", "the container exited, recorded running, its monitor gone"},
	{"monitor/before-restart", "a container recorded restarting, its monitor gone during the backoff"},
	// stop (container)
	{"stop/after-mark", "a running container recorded as stopped by the user, not yet signalled"},
	{"stop/after-signal", "the stop signal sent, the exit not yet waited for"},
	// rm, rm -f, run --rm and the monitor's --rm (container, netns)
	{"rm/after-destroy", "the container's processes and cgroup gone, its record and files kept"},
	{"network/before-release", "a container's veth, namespace and rules gone, its leases kept"},
	{"remove/after-network", "a record whose network is torn down"},
	{"remove/after-record", "a container directory without a record, its mount and name claim kept"},
	// prune (services)
	{"prune/after-remove", "one stopped container removed, the others kept"},
	// start, boot and the reaping of lost monitors (container, services, statedir)
	{"start/before-handover", "a stopped container's root file system and network made again, no monitor"},
	{"reap/after-kill", "a container whose monitor died, killed, still recorded as before"},
	{"reap/before-restart", "a container whose monitor died, killed, not yet restarted by its policy"},
	{"boot/after-clear", "the previous boot's volatile state cleared, the boot marker not yet rewritten"},
	{"boot/before-start", "after a reboot, the restart-policy containers not yet started"},
	// update and apply (container)
	{"update/after-journal", "an update journal at step create, no replacement yet"},
	{"update/after-create", "the replacement running under NAME.next beside the old container, the journal at step wait"},
	{"update/after-healthy", "the replacement proved good, the journal not yet at step switch"},
	{"update/after-switch", "the published ports moved to the replacement, the old container still running"},
	{"update/after-remove-old", "the old container removed, the replacement still named NAME.next"},
	{"update/after-rename", "the replacement named NAME, the journal not yet removed"},
	{"update/after-rollback-remove", "a failed replacement removed, the old container not yet told why"},
}

// Points returns every fault point of the module.
func Points() []Info {
	return append([]Info(nil), points...)
}

// Known says whether name is a fault point of the module.
func Known(name string) bool {
	for _, p := range points {
		if p.Name == name {
			return true
		}
	}
	return false
}
