package compose

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

// env is the caller's environment of the tests.
func env(name string) (string, bool) {
	v, ok := map[string]string{"HOME": "/home/u", "TAG": "1.2", "EMPTY": "", "PORT": "8080"}[name]
	return v, ok
}

// service parses a file with a top-level volume "data", a service "d"
// and a service "s" whose keys are body (indented by four spaces; its
// first line is line 7 of the file), and returns s.
func service(t *testing.T, body string) *Service {
	t.Helper()
	p, err := Parse("services.yaml", []byte(oneService(body)), "/base", env)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return p.Services[1]
}

func oneService(body string) string {
	return "volumes:\n  data:\nservices:\n  d: {image: busybox}\n  s:\n    image: alpine\n" + indent(body)
}

func indent(body string) string {
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimRight(body, "\n"), "\n") {
		if l != "" {
			b.WriteString("    " + l + "\n")
		}
	}
	return b.String()
}

func dur(s string) *time.Duration { d, _ := time.ParseDuration(s); return &d }
func yes() *bool                  { b := true; return &b }

func TestServiceKeys(t *testing.T) {
	tests := []struct {
		name, body string
		get        func(*Service) any
		want       any
	}{
		{"image", "", func(s *Service) any { return s.Image }, "alpine"},
		{"command string", `command: sh -c 'echo "a b" c\ d'`, func(s *Service) any { return s.Command }, []string{"sh", "-c", `echo "a b" c\ d`}},
		{"command words", `command: echo "x y" z\ w ''`, func(s *Service) any { return s.Command }, []string{"echo", "x y", "z w", ""}},
		{"command list", "command: [a, 'b c']", func(s *Service) any { return s.Command }, []string{"a", "b c"}},
		{"command empty list", "command: []", func(s *Service) any { return []any{s.CommandSet, len(s.Command)} }, []any{true, 0}},
		{"entrypoint", "entrypoint: /bin/tini --", func(s *Service) any { return []any{s.EntrypointSet, s.Entrypoint} }, []any{true, []string{"/bin/tini", "--"}}},
		{"no command", "", func(s *Service) any { return s.CommandSet }, false},
		{"environment map", "environment: {B: 2, A: x, C: true, HOME: null, NOPE: null, E: ''}", func(s *Service) any { return s.Environment },
			[]string{"A=x", "B=2", "C=true", "E=", "HOME=/home/u"}},
		{"environment list", "environment: [B=2, A=x=y, HOME, NOPE, E=]", func(s *Service) any { return s.Environment },
			[]string{"A=x=y", "B=2", "E=", "HOME=/home/u"}},
		{"interpolation", "environment:\n- A=${TAG}\n- B=$TAG-x\n- C=${NOPE:-d}\n- D=${EMPTY:-d}\n- E=${EMPTY-d}\n- F=$$TAG\n- G=${TAG:+set}\n- H=${NOPE+set}\n- I=$\n- J=${TAG?}",
			func(s *Service) any { return s.Environment },
			[]string{"A=1.2", "B=1.2-x", "C=d", "D=d", "E=", "F=$TAG", "G=set", "H=", "I=$", "J=1.2"}},
		{"ports", `ports: ["8080:80", "127.0.0.1:8081:81/udp", "80", "[::1]:9000:9000", "127.0.0.1::82", "9001-9002:91-92", 8082]`,
			func(s *Service) any { return portStrings(s.Ports) },
			[]string{"8080:80/tcp", "127.0.0.1:8081:81/udp", "80/tcp", "[::1]:9000:9000/tcp", "127.0.0.1::82/tcp", "9001:91/tcp", "9002:92/tcp", "8082/tcp"}},
		{"ports long", "ports:\n  - {target: 80, published: \"${PORT}\", host_ip: 10.0.0.1, protocol: udp}\n  - target: 81",
			func(s *Service) any { return portStrings(s.Ports) }, []string{"10.0.0.1:8080:80/udp", "81/tcp"}},
		{"volumes short", `volumes: ["data:/d", "./rel:/r:ro", "/abs/x:/a:ro,z", "~/h:/h", "/anon", "../up:/u:rw"]`,
			func(s *Service) any { return s.Volumes }, []Mount{
				{"volume", "data", "/d", false}, {"bind", "/base/rel", "/r", true}, {"bind", "/abs/x", "/a", true},
				{"bind", "/home/u/h", "/h", false}, {"volume", "", "/anon", false}, {"bind", "/up", "/u", false}}},
		{"volumes long", "volumes:\n  - {type: bind, source: ./c, target: /c/, read_only: true}\n  - {type: volume, source: data, target: /d}",
			func(s *Service) any { return s.Volumes }, []Mount{{"bind", "/base/c", "/c", true}, {"volume", "data", "/d", false}}},
		{"devices", "devices: [/dev/ttyUSB0, '/dev/i2c-1:/dev/i2c-1', '/dev/a:/dev/b:rw', '/dev/c:r']",
			func(s *Service) any { return s.Devices }, []string{"/dev/ttyUSB0", "/dev/i2c-1:/dev/i2c-1", "/dev/a:/dev/b:rw", "/dev/c:r"}},
		{"restart no", "restart: no", func(s *Service) any { return s.Restart }, "no"},
		{"restart on-failure:3", "restart: on-failure:3", func(s *Service) any { return s.Restart }, "on-failure:3"},
		{"restart unless-stopped", "restart: unless-stopped", func(s *Service) any { return s.Restart }, "unless-stopped"},
		{"healthcheck list", "healthcheck:\n  test: [CMD, curl, -f, http://x]\n  interval: 1m30s\n  timeout: 5s\n  retries: 3\n  start_period: 10s\n  start_interval: 1s",
			func(s *Service) any { return *s.Health }, Health{Test: []string{"CMD", "curl", "-f", "http://x"},
				Interval: 90 * time.Second, Timeout: 5 * time.Second, Retries: 3, StartPeriod: 10 * time.Second, StartInterval: time.Second}},
		{"healthcheck string", "healthcheck: {test: pg_isready -U x}", func(s *Service) any { return s.Health.Test }, []string{"CMD-SHELL", "pg_isready -U x"}},
		{"healthcheck shell list", "healthcheck: {test: [CMD-SHELL, 'a && b']}", func(s *Service) any { return s.Health.Test }, []string{"CMD-SHELL", "a && b"}},
		{"healthcheck NONE", "healthcheck: {test: [NONE]}", func(s *Service) any { return s.Health.Disable }, true},
		{"healthcheck disable", "healthcheck: {disable: true}", func(s *Service) any { return s.Health.Disable }, true},
		{"user", "user: 1000:1000", func(s *Service) any { return s.User }, "1000:1000"},
		{"user number", "user: 1000", func(s *Service) any { return s.User }, "1000"},
		{"working_dir", "working_dir: /app", func(s *Service) any { return s.WorkingDir }, "/app"},
		{"read_only", "read_only: true", func(s *Service) any { return s.ReadOnly }, true},
		{"tmpfs string", "tmpfs: /run", func(s *Service) any { return s.Tmpfs }, []string{"/run"}},
		{"tmpfs list", "tmpfs: [/run, '/tmp:size=64m']", func(s *Service) any { return s.Tmpfs }, []string{"/run", "/tmp:size=64m"}},
		{"caps", "cap_add: [NET_ADMIN, CAP_SYS_TIME]\ncap_drop: [ALL]", func(s *Service) any { return [][]string{s.CapAdd, s.CapDrop} },
			[][]string{{"NET_ADMIN", "CAP_SYS_TIME"}, {"ALL"}}},
		{"mem_limit string", "mem_limit: 256m", func(s *Service) any { return s.MemLimit }, int64(256 << 20)},
		{"mem_limit bytes", "mem_limit: 1048576", func(s *Service) any { return s.MemLimit }, int64(1 << 20)},
		{"mem_limit 1g", "mem_limit: 1gb", func(s *Service) any { return s.MemLimit }, int64(1 << 30)},
		{"mem_reservation", "mem_reservation: 128m", func(s *Service) any { return s.MemReservation }, int64(128 << 20)},
		{"mem_reservation bytes", "mem_reservation: 7340032", func(s *Service) any { return s.MemReservation }, int64(7 << 20)},
		{"mem_reservation equal to mem_limit", "mem_reservation: 64m\nmem_limit: 64m", func(s *Service) any { return s.MemReservation }, int64(64 << 20)},
		{"oom_kill_disable", "oom_kill_disable: true", func(s *Service) any { return s.OOMKillDisable }, true},
		{"cpus number", "cpus: 1.5", func(s *Service) any { return s.CPUs }, 1.5},
		{"cpus string", "cpus: '0.25'", func(s *Service) any { return s.CPUs }, 0.25},
		{"pids_limit", "pids_limit: 100", func(s *Service) any { return s.PidsLimit }, int64(100)},
		{"pids_limit unlimited", "pids_limit: -1", func(s *Service) any { return s.PidsLimit }, int64(-1)},
		{"network_mode", "network_mode: host", func(s *Service) any { return s.NetworkMode }, "host"},
		{"labels map", "labels: {a.b: c, d: 1}", func(s *Service) any { return s.Labels }, map[string]string{"a.b": "c", "d": "1"}},
		{"labels list", "labels: [a.b=c, d]", func(s *Service) any { return s.Labels }, map[string]string{"a.b": "c", "d": ""}},
		{"stop_signal", "stop_signal: SIGINT", func(s *Service) any { return s.StopSignal }, "SIGINT"},
		{"stop_grace_period", "stop_grace_period: 1m30s", func(s *Service) any { return s.StopGracePeriod }, dur("90s")},
		{"init", "init: true", func(s *Service) any { return s.Init }, yes()},
		{"logging", "logging: {driver: json-file, options: {max-size: 10m, max-file: '3'}}", func(s *Service) any { return []any{s.LogMaxSize, s.LogMaxFile} }, []any{"10m", 3}},
		{"logging options only", "logging: {options: {max-file: 2}}", func(s *Service) any { return s.LogMaxFile }, 2},
		{"depends_on list", "depends_on: [d]", func(s *Service) any { return s.DependsOn }, []Dependency{{Service: "d", Condition: "service_started"}}},
		{"extension key", "x-note: {anything: [1, 2]}", func(s *Service) any { return s.Image }, "alpine"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := service(t, tt.body)
			got := tt.get(s)
			if gd, ok := got.([]Dependency); ok {
				for i := range gd {
					gd[i].line, gd[i].path = 0, ""
				}
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}

func portStrings(ps []Port) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.String()
	}
	return out
}
