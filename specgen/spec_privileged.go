package specgen

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// hostDevices lists the character and block devices under dir (the
// host's /dev), as docker's --privileged passes them all to the
// container. Like docker it leaves out what the container's own /dev
// provides (pts, shm, mqueue, fd) and /dev/console, and follows no
// symbolic links.
func hostDevices(dir string) ([]specs.LinuxDevice, error) {
	var out []specs.LinuxDevice
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
				return nil // gone or hidden meanwhile: not a device to pass
			}
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if d.IsDir() {
			if slices.Contains([]string{"pts", "shm", "mqueue", "fd", ".lxc", ".udev"}, rel) {
				return filepath.SkipDir
			}
			return nil
		}
		if rel == "console" || d.Type()&(fs.ModeDevice|fs.ModeCharDevice) == 0 {
			return nil
		}
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return nil
		}
		if dev, ok := deviceNode(filepath.Join("/dev", rel), &st); ok {
			out = append(out, dev)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("--privileged: list the host's devices in %s: %w", dir, err)
	}
	return out, nil
}

// addHostDevices adds the host's devices (from opts.HostDevices, or
// /dev) to a privileged container, after those given with --device,
// which win on the same path. The device cgroup already allows all.
func addHostDevices(l *specs.Linux, opts *SpecOptions) error {
	list := opts.HostDevices
	if list == nil {
		list = func() ([]specs.LinuxDevice, error) { return hostDevices("/dev") }
	}
	devs, err := list()
	if err != nil {
		return err
	}
	for _, d := range devs {
		if !slices.ContainsFunc(l.Devices, func(o specs.LinuxDevice) bool { return o.Path == d.Path }) {
			l.Devices = append(l.Devices, d)
		}
	}
	return nil
}
