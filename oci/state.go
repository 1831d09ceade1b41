package oci

import (
	"strconv"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// State is what `state` prints and `list --format json` lists: the
// runtime-spec's state document with the fields runc adds, which engines
// read back too (containerd's go-runc reads rootfs and created).
type State struct {
	OCIVersion  string            `json:"ociVersion"`
	ID          string            `json:"id"`
	Status      string            `json:"status"`
	Pid         int               `json:"pid"`
	Bundle      string            `json:"bundle"`
	Rootfs      string            `json:"rootfs"`
	Created     time.Time         `json:"created"`
	Owner       string            `json:"owner"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// Statuses a container has in State. Paused is runc's addition to the
// runtime-spec's four.
const (
	StatusCreating = string(specs.StateCreating)
	StatusCreated  = string(specs.StateCreated)
	StatusRunning  = string(specs.StateRunning)
	StatusStopped  = string(specs.StateStopped)
	StatusPaused   = "paused"
)

// DefaultRoot is where the OCI runtime keeps its containers' state when
// --root is not given: /run/edgerun-oci for root, $XDG_RUNTIME_DIR/edgerun-oci
// (or a private directory under /tmp) for an ordinary user. Engines pass
// --root themselves.
func DefaultRoot(euid int, getenv func(string) string) string {
	if euid == 0 {
		return "/run/edgerun-oci"
	}
	if d := getenv("XDG_RUNTIME_DIR"); d != "" {
		return d + "/edgerun-oci"
	}
	return "/tmp/edgerun-oci-" + strconv.Itoa(euid)
}
