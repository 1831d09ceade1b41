package netns

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strconv"

	"golang.org/x/sys/unix"
)

// createNS makes a new network namespace and bind-mounts it at path, so it
// outlives every process in it: a container restarted by its policy finds
// the same namespace, address and published ports.
//
// The namespace is entered by a thread locked for this purpose only, which
// is never unlocked: when the goroutine returns, Go ends that thread, so no
// thread of edgerun is ever left in a foreign namespace.
func createNS(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("create netns directory: %w", err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_RDONLY, 0o444)
	if err != nil {
		return fmt.Errorf("create netns mount point: %w", err)
	}
	f.Close()
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies with this goroutine
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			done <- fmt.Errorf("create network namespace: %w", err)
			return
		}
		src := "/proc/self/task/" + strconv.Itoa(unix.Gettid()) + "/ns/net"
		if err := unix.Mount(src, path, "none", unix.MS_BIND, ""); err != nil {
			done <- fmt.Errorf("bind-mount network namespace at %s: %w", path, err)
			return
		}
		done <- nil
	}()
	if err := <-done; err != nil {
		os.Remove(path)
		return err
	}
	return nil
}

// removeNS unmounts and removes a namespace mount point; the namespace
// ends with its last user. A missing or unmounted path is not an error.
func removeNS(path string) error {
	if err := unix.Unmount(path, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("unmount network namespace %s: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove network namespace mount point: %w", err)
	}
	return nil
}

// Mounted reports whether path is a network namespace mount (after a
// reboot the mount point may be left, but not the namespace).
func Mounted(path string) bool {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return false
	}
	return st.Type == unix.NSFS_MAGIC
}

// inNS runs f in the namespace that holds the bridge (Config.NS), on a
// thread of its own that enters it and is never given back: Go ends the
// thread with its goroutine. Without Config.NS it calls f directly. The
// netlink and nftables sockets f opens, and the /proc/sys/net files it
// writes, are then that namespace's.
func (n *Network) inNS(f func() error) error {
	if n.ns == "" {
		return f()
	}
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies with this goroutine
		fd, err := unix.Open(n.ns, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			done <- fmt.Errorf("open the bridge's network namespace %s: %w", n.ns, err)
			return
		}
		err = unix.Setns(fd, unix.CLONE_NEWNET)
		unix.Close(fd)
		if err != nil {
			done <- fmt.Errorf("enter the bridge's network namespace %s: %w", n.ns, err)
			return
		}
		done <- f()
	}()
	return <-done
}
