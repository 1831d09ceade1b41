package testenv_test

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"

	"github.com/edgerun/edgerun/internal/testenv"
)

// recorder is a testing.TB that keeps what an assertion reports instead
// of failing the test.
type recorder struct {
	testing.TB
	errs []string
}

func (r *recorder) Helper()           {}
func (r *recorder) Error(args ...any) { r.errs = append(r.errs, fmt.Sprint(args...)) }
func (r *recorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

// reports runs an assertion and returns what it reported.
func reports(t *testing.T, assert func(testing.TB)) []string {
	t.Helper()
	r := &recorder{TB: t}
	assert(r)
	return r.errs
}

func randomHex(t *testing.T, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

func TestAMountLeftOnTheHostFailsTheCheck(t *testing.T) {
	testenv.RequireRoot(t, "mount a tmpfs")
	dir := t.TempDir()
	m := filepath.Join(dir, "a b", "m")
	if err := os.MkdirAll(m, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", m, "tmpfs", 0, ""); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Unmount(m, syscall.MNT_DETACH) })
	if errs := reports(t, func(t testing.TB) { testenv.AssertNoMountsUnder(t, dir) }); len(errs) != 1 || !strings.Contains(errs[0], `a\040b/m`) {
		t.Errorf("with a tmpfs at %s the check reported %q, want the mount", m, errs)
	}
	if err := syscall.Unmount(m, 0); err != nil {
		t.Fatal(err)
	}
	if errs := reports(t, func(t testing.TB) { testenv.AssertNoMountsUnder(t, dir) }); len(errs) != 0 {
		t.Errorf("after the unmount the check reported %q", errs)
	}
}

// cgroupHierarchies reads this machine's cgroup mounts independently of
// testenv: one mount point per cgroup file system.
func cgroupHierarchies(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	var points []string
	seen := map[string]bool{}
	for _, line := range strings.Split(string(b), "\n") {
		_, after, ok := strings.Cut(line, " - ")
		f := strings.Fields(line)
		if !ok || len(f) < 5 || seen[f[2]] {
			continue
		}
		if fstype, _, _ := strings.Cut(after, " "); fstype == "cgroup" || fstype == "cgroup2" {
			seen[f[2]] = true
			points = append(points, f[4])
		}
	}
	if len(points) == 0 {
		t.Fatal("no cgroup file system mounted")
	}
	return points
}

// TestACgroupLeftOnTheHostFailsTheCheck makes a container's cgroup where
// edgerun makes it (/edgerun/<id> of every hierarchy) in this machine's
// layout: v1 and the hybrid's unified tree here, v2 in the test VMs.
func TestACgroupLeftOnTheHostFailsTheCheck(t *testing.T) {
	testenv.RequireRoot(t, "make cgroups")
	id := randomHex(t, 32)
	var made []string
	for _, h := range cgroupHierarchies(t) {
		p := filepath.Join(h, "edgerun", id)
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = os.Remove(p) })
		made = append(made, p)
	}
	got, err := testenv.Live.Cgroups(id)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	slices.Sort(made)
	if !slices.Equal(got, made) {
		t.Errorf("Cgroups(%s) = %q, want %q", id, got, made)
	}
	if errs := reports(t, func(t testing.TB) { testenv.AssertNoCgroups(t, id) }); len(errs) != 1 || !strings.Contains(errs[0], made[0]) {
		t.Errorf("with cgroups %q left the check reported %q", made, errs)
	}
	// Each hierarchy alone fails the check: the last one too (a hybrid's v2 tree).
	for i := range made[:len(made)-1] {
		if err := os.Remove(made[i]); err != nil {
			t.Fatal(err)
		}
	}
	last := made[len(made)-1]
	if errs := reports(t, func(t testing.TB) { testenv.AssertNoCgroups(t, id) }); len(errs) != 1 || !strings.Contains(errs[0], last) {
		t.Errorf("with only %s left the check reported %q", last, errs)
	}
	if err := os.Remove(last); err != nil {
		t.Fatal(err)
	}
	if errs := reports(t, func(t testing.TB) { testenv.AssertNoCgroups(t, id) }); len(errs) != 0 {
		t.Errorf("with no cgroup left the check reported %q", errs)
	}
}

// TestAPortRuleLeftOnTheHostFailsTheCheck makes a DNAT rule's place as
// edgerun does (chain ports of table ip edgerun_BRIDGE, comment
// edgerun:<id>) with a rule that only counts.
func TestAPortRuleLeftOnTheHostFailsTheCheck(t *testing.T) {
	testenv.RequireRoot(t, "make nftables rules")
	bridge := "ertenv" + randomHex(t, 3)
	dir := t.TempDir()
	n := testenv.Network{Bridge: bridge, Root: filepath.Join(dir, "root"), State: filepath.Join(dir, "state")}
	c, err := nftables.New()
	if err != nil {
		t.Fatal(err)
	}
	tb := c.AddTable(&nftables.Table{Name: "edgerun_" + bridge, Family: nftables.TableFamilyIPv4})
	ch := c.AddChain(&nftables.Chain{Name: "ports", Table: tb})
	c.AddRule(&nftables.Rule{Table: tb, Chain: ch, Exprs: []expr.Any{&expr.Counter{}},
		UserData: userdata.AppendString(nil, userdata.TypeComment, "edgerun:c1")})
	if err := c.Flush(); err != nil {
		t.Fatalf("add table %s: %v", tb.Name, err)
	}
	t.Cleanup(func() { c.DelTable(tb); _ = c.Flush() })
	if rules, err := testenv.PortRules(bridge); err != nil || !slices.Equal(rules, []string{"edgerun:c1"}) {
		t.Errorf("PortRules = %q, %v; want the rule edgerun:c1", rules, err)
	}
	if errs := reports(t, func(t testing.TB) { testenv.AssertNoNetwork(t, n) }); len(errs) != 1 || !strings.Contains(errs[0], "edgerun:c1") {
		t.Errorf("with a rule left the check reported %q", errs)
	}
	c.DelTable(tb)
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	if rules, err := testenv.PortRules(bridge); err != nil || len(rules) != 0 {
		t.Errorf("without the table PortRules = %q, %v; want none", rules, err)
	}
	if errs := reports(t, func(t testing.TB) { testenv.AssertNoNetwork(t, n) }); len(errs) != 0 {
		t.Errorf("with nothing left the check reported %q", errs)
	}
}
