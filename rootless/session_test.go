package rootless

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPrivateDirRefusesADirectoryOthersMayWrite(t *testing.T) {
	base := t.TempDir()
	ok := filepath.Join(base, "mine")
	if err := privateDir(ok); err != nil {
		t.Fatalf("new directory: %v", err)
	}
	if err := privateDir(ok); err != nil {
		t.Fatalf("existing private directory: %v", err)
	}
	open := filepath.Join(base, "open")
	if err := os.Mkdir(open, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(open, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := privateDir(open); err == nil || !strings.Contains(err.Error(), "not a private directory") {
		t.Fatalf("world-writable directory: %v", err)
	}
	link := filepath.Join(base, "link")
	if err := os.Symlink(ok, link); err != nil {
		t.Fatal(err)
	}
	if err := privateDir(link); err == nil {
		t.Fatal("a symlink was taken for a private directory")
	}
}

func TestSessionDirUsesXDGRuntimeDir(t *testing.T) {
	run := t.TempDir()
	env := map[string]string{"XDG_RUNTIME_DIR": run}
	d, err := SessionDir(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if d != filepath.Join(run, "edgerun-session") {
		t.Fatalf("session dir %s", d)
	}
	if st, err := os.Stat(d); err != nil || st.Mode().Perm() != 0o700 {
		t.Fatalf("session dir not made private: %v %v", st, err)
	}
}

func TestLoadIgnoresARecordWhoseHolderIsGone(t *testing.T) {
	dir := t.TempDir()
	s := &Session{Dir: dir, Pid: 1, Start: procStart(1) + 1}
	if err := s.save(); err != nil {
		t.Fatal(err)
	}
	if Load(dir) != nil {
		t.Fatal("a record of another process was loaded as a live session")
	}
	s.Start = procStart(1)
	if err := s.save(); err != nil {
		t.Fatal(err)
	}
	if got := Load(dir); got == nil || got.Pid != 1 {
		t.Fatalf("a live holder's record was not loaded: %v", got)
	}
}
