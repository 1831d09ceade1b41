package container

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCleanupRemovesAnEmptyClaimTempOfAKilledCreateAtOnce(t *testing.T) {
	dir := t.TempDir()
	r, err := Open(Config{Root: filepath.Join(dir, "root"), State: filepath.Join(dir, "state")})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(r.namesDir(), 0o700); err != nil {
		t.Fatal(err)
	}
	dead, live := strings.Repeat("ab", 32), strings.Repeat("cd", 32)
	lock, err := r.lockContainer(context.Background(), live) // its create is still running
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Unlock()
	// Killed between creating the temp file and writing the ID into it.
	stale := filepath.Join(r.namesDir(), claimTempPrefix+dead+"-1")
	busy := filepath.Join(r.namesDir(), claimTempPrefix+live+"-2")
	for _, p := range []string{stale, busy} {
		if err := os.WriteFile(p, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.removeStaleNames(nil); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("the empty claim temp file of a dead create is left: %v", err)
	}
	if _, err := os.Stat(busy); err != nil {
		t.Errorf("the claim temp file of a create that is still running was removed: %v", err)
	}
}

// A rename killed after the record took the new name leaves the old
// claim: a container may claim that name, unless a rename holds the lock.
func TestAClaimLeftByAnInterruptedRenameIsTakenOver(t *testing.T) {
	dir := t.TempDir()
	r, err := Open(Config{Root: filepath.Join(dir, "root"), State: filepath.Join(dir, "state")})
	if err != nil {
		t.Fatal(err)
	}
	renamed, other := strings.Repeat("ab", 32), strings.Repeat("cd", 32)
	if err := os.MkdirAll(r.containerDir(renamed), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := r.saveRecord(&Record{ID: renamed, Name: "new"}); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"old", "new"} {
		if err := r.reserveName(n, renamed, true); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.reserveName("new", other, true); err == nil {
		t.Fatal("the name the container's record holds was taken over")
	}
	lock, err := r.lockContainer(context.Background(), renamed) // a rename in progress
	if err != nil {
		t.Fatal(err)
	}
	if err := r.reserveName("old", other, true); err == nil {
		t.Fatal("a name was taken from a container being renamed")
	}
	lock.Unlock()
	if err := r.reserveName("old", other, true); err != nil {
		t.Fatalf("the claim left by an interrupted rename was not taken over: %v", err)
	}
}
