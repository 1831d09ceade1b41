package container

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/edgerun/edgerun/logfile"
)

// ErrNoLogs: the container has no log (it ran in the foreground).
var ErrNoLogs = errors.New("container has no logs")

// logFile is a detached container's log in its directory.
const logFile = "container.log"

func (r *Runtime) logPath(id string) string { return filepath.Join(r.containerDir(id), logFile) }

// Logs writes a container's logged output to opts.Stdout and opts.Stderr
// (each line to the stream it came from); with opts.Follow it goes on
// until the container is stopped and its monitor has exited, or ctx ends.
// opts.Writing is the container's own and is ignored.
func (r *Runtime) Logs(ctx context.Context, ref string, opts logfile.PrintOptions) error {
	rec, err := r.lookup(ref)
	if err != nil {
		return err
	}
	path := r.logPath(rec.ID)
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: %s ran in the foreground, where its output went to the terminal; containers started with run -d or start keep logs", ErrNoLogs, rec.Name)
	}
	opts.Writing = func() bool { return r.owned(rec) }
	return logfile.Print(ctx, path, rec.LogMaxFile, opts)
}
