package e2e

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestListingCommandsRefuseBadTemplatesAndPrintJSON(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	e.must("run", "--name", "one", "--network", "none", "busybox", "true")
	for _, args := range [][]string{{"ps", "-a"}, {"images"}} {
		r := e.run(append(args, "--format", "{{.Names")...)
		if r.code != 1 || !strings.Contains(r.stderr, "--format: template: :1: unclosed action") {
			t.Errorf("%s --format {{.Names: want exit 1 and the template's error, got %s", args[0], r)
		}
		r = e.run(append(args, "--format", "{{.Nope}}")...)
		if r.code != 1 || !strings.Contains(r.stderr, `template: :1:2: executing "" at <.Nope>: map has no entry for key "Nope"`) {
			t.Errorf("%s --format {{.Nope}}: want exit 1 and docker's error, got %s", args[0], r)
		}
	}
	// images --format json stays edgerun's list.
	var imgs []map[string]any
	if out := e.must("images", "--format", "json"); json.Unmarshal([]byte(out), &imgs) != nil || len(imgs) != 1 {
		t.Errorf("images --format json printed %q, want a list of one image", out)
	}
	// ps --format json is docker's: one object per line, docker's fields.
	out := e.must("ps", "-a", "--format", "json")
	var c map[string]any
	if err := json.Unmarshal([]byte(out), &c); err != nil || c["Names"] != "one" || c["State"] != "exited" ||
		c["Status"] == nil || c["ID"] == nil || c["id"] != nil {
		t.Errorf("ps -a --format json printed %q (%v), want docker's fields of one container", out, err)
	}
	e.must("rm", "one")
}

func TestPsFormatTemplateAndTable(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	e.must("run", "--name", "a1", "-l", "tier=db", "--network", "none", "busybox", "true")
	if r := e.run("run", "--name", "b2", "-l", "tier=web", "--network", "none", "busybox", "sh", "-c", "exit 2"); r.code != 2 {
		t.Fatalf("run exit 2: %s", r)
	}
	if got := e.must("ps", "-a", "--format", "{{.Names}}"); got != "b2\na1\n" {
		t.Errorf("ps -a --format {{.Names}} = %q, want the names, newest first", got)
	}
	if got := e.must("ps", "-a", "--format", `{{.Names}} {{.Label "tier"}} {{.State | upper}}`); got != "b2 web EXITED\na1 db EXITED\n" {
		t.Errorf("ps with .Label and upper = %q", got)
	}
	got := e.must("ps", "-a", "--format", `table {{.Names}}\t{{.Status}}`)
	lines := strings.Split(strings.TrimSpace(got), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "NAMES") || !strings.Contains(lines[0], "STATUS") ||
		!strings.HasPrefix(lines[1], "b2 ") || !strings.Contains(lines[1], "Exited (2)") {
		t.Errorf("ps --format 'table {{.Names}}\\t{{.Status}}' =\n%s\nwant a header row and one aligned row per container", got)
	}
	if got := e.must("ps", "-a", "--format", "table"); !strings.HasPrefix(got, "CONTAINER ID") {
		t.Errorf("ps --format table =\n%s\nwant the default table", got)
	}
	if got := e.must("ps", "-a", "-n", "1", "--format", "{{.Names}}"); got != "b2\n" {
		t.Errorf("ps -n 1 = %q, want the newest", got)
	}
	if got := e.must("ps", "-l", "--no-trunc", "--format", "{{.ID}}"); len(strings.TrimSpace(got)) != 64 {
		t.Errorf("ps -l --no-trunc = %q, want the newest container's full ID", got)
	}
	e.must("rm", "a1", "b2")
}

func TestPsFilter(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	e.must("run", "--name", "ok", "-l", "tier=db", "--network", "none", "busybox", "true")
	if r := e.run("run", "--name", "bad", "-l", "tier=web", "-l", "x", "--network", "none", "busybox", "sh", "-c", "exit 3"); r.code != 3 {
		t.Fatalf("run exit 3: %s", r)
	}
	e.runD("--name", "up", "-l", "tier=web", "--network", "none", "busybox", "sleep", "60")
	names := func(args ...string) string {
		out := e.must(append([]string{"ps", "--format", "{{.Names}}"}, args...)...)
		return strings.Join(strings.Fields(out), " ")
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{}, "up"},
		{[]string{"-a"}, "up bad ok"},
		{[]string{"-f", "status=exited"}, "bad ok"}, // status looks at stopped ones without -a, as docker
		{[]string{"-f", "exited=3"}, "bad"},
		{[]string{"-a", "-f", "label=tier=web"}, "up bad"},
		{[]string{"-a", "-f", "label=x"}, "bad"},
		{[]string{"-a", "-f", "name=^o"}, "ok"},
		{[]string{"-a", "-f", "name=ok", "-f", "name=up"}, "up ok"},                 // same key: either
		{[]string{"-a", "-f", "label=tier=web", "-f", "status=running"}, "up"},      // different keys: both
		{[]string{"-a", "-f", "ancestor=busybox", "-f", "status=exited"}, "bad ok"}, //
		{[]string{"-a", "-f", "ancestor=busybox:latest", "-f", "name=up"}, "up"},    //
		{[]string{"-a", "-f", "ancestor=alpine"}, ""},                               //
		{[]string{"-a", "-f", "health=none", "-f", "status=running"}, "up"},         //
		{[]string{"-a", "-f", "health=healthy"}, ""},                                //
	} {
		if got := names(tt.args...); got != tt.want {
			t.Errorf("ps %v = %q, want %q", tt.args, got, tt.want)
		}
	}
	id := strings.TrimSpace(e.must("ps", "-q", "--no-trunc"))
	if got := names("-f", "id="+id[:6]); got != "up" {
		t.Errorf("ps -f id=%s = %q, want up", id[:6], got)
	}
	for _, bad := range []string{"bogus=1", "status=sleeping", "exited=x", "health=ok", "name"} {
		if r := e.run("ps", "-f", bad); r.code != 1 || !strings.Contains(r.stderr, "invalid filter") {
			t.Errorf("ps -f %s: %s, want exit 1, invalid filter", bad, r)
		}
	}
	if got := e.must("stats", "--no-stream", "--format", `table {{.Name}}\t{{.CPUPerc}}`, "up"); !strings.HasPrefix(got, "NAME") ||
		!strings.Contains(got, "CPU %") || !strings.Contains(got, "\nup ") || !strings.HasSuffix(got, "%\n") {
		t.Errorf("stats --no-stream --format 'table {{.Name}}\\t{{.CPUPerc}}' =\n%s", got)
	}
	e.must("rm", "-f", "up", "ok", "bad")
}

func TestVersionFormat(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	if got := e.must("version", "--format", "{{.Client.Version}}|{{.Server.Os}}"); !strings.HasSuffix(got, "|linux\n") || len(got) < 8 {
		t.Errorf("version --format = %q, want VERSION|linux", got)
	}
}

func TestInspectFormat(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	e.runD("--name", "quit", "-l", "role=probe", "--network", "none", "-e", "A=1", "busybox", "sh", "-c", "exit 7")
	e.waitFor("quit", "exit", func(r lifeRecord) bool { return r.State == "exited" })
	for tmpl, want := range map[string]string{
		"{{.State.ExitCode}}":                                            "7",
		"{{.State.Status}} {{.State.Running}}":                           "exited false",
		"{{json .Config.Labels}}":                                        `{"role":"probe"}`,
		`{{index .Config.Labels "role"}}`:                                "probe",
		"{{.Name}} {{.Config.Image}}":                                    "/quit busybox",
		"{{.NetworkSettings.IPAddress}}|":                                "|",
		"{{range .NetworkSettings.Networks}}x{{end}}":                    "x",
		`{{range .Config.Env}}{{if eq . "A=1"}}{{.}}{{end}}{{end}}`:      "A=1",
		"{{.Edgerun.InspectVersion}} {{.HostConfig.RestartPolicy.Name}}": "1 no",
	} {
		if got := e.must("inspect", "-f", tmpl, "quit"); got != want+"\n" {
			t.Errorf("inspect -f %s = %q, want %q", tmpl, got, want)
		}
	}
	r := e.run("inspect", "-f", "{{.Nope}}", "quit")
	if r.code != 1 || !strings.Contains(r.stderr, `template: :1:2: executing "" at <.Nope>: map has no entry for key "Nope"`) {
		t.Errorf("inspect -f {{.Nope}}: %s, want exit 1 and docker's error", r)
	}
	if got := e.must("inspect", "--format", "{{.State.ExitCode}}", "quit", "quit"); got != "7\n7\n" {
		t.Errorf("inspect --format of two containers = %q, want a line each", got)
	}
	e.must("rm", "quit")
}

func TestImagesFormat(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	if got := e.must("images", "--format", "{{.Repository}}:{{.Tag}}"); got != "busybox:latest\n" {
		t.Errorf("images --format {{.Repository}}:{{.Tag}} = %q", got)
	}
	got := e.must("images", "--format", `table {{.Repository}}\t{{.ID}}\t{{.Size}}`)
	lines := strings.Split(strings.TrimSpace(got), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "REPOSITORY") || !strings.Contains(lines[0], "IMAGE ID") ||
		!strings.HasPrefix(lines[1], "busybox ") {
		t.Errorf("images --format table ... =\n%s", got)
	}
	var row map[string]any
	if err := json.Unmarshal([]byte(e.must("images", "--format", "{{json .}}")), &row); err != nil || row["Repository"] != "busybox" || row["Tag"] != "latest" {
		t.Errorf("images --format {{json .}}: %v %v", row, err)
	}
}
