package specgen

import (
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// exec -w is checked as run -w is: a directory in /proc (CVE-2024-21626's
// /proc/self/fd/N) or a relative one is refused, before anything starts.
func TestExecProcessWorkdir(t *testing.T) {
	base := &specs.Process{Args: []string{"sh"}, Cwd: "/"}
	for _, tt := range []struct{ workdir, wantCwd, wantErr string }{
		{"", "/", ""},
		{"/srv/app/", "/srv/app", ""},
		{"/proc/self/fd/7", "", "is in /proc"},
		{"/tmp/../proc/self/fd/3", "", "is in /proc"},
		{"/proc", "", "is in /proc"},
		{"work", "", "not an absolute path"},
	} {
		t.Run(tt.workdir, func(t *testing.T) {
			p, err := ExecProcess(base, t.TempDir(), ExecOptions{Args: []string{"true"}, Workdir: tt.workdir})
			if tt.wantErr != "" {
				checkErr(t, err, tt.wantErr)
				return
			}
			if err != nil || p.Cwd != tt.wantCwd {
				t.Fatalf("-w %q: cwd %q, %v; want %q", tt.workdir, p.Cwd, err, tt.wantCwd)
			}
		})
	}
}
