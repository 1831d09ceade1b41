package e2e

// Tests of how edgerun meets the host: `edgerun doctor`, and the tests that
// only apply on the kernels of the VM matrix (hack/vm, make test-vm): they
// skip elsewhere, and the VM runner requires them to pass where they apply.

import (
	"encoding/json"
	"os"
	goruntime "runtime"
	"strings"
	"testing"
)

// doctorReport is the JSON of `edgerun doctor --format json`.
type doctorReport struct {
	OK     bool `json:"ok"`
	Checks []struct {
		Name, Status, Detail, Fix string
	} `json:"checks"`
}

func (d doctorReport) check(name string) (status, text string) {
	for _, c := range d.Checks {
		if c.Name == name {
			return c.Status, c.Detail + " fix: " + c.Fix
		}
	}
	return "", ""
}

// memoryControllerDisabled reports whether the kernel has the memory
// cgroup controller switched off (the enabled column of /proc/cgroups).
func memoryControllerDisabled(t *testing.T) bool {
	t.Helper()
	b, err := os.ReadFile("/proc/cgroups")
	if err != nil {
		t.Skipf("no /proc/cgroups: %v", err)
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if f := strings.Fields(line); len(f) == 4 && f[0] == "memory" {
			return f[3] == "0"
		}
	}
	return true
}

func requireMemoryControllerDisabled(t *testing.T) {
	t.Helper()
	if !memoryControllerDisabled(t) {
		t.Skip("the memory controller is enabled here (the VM matrix boots a kernel with cgroup_disable=memory)")
	}
}

func TestDoctorSaysThisHostCanRunContainers(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.run("doctor", "--format", "json")
	var rep doctorReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("doctor --format json: %v\n%s", err, r)
	}
	if r.code != 0 || !rep.OK {
		t.Errorf("doctor on a host that runs these tests: want exit 0 and ok, got %s", r)
	}
	if st, _ := rep.check("cgroups"); st != "ok" {
		t.Errorf("cgroups check %q, want ok:\n%s", st, r.stdout)
	}
	st, text := rep.check("memory")
	disabled := memoryControllerDisabled(t)
	switch {
	case disabled && (st != "warn" || !strings.Contains(text, "cgroup_enable=memory")):
		t.Errorf("memory controller disabled: want a warn with the cmdline fix, got %q %q", st, text)
	case !disabled && st != "":
		t.Errorf("memory controller enabled: want no memory line, got %q %q", st, text)
	}
	if st, _ := rep.check("arch"); st != "ok" {
		t.Errorf("arch check %q on %s", st, goruntime.GOARCH)
	}
	text2 := e.must("doctor")
	if !strings.Contains(text2, "edgerun can run containers on this host") {
		t.Errorf("doctor text report lacks the verdict:\n%s", text2)
	}
}

func TestDoctorRefusesUnknownFormat(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.run("doctor", "--format", "yaml")
	if r.code != 1 || !strings.Contains(r.stderr, "use text or json") {
		t.Errorf("doctor --format yaml: want exit 1 (as every refused command) naming the formats, got %s", r)
	}
}

// On a kernel booted with cgroup_disable=memory, --memory is refused with
// the fix, before anything is created (newEnv's cleanup checks that).
func TestVMMemoryDisabledRefusesMemoryLimit(t *testing.T) {
	t.Parallel()
	requireMemoryControllerDisabled(t)
	e := newEnv(t)
	e.loadBusybox()
	r := e.run("run", "--rm", "--memory", "32m", "busybox", "true")
	if r.code != 125 || !strings.Contains(r.stderr, "memory cgroup controller is disabled") ||
		!strings.Contains(r.stderr, "cgroup_enable=memory") || !strings.Contains(r.stderr, "cmdline.txt") {
		t.Errorf("run --memory without the memory controller: want 125 and how to enable it, got %s", r)
	}
	if out := e.must("ps", "-aq"); strings.TrimSpace(out) != "" {
		t.Errorf("a refused run left containers: %q", out)
	}
}

func TestVMMemoryDisabledRunsContainers(t *testing.T) {
	t.Parallel()
	requireMemoryControllerDisabled(t)
	e := newEnv(t)
	e.loadBusybox()
	r := e.run("run", "--rm", "busybox", "echo", "hello")
	if r.code != 0 || !containsLine(r.stdout, "hello") {
		t.Errorf("run without --memory: want it to run, got %s", r)
	}
	// The other controllers still work.
	r = e.run("run", "--rm", "--pids-limit", "20", "--cpus", "0.5", "busybox", "cat", "/sys/fs/cgroup/pids.max", "/sys/fs/cgroup/cpu.max")
	if r.code != 0 || !containsLine(r.stdout, "20") || !containsLine(r.stdout, "50000 100000") {
		t.Errorf("run --pids-limit 20 --cpus 0.5 without the memory controller: got %s", r)
	}
}

func requireArm64(t *testing.T) {
	t.Helper()
	if goruntime.GOARCH != "arm64" {
		t.Skipf("needs the arm64 edgerun on an arm64 kernel (the VM matrix runs it); this is %s", goruntime.GOARCH)
	}
}

// loadSensor loads the multi-arch sensor image and returns the images
// edgerun then lists, with the listing's JSON for messages.
func (e *env) loadSensor() (imgs []struct {
	Name     string `json:"name"`
	Platform string `json:"platform"`
}, out string) {
	e.t.Helper()
	e.must("load", "-i", imagePath(e.t, "sensor"))
	out = e.must("images", "--format", "json")
	if err := json.Unmarshal([]byte(out), &imgs); err != nil {
		e.t.Fatalf("images --format json: %v\n%s", err, out)
	}
	return imgs, out
}

// The multi-arch sensor image resolves to its arm64 variant, which runs.
func TestVMArm64RunsSensorVariant(t *testing.T) {
	t.Parallel()
	requireArm64(t)
	e := newEnv(t)
	imgs, out := e.loadSensor()
	if len(imgs) != 1 || !strings.HasPrefix(imgs[0].Platform, "linux/arm64") {
		t.Errorf("sensor loaded on arm64: want one linux/arm64 image, got %s", out)
	}
	r := e.run("run", "--rm", "sensor")
	if r.code != 0 || !strings.Contains(r.stdout, `"celsius"`) {
		t.Errorf("the arm64 sensor: want a reading, got %s", r)
	}
}

// An image built only for amd64 (the x86-64 busybox test image) is refused
// on arm64 with the architecture message.
func TestVMForeignImageRefused(t *testing.T) {
	t.Parallel()
	requireArm64(t)
	if _, err := os.Stat("/proc/sys/fs/binfmt_misc/qemu-x86_64"); err == nil {
		t.Skip("qemu-user binfmt for x86-64 is registered here: amd64 images can run")
	}
	e := newEnv(t)
	r := e.run("load", "-i", imagePath(t, "busybox-amd64"), "--name", "bb-amd64:1")
	if r.code == 0 {
		r = e.run("run", "--rm", "bb-amd64:1", "true")
	}
	if r.code == 0 || !strings.Contains(r.stderr, "linux/amd64") || !strings.Contains(r.stderr, "linux/arm64") {
		t.Errorf("an amd64-only image on arm64: want the platform message, got %s", r)
	}
}

// --init puts edgerun's own init at PID 1 (the same binary, so the arm64 VM
// proves it on arm64 too) and passes the command's exit code through.
func TestInitIsPID1AndPassesTheExitCode(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	r := e.run("run", "--rm", "--init", "busybox", "sh", "-c", `tr '\0' ' ' </proc/1/cmdline; echo; echo "sh is $$"; exit 7`)
	if r.code != 7 || !strings.Contains(r.stdout, "edgerun-init") || strings.Contains(r.stdout, "sh is 1\n") {
		t.Errorf("run --init: want edgerun-init as PID 1 and exit 7, got %s", r)
	}
}

// requireArm32 skips unless this is the 32-bit ARM edgerun on a 32-bit ARM
// kernel (the VM matrix's armv7 and armv6 legs), and returns the variant
// the CPU's model name in /proc/cpuinfo says images must resolve to.
func requireArm32(t *testing.T) string {
	t.Helper()
	if goruntime.GOARCH != "arm" {
		t.Skipf("needs the 32-bit ARM edgerun on a 32-bit ARM kernel (the VM matrix runs it); this is %s", goruntime.GOARCH)
	}
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		t.Fatal(err)
	}
	// "ARMv7 Processor rev 1 (v7l)" (Cortex-A15), "ARMv6-compatible processor
	// rev 7 (v6l)" (ARM1176, whose "CPU architecture" line says 7).
	for line := range strings.SplitSeq(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			switch v = strings.TrimSpace(v); {
			case strings.HasPrefix(v, "ARMv6"):
				return "v6"
			case strings.HasPrefix(v, "ARMv7"):
				return "v7"
			}
			t.Fatalf("/proc/cpuinfo model name %q: neither ARMv6 nor ARMv7", v)
		}
	}
	t.Fatalf("/proc/cpuinfo has no model name:\n%s", b)
	return ""
}

// The multi-arch sensor image resolves to the variant of the CPU it runs on
// (arm/v6 on the Pi Zero's ARM1176, arm/v7 on a Cortex-A15), which runs,
// under a memory limit where the kernel has the memory controller.
func TestVMArm32RunsSensorVariant(t *testing.T) {
	t.Parallel()
	variant := requireArm32(t)
	e := newEnv(t)
	imgs, out := e.loadSensor()
	if want := "linux/arm/" + variant; len(imgs) != 1 || imgs[0].Platform != want {
		t.Errorf("sensor loaded on an ARM%s core: want one %s image, got %s", variant, want, out)
	}
	args := []string{"run", "--rm"}
	if !memoryControllerDisabled(t) {
		args = append(args, "--memory", "32m")
	}
	r := e.run(append(args, "sensor")...)
	if r.code != 0 || !strings.Contains(r.stdout, `"celsius"`) {
		t.Errorf("the arm/%s sensor (%q): want a reading, got %s", variant, args, r)
	}
}
