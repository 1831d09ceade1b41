package specgen

import (
	"fmt"
	"os"
	"path"
	"slices"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// DeviceSpec is one --device HOST[:CONTAINER][:PERMS].
type DeviceSpec struct {
	// Host is the device on the host: a node (/dev/ttyUSB0) or a stable
	// link to one (/dev/serial/by-id/...), followed at every start.
	Host        string `json:"host"`
	Container   string `json:"container"`   // path in the container; defaults to Host
	Permissions string `json:"permissions"` // a subset of "rwm"; defaults to "rwm"
	// Optional is --device-optional: the container starts without it.
	Optional bool `json:"optional,omitempty"`
}

// ParseDevice parses --device /dev/ttyUSB0[:/dev/ttyS9][:rw].
func ParseDevice(s string) (DeviceSpec, error) {
	parts := strings.Split(s, ":")
	d := DeviceSpec{Host: parts[0], Permissions: "rwm"}
	switch len(parts) {
	case 1:
	case 2:
		if isDevicePerms(parts[1]) {
			d.Permissions = parts[1]
		} else {
			d.Container = parts[1]
		}
	case 3:
		d.Container, d.Permissions = parts[1], parts[2]
	default:
		return DeviceSpec{}, fmt.Errorf("%w: --device %q: want HOST-PATH[:CONTAINER-PATH][:rwm]", ErrInvalidOption, s)
	}
	if d.Container == "" {
		d.Container = d.Host
	}
	if !isDevicePerms(d.Permissions) {
		return DeviceSpec{}, fmt.Errorf("%w: --device %q: permissions %q must be a combination of r, w and m", ErrInvalidOption, s, d.Permissions)
	}
	if !path.IsAbs(d.Host) || strings.ContainsRune(s, 0) {
		return DeviceSpec{}, fmt.Errorf("%w: --device %q: the host device must be an absolute path like /dev/ttyUSB0", ErrInvalidOption, s)
	}
	if slices.Contains(strings.Split(d.Host, "/"), "..") {
		return DeviceSpec{}, fmt.Errorf("%w: --device %q: the host device path cannot contain ..: name the device itself, like /dev/ttyUSB0", ErrInvalidOption, s)
	}
	if !path.IsAbs(d.Container) || path.Clean(d.Container) != d.Container || d.Container == "/dev" {
		return DeviceSpec{}, fmt.Errorf("%w: --device %q: the container path must be a clean absolute path like /dev/ttyUSB0", ErrInvalidOption, s)
	}
	for _, r := range []string{"/proc", "/sys"} {
		if d.Container == r || strings.HasPrefix(d.Container, r+"/") {
			return DeviceSpec{}, fmt.Errorf("%w: --device %q: the container path cannot be in %s", ErrInvalidOption, s, r)
		}
	}
	return d, nil
}

func isDevicePerms(p string) bool {
	if p == "" || len(p) > 3 {
		return false
	}
	for _, c := range p {
		if !strings.ContainsRune("rwm", c) || strings.Count(p, string(c)) > 1 {
			return false
		}
	}
	return true
}

// deviceNode is the node to create at path for the host device st
// describes (type, numbers, mode, owner); false when st is not a
// character or block device.
func deviceNode(path string, st *unix.Stat_t) (specs.LinuxDevice, bool) {
	var typ string
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFCHR:
		typ = "c"
	case unix.S_IFBLK:
		typ = "b"
	default:
		return specs.LinuxDevice{}, false
	}
	mode := os.FileMode(st.Mode & 0o777)
	return specs.LinuxDevice{Path: path, Type: typ, Major: int64(unix.Major(st.Rdev)), Minor: int64(unix.Minor(st.Rdev)),
		FileMode: &mode, UID: ptrTo(st.Uid), GID: ptrTo(st.Gid)}, true
}
