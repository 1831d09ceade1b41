package container

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/edgerun/edgerun/specgen"
	"github.com/edgerun/edgerun/volumes"
)

func volumeRuntime(t *testing.T) *Runtime {
	t.Helper()
	dir := t.TempDir()
	r, err := openRoots(Config{Root: filepath.Join(dir, "root"), State: filepath.Join(dir, "state")}, true)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// A container being created holds the volume lock from resolving its
// volumes until its record names them: volume rm and prune wait for it.
func TestVolumeChangesWaitForAContainerBeingCreated(t *testing.T) {
	r := volumeRuntime(t)
	ctx := context.Background()
	use, err := r.resolveVolumes(ctx, []specgen.MountSpec{{Type: "volume", Source: "data", Destination: "/data"}}, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(use.names, []string{"data"}) || use.paths["data"] != filepath.Join(r.cfg.Root, "volumes", "data", "_data") {
		t.Fatalf("resolved %+v", use)
	}
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	if err := r.RemoveVolume(short, "data", false); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("RemoveVolume while a container is being created = %v, want it to wait", err)
	}
	if _, err := r.PruneVolumes(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("PruneVolumes while a container is being created = %v, want it to wait", err)
	}
	// The record names the volume, then the lock goes: rm is refused.
	rec := &Record{ID: strings.Repeat("a", 64), Name: "web", Volumes: use.names, AutoRemove: true}
	if err := os.MkdirAll(r.containerDir(rec.ID), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := writeJSON(filepath.Join(r.containerDir(rec.ID), recordFile), rec, false); err != nil {
		t.Fatal(err)
	}
	use.release()
	err = r.RemoveVolume(ctx, "data", true)
	if !errors.Is(err, ErrVolumeInUse) || !strings.Contains(err.Error(), "web (aaaaaaaaaaaa)") {
		t.Fatalf("RemoveVolume -f of a volume in use = %v, want ErrVolumeInUse naming web", err)
	}
	info, err := r.InspectVolume("data")
	if err != nil || len(info.Containers) != 1 || info.Containers[0].Name != "web" {
		t.Fatalf("InspectVolume = %+v, %v", info, err)
	}
	if err := r.RemoveVolume(ctx, "missing", true); err != nil {
		t.Fatalf("RemoveVolume -f of a missing volume = %v, want nil", err)
	}
	if err := r.RemoveVolume(ctx, "missing", false); !errors.Is(err, volumes.ErrNotFound) {
		t.Fatalf("RemoveVolume of a missing volume = %v, want ErrNotFound", err)
	}
}

func TestResolveVolumesCopiesOnTheFirstMountOnly(t *testing.T) {
	r := volumeRuntime(t)
	ctx := context.Background()
	mounts := []specgen.MountSpec{{Type: "volume", Source: "cfg", Destination: "/srv", NoCopy: true},
		{Type: "volume", Source: "cfg", Destination: "/other"}}
	use, err := r.resolveVolumes(ctx, mounts, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	use.release()
	if !slices.Equal(use.names, []string{"cfg"}) {
		t.Fatalf("names = %v, want cfg once", use.names)
	}
	v, err := r.volumeStore().Get("cfg")
	if err != nil || v.CopyUp {
		t.Fatalf("after the first mount: %+v, %v; want no copy-up pending", v, err)
	}
}
