package oci

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// configFile is the spec in a bundle.
const configFile = "config.json"

// MaxConfigSize bounds config.json (and the process and resources
// documents): a runtime reading an engine's file must not read without end.
const MaxConfigSize = 16 << 20

// Bundle is a checked OCI bundle: its directory, its spec and where its
// root file system is.
type Bundle struct {
	Dir    string // absolute, symlinks resolved
	Spec   *specs.Spec
	Rootfs string // absolute
}

// LoadBundle reads dir/config.json strictly (an unknown field, a
// truncated document or trailing data is an error) and checks what a
// create needs before anything is made: the spec version, the process,
// the root file system (a relative root.path must stay inside the bundle;
// an absolute one is the engine's choice, as podman's storage mounts are
// outside its bundles) and the hooks the runtime runs from its own mount
// namespace (absolute paths to executables that exist).
func LoadBundle(dir string) (*Bundle, error) {
	if dir == "" {
		dir = "."
	}
	abs, err := filepath.Abs(dir)
	if err == nil {
		abs, err = filepath.EvalSymlinks(abs)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: bundle %s: %w", ErrInvalidBundle, dir, err)
	}
	f, err := os.Open(filepath.Join(abs, configFile))
	if err != nil {
		return nil, fmt.Errorf("%w: %w: a bundle is a directory with the container's config.json and root file system", ErrInvalidBundle, err)
	}
	defer f.Close()
	spec, err := decodeSpec(f)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrInvalidBundle, filepath.Join(abs, configFile), err)
	}
	b := &Bundle{Dir: abs, Spec: spec}
	if err := b.check(); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrInvalidBundle, filepath.Join(abs, configFile), err)
	}
	return b, nil
}

// decodeSpec reads config.json. A property runtime-spec 1.3.0 does not
// define is an error when the document is of a version edgerun knows
// whole (1.3.0 or older): there it is a mistake, and a misspelt
// "readOnly" would silently leave the root file system writable. In a
// document of a newer version it is ignored, as the runtime-spec's
// extensibility rule asks.
func decodeSpec(r io.Reader) (*specs.Spec, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxConfigSize+1))
	if err != nil {
		return nil, err
	}
	var spec specs.Spec
	err = DecodeStrict(bytes.NewReader(data), &spec)
	if err == nil || !strings.Contains(err.Error(), "unknown field") {
		return &spec, err
	}
	var v struct {
		Version string `json:"ociVersion"`
	}
	if json.Unmarshal(data, &v) != nil || !newerThanKnown(v.Version) {
		return nil, fmt.Errorf("%w (runtime-spec %s has no such property: check its spelling)", err, specs.Version)
	}
	spec = specs.Spec{}
	if err := json.Unmarshal(data, &spec); err != nil {
		return nil, err
	}
	return &spec, nil
}

// newerThanKnown reports whether version is a 1.x release after the
// runtime-spec version edgerun is built with.
func newerThanKnown(version string) bool {
	parse := func(v string) (n [3]int) {
		v, _, _ = strings.Cut(v, "-")
		for i, p := range strings.SplitN(v, ".", 3) {
			n[i], _ = strconv.Atoi(p)
		}
		return n
	}
	a, b := parse(version), parse(specs.Version)
	if a[0] != 1 {
		return false
	}
	return a[1] > b[1] || (a[1] == b[1] && a[2] > b[2])
}

// DecodeStrict decodes one JSON document of at most MaxConfigSize bytes
// into v: a field v does not have, a truncated document or anything after
// the document is an error.
func DecodeStrict(r io.Reader, v any) error {
	data, err := io.ReadAll(io.LimitReader(r, MaxConfigSize+1))
	if err != nil {
		return err
	}
	if len(data) > MaxConfigSize {
		return fmt.Errorf("larger than %d MiB", MaxConfigSize>>20)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return errors.New("empty document")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return errors.New("the JSON document is truncated")
		}
		return err
	}
	if dec.More() {
		return errors.New("data after the JSON document")
	}
	return nil
}

func (b *Bundle) check() error {
	s := b.Spec
	if s.Version == "" {
		return errors.New("ociVersion is missing")
	}
	if !strings.HasPrefix(s.Version, "1.") {
		return fmt.Errorf("ociVersion %q is not supported: edgerun reads runtime-spec 1.x (%s)", s.Version, specs.Version)
	}
	if s.Linux == nil {
		return errors.New("the linux section is missing: edgerun runs Linux containers")
	}
	if err := CheckProcess(s.Process); err != nil {
		return err
	}
	if err := b.checkRoot(); err != nil {
		return err
	}
	return checkHooks(s.Hooks)
}

// CheckProcess checks what every process needs: a command and an
// absolute working directory.
func CheckProcess(p *specs.Process) error {
	switch {
	case p == nil:
		return errors.New("process is missing: it says what the container runs")
	case len(p.Args) == 0:
		return errors.New("process.args is empty: it must name the command to run")
	case p.Cwd == "" || !filepath.IsAbs(p.Cwd):
		return fmt.Errorf("process.cwd %q must be an absolute path", p.Cwd)
	case p.Terminal && p.ConsoleSize != nil && (p.ConsoleSize.Width > 1<<16-1 || p.ConsoleSize.Height > 1<<16-1):
		return errors.New("process.consoleSize is out of range")
	}
	return nil
}

func (b *Bundle) checkRoot() error {
	r := b.Spec.Root
	if r == nil || r.Path == "" {
		return errors.New("root.path is missing: it names the container's root file system")
	}
	path := r.Path
	if !filepath.IsAbs(path) {
		path = filepath.Join(b.Dir, path)
		resolved, err := filepath.EvalSymlinks(path)
		if err != nil {
			return fmt.Errorf("root file system %s: %w", r.Path, unwrapPath(err))
		}
		if resolved != b.Dir && !strings.HasPrefix(resolved, b.Dir+"/") {
			return fmt.Errorf("root.path %q resolves to %s, outside the bundle %s: a relative root must stay in the bundle (an absolute path may point elsewhere)", r.Path, resolved, b.Dir)
		}
		path = resolved
	}
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("root file system %s: %w", r.Path, unwrapPath(err))
	}
	if !fi.IsDir() {
		return fmt.Errorf("root file system %s is not a directory", r.Path)
	}
	b.Rootfs = path
	return nil
}

// checkHooks checks the hooks the runtime starts from its own mount
// namespace (all but startContainer, which resolves in the container's).
func checkHooks(h *specs.Hooks) error {
	if h == nil {
		return nil
	}
	kinds := []struct {
		name  string
		hooks []specs.Hook
	}{
		// Prestart is deprecated by the runtime-spec, still run by runc and
		// libcontainer, and still sent by engines.
		{"prestart", h.Prestart}, {"createRuntime", h.CreateRuntime}, {"createContainer", h.CreateContainer}, //nolint:staticcheck // see above
		{"startContainer", h.StartContainer}, {"poststart", h.Poststart}, {"poststop", h.Poststop},
	}
	for _, k := range kinds {
		for i, hook := range k.hooks {
			if !filepath.IsAbs(hook.Path) {
				return fmt.Errorf("hooks.%s[%d].path %q must be an absolute path", k.name, i, hook.Path)
			}
			if hook.Timeout != nil && *hook.Timeout <= 0 {
				return fmt.Errorf("hooks.%s[%d].timeout must be more than 0 seconds", k.name, i)
			}
			if k.name == "startContainer" {
				continue
			}
			fi, err := os.Stat(hook.Path)
			if err != nil {
				return fmt.Errorf("hooks.%s[%d]: %w", k.name, i, unwrapPath(err))
			}
			if !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
				return fmt.Errorf("hooks.%s[%d]: %s is not an executable file", k.name, i, hook.Path)
			}
		}
	}
	return nil
}

// unwrapPath keeps a *PathError's message short: "stat X: no such file".
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", pe.Path, pe.Err)
	}
	return err
}
