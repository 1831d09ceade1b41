package container

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runc/libcontainer/configs"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/sirupsen/logrus"

	"github.com/edgerun/edgerun/internal/atomicfile"
)

// The runtime-spec runs poststart hooks after the process has started,
// before start returns. libcontainer runs them when the container is
// created (runc does so too), before the process runs. The OCI face
// therefore takes them out of libcontainer's configuration at create,
// keeps them in the container's state directory, and runs them itself
// at start.

// poststartFile holds a container's poststart hooks between create and
// start, in libcontainer's state directory (removed with it).
const poststartFile = "edgerun-poststart.json"

// takePoststart removes the poststart hooks from cfg and returns the
// spec's.
func takePoststart(cfg *configs.Config, s *specs.Spec) []specs.Hook {
	delete(cfg.Hooks, configs.Poststart)
	if s.Hooks == nil {
		return nil
	}
	return s.Hooks.Poststart
}

// savePoststart keeps the hooks for start.
func (o *OCIRuntime) savePoststart(id string, hooks []specs.Hook) error {
	if len(hooks) == 0 {
		return nil
	}
	b, err := json.Marshal(hooks)
	if err != nil {
		return err
	}
	return atomicfile.WriteFileVolatile(filepath.Join(o.cfg.Root, id, poststartFile), b, 0o600)
}

// runPoststart runs the kept poststart hooks with the container's state.
// A failing hook is a warning; the container keeps running, as the
// runtime-spec says.
func (o *OCIRuntime) runPoststart(c *libcontainer.Container) {
	b, err := os.ReadFile(filepath.Join(o.cfg.Root, c.ID(), poststartFile))
	if errors.Is(err, os.ErrNotExist) {
		return
	}
	var hooks []specs.Hook
	if err == nil {
		err = json.Unmarshal(b, &hooks)
	}
	if err != nil {
		logrus.Warnf("container %s: read its poststart hooks: %v", c.ID(), err)
		return
	}
	state, err := c.OCIState()
	if err != nil {
		logrus.Warnf("container %s: state for the poststart hooks: %v", c.ID(), err)
		return
	}
	list := make(configs.HookList, 0, len(hooks))
	for _, h := range hooks {
		cmd := &configs.Command{Path: h.Path, Args: h.Args, Env: h.Env}
		if h.Timeout != nil {
			d := time.Duration(*h.Timeout) * time.Second
			cmd.Timeout = &d
		}
		list = append(list, configs.NewCommandHook(cmd))
	}
	if err := (configs.Hooks{configs.Poststart: list}).Run(configs.Poststart, state); err != nil {
		logrus.Warn(fmt.Errorf("container %s: %w", c.ID(), err))
	}
}
