package container

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/edgerun/edgerun/specgen"
)

// createCIDFile creates --cidfile's file, refusing one that exists (as
// docker: it may name a container that still runs); nil without one.
func createCIDFile(path string) (*os.File, error) {
	if path == "" {
		return nil, nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("%w: --cidfile %s exists: remove it, or give another file (it may name a container that still runs)", specgen.ErrInvalidOption, path)
	}
	if err != nil {
		return nil, fmt.Errorf("--cidfile: %w", err)
	}
	return f, nil
}
