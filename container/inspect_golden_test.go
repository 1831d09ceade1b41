package container

import (
	"bytes"
	"encoding/json"
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/edgerun/edgerun/cgroups"
	"github.com/edgerun/edgerun/health"
	"github.com/edgerun/edgerun/netns"
	"github.com/edgerun/edgerun/specgen"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// golden compares got with testdata/golden/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	file := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.WriteFile(file, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (run go test -run %s -update to create it)", err, t.Name())
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s; run with -update and review the diff\n%s", file, got)
	}
}

var (
	t0       = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	fixID    = "4f1c9d3ab7e2c0f5d6a8b9e1c2d3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1"
	fixImage = digest.Digest("sha256:a20382a82776b1810d3ea2678a4fe03c7c98fe15c8597f4fcacef3457150295d")
)

// fixtureRecord is a detached bridge container with a published port, a
// health check, labels, a volume and a restart policy.
func fixtureRecord() *Record {
	return &Record{
		ID: fixID, Name: "web", Image: "registry.local/sensor:2", ImageDigest: fixImage,
		Layers:  []digest.Digest{"sha256:1b9a70bafe2a929dc58f8e807df636535515660cf1a4571ac66087be70fb1082"},
		Created: t0, Command: []string{"/bin/sensor", "--port", "8080"}, Snapshot: "overlay",
		Labels: map[string]string{"com.example.role": "sensor", "tier": "edge"},
		State:  StateRunning, Pid: 4242, StartedAt: t0.Add(time.Second),
		Network: NetworkRecord{Mode: NetworkBridge, Bridge: &netns.Attachment{
			Bridge: "edgerun0", NetNS: "/run/edgerun/netns/4f1c9d3ab7e2", HostVeth: "ver4f1c9d3a",
			IP: netip.MustParseAddr("10.88.0.5"), Gateway: netip.MustParseAddr("10.88.0.1"),
			Subnet: netip.MustParsePrefix("10.88.0.0/16"), MTU: 1500,
			Ports: []netns.PortMapping{{HostPort: 8080, ContainerPort: 8080, Proto: "tcp"}},
		}},
		Volumes: []string{"data"},
		Lifecycle: Lifecycle{
			Detached: true, RestartPolicy: "on-failure:5", RestartCount: 2, MonitorPid: 4200,
			LogMaxSize: 10 << 20, LogMaxFile: 3, BootID: "a3e3a055-87e4-4806-971e-5da346fae569",
			HealthCheck: &health.Config{Test: []string{"CMD-SHELL", "wget -q -O- localhost:8080/health"},
				Interval: 30 * time.Second, Timeout: 5 * time.Second, Retries: 3, OnFailure: health.ActionRestart},
			StopTimeout: 20 * time.Second,
			Update: &UpdateStatus{Image: "registry.local/sensor:2", From: "registry.local/sensor:1",
				Outcome: "updated", At: t0.Add(-time.Hour)},
		},
	}
}

func fixtureInput() inspectInput {
	ep := "/bin/sensor"
	return inspectInput{
		rec: fixtureRecord(),
		req: &request{
			Image: "registry.local/sensor:2", Name: "web", Init: true,
			Labels: map[string]string{"tier": "edge"},
			Spec: specgen.SpecOptions{
				Args: []string{"--port", "8080"}, Entrypoint: &ep, User: "1000:1000", StopSignal: "SIGINT",
				Volumes: []string{"data:/var/lib/sensor", "/etc/sensor:/etc/sensor:ro"},
				Tmpfs:   []string{"/tmp:size=16m"}, VolumePaths: map[string]string{"data": "/var/lib/edgerun/volumes/data/_data"},
				CapAdd: []string{"NET_RAW"}, CapDrop: []string{"MKNOD"}, ReadOnly: true,
			},
			Limits: cgroups.Flags{Memory: "256m", MemoryReservation: "128m", OOMKillDisable: true, CPUs: "1.5", PidsLimit: "100", CPUSetCPUs: "0-1"},
			Net:    NetOptions{Mode: NetworkBridge, Publish: []string{"8080:8080"}},
		},
		spec: &specs.Spec{Hostname: "4f1c9d3ab7e2", Process: &specs.Process{
			Env: []string{"PATH=/usr/bin:/bin", "SENSOR_MODE=edge"}, Cwd: "/srv", Args: []string{"/bin/sensor", "--port", "8080"},
		}},
		image: &ocispec.ImageConfig{
			Cmd: []string{"--port", "80"}, Entrypoint: []string{"/bin/sensor"}, WorkingDir: "/srv",
			Labels:       map[string]string{"org.opencontainers.image.version": "2.0", "tier": "image"},
			ExposedPorts: map[string]struct{}{"80/tcp": {}},
		},
		health: &health.State{Status: health.Healthy, FailingStreak: 0, Log: []health.Result{
			{Start: t0.Add(31 * time.Second), End: t0.Add(32 * time.Second), ExitCode: 0, Output: "ok\n"},
		}},
	}
}

func TestInspectDocumentGolden(t *testing.T) {
	exited := fixtureRecord()
	exited.State, exited.Pid, exited.ExitCode, exited.OOMKilled = StateExited, 0, 137, true
	exited.FinishedAt = t0.Add(time.Hour)
	exited.OOMKills, exited.LastOOM = 2, t0.Add(time.Hour-time.Second)
	exited.Network = NetworkRecord{Mode: NetworkNone}
	exited.Lifecycle = Lifecycle{}
	for name, in := range map[string]inspectInput{
		"inspect-running.json": fixtureInput(),
		// A container of an older edgerun: no request, no spec, no image.
		"inspect-exited-bare.json": {rec: exited},
	} {
		t.Run(name, func(t *testing.T) {
			// As inspect prints it.
			var b bytes.Buffer
			enc := json.NewEncoder(&b)
			enc.SetIndent("", "    ")
			enc.SetEscapeHTML(false)
			if err := enc.Encode([]*InspectDoc{buildInspect(in)}); err != nil {
				t.Fatal(err)
			}
			golden(t, name, b.Bytes())
		})
	}
}

func TestPsEntriesGolden(t *testing.T) {
	now := t0.Add(2 * time.Hour)
	run := fixtureRecord()
	exited := fixtureRecord()
	exited.ID = "9e" + fixID[2:]
	exited.Name, exited.State, exited.ExitCode, exited.FinishedAt = "job", StateExited, 3, t0.Add(time.Hour)
	exited.Labels, exited.Volumes, exited.Network = nil, nil, NetworkRecord{Mode: NetworkNone}
	exited.HostRestarted = true
	restarting := fixtureRecord()
	restarting.Name, restarting.State, restarting.ExitCode, restarting.FinishedAt = "flappy", StateRestarting, 1, t0.Add(90*time.Minute)
	restarting.Error = "unable to start container process: container init: exec: \"/bin/sensor\": permission denied"
	h := &health.State{Status: health.Healthy}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	for _, noTrunc := range []bool{false, true} {
		for _, c := range []struct {
			rec *Record
			h   *health.State
		}{{run, h}, {exited, nil}, {restarting, nil}} {
			if err := enc.Encode(psEntry(c.rec, c.h, now, time.UTC, noTrunc)); err != nil {
				t.Fatal(err)
			}
		}
	}
	golden(t, "ps.jsonl", b.Bytes())
}

func TestPsFilters(t *testing.T) {
	rec := fixtureRecord()
	h := &health.State{Status: health.Healthy}
	tests := []struct {
		filters []string
		want    bool
	}{
		{nil, true},
		{[]string{"name=we"}, true},
		{[]string{"name=^eb"}, false},
		{[]string{"id=4f1c"}, true},
		{[]string{"id=1c"}, false},
		{[]string{"status=running"}, true},
		{[]string{"status=exited"}, false},
		{[]string{"status=exited", "status=running"}, true}, // same key: any
		{[]string{"status=running", "name=nope"}, false},    // different keys: all
		{[]string{"label=tier"}, true},
		{[]string{"label=tier=edge"}, true},
		{[]string{"label=tier=core"}, false},
		{[]string{"label=nope"}, false},
		{[]string{"ancestor=registry.local/sensor:2"}, true},
		{[]string{"ancestor=registry.local/sensor"}, true},
		{[]string{"ancestor=registry.local/sensor:1"}, false},
		{[]string{"ancestor=sha256:a2038"}, true},
		{[]string{"ancestor=a20382a8"}, true},
		{[]string{"ancestor=busybox"}, false},
		{[]string{"exited=0"}, false},
		{[]string{"health=healthy"}, true},
		{[]string{"health=none"}, false},
	}
	for _, tt := range tests {
		f, err := ParsePsFilters(tt.filters)
		if err != nil {
			t.Fatalf("%v: %v", tt.filters, err)
		}
		if got := matchPs(rec, h, f); got != tt.want {
			t.Errorf("filters %v: match %v, want %v", tt.filters, got, tt.want)
		}
	}
	if f, _ := ParsePsFilters([]string{"health=none"}); !matchPs(rec, nil, f) {
		t.Error("health=none does not match a container without a health check")
	}
	busybox := fixtureRecord()
	busybox.Image = "busybox"
	for _, a := range []string{"busybox", "busybox:latest", "docker.io/library/busybox"} {
		if f, _ := ParsePsFilters([]string{"ancestor=" + a}); !matchPs(busybox, nil, f) {
			t.Errorf("ancestor=%s does not match a busybox container", a)
		}
	}
	for _, bad := range []string{"bogus=1", "status=sleeping", "exited=x", "health=ok", "name", "name=(", "id="} {
		if _, err := ParsePsFilters([]string{bad}); err == nil {
			t.Errorf("filter %q accepted", bad)
		}
	}
}
