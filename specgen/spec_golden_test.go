package specgen

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/edgerun/edgerun/cgroups"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

func testImage() ocispec.ImageConfig {
	return ocispec.ImageConfig{
		Cmd:          []string{"/bin/sh", "-c", "echo hi"},
		Env:          []string{"PATH=/usr/local/bin:/usr/bin:/bin", "FOO=image", "BAR=image"},
		WorkingDir:   "/app",
		StopSignal:   "SIGINT",
		ExposedPorts: map[string]struct{}{"8080/tcp": {}, "53/udp": {}},
		Volumes:      map[string]struct{}{"/data": {}},
	}
}

func baseOptions() *SpecOptions {
	yes := true
	return &SpecOptions{
		ID: "0123456789abcdef", Rootfs: "testdata/rootfs", GOARCH: "amd64",
		CgroupNamespace: &yes, KernelVersion: "6.1.0", HostCaps: KnownCapabilities(), X32: new(bool),
		RlimitBounds: &RlimitBounds{NrOpen: 1 << 20},
		HostDevices: func() ([]specs.LinuxDevice, error) {
			mode := os.FileMode(0o660)
			return []specs.LinuxDevice{{Path: "/dev/ttyUSB0", Type: "c", Major: 188, Minor: 0, FileMode: &mode}}, nil
		},
	}
}

func mustLimits(t *testing.T, f cgroups.Flags) cgroups.Limits {
	t.Helper()
	l, err := cgroups.ParseLimits(f)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestGenerateSpecGolden(t *testing.T) {
	cases := map[string]func(o *SpecOptions){
		"default": func(o *SpecOptions) {},
		"full": func(o *SpecOptions) {
			entry := "/usr/bin/env"
			o.Entrypoint = &entry
			o.Args = []string{"printenv"}
			o.Env = []string{"FOO=flag", "FROMHOST", "MISSING", "NEW=1"}
			o.HostEnv = func(k string) (string, bool) { return map[string]string{"FROMHOST": "host"}[k], k == "FROMHOST" }
			o.Workdir, o.User, o.GroupAdd, o.Hostname = "/work", "app", []string{"video"}, "sensor-1"
			o.ReadOnly, o.TTY = true, true
			o.Volumes = []string{"/etc:/host/etc:ro"}
			o.Mounts = []string{"type=tmpfs,target=/scratch,tmpfs-size=1m"}
			o.Tmpfs = []string{"/run:size=8m,mode=755"}
			o.ImageVolumes = map[string]string{"/data": "/var/lib"}
			o.Devices = []string{"/dev/null:/dev/sensor:rw"}
			o.CapAdd, o.CapDrop = []string{"net_admin"}, []string{"CAP_MKNOD"}
			o.Sysctls = []string{"net.ipv4.ip_forward=1", "kernel.shmmax=1000000"}
			o.Ulimits = []string{"nofile=1024:2048"}
			o.Limits = mustLimits(t, cgroups.Flags{Memory: "256m", MemorySwap: "512m", CPUs: "1.5",
				CPUSetCPUs: "0", PidsLimit: "100", OOMScoreAdj: "500", CPUShares: "512"})
		},
		"privileged-host-arm64": func(o *SpecOptions) {
			no := false
			o.Privileged, o.HostNetwork, o.GOARCH, o.CgroupNamespace = true, true, "arm64", &no
		},
		"unconfined": func(o *SpecOptions) {
			o.SecurityOpts = []string{"seccomp=unconfined", "no-new-privileges=false"}
			o.CapDrop = []string{"ALL"}
			o.CapAdd = []string{"SYS_ADMIN"}
		},
		"profile-arm": func(o *SpecOptions) {
			o.GOARCH = "arm"
			o.SecurityOpts = []string{"seccomp=testdata/profile.json"}
		},
	}
	for name, mod := range cases {
		t.Run(name, func(t *testing.T) {
			o := baseOptions()
			mod(o)
			s, err := GenerateSpec(testImage(), o)
			if err != nil {
				t.Fatal(err)
			}
			got, err := json.MarshalIndent(s, "", "\t")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			file := filepath.Join("testdata", "golden", name+".json")
			if *update {
				if err := os.WriteFile(file, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(file)
			if err != nil {
				t.Fatalf("%v (run go test -run TestGenerateSpecGolden -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("spec differs from %s; run with -update and review the diff\n%s", file, got)
			}
		})
	}
}
