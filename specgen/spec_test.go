package specgen

import (
	"testing"
)

func TestGenerateSpecRefusesBadOptions(t *testing.T) {
	tests := map[string]struct {
		mod  func(o *SpecOptions)
		want string
	}{
		"no id":                     {func(o *SpecOptions) { o.ID = "" }, "container id"},
		"proc workdir":              {func(o *SpecOptions) { o.Workdir = "/proc/self/fd/7" }, "in /proc"},
		"mount on sys":              {func(o *SpecOptions) { o.Volumes = []string{"/etc:/sys/kernel"} }, "in /sys"},
		"missing source":            {func(o *SpecOptions) { o.Volumes = []string{"/no/such/dir:/x"} }, "create it first"},
		"two mounts":                {func(o *SpecOptions) { o.Volumes = []string{"/etc:/x"}; o.Tmpfs = []string{"/x"} }, "two mounts"},
		"missing device":            {func(o *SpecOptions) { o.Devices = []string{"/dev/nonexistent-edgerun"} }, "--device-optional"},
		"host net sysctl":           {func(o *SpecOptions) { o.HostNetwork = true; o.Sysctls = []string{"net.core.somaxconn=1"} }, "host network"},
		"unknown user":              {func(o *SpecOptions) { o.User = "ghost" }, "ghost"},
		"bad hostname":              {func(o *SpecOptions) { o.Hostname = "a b" }, "hostname"},
		"bad cap":                   {func(o *SpecOptions) { o.CapAdd = []string{"SUPERPOWER"} }, "unknown capability"},
		"bad ulimit":                {func(o *SpecOptions) { o.Ulimits = []string{"nofile=9:1"} }, "soft limit"},
		"ulimit > nr_open":          {func(o *SpecOptions) { o.Ulimits = []string{"nofile=99999999999"} }, "fs.nr_open"},
		"bad security opt":          {func(o *SpecOptions) { o.SecurityOpts = []string{"foo=x"} }, "not supported"},
		"apparmor without AppArmor": {func(o *SpecOptions) { o.SecurityOpts = []string{"apparmor=x"} }, "AppArmor is not enabled on this host"},
		"bad env":                   {func(o *SpecOptions) { o.Env = []string{"=x"} }, "empty variable name"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			o := baseOptions()
			tt.mod(o)
			_, err := GenerateSpec(testImage(), o)
			checkErr(t, err, tt.want)
		})
	}
}

func TestGenerateSpecDefaultsAreSafe(t *testing.T) {
	s, err := GenerateSpec(testImage(), baseOptions())
	if err != nil {
		t.Fatal(err)
	}
	p := s.Process
	if !p.NoNewPrivileges || len(p.Capabilities.Bounding) != 14 || len(p.Capabilities.Inheritable) != 0 || len(p.Capabilities.Ambient) != 0 {
		t.Fatalf("process security = nnp %v caps %+v", p.NoNewPrivileges, p.Capabilities)
	}
	if s.Linux.Seccomp == nil || len(s.Linux.MaskedPaths) == 0 || len(s.Linux.ReadonlyPaths) == 0 {
		t.Fatal("seccomp, masked or read-only paths missing")
	}
	if s.Linux.CgroupsPath != "/edgerun/0123456789abcdef" || s.Hostname != "0123456789ab" {
		t.Fatalf("cgroupsPath %q hostname %q", s.Linux.CgroupsPath, s.Hostname)
	}
	if d := s.Linux.Resources.Devices; len(d) != 1 || d[0].Allow || d[0].Access != "rwm" {
		t.Fatalf("device cgroup rules = %+v, want deny-all first", d)
	}
}

func TestAppArmorProfileFollowsTheHostPrivilegedAndTheOption(t *testing.T) {
	tests := map[string]struct {
		enabled    bool
		def        string
		privileged bool
		opts       []string
		want       string
	}{
		"host without AppArmor":           {},
		"the host's default":              {enabled: true, def: "edgerun-default", want: "edgerun-default"},
		"privileged runs unconfined":      {enabled: true, def: "edgerun-default", privileged: true},
		"apparmor=unconfined":             {enabled: true, def: "edgerun-default", opts: []string{"apparmor=unconfined"}},
		"apparmor=PROFILE":                {enabled: true, def: "edgerun-default", opts: []string{"apparmor=mine"}, want: "mine"},
		"apparmor=PROFILE with privilege": {enabled: true, def: "edgerun-default", privileged: true, opts: []string{"apparmor=mine"}, want: "mine"},
		"unconfined without AppArmor":     {opts: []string{"apparmor=unconfined"}},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			opts := baseOptions()
			opts.AppArmorEnabled, opts.AppArmorDefault, opts.Privileged, opts.SecurityOpts = tt.enabled, tt.def, tt.privileged, tt.opts
			s, err := GenerateSpec(testImage(), opts)
			if err != nil {
				t.Fatal(err)
			}
			if s.Process.ApparmorProfile != tt.want {
				t.Fatalf("apparmorProfile = %q, want %q", s.Process.ApparmorProfile, tt.want)
			}
		})
	}
}

func TestSELinuxLabelsChosenByTheRuntimeReachTheSpec(t *testing.T) {
	opts := baseOptions()
	opts.SELinuxProcessLabel = "system_u:system_r:container_t:s0:c1,c2"
	opts.SELinuxMountLabel = "system_u:object_r:container_file_t:s0:c1,c2"
	opts.SecurityOpts = []string{"label=level:s0:c1,c2"}
	s, err := GenerateSpec(testImage(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if s.Process.SelinuxLabel != opts.SELinuxProcessLabel || s.Linux.MountLabel != opts.SELinuxMountLabel {
		t.Fatalf("labels %q, %q", s.Process.SelinuxLabel, s.Linux.MountLabel)
	}
}
