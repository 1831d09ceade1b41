package container

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/edgerun/edgerun/image"
	"github.com/edgerun/edgerun/internal/ids"
	"github.com/edgerun/edgerun/netns"
	"github.com/edgerun/edgerun/rootless"
	"github.com/edgerun/edgerun/specgen"
)

// netPlan is the validated network request of a run, made before anything
// exists.
type netPlan struct {
	mode  string
	ports []netns.PortMapping
	join  string           // netns path to join (container:NAME)
	eps   []netns.Endpoint // the bridge networks, eth0 first
}

// planNetwork validates the network flags against the mode and the image:
// the one place --network is checked.
func (r *Runtime) planNetwork(no *NetOptions, img *image.Image) (*netPlan, error) {
	names := no.networks()
	mode := names[0]
	p := &netPlan{mode: mode}
	if mode == NetworkNone || mode == NetworkHost || strings.HasPrefix(mode, networkContainer) {
		if len(names) > 1 {
			return nil, fmt.Errorf("%w: --network %s cannot be combined with other networks", specgen.ErrInvalidOption, mode)
		}
		if len(no.Publish) > 0 || no.PublishAll || no.IP != "" || no.IP6 != "" || len(no.Aliases) > 0 {
			return nil, fmt.Errorf("%w: -p, -P, --ip, --ip6 and --network-alias need a bridge network (with --network %s the container has no address of its own)", specgen.ErrInvalidOption, mode)
		}
		if strings.HasPrefix(mode, networkContainer) {
			path, err := r.joinPath(strings.TrimPrefix(mode, networkContainer))
			if err != nil {
				return nil, err
			}
			p.join = path
		}
		return p, nil
	}
	if err := r.checkRootlessBridge(); err != nil {
		return nil, err
	}
	if len(names) > netns.MaxInterfaces {
		return nil, fmt.Errorf("%w: --network: a container is on at most %d networks", specgen.ErrInvalidOption, netns.MaxInterfaces)
	}
	user := false
	for i, name := range names {
		n, err := r.openNetwork(name, no)
		if err != nil {
			return nil, err
		}
		if slices.ContainsFunc(p.eps, func(e netns.Endpoint) bool { return e.Net.Bridge() == n.Bridge() }) {
			return nil, fmt.Errorf("%w: --network %s is given twice", specgen.ErrInvalidOption, name)
		}
		ep := netns.Endpoint{Net: n, Index: i}
		if n.Name() != "" {
			user, ep.Aliases = true, no.aliasesOn(n.Name())
		}
		p.eps = append(p.eps, ep)
	}
	if err := checkAliases("--network-alias", no.Aliases, user); err != nil {
		return nil, err
	}
	p.mode = netName(p.eps[0].Net)
	var err error
	if p.ports, err = planPorts(no, img, r.cfg.Rootless); err != nil {
		return nil, err
	}
	if len(p.ports) > 0 && p.eps[0].Net.Internal() {
		return nil, fmt.Errorf("%w: -p: network %s is internal (no way in or out): give a network that is not internal first with --network", specgen.ErrInvalidOption, p.mode)
	}
	if no.IP != "" {
		if p.eps[0].IP, err = p.eps[0].Net.ParseIP(no.IP); err != nil {
			return nil, fmt.Errorf("%w: %w", specgen.ErrInvalidOption, err)
		}
	}
	if no.IP6 != "" {
		if p.eps[0].IP6, err = p.eps[0].Net.ParseIP6(no.IP6); err != nil {
			return nil, fmt.Errorf("%w: %w", specgen.ErrInvalidOption, err)
		}
	}
	return p, nil
}

// netName is the name of a network: bridge for the default one.
func netName(n *netns.Network) string {
	if n.Name() != "" {
		return n.Name()
	}
	return NetworkBridge
}

// checkRootlessBridge refuses bridge networks in a rootless session
// without slirp4netns.
func (r *Runtime) checkRootlessBridge() error {
	if s := r.session(); r.cfg.Rootless && (s == nil || s.NetworkAPI == "") {
		why := "its session is gone"
		if s != nil {
			why = s.NetworkError
		}
		return fmt.Errorf("%w: the bridge networks of rootless containers need slirp4netns (%s): use --network none or host, or install slirp4netns (apt install slirp4netns) and run the command again", specgen.ErrInvalidOption, why)
	}
	return nil
}

// openNetwork opens the bridge network name: the default one (bridge,
// with the request's own bridge and subnet when it has them) or a
// user-defined one.
func (r *Runtime) openNetwork(name string, no *NetOptions) (*netns.Network, error) {
	if name == NetworkBridge {
		if no != nil && no.Bridge != "" {
			return netns.Open(r.netConfig(no.Bridge, no.Subnet))
		}
		return r.network()
	}
	d, err := r.netStore().Get(name)
	if err != nil {
		if errors.Is(err, netns.ErrNoSuchNetwork) {
			return nil, fmt.Errorf("%w: --network %q: use bridge, host, none, container:NAME or a network of edgerun network ls: %w", specgen.ErrInvalidOption, name, err)
		}
		return nil, err
	}
	return r.netStore().Network(d)
}

// checkAliases refuses --network-alias names that are no host names, and
// aliases without a user-defined network (docker's rule: the default
// bridge has none).
func checkAliases(flag string, aliases []string, user bool) error {
	if len(aliases) > 0 && !user {
		return fmt.Errorf("%w: %s needs a user-defined network (edgerun network create): the default bridge has no aliases", specgen.ErrInvalidOption, flag)
	}
	for _, a := range aliases {
		if len(a) > 253 || !ids.ValidName(a) {
			return fmt.Errorf("%w: %s %q: use letters, digits, '_', '.' and '-', starting with a letter or digit", specgen.ErrInvalidOption, flag, a)
		}
	}
	return nil
}

// exposed is --expose as ExposedPorts keys ("8080/tcp"), in order, each
// once; a bad value fails as a bad -p does (exit 125).
func (no *NetOptions) exposed() ([]string, error) {
	var out []string
	for _, e := range no.Expose {
		keys, err := netns.ParseExpose(e)
		if err != nil {
			return nil, err
		}
		for _, k := range keys {
			if !slices.Contains(out, k) {
				out = append(out, k)
			}
		}
	}
	return out, nil
}

// planPorts plans -p and -P against the image's exposed ports.
func planPorts(no *NetOptions, img *image.Image, rootlessMode bool) ([]netns.PortMapping, error) {
	exposed, err := no.exposed()
	if err != nil {
		return nil, err
	}
	for k := range img.Config.Config.ExposedPorts {
		exposed = append(exposed, k)
	}
	ports, err := netns.PlanPorts(no.Publish, no.PublishAll, exposed)
	if err != nil {
		return nil, err
	}
	if rootlessMode {
		for _, pm := range ports {
			if pm.HostPort != 0 {
				if err := rootless.CheckPort(int(pm.HostPort)); err != nil {
					return nil, fmt.Errorf("%w: -p: %w", specgen.ErrInvalidOption, err)
				}
			}
		}
	}
	return ports, nil
}
