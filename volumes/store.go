package volumes

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/edgerun/edgerun/internal/atomicfile"
	"github.com/edgerun/edgerun/internal/ids"
	"github.com/edgerun/edgerun/internal/lockfile"
)

const (
	dataDir  = "_data"       // what containers mount
	metaFile = "volume.json" // the volume's metadata
	lockFile = ".lock"       // not a volume name: names start with a letter or digit
	staging  = ".creating-"  // a volume being made
	removing = ".removing-"  // a volume being removed
)

// Volume is one named volume.
type Volume struct {
	Name string `json:"Name"`
	// Mountpoint is the directory containers mount: <root>/volumes/NAME/_data.
	Mountpoint string    `json:"Mountpoint"`
	CreatedAt  time.Time `json:"CreatedAt"`
	// CopyUp says the volume was never mounted: its first mount copies
	// the image's content at the mount point into it.
	CopyUp bool `json:"-"`
}

// meta is volume.json.
type meta struct {
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"createdAt"`
	CopyUp    bool      `json:"copyUp,omitempty"`
}

// Store is the volumes directory of one persistent root.
type Store struct {
	dir string
}

// Open returns the store under root (<root>/volumes); nothing is created
// until a volume is.
func Open(root string) *Store {
	return &Store{dir: filepath.Join(root, "volumes")}
}

// Dir is the store's directory.
func (s *Store) Dir() string { return s.dir }

// Lock takes the store's lock, exclusively: every change holds it, and
// so does a caller that must not see a volume removed meanwhile.
func (s *Store) Lock(ctx context.Context) (*lockfile.Lock, error) {
	if err := os.MkdirAll(s.dir, 0o711); err != nil {
		return nil, fmt.Errorf("create the volumes directory: %w", err)
	}
	l, err := lockfile.Exclusive(ctx, filepath.Join(s.dir, lockFile))
	if err != nil {
		return nil, fmt.Errorf("lock the volumes: %w", err)
	}
	return l, nil
}

// Create makes the volume name unless it exists, and returns it with
// whether it was made now (docker's `volume create` of an existing name
// succeeds too). The caller holds Lock.
func (s *Store) Create(name string) (Volume, bool, error) {
	if err := ids.CheckVolumeName(name); err != nil {
		return Volume{}, false, err
	}
	if v, err := s.Get(name); err == nil {
		return v, false, nil
	} else if !errors.Is(err, ErrNotFound) {
		return Volume{}, false, err
	}
	s.sweep()
	tmp := filepath.Join(s.dir, staging+name+"-"+randomSuffix())
	if err := os.MkdirAll(filepath.Join(tmp, dataDir), 0o755); err != nil {
		return Volume{}, false, fmt.Errorf("create volume %s: %w", name, err)
	}
	// MkdirAll's mode is masked by the umask; a volume's root is 0755
	// as docker's is, until the first mount copies the image's mode.
	if err := os.Chmod(filepath.Join(tmp, dataDir), 0o755); err != nil {
		_ = os.RemoveAll(tmp)
		return Volume{}, false, fmt.Errorf("create volume %s: %w", name, err)
	}
	m := meta{Name: name, CreatedAt: time.Now().UTC().Truncate(time.Second), CopyUp: true}
	if err := writeMeta(tmp, m); err != nil {
		_ = os.RemoveAll(tmp)
		return Volume{}, false, fmt.Errorf("create volume %s: %w", name, err)
	}
	if err := atomicfile.SyncDir(tmp); err != nil {
		_ = os.RemoveAll(tmp)
		return Volume{}, false, fmt.Errorf("create volume %s: %w", name, err)
	}
	if err := atomicfile.Rename(tmp, s.path(name)); err != nil {
		_ = os.RemoveAll(tmp)
		return Volume{}, false, fmt.Errorf("create volume %s: %w", name, err)
	}
	return s.volume(m), true, nil
}

// Get returns the volume name; errors wrap ErrNotFound when there is none.
func (s *Store) Get(name string) (Volume, error) {
	if err := ids.CheckVolumeName(name); err != nil {
		return Volume{}, fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	return s.load(name)
}

// List returns every volume, sorted by name.
func (s *Store) List() ([]Volume, error) {
	ents, err := os.ReadDir(s.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list volumes: %w", err)
	}
	var out []Volume
	for _, e := range ents {
		if !e.IsDir() || ids.CheckVolumeName(e.Name()) != nil {
			continue // the lock, staging and removal leftovers
		}
		v, err := s.load(e.Name())
		if errors.Is(err, ErrNotFound) {
			continue // removed meanwhile
		}
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// CopiedUp records that the volume had its first mount: later mounts
// copy nothing into it. The caller holds Lock.
func (s *Store) CopiedUp(name string) error {
	v, err := s.Get(name)
	if err != nil {
		return err
	}
	if !v.CopyUp {
		return nil
	}
	m := meta{Name: v.Name, CreatedAt: v.CreatedAt}
	if err := writeMeta(s.path(name), m); err != nil {
		return fmt.Errorf("volume %s: %w", name, err)
	}
	return nil
}

// Remove deletes the volume name and its data, and returns the bytes of
// disk space that freed. Whether a container uses it is the caller's to
// check first. The caller holds Lock.
func (s *Store) Remove(name string) (int64, error) {
	if _, err := s.Get(name); err != nil {
		return 0, err
	}
	aside := filepath.Join(s.dir, removing+name+"-"+randomSuffix())
	if err := atomicfile.Rename(s.path(name), aside); err != nil {
		return 0, fmt.Errorf("remove volume %s: %w", name, err)
	}
	freed, err := removeTree(aside)
	if err != nil {
		return freed, fmt.Errorf("remove volume %s: %w (what is left goes with the next volume change)", name, err)
	}
	return freed, nil
}

func (s *Store) path(name string) string { return filepath.Join(s.dir, name) }

func (s *Store) volume(m meta) Volume {
	return Volume{Name: m.Name, Mountpoint: filepath.Join(s.path(m.Name), dataDir), CreatedAt: m.CreatedAt, CopyUp: m.CopyUp}
}

// load reads a volume's directory. A directory without readable metadata
// (made by hand) is a volume too, dated by its mtime, and never copied
// into: it may hold data already.
func (s *Store) load(name string) (Volume, error) {
	st, err := os.Stat(filepath.Join(s.path(name), dataDir))
	if errors.Is(err, fs.ErrNotExist) {
		return Volume{}, fmt.Errorf("%w: %s: list volumes with edgerun volume ls", ErrNotFound, name)
	}
	if err != nil {
		return Volume{}, fmt.Errorf("volume %s: %w", name, err)
	}
	if !st.IsDir() {
		return Volume{}, fmt.Errorf("volume %s: %s is not a directory: move it away", name, filepath.Join(s.path(name), dataDir))
	}
	var m meta
	b, err := os.ReadFile(filepath.Join(s.path(name), metaFile))
	if err != nil || json.Unmarshal(b, &m) != nil || m.Name != name {
		m = meta{Name: name, CreatedAt: st.ModTime().UTC().Truncate(time.Second)}
	}
	return s.volume(m), nil
}

func writeMeta(dir string, m meta) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(dir, metaFile), append(b, '\n'), 0o644)
}

// sweep removes what crashed creations and removals left. The caller
// holds Lock, so none of them is in progress.
func (s *Store) sweep() {
	ents, _ := os.ReadDir(s.dir)
	for _, e := range ents {
		if n := e.Name(); e.IsDir() && (strings.HasPrefix(n, staging) || strings.HasPrefix(n, removing)) {
			_, _ = removeTree(filepath.Join(s.dir, n))
		}
	}
}

func randomSuffix() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
