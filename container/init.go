package container

import (
	// The device cgroup manager registers itself; without it libcontainer
	// cannot apply device rules.
	_ "github.com/opencontainers/cgroups/devices"
	"github.com/opencontainers/runc/libcontainer"

	// nsenter's C constructor joins namespaces before the Go runtime starts
	// when this binary is re-executed as the container's init.
	_ "github.com/opencontainers/runc/libcontainer/nsenter"
)

// InitCommand is the argument libcontainer re-executes the binary with to
// become a container's init. main dispatches it before parsing flags; no
// user-facing subcommand may have this name.
const InitCommand = "init"

// Init runs libcontainer's container init. It does not return.
func Init() {
	libcontainer.Init()
}
