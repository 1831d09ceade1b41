package container

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/edgerun/edgerun/internal/lockfile"
)

// interruptedUpdates makes, by hand, what killed updates leave: the
// journal of web's update (its old container gone meanwhile), a damaged
// journal of db, and the journal of api, whose update is live (its lock
// is held).
func interruptedUpdates(t *testing.T) *Runtime {
	t.Helper()
	dir := t.TempDir()
	r, err := openRoots(Config{Root: filepath.Join(dir, "root"), State: filepath.Join(dir, "state")}, true)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"web", "api"} {
		b, err := json.Marshal(journal{Name: name, Old: strings.Repeat("c", 64), OldImage: "busybox", Image: "busybox:v2",
			Temp: name + ".next", Step: stepWait})
		if err != nil {
			t.Fatal(err)
		}
		mustWrite(t, r.journalPath(name), string(b))
	}
	mustWrite(t, r.journalPath("db"), `{"name": "d`)
	if err := os.MkdirAll(filepath.Dir(r.updateLockPath("api")), 0o700); err != nil {
		t.Fatal(err)
	}
	lock, err := lockfile.TryExclusive(r.updateLockPath("api"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = lock.Remove() })
	return r
}

func TestCheckReportsInterruptedUpdatesAndRepairFinishesThem(t *testing.T) {
	r := interruptedUpdates(t)
	found, err := Check(context.Background(), r.cfg, CheckOptions{Quick: true})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{r.journalPath("db"): "damaged", r.journalPath("web"): "interrupted at step wait"}
	if got := containerKinds(found); !slices.Equal(got, []string{findUpdateInterrupted, findUpdateInterrupted}) {
		t.Fatalf("findings %+v, want the interrupted updates of db and web (not api's, which is live)", found)
	}
	for _, f := range found {
		if !strings.Contains(f.Problem, want[f.Where]) || f.Repaired || f.Repair == "" {
			t.Errorf("finding %+v: want a problem with %q, not repaired", f, want[f.Where])
		}
	}
	for _, name := range []string{"web", "db", "api"} {
		if _, err := os.Stat(r.journalPath(name)); err != nil {
			t.Errorf("a check without --repair changed the journal of %s: %v", name, err)
		}
	}

	found, err = Check(context.Background(), r.cfg, CheckOptions{Quick: true, Repair: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range found {
		switch f.Where {
		case r.journalPath("web"):
			if !f.Repaired {
				t.Errorf("the update of web, whose old container is gone, was not ended: %+v", f)
			}
		case r.journalPath("db"):
			if f.Repaired || !strings.Contains(f.Error, "damaged") {
				t.Errorf("the damaged journal of db: %+v, want it kept and the error said", f)
			}
		}
	}
	if _, err := os.Stat(r.journalPath("web")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the journal of web is left after the repair: %v", err)
	}
	for _, name := range []string{"db", "api"} {
		if _, err := os.Stat(r.journalPath(name)); err != nil {
			t.Errorf("the repair removed the journal of %s: %v", name, err)
		}
	}
}

// An update killed after the old container went and before the
// replacement took the name leaves no container named NAME: the next
// update of NAME still finds the service, by its journal.
func TestServiceNameOfAnUpdateKilledBeforeTheRename(t *testing.T) {
	r := interruptedUpdates(t)
	if name, err := r.serviceName("web"); err != nil || name != "web" {
		t.Errorf("serviceName(web) = %q, %v; want web, from its journal", name, err)
	}
	if _, err := r.serviceName("nothing"); !errors.Is(err, ErrNoSuchContainer) {
		t.Errorf("serviceName of no container and no journal: %v, want ErrNoSuchContainer", err)
	}
}
