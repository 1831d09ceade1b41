package statedir

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBindingRefusesAnotherRootsStateAndASecondState(t *testing.T) {
	dir := t.TempDir()
	root, state := filepath.Join(dir, "root"), filepath.Join(dir, "state")
	for _, d := range []string{root, state} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := Check(root, state); err != nil {
		t.Fatalf("a fresh pair: %v", err)
	}
	if err := Record(root, state); err != nil {
		t.Fatal(err)
	}
	if err := Check(root, state); err != nil {
		t.Fatalf("the bound pair: %v", err)
	}
	err := Check(filepath.Join(dir, "root2"), state)
	if !errors.Is(err, ErrInUse) || !strings.Contains(err.Error(), "belongs to root "+root) {
		t.Errorf("another root on the state: %v", err)
	}
	err = Check(root, filepath.Join(dir, "state2"))
	if !errors.Is(err, ErrInUse) || !strings.Contains(err.Error(), "use --state "+state) {
		t.Errorf("a second state for the root: %v", err)
	}
	// The first state directory is gone (a reboot, /run wiped): the root
	// takes the new one.
	if err := os.RemoveAll(state); err != nil {
		t.Fatal(err)
	}
	if err := Check(root, filepath.Join(dir, "state2")); err != nil {
		t.Errorf("after its state directory went: %v", err)
	}
}

func TestNewBootClearsOnlyAfterABootChange(t *testing.T) {
	state := t.TempDir()
	locks := filepath.Join(state, "locks")
	if err := os.Mkdir(locks, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, boot := range []string{"boot-1", "boot-1"} {
		if err := NewBoot(state, boot, "locks"); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(locks); err != nil {
			t.Fatalf("the first boot (and the same boot again) cleared the state: %v", err)
		}
	}
	if err := NewBoot(state, "boot-2", "locks"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(locks); err == nil {
		t.Fatal("a new boot left the old boot's locks")
	}
	if b, _ := os.ReadFile(filepath.Join(state, "boot-id")); strings.TrimSpace(string(b)) != "boot-2" {
		t.Fatalf("boot marker %q", b)
	}
}
