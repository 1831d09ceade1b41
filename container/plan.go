package container

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/edgerun/edgerun/apparmor"
	"github.com/edgerun/edgerun/cgroups"
	"github.com/edgerun/edgerun/health"
	"github.com/edgerun/edgerun/image"
	"github.com/edgerun/edgerun/images"
	"github.com/edgerun/edgerun/internal/ids"
	"github.com/edgerun/edgerun/specgen"
)

// runPlan is what a run's options come to once validated, before anything
// of the container exists: the options themselves stay as the caller gave
// them.
type runPlan struct {
	limits cgroups.Limits
	life   Lifecycle
	store  *images.Store
	img    *image.Image
	net    *netPlan
	// volumes are the named volumes of -v and --mount, names checked.
	volumes []specgen.MountSpec
	// processLabel and mountLabel are the container's SELinux labels
	// ("" without SELinux), chosen by create before its root is mounted.
	processLabel, mountLabel string
}

// plan validates a run's options (limits against this host, restart and
// log settings, name, network flags) and finds its image, pulling it when
// --pull says so. Nothing is created.
func (r *Runtime) plan(ctx context.Context, opts *RunOptions, detach bool) (*runPlan, error) {
	limits, err := cgroups.ParseLimits(opts.Limits)
	if err != nil {
		return nil, err
	}
	host, err := cgroups.Detect("/")
	if err != nil {
		return nil, err
	}
	if why := r.cgroupless(); why != nil {
		if f := limits.CgroupFlags(); len(f) > 0 {
			return nil, fmt.Errorf("%w: %s: rootless containers get no cgroup of their own here, and a limit is never dropped silently: %w",
				specgen.ErrInvalidOption, strings.Join(f, ", "), why)
		}
	} else if err := cgroups.Validate(limits, host); err != nil {
		return nil, err
	} else if err := cgroups.ValidateDelegated(limits, host, r.cgroupParent); err != nil {
		return nil, err
	}
	for _, w := range limits.Warnings() {
		opts.notice(w)
	}
	life, err := newLifecycle(opts, detach)
	if err != nil {
		return nil, err
	}
	if err := opts.Health.Check(); err != nil {
		return nil, fmt.Errorf("%w: %w", specgen.ErrInvalidOption, err)
	}
	if err := checkStopOptions(opts); err != nil {
		return nil, err
	}
	if _, err := specgen.ParseShmSize(opts.Spec.ShmSize); err != nil {
		return nil, err
	}
	if _, err := opts.Net.exposed(); err != nil {
		return nil, err
	}
	if !detach && opts.Health.OnFailure == health.ActionRestart {
		return nil, fmt.Errorf("%w: --health-on-failure restart needs -d (the container's monitor restarts it)", specgen.ErrInvalidOption)
	}
	if opts.Name != "" {
		if err := ids.CheckName(opts.Name); err != nil {
			return nil, fmt.Errorf("%w: %w", specgen.ErrInvalidOption, err)
		}
	}
	vols, err := specgen.NamedVolumes(&opts.Spec)
	if err != nil {
		return nil, err
	}
	store, err := r.Images()
	if err != nil {
		return nil, err
	}
	img, err := store.ForRun(ctx, opts.Image, opts.Pull, opts.Platform, opts.PullWith)
	if err != nil {
		return nil, err
	}
	if err := checkPlatform(img, opts.Platform); err != nil {
		return nil, err
	}
	net, err := r.planNetwork(&opts.Net, img)
	if err != nil {
		return nil, err
	}
	if life.HealthCheck, err = health.Resolve(imageHealth(img), opts.Health); err != nil {
		return nil, fmt.Errorf("%w: %w", specgen.ErrInvalidOption, err)
	}
	return &runPlan{limits: limits, life: life, store: store, img: img, net: net, volumes: vols}, nil
}

// makeSpec generates the spec of container id from the image config and
// the options, checks its command, and adds the /etc files (written into
// dir) and edgerun's init (--init), with the named volumes resolved in
// vols. Its errors carry their exit codes.
func (r *Runtime) makeSpec(dir string, opts *RunOptions, p *runPlan, id, rootfs string, net attached, vols *volumeUse) (_ *specs.Spec, err error) {
	so := opts.Spec // a copy: the caller's options stay as given
	so.ID, so.Rootfs, so.Limits = id, rootfs, p.limits
	so.VolumePaths = vols.paths
	so.HostNetwork, so.NetNSPath = net.host, net.netns
	so.UserNS, so.Cgroupless = r.cfg.Rootless, r.cgroupless() != nil
	so.CgroupParent = r.cgroupParent
	if r.cfg.Rootless {
		so.SingleID, so.IDMaps = sessionIDs()
	}
	so.Notice = r.cfg.Notice
	so.SELinuxProcessLabel, so.SELinuxMountLabel = p.processLabel, p.mountLabel
	if !r.cfg.Rootless { // an unprivileged user can load no profile
		aa := apparmor.System()
		so.AppArmorEnabled = aa.Available()
		if so.AppArmorDefault, err = r.ensureAppArmor(aa); err != nil {
			return nil, &ExitError{ExitRuntimeFailed, err}
		}
	}
	spec, err := specgen.GenerateSpec(p.img.Config.Config, &so)
	if err != nil {
		return nil, &ExitError{ExitRuntimeFailed, err}
	}
	if err := specgen.CheckWorkdir(rootfs, spec.Mounts, spec.Process.Cwd); err != nil {
		return nil, &ExitError{ExitRuntimeFailed, err}
	}
	if err := specgen.CheckCommand(rootfs, spec.Mounts, spec.Process.Args, spec.Process.Env, spec.Process.Cwd); err != nil {
		return nil, commandError(err)
	}
	if err := r.writeEtcFiles(dir, spec, opts, net); err != nil {
		return nil, &ExitError{ExitRuntimeFailed, err}
	}
	if opts.Init {
		exe, err := os.Executable()
		if err != nil {
			return nil, &ExitError{ExitRuntimeFailed, fmt.Errorf("--init: find the edgerun binary: %w", err)}
		}
		if err := specgen.AddInit(spec, exe); err != nil {
			return nil, &ExitError{ExitRuntimeFailed, err}
		}
	}
	return spec, nil
}

// checkPlatform refuses an image stored for another platform than --platform.
func checkPlatform(img *image.Image, want string) error {
	if want == "" {
		return nil
	}
	p, err := image.ParsePlatform(want)
	if err != nil {
		return err
	}
	if image.FormatPlatform(p) != image.FormatPlatform(img.Platform) {
		return fmt.Errorf("image %.12s is stored for %s, not %s: load it again with edgerun load --platform %s",
			img.Digest.Encoded(), image.FormatPlatform(img.Platform), want, want)
	}
	return nil
}

// imageHealth is the image's HEALTHCHECK in package health's terms.
func imageHealth(img *image.Image) *health.Image {
	h := img.Healthcheck
	if h == nil {
		return nil
	}
	return &health.Image{Test: h.Test, Interval: h.Interval, Timeout: h.Timeout, StartPeriod: h.StartPeriod,
		StartInterval: h.StartInterval, Retries: h.Retries}
}

// checkStopOptions validates --stop-signal, --stop-timeout and the labels.
func checkStopOptions(opts *RunOptions) error {
	if s := opts.Spec.StopSignal; s != "" {
		if _, err := specgen.ParseSignal(s); err != nil {
			return fmt.Errorf("%w: --stop-signal %q: %w", specgen.ErrInvalidOption, s, err)
		}
	}
	if opts.StopTimeout < 0 {
		return fmt.Errorf("%w: --stop-timeout %v cannot be negative", specgen.ErrInvalidOption, opts.StopTimeout)
	}
	for k := range opts.Labels {
		if k == "" {
			return fmt.Errorf("%w: -l: a label needs a key (KEY=VALUE)", specgen.ErrInvalidOption)
		}
	}
	return nil
}

// ensureAppArmor loads edgerun's default AppArmor profile when the host
// has AppArmor and it is missing or another version's, and returns its
// name; "" where containers run unconfined (no AppArmor, no
// apparmor_parser). The marker of the loaded version lives in the
// volatile state, which a reboot clears with the kernel's policy.
func (r *Runtime) ensureAppArmor(aa *apparmor.Host) (string, error) {
	return aa.EnsureDefault(context.Background(), filepath.Join(r.cfg.State, "apparmor"))
}
