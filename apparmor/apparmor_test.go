package apparmor

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeHost is a securityfs and module parameter in a temporary directory,
// with a parser that "loads" a profile by listing it as the kernel would.
type fakeHost struct {
	*Host
	loads [][]byte
	fail  error
}

func newFake(t *testing.T, enabled string) *fakeHost {
	t.Helper()
	dir := t.TempDir()
	f := &fakeHost{Host: &Host{SecurityFS: filepath.Join(dir, "apparmor"), Enabled: filepath.Join(dir, "enabled")}}
	if err := os.MkdirAll(f.SecurityFS, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(f.Enabled, []byte(enabled+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(f.SecurityFS, "profiles"), []byte("/usr/bin/man (enforce)\nsome profile (complain)\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f.Parser = func(_ context.Context, stdin []byte, args ...string) error {
		if strings.Join(args, " ") != "-Kr" {
			t.Errorf("apparmor_parser %v, want -Kr", args)
		}
		if f.fail != nil {
			return f.fail
		}
		f.loads = append(f.loads, stdin)
		p := filepath.Join(f.SecurityFS, "profiles")
		b, _ := os.ReadFile(p)
		if !bytes.Contains(b, []byte(DefaultProfile+" (enforce)")) {
			b = append(b, DefaultProfile+" (enforce)\n"...)
		}
		return os.WriteFile(p, b, 0o644)
	}
	return f
}

func TestEnsureDefaultLoadsOnceAndReplacesAnOutdatedProfile(t *testing.T) {
	f := newFake(t, "Y")
	state := filepath.Join(t.TempDir(), "apparmor")
	for i := range 3 {
		name, err := f.EnsureDefault(context.Background(), state)
		if err != nil || name != DefaultProfile {
			t.Fatalf("call %d: %q, %v", i, name, err)
		}
	}
	if len(f.loads) != 1 || !bytes.Equal(f.loads[0], Profile(DefaultProfile)) {
		t.Fatalf("loads: %d, want 1 with the profile's text", len(f.loads))
	}
	// Another version's profile (a marker with another hash): replaced once.
	if err := os.WriteFile(filepath.Join(state, DefaultProfile+".sha256"), []byte("0123\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if name, err := f.EnsureDefault(context.Background(), state); err != nil || name != DefaultProfile || len(f.loads) != 2 {
		t.Fatalf("outdated: %q, %v, loads %d", name, err, len(f.loads))
	}
	// Unloaded behind edgerun's back (a reboot keeps no marker; aa-teardown
	// does): loaded again.
	if err := os.WriteFile(filepath.Join(f.SecurityFS, "profiles"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if name, err := f.EnsureDefault(context.Background(), state); err != nil || name != DefaultProfile || len(f.loads) != 3 {
		t.Fatalf("unloaded: %q, %v, loads %d", name, err, len(f.loads))
	}
}

func TestEnsureDefaultWithoutAppArmorOrParserLeavesContainersUnconfined(t *testing.T) {
	f := newFake(t, "N")
	if name, err := f.EnsureDefault(context.Background(), t.TempDir()); name != "" || err != nil || len(f.loads) != 0 {
		t.Fatalf("module disabled: %q, %v, loads %d", name, err, len(f.loads))
	}
	f = newFake(t, "Y")
	if err := os.Remove(filepath.Join(f.SecurityFS, "profiles")); err != nil {
		t.Fatal(err)
	}
	if name, err := f.EnsureDefault(context.Background(), t.TempDir()); name != "" || err != nil || len(f.loads) != 0 {
		t.Fatalf("securityfs not mounted: %q, %v, loads %d", name, err, len(f.loads))
	}
}

func TestEnsureDefaultParserFailureSaysWhatToDo(t *testing.T) {
	f := newFake(t, "Y")
	f.fail = errors.New("syntax error")
	state := t.TempDir()
	_, err := f.EnsureDefault(context.Background(), state)
	if err == nil || !strings.Contains(err.Error(), "syntax error") || !strings.Contains(err.Error(), "apparmor=unconfined") {
		t.Fatalf("err = %v", err)
	}
	if _, serr := os.Stat(filepath.Join(state, DefaultProfile+".sha256")); !errors.Is(serr, os.ErrNotExist) {
		t.Fatalf("a marker was written for a profile that did not load: %v", serr)
	}
}

func TestLoadedReadsTheKernelsListing(t *testing.T) {
	f := newFake(t, "Y")
	for name, want := range map[string]string{"/usr/bin/man": "enforce", "some profile": "complain", "some": "", DefaultProfile: ""} {
		if got := f.Loaded(name); got != want {
			t.Errorf("Loaded(%q) = %q, want %q", name, got, want)
		}
	}
}

func TestProfileDeniesWhatTheIssueNames(t *testing.T) {
	p := string(Profile("x"))
	for _, rule := range []string{"profile x flags=", "deny mount,", "deny /proc/sys/** wklx,", "deny /proc/sysrq-trigger rwklx,",
		"ptrace (trace,read,tracedby,readby) peer=x,", "deny /sys/[^f]** wklx,", "signal (receive) peer=unconfined,"} {
		if !strings.Contains(p, rule) {
			t.Errorf("profile lacks %q", rule)
		}
	}
}
