package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os/exec"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

const defaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// passwd and group give the images the two users tests need: root and nobody.
var (
	passwd = []byte("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n")
	group  = []byte("root:x:0:\nnobody:x:65534:\n")
)

// baseEntries are the files every test image has: users, groups, /tmp and /root.
func baseEntries() []entry {
	return []entry{
		dirEntry("etc", 0o755),
		bytesEntry("etc/passwd", 0o644, passwd),
		bytesEntry("etc/group", 0o644, group),
		dirEntry("root", 0o700),
		dirEntry("tmp", 0o1777),
	}
}

// sensorSpec is the sensor image for one platform: the static sensor binary at
// /usr/bin/sensor, run as nobody, serving readings on :8080 unless given other arguments,
// with a HEALTHCHECK that asks the server for /healthz. env is added to its environment.
func sensorSpec(pl v1.Platform, binary string, env []string) (imageSpec, error) {
	bin, err := fileEntry("usr/bin/sensor", 0o755, binary)
	if err != nil {
		return imageSpec{}, err
	}
	entries, err := withParents(append(baseEntries(), bin))
	if err != nil {
		return imageSpec{}, err
	}
	return imageSpec{
		platform: pl,
		entries:  entries,
		config: v1.Config{
			Entrypoint:   []string{"/usr/bin/sensor"},
			Cmd:          []string{"read"}, // print one reading; `sensor serve` serves them over HTTP
			Env:          append([]string{defaultPath, "SENSOR_LISTEN=:8080", "SENSOR_SOURCE=sim"}, env...),
			WorkingDir:   "/",
			User:         "65534:65534",
			ExposedPorts: map[string]struct{}{"8080/tcp": {}},
			Labels:       map[string]string{"org.opencontainers.image.title": "edgerun sensor demo"},
			Healthcheck: &v1.HealthConfig{Test: []string{"CMD", "/usr/bin/sensor", "health"},
				Interval: 30 * time.Second, Timeout: 5 * time.Second, StartPeriod: 10 * time.Second, Retries: 3},
		},
		createdBy: "edgerun hack/mkimage sensor",
	}, nil
}

// busyboxSpec is the busybox image for one platform: /bin/busybox, a symlink to it for
// every applet it lists, users, groups and /tmp. Its default command is sh.
func busyboxSpec(pl v1.Platform, binary string, applets []string) (imageSpec, error) {
	bin, err := fileEntry("bin/busybox", 0o755, binary)
	if err != nil {
		return imageSpec{}, err
	}
	entries := append(baseEntries(), bin)
	for _, a := range applets {
		if a == "bin/busybox" {
			continue
		}
		entries = append(entries, symlinkEntry(a, "/bin/busybox"))
	}
	entries, err = withParents(entries)
	if err != nil {
		return imageSpec{}, fmt.Errorf("busybox applets: %w", err)
	}
	return imageSpec{
		platform: pl,
		entries:  entries,
		config: v1.Config{
			Cmd:        []string{"sh"},
			Env:        []string{defaultPath},
			WorkingDir: "/",
		},
		createdBy: "edgerun hack/mkimage busybox",
	}, nil
}

// busyboxApplets runs busybox --list-full (through runner, an emulator such as
// qemu-aarch64-static, unless empty) and returns its applet paths, sorted and
// validated (relative, clean, no "..").
func busyboxApplets(runner, binary string) ([]string, error) {
	cmd := exec.Command(binary, "--list-full")
	if runner != "" {
		cmd = exec.Command(runner, binary, "--list-full")
	}
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("list applets of %s (it must run on this machine): %w", binary, err)
	}
	var applets []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		a := strings.TrimPrefix(strings.TrimSpace(sc.Text()), "/")
		if a == "" {
			continue
		}
		if !validName(a) {
			return nil, fmt.Errorf("busybox %s lists applet %q: want a path like bin/sh", binary, a)
		}
		applets = append(applets, a)
	}
	if len(applets) == 0 {
		return nil, fmt.Errorf("busybox %s lists no applets", binary)
	}
	sort.Strings(applets)
	return applets, nil
}
