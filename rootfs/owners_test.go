package rootfs

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"golang.org/x/sys/unix"
)

func TestIDRangesMapWhatTheKernelSays(t *testing.T) {
	full, err := ParseIDRanges("         0       1000          1\n         1     100000      65536\n")
	if err != nil {
		t.Fatal(err)
	}
	single, err := ParseIDRanges("0 1000 1")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		ranges IDRanges
		id     int64 // the IDs past 2^31 do not fit an int on 32-bit targets
		want   bool
	}{
		{"own ID", single, 0, true},
		{"single: another ID", single, 33, false},
		{"full: a subordinate ID", full, 33, true},
		{"full: the last ID", full, 65536, true},
		{"full: beyond the ranges", full, 65537, false},
		{"negative", full, -1, false},
		{"identity: the largest ID", identityMap.UIDs, 1<<32 - 2, true},
		{"identity: (uid_t)-1 is never an ID", identityMap.UIDs, 1<<32 - 1, false},
		{"identity: beyond 32 bits", identityMap.UIDs, 1<<32 + 33, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.id != int64(int(tc.id)) {
				t.Skipf("%d does not fit an int here (tar headers cannot carry it either)", tc.id)
			}
			if got := tc.ranges.Mapped(int(tc.id)); got != tc.want {
				t.Errorf("Mapped(%d) in %v = %v, want %v", tc.id, tc.ranges, got, tc.want)
			}
		})
	}
	for _, bad := range []string{"0 1000", "a b c", "0 1000 1 2", "-1 0 1"} {
		if r, err := ParseIDRanges(bad); err == nil {
			t.Errorf("ParseIDRanges(%q) = %v, want an error", bad, r)
		}
	}
	for m, want := range map[string]string{
		IDMap{UIDs: single, GIDs: single}.Describe():                         "uid 0 and gid 0",
		IDMap{UIDs: full, GIDs: full}.Describe():                             "uids 0-65536 and gids 0-65536",
		IDMap{UIDs: IDRanges{{20, 5, 10}, {0, 1, 10}}, GIDs: nil}.Describe(): "uids 0-9, 20-29 and no gid",
	} {
		if m != want {
			t.Errorf("Describe = %q, want %q", m, want)
		}
	}
}

// own is an owner and permission bits (0 for symlinks, whose mode means
// nothing).
type own struct {
	uid, gid uint32
	perm     uint32
}

// ownersLayer is a layer with entries of every kind and of owners that are
// mapped in every namespace (root), in the full mapping only (33, 5) and
// nowhere but the initial namespace (100000); setuid, setgid and sticky
// bits included.
func ownersLayer() []ent {
	return []ent{
		dir("www").owned(33, 33, 0o755),
		file("www/index.html", "hi").owned(33, 33, 0o644),
		symlink("www/home", "index.html").owned(33, 33, 0o777),
		file("bin/su", "su").owned(0, 0, 0o4755),
		file("bin/agent", "a").owned(33, 33, 0o6755),
		file("bin/wall", "w").owned(0, 5, 0o2755),
		file("home/far", "f").owned(100000, 100000, 0o640),
		dir("tmp").owned(0, 0, 0o1777),
		dir("srv").owned(33, 33, 0o2775),
		fifo("run/fifo").owned(33, 33, 0o660),
		chardev("dev/null", 1, 3).owned(0, 0, 0o666),
	}
}

// TestUnpackOwnersFollowTheIDMapping checks the ownership policy: root of
// the initial namespace gives every entry its owner; root of a user
// namespace those its mapping has, and root (0) with setuid/setgid
// dropped to the others, counted; device nodes only outside.
func TestUnpackOwnersFollowTheIDMapping(t *testing.T) {
	mode := idMode(t)
	tests := []struct {
		path               string
		root, full, single own
	}{
		{"www", own{33, 33, 0o755}, own{33, 33, 0o755}, own{0, 0, 0o755}},
		{"www/index.html", own{33, 33, 0o644}, own{33, 33, 0o644}, own{0, 0, 0o644}},
		{"www/home", own{33, 33, 0}, own{33, 33, 0}, own{0, 0, 0}},
		{"bin/su", own{0, 0, 0o4755}, own{0, 0, 0o4755}, own{0, 0, 0o4755}},
		{"bin/agent", own{33, 33, 0o6755}, own{33, 33, 0o6755}, own{0, 0, 0o755}},
		{"bin/wall", own{0, 5, 0o2755}, own{0, 5, 0o2755}, own{0, 0, 0o755}},
		{"home/far", own{100000, 100000, 0o640}, own{0, 0, 0o640}, own{0, 0, 0o640}},
		{"tmp", own{0, 0, 0o1777}, own{0, 0, 0o1777}, own{0, 0, 0o1777}},
		{"srv", own{33, 33, 0o2775}, own{33, 33, 0o2775}, own{0, 0, 0o2775}},
		{"run/fifo", own{33, 33, 0o660}, own{33, 33, 0o660}, own{0, 0, 0o660}},
	}
	wantStats := map[string]Stats{
		"root":   {Devices: 2},
		"full":   {Devices: 1, SkippedDevices: 1, Unmapped: 1},
		"single": {Devices: 1, SkippedDevices: 1, Unmapped: 8, UnmappedSetID: 2},
	}[mode]
	s := newSandbox(t)
	st, err := Unpack(context.Background(), bytes.NewReader(buildTar(t, ownersLayer()...)), s.dst, UnpackOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			want := map[string]own{"root": tc.root, "full": tc.full, "single": tc.single}[mode]
			if got := lstatOwn(t, filepath.Join(s.dst, tc.path)); got != want {
				t.Errorf("%s mapping: %s is %d:%d %o, want %d:%d %o", mode, tc.path,
					got.uid, got.gid, got.perm, want.uid, want.gid, want.perm)
			}
		})
	}
	got := Stats{Devices: st.Devices, SkippedDevices: st.SkippedDevices, Unmapped: st.Unmapped, UnmappedSetID: st.UnmappedSetID}
	if got != wantStats {
		t.Errorf("%s mapping: counted %+v, want %+v", mode, got, wantStats)
	}
	var dev unix.Stat_t
	err = unix.Lstat(filepath.Join(s.dst, "dev/null"), &dev)
	if created := err == nil && dev.Mode&unix.S_IFMT == unix.S_IFCHR && dev.Rdev == unix.Mkdev(1, 3); created != (mode == "root") {
		t.Errorf("%s mapping: device node dev/null created = %v (%v)", mode, created, err)
	}
}

func lstatOwn(t *testing.T, p string) own {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Lstat(p, &st); err != nil {
		t.Fatal(err)
	}
	perm := st.Mode & 0o7777
	if st.Mode&unix.S_IFMT == unix.S_IFLNK {
		perm = 0
	}
	return own{st.Uid, st.Gid, perm}
}

// TestPrepareCopyKeepsTheLayersOwners checks that the copy fallback gives
// every node the owner and mode the overlay shows: those of the layer, as
// the ownership policy made them.
func TestPrepareCopyKeepsTheLayersOwners(t *testing.T) {
	idMode(t)
	c, err := OpenCache(filepath.Join(t.TempDir(), "layers"), CacheOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var opens atomic.Int32
	dirs, err := c.Ensure(context.Background(), []Layer{testLayer(t, &opens, ownersLayer()...)})
	if err != nil {
		t.Fatal(err)
	}
	cdir := t.TempDir()
	removeAtCleanup(t, cdir)
	snap, err := Prepare(context.Background(), cdir, dirs, SnapshotOptions{Copy: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"www", "www/index.html", "www/home", "bin/su", "bin/agent", "bin/wall", "home/far",
		"tmp", "srv", "run/fifo"} {
		if got, want := lstatOwn(t, filepath.Join(snap.Rootfs, p)), lstatOwn(t, filepath.Join(dirs[0], p)); got != want {
			t.Errorf("copy of %s is %d:%d %o, the layer's %d:%d %o", p, got.uid, got.gid, got.perm, want.uid, want.gid, want.perm)
		}
	}
}

// TestEnsureRefusesLayersOfAnotherIDMapping checks the cache's idmap
// record: written on first use; another mapping's layers refused with the
// way out, pruned when this mapping can remove them and kept when it
// cannot; a cache without layers taken over; one from before the record
// adopted.
func TestEnsureRefusesLayersOfAnotherIDMapping(t *testing.T) {
	ctx := context.Background()
	root := filepath.Join(t.TempDir(), "layers")
	c, err := OpenCache(root, CacheOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var opens atomic.Int32
	l := testLayer(t, &opens, file("f", "x"))
	marker := filepath.Join(root, idmapName)
	now, err := currentOwners(false)
	if err != nil {
		t.Fatal(err)
	}
	ensure := func(step string) error {
		t.Helper()
		_, err := c.Ensure(ctx, []Layer{l})
		if err == nil && readFile(t, marker) != now.String() {
			t.Fatalf("%s: idmap record %q, want this process's %q", step, readFile(t, marker), now.String())
		}
		return err
	}
	record := func(o owners) {
		t.Helper()
		if err := os.WriteFile(marker, []byte(o.String()), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := ensure("first use"); err != nil {
		t.Fatal(err)
	}

	// A mapping whose files this one may remove (its outside IDs are
	// this one's): rm, rmi, image prune are the way out.
	first := now.ids.UIDs[0]
	narrow := IDRanges{{Inside: first.Inside + 5, Outside: first.Outside, Size: 1}}
	record(owners{policy: now.policy, ids: IDMap{UIDs: narrow, GIDs: narrow}})
	err = ensure("another mapping")
	if !errors.Is(err, ErrIDMapChanged) || !strings.Contains(err.Error(), "uid_map "+narrow.String()+";") ||
		!strings.Contains(err.Error(), "image prune") {
		t.Fatalf("Ensure of another mapping's cache = %v, want ErrIDMapChanged naming it and the way out", err)
	}
	if _, _, err := c.Prune(ctx, nil); err != nil {
		t.Fatalf("Prune of layers this mapping can remove: %v", err)
	}
	if err := ensure("after prune"); err != nil {
		t.Fatalf("Ensure of an emptied cache of another mapping: %v", err)
	}

	// A mapping with IDs this one lacks: another --root is the way out,
	// and prune must not unpublish what it cannot remove.
	policy := "userns"
	if now.policy == "userns" {
		policy = "privileged"
	}
	record(owners{policy: policy, ids: IDMap{UIDs: IDRanges{{0, 1000, 1}}, GIDs: IDRanges{{0, 1000, 1}}}})
	if err := ensure("a mapping of other IDs"); !errors.Is(err, ErrIDMapChanged) || !strings.Contains(err.Error(), "another --root") {
		t.Fatalf("Ensure of a cache of other IDs = %v, want ErrIDMapChanged saying to use another --root", err)
	}
	if _, _, err := c.Prune(ctx, nil); !errors.Is(err, ErrIDMapChanged) || !c.Has(l.DiffID) {
		t.Fatalf("Prune of layers this mapping cannot remove = %v (layer kept: %v), want ErrIDMapChanged and the layer kept",
			err, c.Has(l.DiffID))
	}

	if err := os.Remove(marker); err != nil {
		t.Fatal(err)
	}
	if err := ensure("no record"); err != nil {
		t.Fatalf("Ensure of a cache from before the record: %v", err)
	}
}

func TestOwnersRecordRoundTripsAndKnowsWhatItCanRemove(t *testing.T) {
	single := IDRanges{{0, 1000, 1}}
	full := IDRanges{{0, 1000, 1}, {1, 100000, 65536}}
	rec := func(policy string, r IDRanges) owners { return owners{policy: policy, ids: IDMap{UIDs: r, GIDs: r}} }
	for _, o := range []owners{rec("userns", single), rec("userns", full), rec("privileged", identityMap.UIDs)} {
		back, err := parseOwners(o.String())
		if err != nil || back.String() != o.String() {
			t.Errorf("parseOwners(%q) = %q, %v", o.String(), back.String(), err)
		}
	}
	tests := []struct {
		name     string
		old, now owners
		want     bool
	}{
		{"single to full: the user's files are still the user's", rec("userns", single), rec("userns", full), true},
		{"full to single: files of subordinate IDs are nobody's", rec("userns", full), rec("userns", single), false},
		{"another range", rec("userns", IDRanges{{0, 1000, 1}, {1, 200000, 65536}}), rec("userns", full), false},
		{"the range split in two", rec("userns", full), rec("userns", IDRanges{{0, 1000, 1}, {1, 100000, 100}, {101, 100100, 65436}}), true},
		{"root's layers", rec("privileged", identityMap.UIDs), rec("userns", full), false},
		{"another policy", rec("unprivileged", full), rec("userns", full), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.old.removable(tc.now); got != tc.want {
				t.Errorf("removable = %v, want %v", got, tc.want)
			}
		})
	}
}
