package container

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	digest "github.com/opencontainers/go-digest"
)

// containerKinds are this package's findings, in order, leaving out the
// host's cgroups (other tests' and other roots' are none of these tests'
// business).
func containerKinds(found []Finding) []string {
	var out []string
	for _, f := range found {
		if f.Kind != findCgroupOrphan {
			out = append(out, f.Kind)
		}
	}
	return out
}

func mustWrite(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// damagedState makes, by hand, what crashes and damage leave: a directory
// without a record, a corrupt record with data, a container whose layer
// is gone and whose name claim went to another ID, a stale claim, and
// runtime state of no container.
func damagedState(t *testing.T) (*Runtime, map[string]string) {
	t.Helper()
	dir := t.TempDir()
	r, err := openRoots(Config{Root: filepath.Join(dir, "root"), State: filepath.Join(dir, "state")}, true)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{}
	for i, k := range []string{"halfmade", "damaged", "kept", "gone", "runtime"} {
		ids[k] = strings.Repeat(string(rune('a'+i)), 64)
	}
	mustWrite(t, filepath.Join(r.containerDir(ids["halfmade"]), "upper", ".keep"), "")
	mustWrite(t, filepath.Join(r.containerDir(ids["damaged"]), recordFile), `{"id": "`)
	mustWrite(t, filepath.Join(r.containerDir(ids["damaged"]), "upper", "data"), "precious")
	if err := os.MkdirAll(r.containerDir(ids["kept"]), 0o700); err != nil {
		t.Fatal(err)
	}
	lost := digest.FromString("a layer no image has")
	if err := r.saveRecord(&Record{ID: ids["kept"], Name: "web", State: StateExited, Layers: []digest.Digest{lost}}); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, filepath.Join(r.namesDir(), "web"), ids["gone"])
	mustWrite(t, filepath.Join(r.namesDir(), "ghost"), ids["gone"])
	mustWrite(t, filepath.Join(r.namesDir(), "alias"), ids["kept"])
	if err := os.MkdirAll(filepath.Join(r.libcontainerRoot(), ids["runtime"]), 0o700); err != nil {
		t.Fatal(err)
	}
	return r, ids
}

func TestCheckReportsDamagedContainersAndNamesWithoutChangingThem(t *testing.T) {
	r, ids := damagedState(t)
	found, err := Check(context.Background(), r.cfg, CheckOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{findHalfMade, findRecordDamaged, findLayersMissing, findRuntimeOrphan,
		findNameStale, findNameStale, findNameStale, findNameMissing}
	if got := containerKinds(found); !slices.Equal(got, want) {
		t.Fatalf("findings %q, want %q:\n%+v", got, want, found)
	}
	for _, f := range found {
		if f.Repaired || f.Repair == "" || f.Problem == "" || f.Where == "" {
			t.Errorf("finding %+v: want what, where and the repair, not repaired", f)
		}
	}
	if Handled(found) {
		t.Error("Handled with findings left")
	}
	for _, id := range []string{ids["halfmade"], ids["damaged"], ids["kept"]} {
		if _, err := os.Stat(r.containerDir(id)); err != nil {
			t.Errorf("a check without --repair changed container %.12s: %v", id, err)
		}
	}
	if ents, _ := os.ReadDir(r.namesDir()); len(ents) != 3 {
		t.Errorf("a check without --repair changed the name claims: %v", ents)
	}
}

func TestCheckRepairQuarantinesDamageAndReclaimsLeftovers(t *testing.T) {
	r, ids := damagedState(t)
	found, err := Check(context.Background(), r.cfg, CheckOptions{Repair: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range found {
		if f.Kind != findCgroupOrphan && !f.Repaired {
			t.Errorf("%s %s not repaired: %s", f.Kind, f.Where, f.Error)
		}
	}
	if _, err := os.Stat(r.containerDir(ids["halfmade"])); !os.IsNotExist(err) {
		t.Errorf("the half-made container is left: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(r.quarantineDir(), ids["damaged"], "upper", "data")); err != nil || string(b) != "precious" {
		t.Errorf("the damaged container's files were not kept in the quarantine: %q, %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(r.quarantineDir(), ids["kept"], recordFile)); err != nil {
		t.Errorf("the container whose layers no image has was not quarantined: %v", err)
	}
	if _, err := os.Stat(filepath.Join(r.libcontainerRoot(), ids["runtime"])); !os.IsNotExist(err) {
		t.Errorf("the runtime state of no container is left: %v", err)
	}
	if ents, _ := os.ReadDir(r.namesDir()); len(ents) != 0 {
		t.Errorf("stale name claims are left: %v", ents)
	}
	q, err := r.Quarantine()
	if err != nil || len(q) != 2 {
		t.Errorf("quarantine lists %+v, %v; want the two containers", q, err)
	}
	again, err := Check(context.Background(), r.cfg, CheckOptions{})
	if err != nil || len(containerKinds(again)) != 0 {
		t.Errorf("after the repair: %+v, %v", again, err)
	}
}

func TestCheckReclaimsNameClaimOfRenamedOwner(t *testing.T) {
	dir := t.TempDir()
	r, err := openRoots(Config{Root: filepath.Join(dir, "root"), State: filepath.Join(dir, "state")}, true)
	if err != nil {
		t.Fatal(err)
	}
	a, b := strings.Repeat("a", 64), strings.Repeat("b", 64)
	for id, name := range map[string]string{a: "db", b: "web"} {
		if err := os.MkdirAll(r.containerDir(id), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := r.saveRecord(&Record{ID: id, Name: name, State: StateExited}); err != nil {
			t.Fatal(err)
		}
	}
	// "web" is claimed by a, which is named db; b, named web, has no claim.
	mustWrite(t, filepath.Join(r.namesDir(), "db"), a)
	mustWrite(t, filepath.Join(r.namesDir(), "web"), a)
	found, err := r.Check(context.Background(), CheckOptions{Quick: true, Repair: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := containerKinds(found); !slices.Equal(got, []string{findNameStale, findNameMissing}) || !Handled(found[:2]) {
		t.Fatalf("findings %+v, want the stale claim released and web claimed for b", found)
	}
	if owner, _ := os.ReadFile(filepath.Join(r.namesDir(), "web")); string(owner) != b {
		t.Errorf("web is claimed by %q, want %.12s", owner, b)
	}
	if rec, err := r.lookup("web"); err != nil || rec.ID != b {
		t.Errorf("lookup web: %v, %v", rec, err)
	}
}

func TestCheckOfMissingRootCreatesNothing(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{Root: filepath.Join(dir, "root"), State: filepath.Join(dir, "state")}
	found, err := Check(context.Background(), cfg, CheckOptions{})
	if err != nil || len(containerKinds(found)) != 0 {
		t.Fatalf("check of a missing root: %+v, %v", found, err)
	}
	for _, d := range []string{cfg.Root, cfg.State} {
		if _, err := os.Stat(d); !os.IsNotExist(err) {
			t.Errorf("check created %s", d)
		}
	}
}
