package specgen

import (
	"path"
	"strings"
	"testing"
)

// checkParsedMount asserts what every accepted mount must satisfy.
func checkParsedMount(t *testing.T, in string, m MountSpec) {
	t.Helper()
	if err := checkDestination(m.Destination); err != nil || path.Clean(m.Destination) != m.Destination {
		t.Fatalf("%q accepted with bad destination %q: %v", in, m.Destination, err)
	}
	if m.Type == "bind" && !path.IsAbs(m.Source) {
		t.Fatalf("%q accepted with relative source %q", in, m.Source)
	}
}

func FuzzParseVolume(f *testing.F) {
	for _, s := range []string{"/srv:/data:ro", "/a:/proc/x", "v:/d", "/a:/b:rw,rshared", "/a:/dev/../x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if m, err := ParseVolume(s); err == nil {
			checkParsedMount(t, s, m)
		}
	})
}

func FuzzParseMount(f *testing.F) {
	for _, s := range []string{"type=bind,src=/a,dst=/b,readonly", "type=tmpfs,dst=/t,tmpfs-size=1m", "type=tmpfs,dst=/sys"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if m, err := ParseMount(s); err == nil {
			checkParsedMount(t, s, m)
		}
	})
}

func FuzzParseTmpfs(f *testing.F) {
	for _, s := range []string{"/run:size=1m,exec", "/dev/shm", "/x:mode=1777"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseTmpfs(s)
		if err != nil {
			return
		}
		checkParsedMount(t, s, m)
		for _, o := range m.Options {
			if strings.ContainsAny(o, ", ") {
				t.Fatalf("%q produced option %q", s, o)
			}
		}
	})
}

func FuzzParseDevice(f *testing.F) {
	for _, s := range []string{"/dev/ttyUSB0", "/dev/a:/dev/b:rw", "/dev/a:r", "x:y:z:w"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDevice(s)
		if err != nil {
			return
		}
		if !path.IsAbs(d.Host) || !path.IsAbs(d.Container) || !isDevicePerms(d.Permissions) ||
			strings.HasPrefix(d.Container+"/", "/proc/") || strings.HasPrefix(d.Container+"/", "/sys/") {
			t.Fatalf("%q accepted as %+v", s, d)
		}
	})
}

func FuzzParseEnvFile(f *testing.F) {
	for _, s := range []string{"A=1\n#c\nB\n", "\uFEFFX=y", " K = v", "A=\xff", "A=\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		env, err := ParseEnvFile(strings.NewReader(s))
		if err != nil {
			return
		}
		for _, kv := range env {
			k, _, _ := strings.Cut(kv, "=")
			if k == "" || strings.ContainsAny(k, " \t\n\r") || strings.HasPrefix(k, "#") || strings.ContainsRune(kv, 0) {
				t.Fatalf("%q produced entry %q", s, kv)
			}
		}
	})
}

// FuzzCheckSysctl asserts that an accepted sysctl is written (as
// libcontainer writes it, every dot a directory separator) to a clean
// path under one of the namespaced trees of /proc/sys.
func FuzzCheckSysctl(f *testing.F) {
	for _, s := range []string{"net.ipv4.ip_forward=1", "net/core/somaxconn=1", "net.ipv4/../../kernel/x=1",
		"kernel.shmmax=1", "fs.mqueue.msg_max=1", "fs/mqueue/../../kernel/core_pattern=x"} {
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, kv string, hostNet bool) {
		k, _, err := checkSysctl(kv, hostNet)
		if err != nil {
			return
		}
		p := "/proc/sys/" + strings.ReplaceAll(k, ".", "/")
		ipc := strings.HasPrefix(p, "/proc/sys/kernel/msg") || strings.HasPrefix(p, "/proc/sys/kernel/sem") ||
			strings.HasPrefix(p, "/proc/sys/kernel/shm")
		namespaced := ipc || strings.HasPrefix(p, "/proc/sys/fs/mqueue/") || !hostNet && strings.HasPrefix(p, "/proc/sys/net/")
		if path.Clean(p) != p || !namespaced || strings.ContainsAny(k, "/ \x00") {
			t.Fatalf("%q (host network %v) accepted as %q, written to %s", kv, hostNet, k, p)
		}
	})
}
