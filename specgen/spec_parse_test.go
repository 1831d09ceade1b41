package specgen

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestParseVolume(t *testing.T) {
	tests := []struct {
		in      string
		want    MountSpec
		wantErr string
	}{
		{"/srv:/data", MountSpec{Type: "bind", Source: "/srv", Destination: "/data"}, ""},
		{"/srv:/data:ro", MountSpec{Type: "bind", Source: "/srv", Destination: "/data", ReadOnly: true}, ""},
		{"/srv:/data:ro,rslave", MountSpec{Type: "bind", Source: "/srv", Destination: "/data", ReadOnly: true, Options: []string{"rslave"}}, ""},
		{"/srv/:/data/", MountSpec{Type: "bind", Source: "/srv", Destination: "/data"}, ""},
		{"myvol:/data", MountSpec{Type: "volume", Source: "myvol", Destination: "/data"}, ""},
		{"my.vol_1-x:/data/:ro,nocopy", MountSpec{Type: "volume", Source: "my.vol_1-x", Destination: "/data", ReadOnly: true, NoCopy: true}, ""},
		{"./rel:/data", MountSpec{}, "not resolved"},
		{"rel/dir:/data", MountSpec{}, "not resolved"},
		{"../up:/data", MountSpec{}, "not resolved"},
		{":/data", MountSpec{}, "source is empty"},
		{"a:/data", MountSpec{}, "at least two letters"},
		{"-vol:/data", MountSpec{}, "starting with a letter or digit"},
		{"v@l:/data", MountSpec{}, "volume name"},
		{"myvol:/data:rshared", MountSpec{}, "not named volumes"},
		{"/srv:/data:nocopy", MountSpec{}, "nocopy is for named volumes"},
		{"myvol:/proc", MountSpec{}, "in /proc"},
		{"/srv", MountSpec{}, "HOST-PATH:CONTAINER-PATH"},
		{"/srv:data", MountSpec{}, "not an absolute"},
		{"/srv:/data:rx", MountSpec{}, "unknown option"},
		{"/srv:/proc", MountSpec{}, "in /proc"},
		{"/srv:/proc/sys/kernel", MountSpec{}, "in /proc"},
		{"/srv:/sys/class", MountSpec{}, "in /sys"},
		{"/dev/ttyUSB0:/dev/ttyUSB0", MountSpec{}, "use --device"},
		{"/srv:/", MountSpec{}, "root"},
		{"/srv:/a/../proc", MountSpec{}, "not a clean path"},
		{"/srv:/processes", MountSpec{Type: "bind", Source: "/srv", Destination: "/processes"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseVolume(tt.in)
			checkErr(t, err, tt.wantErr)
			if tt.wantErr == "" && !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("ParseVolume(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestAbsVolumePaths(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"./rel:/data", "/home/pi/proj/rel:/data"},
		{".:/data:ro", "/home/pi/proj:/data:ro"},
		{"../up:/data", "/home/pi/up:/data"},
		{"dir/sub/:/data:ro,rslave", "/home/pi/proj/dir/sub:/data:ro,rslave"},
		{"./a/../../..:/data", "/home:/data"},
		{".hidden:/data", "/home/pi/proj/.hidden:/data"},
		{"myvol:/data", "myvol:/data"},
		{"/srv:/data", "/srv:/data"},
		{":/data", ":/data"},
		{"~:/data", "~:/data"},
		{"norel", "norel"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := AbsVolumePaths([]string{tt.in}, "/home/pi/proj")
			if err != nil || got[0] != tt.want {
				t.Fatalf("AbsVolumePaths(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
			if tt.want[0] == '/' {
				m, err := ParseVolume(got[0])
				if err != nil || m.Type != "bind" {
					t.Fatalf("ParseVolume(%q) = %+v, %v; want a bind mount", got[0], m, err)
				}
			}
		})
	}
	if _, err := AbsVolumePaths([]string{"./x:/d"}, "rel"); err == nil {
		t.Fatal("a relative working directory was accepted")
	}
}

func checkErr(t *testing.T, err error, want string) {
	t.Helper()
	if want == "" {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	if err == nil || !strings.Contains(err.Error(), want) || !errors.Is(err, ErrInvalidOption) {
		t.Fatalf("error = %v, want ErrInvalidOption containing %q", err, want)
	}
}

func TestParseMount(t *testing.T) {
	tests := []struct {
		in      string
		want    MountSpec
		wantErr string
	}{
		{"type=bind,source=/srv,target=/data", MountSpec{Type: "bind", Source: "/srv", Destination: "/data"}, ""},
		{"src=/srv,dst=/data,readonly", MountSpec{Type: "bind", Source: "/srv", Destination: "/data", ReadOnly: true}, ""},
		{"src=/srv,dst=/data,readonly=false", MountSpec{Type: "bind", Source: "/srv", Destination: "/data"}, ""},
		{"type=tmpfs,target=/cache,tmpfs-size=64m,tmpfs-mode=1777", MountSpec{Type: "tmpfs", Destination: "/cache",
			Options: []string{"noexec", "nosuid", "nodev", "size=64m", "mode=1777"}}, ""},
		{"type=volume,src=vol,dst=/d", MountSpec{Type: "volume", Source: "vol", Destination: "/d"}, ""},
		{"type=volume,src=vol,dst=/d,volume-nocopy,ro", MountSpec{Type: "volume", Source: "vol", Destination: "/d", ReadOnly: true, NoCopy: true}, ""},
		{"type=volume,dst=/d", MountSpec{}, "no anonymous volumes"},
		{"type=volume,src=/srv,dst=/d", MountSpec{}, "volume name"},
		{"type=volume,src=v,dst=/d", MountSpec{}, "at least two"},
		{"type=volume,src=vol,dst=/d,bind-propagation=rshared", MountSpec{}, "for type=bind"},
		{"type=bind,src=/srv,dst=/d,volume-nocopy", MountSpec{}, "for type=volume"},
		{"type=bind,src=/srv,dst=/d,bind-propagation=ro", MountSpec{}, "bind-propagation"},
		{"type=npipe,src=/srv,dst=/d", MountSpec{}, "not supported"},
		{"type=bind,target=/data", MountSpec{}, "needs source"},
		{"type=tmpfs,src=/x,target=/data", MountSpec{}, "takes no source"},
		{"type=bind,src=/srv,dst=/dev/shm", MountSpec{}, "in /dev"},
		{"type=bind,src=/srv,dst=/d,color=red", MountSpec{}, "unknown key"},
		{"type=bind,src=/srv,dst=/d,readonly=maybe", MountSpec{}, "not true or false"},
		{"type=tmpfs,dst=/d,tmpfs-size=1m,x", MountSpec{}, "unknown key"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseMount(tt.in)
			checkErr(t, err, tt.wantErr)
			if tt.wantErr == "" && !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("ParseMount(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseTmpfs(t *testing.T) {
	tests := []struct {
		in      string
		want    MountSpec
		wantErr string
	}{
		{"/run", MountSpec{Type: "tmpfs", Destination: "/run", Options: []string{"noexec", "nosuid", "nodev"}}, ""},
		{"/run:size=1m,exec", MountSpec{Type: "tmpfs", Destination: "/run", Options: []string{"nosuid", "nodev", "size=1m"}}, ""},
		{"/run:ro", MountSpec{Type: "tmpfs", Destination: "/run", ReadOnly: true, Options: []string{"noexec", "nosuid", "nodev"}}, ""},
		{"/run:size=1m,bind", MountSpec{}, "unsupported tmpfs option"},
		{"/run:size=", MountSpec{}, "unsupported tmpfs option"},
		{"run", MountSpec{}, "not an absolute"},
		{"/dev/shm", MountSpec{}, "in /dev"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseTmpfs(tt.in)
			checkErr(t, err, tt.wantErr)
			if tt.wantErr == "" && !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("ParseTmpfs(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseDevice(t *testing.T) {
	tests := []struct {
		in      string
		want    DeviceSpec
		wantErr string
	}{
		{"/dev/ttyUSB0", DeviceSpec{Host: "/dev/ttyUSB0", Container: "/dev/ttyUSB0", Permissions: "rwm"}, ""},
		{"/dev/ttyUSB0:rw", DeviceSpec{Host: "/dev/ttyUSB0", Container: "/dev/ttyUSB0", Permissions: "rw"}, ""},
		{"/dev/ttyUSB0:/dev/gps", DeviceSpec{Host: "/dev/ttyUSB0", Container: "/dev/gps", Permissions: "rwm"}, ""},
		{"/dev/i2c-1:/dev/i2c-1:r", DeviceSpec{Host: "/dev/i2c-1", Container: "/dev/i2c-1", Permissions: "r"}, ""},
		{"/dev/gpiochip0:/dev/gpiochip0:rx", DeviceSpec{}, "combination of r, w and m"},
		{"/dev/x:/dev/y:rw:z", DeviceSpec{}, "want HOST-PATH"},
		{"ttyUSB0", DeviceSpec{}, "absolute path"},
		{"/dev/null:/proc/x", DeviceSpec{}, "cannot be in /proc"},
		{"/dev/null:dev/x", DeviceSpec{}, "clean absolute"},
		{"/dev/null:rr", DeviceSpec{}, "clean absolute"},
		{"/dev/../etc/passwd:/dev/x", DeviceSpec{}, "cannot contain .."},
		{"/dev/serial/by-id/..:/dev/x", DeviceSpec{}, "cannot contain .."},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseDevice(tt.in)
			checkErr(t, err, tt.wantErr)
			if tt.wantErr == "" && got != tt.want {
				t.Fatalf("ParseDevice(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseEnvFile(t *testing.T) {
	in := "\uFEFF# comment\nFOO=bar\n# a NUL in a comment: \x00\n\n  SPACED=a b \"c\"\nFROMHOST\nEMPTY=\nURL=http://x?a=b\n"
	got, err := ParseEnvFile(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"FOO=bar", "SPACED=a b \"c\"", "FROMHOST", "EMPTY=", "URL=http://x?a=b"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("ParseEnvFile = %q, want %q", got, want)
	}
	for _, bad := range []string{"BAD KEY=1\n", "=value\n", "A=1\n\xff=2\n"} {
		if _, err := ParseEnvFile(strings.NewReader(bad)); !errors.Is(err, ErrInvalidOption) {
			t.Errorf("ParseEnvFile(%q) error = %v, want ErrInvalidOption", bad, err)
		}
	}
}

func TestParseEnvFileRefusesNUL(t *testing.T) {
	for _, in := range []string{"A=1\nB=x\x00y\n", "A=1\nB\x00C=1\n", "# c\nB=\x00\n", "\uFEFFA=1\n\x00B=1\n"} {
		t.Run(in, func(t *testing.T) {
			_, err := ParseEnvFile(strings.NewReader(in))
			checkErr(t, err, "line 2 contains a NUL byte")
		})
	}
}

func TestMergeEnvRefusesNUL(t *testing.T) {
	host := func(k string) (string, bool) { return "a\x00b", k == "NULHOST" }
	tests := []struct {
		name         string
		image, flags []string
		want         string
	}{
		{"-e value", nil, []string{"A=x\x00y"}, `-e "A=x\x00y" contains a NUL byte`},
		{"-e name", nil, []string{"A\x00B=1"}, "contains a NUL byte"},
		{"the host's value of -e NAME", nil, []string{"NULHOST"}, "-e NULHOST: the host's value contains a NUL byte"},
		{"the image's value", []string{"PATH=/bin", "A=x\x00y"}, nil, "the image sets A to a value with a NUL byte: override it with -e A=VALUE"},
		{"the image's name", []string{"A\x00B=1"}, nil, "rebuild the image"},
		{"an image value set again by -e", []string{"A=x\x00y"}, []string{"A=ok"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, err := mergeEnv(tt.image, tt.flags, host, "box", false)
			checkErr(t, err, tt.want)
			if tt.want == "" && slices.ContainsFunc(env, func(kv string) bool { return strings.ContainsRune(kv, 0) }) {
				t.Fatalf("mergeEnv = %q, with a NUL byte", env)
			}
		})
	}
}

func TestMergeEnvOverridesInPlace(t *testing.T) {
	host := func(k string) (string, bool) { return "h", k == "HOSTVAR" }
	got, err := mergeEnv([]string{"A=1", "PATH=/bin", "B=2"}, []string{"B=3", "A=0", "HOSTVAR", "NOPE", "C=4"}, host, "box", false)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"HOSTNAME=box", "A=0", "PATH=/bin", "B=3", "HOSTVAR=h", "C=4"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("mergeEnv = %q, want %q", got, want)
	}
	got, _ = mergeEnv(nil, nil, nil, "box", true)
	if want := []string{defaultPath, "HOSTNAME=box", "TERM=xterm"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("mergeEnv defaults = %q, want %q", got, want)
	}
	if _, err := mergeEnv(nil, []string{"A B=1"}, nil, "box", false); !errors.Is(err, ErrInvalidOption) {
		t.Fatalf("bad name error = %v", err)
	}
}

func TestCommandLine(t *testing.T) {
	empty, sh := "", "/bin/sh"
	img := testImage()
	img.Entrypoint = []string{"/entry"}
	tests := []struct {
		name  string
		entry *string
		args  []string
		want  []string
	}{
		{"image", nil, nil, []string{"/entry", "/bin/sh", "-c", "echo hi"}},
		{"args replace cmd", nil, []string{"ls"}, []string{"/entry", "ls"}},
		{"entrypoint drops cmd", &sh, nil, []string{"/bin/sh"}},
		{"entrypoint with args", &sh, []string{"-c", "x"}, []string{"/bin/sh", "-c", "x"}},
		{"cleared entrypoint", &empty, []string{"true"}, []string{"true"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := commandLine(img, &SpecOptions{Entrypoint: tt.entry, Args: tt.args})
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("commandLine = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
	if _, err := commandLine(img, &SpecOptions{Entrypoint: &empty}); !errors.Is(err, ErrInvalidOption) {
		t.Fatalf("no command error = %v", err)
	}
}

func TestWorkingDir(t *testing.T) {
	tests := []struct{ image, flag, want, wantErr string }{
		{"", "", "/", ""},
		{"/app", "", "/app", ""},
		{"app", "", "/app", ""},
		{"/app", "/work/", "/work", ""},
		{"", "work", "", "not an absolute"},
		{"", "/proc/self/fd/7", "", "in /proc"},
		{"", "/proc", "", "in /proc"},
		{"/proc/1/cwd", "", "", "in /proc"},
		{"", "/x/../proc/self/cwd", "", "in /proc"},
		{"", "/procfs", "/procfs", ""},
	}
	for _, tt := range tests {
		got, err := workingDir(tt.image, tt.flag)
		if tt.wantErr != "" {
			checkErr(t, err, tt.wantErr)
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("workingDir(%q, %q) = %q, %v; want %q", tt.image, tt.flag, got, err, tt.want)
		}
	}
}

func TestCapabilities(t *testing.T) {
	noResource := slices.DeleteFunc(KnownCapabilities(), func(c string) bool { return c == "CAP_SYS_RESOURCE" })
	tests := []struct {
		name       string
		add, drop  []string
		privileged bool
		host       []string
		has, lacks []string
		count      int
	}{
		{"defaults", nil, nil, false, nil, []string{"CAP_CHOWN", "CAP_AUDIT_WRITE"}, []string{"CAP_SYS_ADMIN", "CAP_NET_ADMIN"}, 14},
		{"add without prefix", []string{"net_admin"}, nil, false, nil, []string{"CAP_NET_ADMIN"}, nil, 15},
		{"drop with prefix", nil, []string{"CAP_NET_RAW"}, false, nil, nil, []string{"CAP_NET_RAW"}, 13},
		{"drop all add one", []string{"CHOWN"}, []string{"ALL"}, false, nil, []string{"CAP_CHOWN"}, []string{"CAP_KILL"}, 1},
		{"add all drop one", []string{"all"}, []string{"SYS_ADMIN"}, false, nil, []string{"CAP_SYS_MODULE"}, []string{"CAP_SYS_ADMIN"}, 40},
		{"privileged", nil, nil, true, nil, []string{"CAP_SYS_ADMIN", "CAP_BPF"}, nil, 41},
		{"add and drop same", []string{"NET_ADMIN"}, []string{"NET_ADMIN"}, false, nil, nil, []string{"CAP_NET_ADMIN"}, 14},
		{"privileged is what the host grants", nil, nil, true, noResource, []string{"CAP_SYS_ADMIN"}, []string{"CAP_SYS_RESOURCE"}, 40},
		{"add all is what the host grants", []string{"ALL"}, nil, false, noResource, nil, []string{"CAP_SYS_RESOURCE"}, 40},
		{"old kernel", nil, nil, true, KnownCapabilities()[:38], []string{"CAP_AUDIT_READ"}, []string{"CAP_PERFMON", "CAP_BPF"}, 38},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			host := tt.host
			if host == nil {
				host = KnownCapabilities()
			}
			got, err := capabilities(tt.add, tt.drop, tt.privileged, host)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != tt.count {
				t.Errorf("got %d caps %v, want %d", len(got), got, tt.count)
			}
			for _, c := range tt.has {
				if !contains(got, c) {
					t.Errorf("missing %s", c)
				}
			}
			for _, c := range tt.lacks {
				if contains(got, c) {
					t.Errorf("unexpected %s", c)
				}
			}
		})
	}
	refused := []struct {
		name      string
		add, drop []string
		host      []string
		want      string
	}{
		{"unknown name", []string{"FLY"}, nil, KnownCapabilities(), "unknown capability"},
		{"named outside the host's set", []string{"SYS_RESOURCE"}, nil, noResource, "remove --cap-add SYS_RESOURCE"},
		{"default outside the host's set", nil, nil, slices.DeleteFunc(KnownCapabilities(), func(c string) bool { return c == "CAP_CHOWN" }), "add --cap-drop CHOWN"},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			_, err := capabilities(tt.add, tt.drop, false, tt.host)
			if !errors.Is(err, ErrInvalidOption) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want ErrInvalidOption saying %q", err, tt.want)
			}
		})
	}
}

func TestCapsIn(t *testing.T) {
	tests := []struct {
		name string
		last int
		mask uint64
		want int
	}{
		{"all of 6.x", 40, 1<<41 - 1, 41},
		{"bounding set without SYS_RESOURCE", 40, 0x1fffeffffff, 40},
		{"kernel stops at AUDIT_READ", 37, 1<<64 - 1, 38},
		{"empty bounding set", 40, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := capsIn(tt.last, tt.mask); len(got) != tt.want {
				t.Errorf("capsIn(%d, %x) = %d caps %v, want %d", tt.last, tt.mask, len(got), got, tt.want)
			}
		})
	}
	if slices.Contains(capsIn(40, 0x1fffeffffff), "CAP_SYS_RESOURCE") {
		t.Error("CAP_SYS_RESOURCE (bit 24) is listed though its bit is clear")
	}
}

func TestBoundingSet(t *testing.T) {
	f := filepath.Join(t.TempDir(), "status")
	if err := os.WriteFile(f, []byte("Name:\tx\nCapPrm:\t0000000000000001\nCapBnd:\t000001fffeffffff\nCapAmb:\t0\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := boundingSet(f)
	if err != nil || got != 0x1fffeffffff {
		t.Fatalf("boundingSet = %x, %v; want 1fffeffffff", got, err)
	}
	if err := os.WriteFile(f, []byte("Name:\tx\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := boundingSet(f); err == nil {
		t.Fatal("a status file without CapBnd was accepted")
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestCheckSysctl(t *testing.T) {
	ok := []string{"kernel.shmmax=1", "kernel.msgmnb=2", "kernel.sem=1 2 3 4", "fs.mqueue.msg_max=10", "net.ipv4.ip_forward=1", "net/core/somaxconn=1024"}
	for _, kv := range ok {
		if _, _, err := checkSysctl(kv, false); err != nil {
			t.Errorf("checkSysctl(%q) = %v", kv, err)
		}
	}
	bad := map[string]string{"kernel.panic=1": "not namespaced", "vm.swappiness=1": "not namespaced",
		"kernel.hostname=x": "--hostname", "novalue": "NAME=VALUE", "fs.file-max=1": "not namespaced"}
	for kv, want := range bad {
		_, _, err := checkSysctl(kv, false)
		checkErr(t, err, want)
	}
	_, _, err := checkSysctl("net.ipv4.ip_forward=1", true)
	checkErr(t, err, "host network")
}

func TestCheckSysctlNames(t *testing.T) {
	tests := []struct{ in, key, wantErr string }{
		{"net/core/somaxconn=1024", "net.core.somaxconn", ""},
		{"net.ipv4.conf.all/forwarding=1", "net.ipv4.conf.all.forwarding", ""},
		{"fs/mqueue/msg_max=10", "fs.mqueue.msg_max", ""},
		{"kernel/shmmax=1", "kernel.shmmax", ""},
		{"net.ipv4/../../kernel/x=1", "", "not a sysctl name"},
		{"net/../kernel/core_pattern=|/tmp/x", "", "not a sysctl name"},
		{"fs.mqueue/../../kernel/core_pattern=x", "", "not a sysctl name"},
		{"kernel/../net/ipv4/ip_forward=1", "", "not a sysctl name"},
		{"net.ipv4..ip_forward=1", "", "not a sysctl name"},
		{"net.ipv4//ip_forward=1", "", "not a sysctl name"},
		{"net.=1", "", "not a sysctl name"},
		{"fs.mqueue.=1", "", "not a sysctl name"},
		{"fs.mqueue./msg_max=1", "", "not a sysctl name"},
		{".net.ipv4.ip_forward=1", "", "not a sysctl name"},
		{"/net/ipv4/ip_forward=1", "", "not a sysctl name"},
		{"net.ipv4.ip_forward/=1", "", "not a sysctl name"},
		{"net.ipv4.ip forward=1", "", "not a sysctl name"},
		{"net.ipv4.ip\x00forward=1", "", "not a sysctl name"},
		{"net=1", "", "not namespaced"},
		{"fs.mqueue=1", "", "not namespaced"},
		{"kernel.shmmax.x=1", "", "not namespaced"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			k, _, err := checkSysctl(tt.in, false)
			checkErr(t, err, tt.wantErr)
			if k != tt.key {
				t.Fatalf("checkSysctl(%q) name = %q, want %q", tt.in, k, tt.key)
			}
		})
	}
}

func TestParseUlimit(t *testing.T) {
	tests := []struct {
		in         string
		typ        string
		soft, hard uint64
		wantErr    bool
	}{
		{"nofile=1024:2048", "RLIMIT_NOFILE", 1024, 2048, false},
		{"nproc=512", "RLIMIT_NPROC", 512, 512, false},
		{"core=-1", "RLIMIT_CORE", ^uint64(0), ^uint64(0), false},
		{"memlock=1:-1", "RLIMIT_MEMLOCK", 1, ^uint64(0), false},
		{"nofile=2048:1024", "", 0, 0, true},
		{"files=1", "", 0, 0, true},
		{"nofile", "", 0, 0, true},
		{"nofile=x", "", 0, 0, true},
	}
	for _, tt := range tests {
		typ, soft, hard, err := ParseUlimit(tt.in)
		if (err != nil) != tt.wantErr || typ != tt.typ || soft != tt.soft || hard != tt.hard {
			t.Errorf("ParseUlimit(%q) = %s %d %d %v", tt.in, typ, soft, hard, err)
		}
	}
}

func TestParseSecurityOpts(t *testing.T) {
	so, err := parseSecurityOpts(nil)
	if err != nil || !so.noNewPrivileges || so.seccompMode != "" {
		t.Fatalf("defaults = %+v, %v", so, err)
	}
	for _, o := range []string{"no-new-privileges=false", "no-new-privileges:false"} {
		if so, err := parseSecurityOpts([]string{o}); err != nil || so.noNewPrivileges {
			t.Errorf("%s = %+v, %v", o, so, err)
		}
	}
	if so, err := parseSecurityOpts([]string{"seccomp=unconfined"}); err != nil || so.seccompMode != "unconfined" {
		t.Errorf("unconfined = %+v, %v", so, err)
	}
	p := filepath.Join("testdata", "profile.json")
	if so, err := parseSecurityOpts([]string{"seccomp=" + p}); err != nil || so.seccompMode != "profile" || len(so.seccompProfile) == 0 {
		t.Errorf("profile = %+v, %v", so, err)
	}
	for _, o := range []string{"label=disable", "label=type:container_runtime_t", "label:level:s0:c1,c2", "label=filetype:container_file_t"} {
		if _, err := parseSecurityOpts([]string{o}); err != nil {
			t.Errorf("%s: %v", o, err)
		}
	}
	for o, want := range map[string]string{"apparmor=unconfined": "unconfined", "apparmor=my-profile": "my-profile"} {
		if so, err := parseSecurityOpts([]string{o}); err != nil || so.apparmor != want {
			t.Errorf("%s = %+v, %v", o, so, err)
		}
	}
	for _, bad := range []string{"apparmor=", "apparmor", "seccomp=", "seccomp=/no/such.json", "no-new-privileges=maybe", "label=", "label=bogus", "label=type:", "label=other:x"} {
		if _, err := parseSecurityOpts([]string{bad}); !errors.Is(err, ErrInvalidOption) {
			t.Errorf("%s error = %v", bad, err)
		}
	}
}

func TestNamedVolumesAreResolvedByTheCaller(t *testing.T) {
	opts := &SpecOptions{
		Volumes: []string{"/srv:/srv", "data:/data:ro"},
		Mounts:  []string{"type=volume,src=logs,dst=/logs", "type=tmpfs,dst=/tmp"},
	}
	named, err := NamedVolumes(opts)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range named {
		names = append(names, m.Source+"@"+m.Destination)
	}
	if want := []string{"data@/data", "logs@/logs"}; !slices.Equal(names, want) {
		t.Fatalf("NamedVolumes = %v, want %v", names, want)
	}
	if _, err := NamedVolumes(&SpecOptions{Volumes: []string{"x:/d"}}); err == nil {
		t.Fatal("NamedVolumes took a bad volume name")
	}

	opts.Volumes = []string{"data:/data:ro"}
	opts.Mounts = nil
	_, err = userMounts(opts)
	checkErr(t, err, "has no directory")
	opts.VolumePaths = map[string]string{"data": "/var/lib/edgerun/volumes/data/_data"}
	ms, err := userMounts(opts)
	if err != nil {
		t.Fatal(err)
	}
	got := ms[0].toSpec()
	if got.Type != "bind" || got.Source != opts.VolumePaths["data"] || got.Destination != "/data" ||
		!slices.Equal(got.Options, []string{"rbind", "ro", "rprivate"}) {
		t.Fatalf("volume mount = %+v, want a read-only rbind of the volume's directory", got)
	}
}
