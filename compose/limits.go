package compose

import (
	"regexp"
	"strconv"
	"strings"
	"time"

	units "github.com/docker/go-units"
	"go.yaml.in/yaml/v3"
)

func (p *parser) memLimit(b *builder, e entry) (err error) {
	b.s.MemLimit, err = p.size(e)
	return err
}

func (p *parser) memReservation(b *builder, e entry) (err error) {
	b.reservation = e
	b.s.MemReservation, err = p.size(e)
	return err
}

func (p *parser) oomKillDisable(b *builder, e entry) (err error) {
	b.s.OOMKillDisable, err = p.boolean(e.v, e.path)
	return err
}

// checkReservation refuses a mem_reservation above mem_limit, as run
// refuses --memory-reservation above --memory.
func (p *parser) checkReservation(b *builder) error {
	r, l := b.s.MemReservation, b.s.MemLimit
	if r == 0 || l == 0 || r <= l {
		return nil
	}
	return p.invalid(b.reservation.v, b.reservation.path, "%s is above mem_limit (%s): the reservation is a soft limit, at most the hard one: "+
		"lower mem_reservation or raise mem_limit", units.BytesSize(float64(r)), units.BytesSize(float64(l)))
}

// size reads a memory size (mem_limit, mem_reservation): "256m", or a
// number of bytes.
func (p *parser) size(e entry) (int64, error) {
	d := deref(e.v)
	s, err := p.scalar(e.v, e.path, `a size like "256m" or a number of bytes`)
	if err != nil {
		return 0, err
	}
	if d.Tag == "!!int" {
		return p.integer(e.v, e.path, 0)
	}
	n, err := units.RAMInBytes(s)
	if err != nil || n < 0 {
		return 0, p.invalid(e.v, e.path, `want a size like "256m" or a number of bytes, got %q`, s)
	}
	return n, nil
}

func (p *parser) cpus(b *builder, e entry) error {
	s, err := p.scalar(e.v, e.path, `a number of CPUs like 1.5`)
	if err != nil {
		return err
	}
	x, err := strconv.ParseFloat(s, 64)
	if err != nil || !(x >= 0 && x <= 1e6) {
		return p.invalid(e.v, e.path, "want a number of CPUs like 1.5, got %q", s)
	}
	b.s.CPUs = x
	return nil
}

// validCap is a capability name as docker takes it: CHOWN, CAP_CHOWN, ALL.
var validCap = regexp.MustCompile(`^[A-Za-z][A-Za-z_]*$`)

func (p *parser) caps(e entry) ([]string, error) {
	d := deref(e.v)
	if d.Kind != yaml.SequenceNode {
		return nil, p.want(e.v, e.path, "a list of capabilities")
	}
	out, err := p.list(e.v, e.path)
	for i, c := range out {
		if !validCap.MatchString(c) {
			return nil, p.invalid(d.Content[i], index(e.path, i), "want a capability like NET_ADMIN, got %q", c)
		}
	}
	return out, err
}

func (p *parser) networkMode(b *builder, e entry) (err error) {
	if b.s.NetworkMode, err = p.str(e.v, e.path); err != nil {
		return err
	}
	switch b.s.NetworkMode {
	case "bridge", "host", "none":
		return nil
	}
	return p.errAt(e.v, e.path, ErrUnsupported, "%q is not supported by edgerun apply: want bridge, host or none", b.s.NetworkMode)
}

func (p *parser) restart(b *builder, e entry) (err error) {
	if b.s.Restart, err = p.str(e.v, e.path); err != nil {
		return err
	}
	switch r := b.s.Restart; {
	case r == "no", r == "always", r == "unless-stopped", r == "on-failure":
		return nil
	case strings.HasPrefix(r, "on-failure:"):
		if n, err := strconv.Atoi(r[len("on-failure:"):]); err == nil && n >= 0 {
			return nil
		}
	}
	return p.invalid(e.v, e.path, "want no, always, on-failure[:N] or unless-stopped, got %q", b.s.Restart)
}

var validSignal = regexp.MustCompile(`^(SIG)?[A-Z][A-Z0-9+-]*$|^[0-9]+$`)

func (p *parser) stopSignal(b *builder, e entry) (err error) {
	if b.s.StopSignal, err = p.str(e.v, e.path); err != nil {
		return err
	}
	if !validSignal.MatchString(b.s.StopSignal) {
		return p.invalid(e.v, e.path, "want a signal like SIGTERM, got %q", b.s.StopSignal)
	}
	return nil
}

func (p *parser) stopGrace(b *builder, e entry) error {
	d, err := p.duration(e.v, e.path)
	b.s.StopGracePeriod = &d
	return err
}

// duration reads a Compose duration like 30s or 1m30s (Go's syntax).
func (p *parser) duration(n *yaml.Node, path string) (time.Duration, error) {
	s, err := p.str(n, path)
	if err != nil {
		return 0, err
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, p.invalid(n, path, `want a duration like "30s" or "1m30s", got %q`, s)
	}
	return d, nil
}

func (p *parser) tmpfs(b *builder, e entry) (err error) {
	if b.s.Tmpfs, err = p.stringOrList(e.v, e.path); err != nil {
		return err
	}
	for i, t := range b.s.Tmpfs {
		if !strings.HasPrefix(t, "/") {
			return p.invalid(e.v, index(e.path, i), "want an absolute path like /run or /run:size=64m, got %q", t)
		}
	}
	return nil
}

func (p *parser) logging(b *builder, e entry) error {
	entries, err := p.mapping(e.v, e.path)
	if err != nil {
		return err
	}
	for _, l := range entries {
		switch l.key {
		case "driver":
			d, err := p.str(l.v, l.path)
			if err != nil {
				return err
			}
			if d != "json-file" {
				return p.errAt(l.v, l.path, ErrUnsupported, "log driver %q is not supported by edgerun apply: want json-file (edgerun's size-capped log)", d)
			}
		case "options":
			if err := p.logOptions(b, l); err != nil {
				return err
			}
		default:
			return p.errAt(l.k, l.path, ErrUnsupported, "not supported by edgerun apply (supported keys: driver, options)")
		}
	}
	return nil
}

func (p *parser) logOptions(b *builder, e entry) error {
	entries, err := p.mapping(e.v, e.path)
	if err != nil {
		return err
	}
	for _, o := range entries {
		switch o.key {
		case "max-size":
			if b.s.LogMaxSize, err = p.scalar(o.v, o.path, `a size like "10m"`); err != nil {
				return err
			}
			if n, err := units.RAMInBytes(b.s.LogMaxSize); err != nil || n <= 0 {
				return p.invalid(o.v, o.path, `want a size like "10m", got %q`, b.s.LogMaxSize)
			}
		case "max-file":
			n, err := p.integer(o.v, o.path, 1)
			if err != nil {
				return err
			}
			if n > 1<<20 {
				return p.invalid(o.v, o.path, "want at most %d files, got %d", 1<<20, n)
			}
			b.s.LogMaxFile = int(n)
		default:
			return p.errAt(o.k, o.path, ErrUnsupported, "not supported by edgerun apply (supported options: max-file, max-size)")
		}
	}
	return nil
}
