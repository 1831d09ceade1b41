package container

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	lccaps "github.com/opencontainers/runc/libcontainer/capabilities"

	"github.com/edgerun/edgerun/specgen"
)

func TestInitExecCode(t *testing.T) {
	tests := []struct {
		msg  string
		want int
	}{
		{`unable to start container process: error during container init: exec: "/scratch/cmd": stat /scratch/cmd: no such file or directory`, ExitCommandNotFound},
		{`unable to start container process: error during container init: exec: "cmd": executable file not found in $PATH`, ExitCommandNotFound},
		{`unable to start container process: error during container init: exec: "/x": permission denied`, ExitCannotInvoke},
		{`unable to start container process: error during container init: exec format error`, 0},
		{`unable to start container process: error during container init: unable to apply caps: operation not permitted`, 0},
		{`mount /proc: no such file or directory`, 0},
		// an exec's (setns) init: the command is checked there, not in the
		// image, when it is under /proc
		{`unable to start container process: exec: "/proc/nosuch": stat /proc/nosuch: no such file or directory`, ExitCommandNotFound},
		{`unable to start container process: exec: "/proc/self/fd/9": permission denied`, ExitCannotInvoke},
		{`unable to start container process: exec: "/proc/1": is a directory`, ExitCannotInvoke},
		{`unable to start container process: can't copy bootstrap data to pipe: broken pipe`, 0},
	}
	for _, tt := range tests {
		if got := initExecCode(errors.New(tt.msg)); got != tt.want {
			t.Errorf("initExecCode(%q) = %d, want %d", tt.msg, got, tt.want)
		}
	}
}

func TestCommandErrorMapsTheCheckToDockersCodes(t *testing.T) {
	rootfs := t.TempDir()
	if err := os.Mkdir(filepath.Join(rootfs, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args []string
		want int
	}{
		{[]string{"/nope"}, ExitCommandNotFound},
		{[]string{"/bin"}, ExitCannotInvoke}, // a directory
	}
	for _, tt := range tests {
		err := commandError(specgen.CheckCommand(rootfs, nil, tt.args, nil, "/"))
		var ee *ExitError
		if !errors.As(err, &ee) || ee.Code != tt.want {
			t.Errorf("%v: %v, want exit %d", tt.args, err, tt.want)
		}
	}
	var ee *ExitError
	if err := commandError(errors.New("lookup failed")); !errors.As(err, &ee) || ee.Code != ExitRuntimeFailed {
		t.Errorf("another error: %v, want exit %d", err, ExitRuntimeFailed)
	}
}

// libcontainer ignores (with a warning) the capabilities it does not
// know: every one edgerun may put in a spec must be known to it.
func TestAllCapsKnownToLibcontainer(t *testing.T) {
	known := lccaps.KnownCapabilities()
	for _, c := range specgen.KnownCapabilities() {
		if !slices.Contains(known, c) {
			t.Errorf("libcontainer does not know %s", c)
		}
	}
}
