// Package atomicfile writes files so that readers and crashes only ever see
// the old or the new content: temp file in the same directory, write, fsync,
// rename over the target, fsync the directory.
package atomicfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// WriteFile atomically and durably replaces path with data.
func WriteFile(path string, data []byte, perm os.FileMode) error {
	return Write(path, perm, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// WriteFileVolatile atomically replaces path with data, without the
// fsyncs: readers never see a partial file, but a power loss may lose it
// or leave it empty. Only for files that cannot outlive the process that
// writes them (a --rm container's files), whose loss cleanup handles.
func WriteFileVolatile(path string, data []byte, perm os.FileMode) error {
	return write(path, perm, false, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// Write atomically and durably replaces path with what fill writes.
// If fill fails, the target is untouched and the temp file is removed.
func Write(path string, perm os.FileMode, fill func(io.Writer) error) error {
	return write(path, perm, true, fill)
}

func write(path string, perm os.FileMode, durable bool, fill func(io.Writer) error) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("create temp file for %s: %w", path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err = fill(f); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = f.Chmod(perm); err != nil {
		return fmt.Errorf("chmod %s: %w", tmp, err)
	}
	if durable {
		if err = f.Sync(); err != nil {
			return fmt.Errorf("fsync %s: %w", tmp, err)
		}
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", tmp, err)
	}
	if err = os.Rename(tmp, path); err != nil {
		return fmt.Errorf("rename %s: %w", path, err)
	}
	if !durable {
		return nil
	}
	return SyncDir(dir)
}

// SyncDir fsyncs a directory so that a rename or create inside it is durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open dir %s for fsync: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("fsync dir %s: %w", dir, err)
	}
	return nil
}

// Rename renames oldpath to newpath and fsyncs the parent directories,
// making the move durable. Used to publish a completed temp file or staging
// directory.
func Rename(oldpath, newpath string) error {
	if err := os.Rename(oldpath, newpath); err != nil {
		return err
	}
	if err := SyncDir(filepath.Dir(newpath)); err != nil {
		return err
	}
	if od := filepath.Dir(oldpath); od != filepath.Dir(newpath) {
		return SyncDir(od)
	}
	return nil
}

// RemoveStale removes the temp files that writes of the file name in dir
// left when a crash interrupted them ("*" for any file's). Only call it
// while holding what excludes every writer of those files (their lock):
// a write in progress would lose its temp file.
func RemoveStale(dir, name string) error {
	tmps, err := filepath.Glob(filepath.Join(dir, "."+name+".tmp-*"))
	if err != nil {
		return err
	}
	var errs []error
	for _, p := range tmps {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
