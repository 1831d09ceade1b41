package container

import (
	"path/filepath"
	"time"

	units "github.com/docker/go-units"
	digest "github.com/opencontainers/go-digest"

	"github.com/edgerun/edgerun/images"
	"github.com/edgerun/edgerun/rootfs"
)

// DiskUsage is what `system df` reports: the image store, the
// containers' writable layers and the named volumes.
type DiskUsage struct {
	Images     images.Usage
	Containers []ContainerUsage
	Volumes    []VolumeUsage
}

// ContainerUsage is one container and the size of its writable layer.
type ContainerUsage struct {
	PsEntry
	Bytes  int64 // the writable layer (PsEntry.Size says it for people)
	Active bool  // running, restarting or paused: prune keeps it
}

// VolumeUsage is one named volume and the size of its files.
type VolumeUsage struct {
	Name  string
	Links int // containers, running or stopped, that use it
	Size  int64
}

// UsageRow is one line of `system df`: docker's TYPE, TOTAL, ACTIVE,
// SIZE and RECLAIMABLE.
type UsageRow struct {
	Type        string
	Total       int
	Active      int
	Size        int64
	Reclaimable int64
}

// Disk usage row types, docker's.
const (
	UsageImages     = "Images"
	UsageContainers = "Containers"
	UsageVolumes    = "Local Volumes"
	UsageBuildCache = "Build Cache"
)

// DiskUsage measures what `system df` reports. Image sizes come from
// what was recorded (blob sizes, the unpacked layers' markers), so the
// image store is not walked; each container's writable layer and each
// volume is walked, as docker does, since nothing records their sizes.
func (r *Runtime) DiskUsage(now time.Time) (DiskUsage, error) {
	var du DiskUsage
	recs, err := r.Containers(true)
	if err != nil {
		return du, err
	}
	perImage := map[digest.Digest]int{}
	var layers []digest.Digest
	for _, rec := range recs {
		perImage[rec.ImageDigest]++
		layers = append(layers, rec.Layers...)
		n := r.WritableSize(rec)
		e := psEntry(rec, r.Health(rec), now, time.Local, false)
		e.Size = units.HumanSizeWithPrecision(float64(n), 3)
		du.Containers = append(du.Containers, ContainerUsage{PsEntry: e, Bytes: n, Active: !prunable(rec)})
	}
	store, err := r.Images()
	if err != nil {
		return du, err
	}
	if du.Images, err = store.Usage(images.UsageOptions{Containers: perImage, ContainerLayers: layers}); err != nil {
		return du, err
	}
	vs, err := r.Volumes()
	if err != nil {
		return du, err
	}
	for _, v := range vs {
		du.Volumes = append(du.Volumes, VolumeUsage{Name: v.Name, Links: len(v.Containers), Size: rootfs.TreeSize(v.Mountpoint)})
	}
	return du, nil
}

// Rows are the summary lines of `system df`, in docker's order. edgerun
// builds no images, so its build cache is always empty.
func (du DiskUsage) Rows() []UsageRow {
	img := UsageRow{Type: UsageImages, Total: len(du.Images.Images), Size: du.Images.Size, Reclaimable: du.Images.Reclaimable}
	for _, i := range du.Images.Images {
		if i.Containers > 0 {
			img.Active++
		}
	}
	ctr := UsageRow{Type: UsageContainers, Total: len(du.Containers)}
	for _, c := range du.Containers {
		ctr.Size += c.Bytes
		if c.Active {
			ctr.Active++
		} else {
			ctr.Reclaimable += c.Bytes
		}
	}
	vol := UsageRow{Type: UsageVolumes, Total: len(du.Volumes)}
	for _, v := range du.Volumes {
		vol.Size += v.Size
		if v.Links > 0 {
			vol.Active++
		} else {
			vol.Reclaimable += v.Size
		}
	}
	return []UsageRow{img, ctr, vol, {Type: UsageBuildCache}}
}

// prunable says whether container prune removes the container: it is
// stopped, or created and not being started.
func prunable(rec *Record) bool {
	return rec.State == StateExited || rec.State == StateCreated
}

// WritableSize is the size of a container's writable layer: the files of
// its overlay upper directory, or of its copied root file system.
func (r *Runtime) WritableSize(rec *Record) int64 {
	dir := filepath.Join(r.containerDir(rec.ID), "upper")
	if rec.Snapshot != "overlay" {
		dir = filepath.Join(r.containerDir(rec.ID), "rootfs")
	}
	return rootfs.TreeSize(dir)
}
