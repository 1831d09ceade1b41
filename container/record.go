package container

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	digest "github.com/opencontainers/go-digest"
)

// recordFile is the name of a container's record inside its directory.
const recordFile = "record.json"

// Record is what edgerun remembers of a container across processes and
// reboots. It is written atomically; readers never see half a record.
type Record struct {
	ID          string          `json:"id"`
	Name        string          `json:"name"`
	Image       string          `json:"image"`
	ImageDigest digest.Digest   `json:"imageDigest"`
	Layers      []digest.Digest `json:"layers"`
	Created     time.Time       `json:"created"`
	Command     []string        `json:"command"`
	AutoRemove  bool            `json:"autoRemove,omitempty"`
	// Snapshot is how the root file system is made: overlay or copy.
	Snapshot string `json:"snapshot"`
	// ProcessLabel and MountLabel are the container's SELinux labels (on
	// hosts with SELinux): its processes' and its files' (selinux.go).
	ProcessLabel string `json:"processLabel,omitempty"`
	MountLabel   string `json:"mountLabel,omitempty"`
	// Labels are the container's -l KEY=VALUE.
	Labels map[string]string `json:"labels,omitempty"`

	State      State     `json:"state"`
	Pid        int       `json:"pid,omitempty"`
	StartedAt  time.Time `json:"startedAt,omitzero"`
	FinishedAt time.Time `json:"finishedAt,omitzero"`
	ExitCode   int       `json:"exitCode"`
	// OOMKilled: the kernel's OOM killer killed the init (the run
	// ended with it); OOMKills counts every process of the container it
	// killed in the run, children included, LastOOM when the last was
	// noticed, OOMChildKills those counted while the init lived (oom.go).
	OOMKilled     bool      `json:"oomKilled,omitempty"`
	OOMKills      uint64    `json:"oomKills,omitempty"`
	LastOOM       time.Time `json:"lastOOM,omitzero"`
	OOMChildKills uint64    `json:"oomChildKills,omitempty"`
	// oomUnseen: the end of the run found kills not yet journaled
	// (endOOM); died journals an oom event for them.
	oomUnseen bool
	// Paused: edgerun pause froze it (its freezer cgroup); cleared by
	// unpause and when the container ends.
	Paused bool `json:"paused,omitempty"`

	Network NetworkRecord `json:"network"`
	// Volumes are the named volumes the container mounts: `volume rm`
	// and `volume prune` leave them alone while the container exists.
	Volumes []string `json:"volumes,omitempty"`

	Lifecycle
}

// State is where a container is in its life.
type State string

// The container states, as docker names them.
const (
	StateCreated State = "created"
	StateRunning State = "running"
	StateExited  State = "exited"
	// StateRestarting: the monitor waits out the backoff before a restart.
	StateRestarting State = "restarting"
)

func (r *Runtime) containersDir() string { return filepath.Join(r.cfg.Root, "containers") }

func (r *Runtime) containerDir(id string) string { return filepath.Join(r.containersDir(), id) }

// saveRecord writes the record, durably unless the container is removed
// when it exits (then a power loss may leave it empty, which cleanup
// treats as a half-made container).
func (r *Runtime) saveRecord(rec *Record) error {
	return writeJSON(filepath.Join(r.containerDir(rec.ID), recordFile), rec, !rec.AutoRemove)
}

// hasRecord says whether id has a record (an empty one, see loadRecord,
// does not count).
func (r *Runtime) hasRecord(id string) bool {
	st, err := os.Stat(filepath.Join(r.containerDir(id), recordFile))
	return err == nil && st.Size() > 0
}

func (r *Runtime) loadRecord(id string) (*Record, error) {
	b, err := os.ReadFile(filepath.Join(r.containerDir(id), recordFile))
	if err != nil {
		return nil, err
	}
	if len(b) == 0 {
		// A --rm container's record is not fsynced: after a power loss
		// it can be empty; a kept one's only by damage to the disk.
		return nil, fmt.Errorf("%w: container record %s is empty", errRecordDamaged, id)
	}
	var rec Record
	if err := json.Unmarshal(b, &rec); err != nil {
		return nil, fmt.Errorf("%w: container record %s is corrupt: %w", errRecordDamaged, id, err)
	}
	if rec.ID != id {
		return nil, fmt.Errorf("%w: container record %s names container %q", errRecordDamaged, id, rec.ID)
	}
	return &rec, nil
}

// listRecords returns every container record. Directories without a record
// are half-created containers, removed by cleanup; those with a damaged
// one are quarantined by cleanup (quarantine.go). Both are skipped here.
func (r *Runtime) listRecords() ([]*Record, error) {
	ents, err := os.ReadDir(r.containersDir())
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	ents = slices.DeleteFunc(ents, func(e fs.DirEntry) bool { return !e.IsDir() })
	loaded := make([]*Record, len(ents))
	errs := make([]error, len(ents))
	inParallel(len(ents), func(i int) { loaded[i], errs[i] = r.loadRecord(ents[i].Name()) })
	var recs []*Record
	for i, rec := range loaded {
		err := errs[i]
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, errRecordDamaged) {
			continue // half-made, or damaged: cleanup quarantines it
		}
		if err != nil {
			return nil, err
		}
		recs = append(recs, rec)
	}
	return recs, nil
}
