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
