package compose

import (
	"errors"
	"strconv"
	"strings"
	"testing"
)

// TestServiceErrors: every error names the file, the key path and the
// line; the body of service s starts at line 7 (see service).
func TestServiceErrors(t *testing.T) {
	tests := []struct {
		name, body, path string
		line             int
		msg              string
		unsupported      bool
	}{
		{"unknown key", "build: .", "services.s.build", 7, "supported keys: cap_add", true},
		{"duplicate key", "user: a\nuser: b", "services.s.user", 8, `duplicate key "user" (first at line 7)`, false},
		{"duplicate image", "image: b", "services.s.image", 7, "duplicate key", false},
		{"port is a map of nothing", "ports:\n  - 8080:80\n  - {}", "services.s.ports[1].target", 9, "missing", false},
		{"port wrong type", "ports:\n  - '8080:80'\n  - [1]", "services.s.ports[1]", 9, `want a string like "8080:80" or a map with target, got a list`, false},
		{"port bad", "ports: ['80:x']", "services.s.ports[0]", 7, "container port", false},
		{"port proto", "ports: ['80/sctp']", "services.s.ports[0]", 7, "tcp or udp", false},
		{"port ip", "ports: ['300.1.1.1:80:80']", "services.s.ports[0]", 7, "not an IP address", false},
		{"port range", "ports: ['1-2000:1-2000']", "services.s.ports[0]", 7, "more than 1024", false},
		{"port ranges differ", "ports: ['1-3:1-2']", "services.s.ports[0]", 7, "differ", false},
		{"port long key", "ports: [{target: 80, mode: host}]", "services.s.ports[0].mode", 7, "not supported", true},
		{"ports not a list", "ports: '80'", "services.s.ports", 7, "want a list, got a string", false},
		{"volume undeclared", "volumes: ['cache:/c']", "services.s.volumes[0]", 7, `volume "cache" is not declared`, false},
		{"volume relative target", "volumes: ['./a:b']", "services.s.volumes[0]", 7, "absolute path", false},
		{"volume option", "volumes: ['./a:/b:shared']", "services.s.volumes[0]", 7, `"shared" is not supported`, true},
		{"volume tmpfs type", "volumes: [{type: tmpfs, target: /t}]", "services.s.volumes[0].type", 7, "tmpfs", true},
		{"volume long key", "volumes: [{type: bind, source: /a, target: /b, bind: {}}]", "services.s.volumes[0].bind", 7, "not supported", true},
		{"device", "devices: [ttyUSB0]", "services.s.devices[0]", 7, "want a device", false},
		{"restart", "restart: sometimes", "services.s.restart", 7, "want no, always", false},
		{"restart boolean", "restart: false", "services.s.restart", 7, "want a string, got a boolean", false},
		{"health test", "healthcheck: {test: [RUN, x]}", "services.s.healthcheck.test", 7, "want [CMD", false},
		{"health interval", "healthcheck: {interval: 5}", "services.s.healthcheck.interval", 7, `want a duration like "30s"`, false},
		{"health key", "healthcheck:\n  test: x\n  retry: 1", "services.s.healthcheck.retry", 9, "not supported", true},
		{"depends unknown", "depends_on: [db]", "services.s.depends_on[0]", 7, `unknown service "db" (the file's services: d, s)`, false},
		{"depends self", "depends_on: [s]", "services.s.depends_on[0]", 7, "depends on itself", false},
		{"depends twice", "depends_on: [d, d]", "services.s.depends_on[1]", 7, "listed twice", false},
		{"depends completed", "depends_on:\n  d: {condition: service_completed_successfully}", "services.s.depends_on.d.condition", 8, "service_completed_successfully is not supported", true},
		{"depends condition", "depends_on:\n  d: {condition: up}", "services.s.depends_on.d.condition", 8, "want service_started or service_healthy", false},
		{"depends key", "depends_on:\n  d: {restart: true}", "services.s.depends_on.d.restart", 8, "not supported", true},
		{"working_dir", "working_dir: app", "services.s.working_dir", 7, "absolute", false},
		{"read_only", "read_only: yes", "services.s.read_only", 7, "want true or false", false},
		{"tmpfs", "tmpfs: [run]", "services.s.tmpfs[0]", 7, "absolute", false},
		{"cap", "cap_add: ['NET ADMIN']", "services.s.cap_add[0]", 7, "capability", false},
		{"cap string", "cap_add: NET_ADMIN", "services.s.cap_add", 7, "want a list of capabilities", false},
		{"mem_limit", "mem_limit: lots", "services.s.mem_limit", 7, `want a size like "256m"`, false},
		{"mem_reservation", "mem_reservation: lots", "services.s.mem_reservation", 7, `want a size like "256m"`, false},
		{"mem_reservation above mem_limit", "mem_limit: 64m\nmem_reservation: 128m", "services.s.mem_reservation", 8,
			"128MiB is above mem_limit (64MiB): the reservation is a soft limit, at most the hard one: lower mem_reservation or raise mem_limit", false},
		{"oom_kill_disable", "oom_kill_disable: 1", "services.s.oom_kill_disable", 7, "true or false", false},
		{"cpus", "cpus: -1", "services.s.cpus", 7, "number of CPUs", false},
		{"cpus nan", "cpus: NaN", "services.s.cpus", 7, "number of CPUs", false},
		{"pids_limit", "pids_limit: 1.5", "services.s.pids_limit", 7, "whole number", false},
		{"pids_limit low", "pids_limit: -2", "services.s.pids_limit", 7, "at least -1", false},
		{"network_mode", "network_mode: service:d", "services.s.network_mode", 7, "want bridge, host or none", true},
		{"labels", "labels: [=x]", "services.s.labels[0]", 7, "empty label name", false},
		{"labels type", "labels: x", "services.s.labels", 7, `want a map or a list of "KEY=VALUE", got a string`, false},
		{"environment dup", "environment: [A=1, A=2]", "services.s.environment[1]", 7, "set twice", false},
		{"environment type", "environment: {A: [1]}", "services.s.environment.A", 7, "want a string, number or boolean, got a list", false},
		{"stop_signal", "stop_signal: 'kill me'", "services.s.stop_signal", 7, "want a signal", false},
		{"stop_grace_period", "stop_grace_period: -1s", "services.s.stop_grace_period", 7, "duration", false},
		{"init", "init: 1", "services.s.init", 7, "true or false", false},
		{"logging driver", "logging: {driver: syslog}", "services.s.logging.driver", 7, `"syslog" is not supported`, true},
		{"logging option", "logging:\n  options: {compress: 'true'}", "services.s.logging.options.compress", 8, "supported options: max-file, max-size", true},
		{"logging max-file", "logging: {options: {max-file: 0}}", "services.s.logging.options.max-file", 7, "at least 1", false},
		{"command quote", `command: echo "x`, "services.s.command", 7, `unclosed "`, false},
		{"command type", "command: {a: b}", "services.s.command", 7, "want a list of strings, got a map", false},
		{"env_file missing", "env_file: nope.env", "services.s.env_file", 7, "no such file", false},
		{"interpolation required", "user: ${NOPE:?set NOPE to the user}", "services.s.user", 7, "variable NOPE is required: set NOPE to the user", false},
		{"interpolation unclosed", "user: ${NOPE", "services.s.user", 7, "unclosed ${", false},
		{"interpolation nested", "user: ${NOPE:-${TAG}}", "services.s.user", 7, "without nesting", false},
		{"interpolation bad", "user: ${1}", "services.s.user", 7, "bad variable", false},
		{"yaml tag", "user: !reset x", "services.s.user", 7, "want a string, got a value tagged !reset", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("services.yaml", []byte(oneService(tt.body)), "/base", env)
			checkErr(t, err, tt.path, tt.line, tt.msg)
			if got := errors.Is(err, ErrUnsupported); got != tt.unsupported {
				t.Errorf("errors.Is(err, ErrUnsupported) = %v, want %v", got, tt.unsupported)
			}
		})
	}
}

// checkErr asserts err is an *Error of the file at path and line whose
// message holds msg.
func checkErr(t *testing.T, err error, path string, line int, msg string) {
	t.Helper()
	if err == nil {
		t.Fatal("no error")
	}
	t.Log(err)
	var e *Error
	if !errors.As(err, &e) || !errors.Is(err, ErrInvalid) {
		t.Fatalf("error %v (%T) is not an *Error matching ErrInvalid", err, err)
	}
	want := "services.yaml: "
	if path != "" {
		want += path + ": "
	}
	if line > 0 {
		want += "line " + strconv.Itoa(line) + ": "
	}
	if !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), msg) {
		t.Errorf("error %q: want it to start with %q and hold %q", err, want, msg)
	}
}

func TestFileErrors(t *testing.T) {
	tests := []struct {
		name, file, path string
		line             int
		msg              string
	}{
		{"empty", "", "", 0, "the file is empty"},
		{"not a map", "- a", "", 1, "want a map, got a list"},
		{"top key", "services: {s: {image: a}}\nnetworks: {}", "networks", 2, "not supported by edgerun apply (supported keys: name, services, version, volumes, x-*)"},
		{"no services", "version: '3'", "services", 1, "missing"},
		{"zero services", "services: {}", "services", 1, "no services"},
		{"no image", "services:\n  s: {user: x}", "services.s.image", 2, "every service needs an image"},
		{"service name", "services:\n  -bad: {image: a}", "services.-bad", 2, "service name"},
		{"service not a map", "services:\n  s: alpine", "services.s", 2, "want a map, got a string"},
		{"project name", "name: Demo\nservices: {s: {image: a}}", "name", 1, "project name"},
		{"volume driver", "volumes:\n  v:\n    driver: local\nservices: {s: {image: a}}", "volumes.v.driver", 3, "not supported by edgerun apply"},
		{"volume external", "volumes:\n  v: {external: true}\nservices: {s: {image: a}}", "volumes.v.external", 2, "not supported"},
		{"volume list", "volumes: [a]\nservices: {s: {image: a}}", "volumes", 1, "want a map"},
		{"duplicate service", "services:\n  s: {image: a}\n  s: {image: b}", "services.s", 3, "duplicate key"},
		{"yaml syntax", "services: [", "", 0, "did not find expected node content"},
		{"two documents", "services: {s: {image: a}}\n---\nservices: {}", "", 2, "more than one YAML document"},
		{"cycle", "services:\n  a: {image: x, depends_on: [b]}\n  b: {image: x, depends_on: [c]}\n  c: {image: x, depends_on: [a]}",
			"services.c.depends_on[0]", 4, "depends_on cycle: a -> b -> c -> a"},
		{"duplicate port", "services:\n  a:\n    image: x\n    ports: ['8080:80']\n  b:\n    image: x\n    ports: ['127.0.0.1:8080:81']",
			"services.b.ports[0]", 7, "host port 127.0.0.1:8080:81/tcp is published twice: also by services.a.ports[0] (line 4)"},
		{"duplicate port same service", "services:\n  a:\n    image: x\n    ports: ['8080:80', '8079-8081:90-92']",
			"services.a.ports[1]", 4, "published twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("services.yaml", []byte(tt.file), "/base", env)
			checkErr(t, err, tt.path, tt.line, tt.msg)
		})
	}
}

func TestPortsNotDuplicate(t *testing.T) {
	file := "services:\n  a:\n    image: x\n    ports: ['127.0.0.1:8080:80', '8080:80/udp', '80', '81']\n" +
		"  b:\n    image: x\n    ports: ['127.0.0.2:8080:80', '80']\n"
	if _, err := Parse("services.yaml", []byte(file), "/base", env); err != nil {
		t.Fatal(err)
	}
}
