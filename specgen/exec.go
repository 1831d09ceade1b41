package specgen

import (
	"os"
	"slices"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// ExecOptions are the docker-style options of a command run in an
// existing container (`edgerun exec`).
type ExecOptions struct {
	Args    []string
	Env     []string                    // -e KEY=VALUE, or KEY for the value in HostEnv
	HostEnv func(string) (string, bool) // nil: os.LookupEnv
	User    string                      // -u NAME|UID[:GROUP|GID]; "" keeps the container's
	Workdir string                      // -w; "" keeps the container's
	TTY     bool                        // -t
	// Privileged (--privileged) gives the command every capability in
	// HostCaps (see HostCapabilities), whatever the container's.
	Privileged bool
	HostCaps   []string
	// KeepGroups says the container keeps its user's own groups
	// (--group-add keep-groups, HasOwnUserNamespace): -u sets none.
	KeepGroups bool
}

// ExecProcess derives the process of an exec from the container's own
// (capabilities, seccomp, rlimits and the rest stay): the command, the
// environment with -e applied over it, and the user (looked up in the
// container's rootfs) and working directory when given. base is not
// changed.
func ExecProcess(base *specs.Process, rootfs string, opts ExecOptions) (*specs.Process, error) {
	p := *base
	p.Args, p.Terminal = slices.Clone(opts.Args), opts.TTY
	p.Env = slices.Clone(base.Env)
	lookup := opts.HostEnv
	if lookup == nil {
		lookup = os.LookupEnv
	}
	for _, kv := range opts.Env {
		k, _, ok := strings.Cut(kv, "=")
		if !ok {
			v, found := lookup(kv)
			if !found {
				continue
			}
			kv = kv + "=" + v
		}
		p.Env = slices.DeleteFunc(p.Env, func(e string) bool { return strings.HasPrefix(e, k+"=") })
		p.Env = append(p.Env, kv)
	}
	if opts.Workdir != "" {
		cwd, err := checkWorkdir("-w", opts.Workdir)
		if err != nil {
			return nil, err
		}
		p.Cwd = cwd
	}
	if opts.Privileged {
		p.Capabilities = &specs.LinuxCapabilities{
			Bounding: slices.Clone(opts.HostCaps), Effective: slices.Clone(opts.HostCaps), Permitted: slices.Clone(opts.HostCaps),
		}
	}
	if opts.User != "" {
		u, err := resolveUser(rootfs, opts.User, nil)
		if err != nil {
			return nil, err
		}
		p.User = specs.User{UID: u.UID, GID: u.GID, AdditionalGids: u.AdditionalGids}
		if opts.KeepGroups {
			p.User.AdditionalGids = nil
		}
	}
	return &p, nil
}
