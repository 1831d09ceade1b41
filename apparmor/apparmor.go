// Package apparmor confines containers with edgerun's default AppArmor
// profile on hosts that have AppArmor, without a daemon: the first
// command that needs the profile loads it with apparmor_parser, and later
// ones find it loaded (docs/security.md, "AppArmor").
package apparmor

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/edgerun/edgerun/internal/atomicfile"
	"github.com/edgerun/edgerun/internal/lockfile"
)

// DefaultProfile is the name of the profile every container runs under
// unless --privileged or --security-opt apparmor=... says otherwise.
const DefaultProfile = "edgerun-default"

// Host is where AppArmor's state is read: the real host in production, a
// fake tree in tests.
type Host struct {
	// SecurityFS is the AppArmor directory of securityfs
	// (/sys/kernel/security/apparmor).
	SecurityFS string
	// Enabled is the module's parameter file
	// (/sys/module/apparmor/parameters/enabled).
	Enabled string
	// Parser runs apparmor_parser with args and the profile on stdin; nil
	// looks for it in PATH, /sbin and /usr/sbin.
	Parser func(ctx context.Context, stdin []byte, args ...string) error
}

// System is this machine's AppArmor.
func System() *Host {
	return &Host{SecurityFS: "/sys/kernel/security/apparmor", Enabled: "/sys/module/apparmor/parameters/enabled"}
}

// Available reports whether the kernel enforces AppArmor: the module is
// enabled and securityfs shows its interface.
func (h *Host) Available() bool {
	b, err := os.ReadFile(h.Enabled)
	if err != nil || !bytes.HasPrefix(b, []byte("Y")) {
		return false
	}
	_, err = os.Stat(filepath.Join(h.SecurityFS, "profiles"))
	return err == nil
}

// Loaded reports the mode of profile name as the kernel lists it
// ("enforce", "complain"), or "" when it is not loaded.
func (h *Host) Loaded(name string) string {
	f, err := os.Open(filepath.Join(h.SecurityFS, "profiles"))
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// "NAME (MODE)"; a name may hold spaces, the mode never does.
		line := sc.Text()
		i := strings.LastIndex(line, " (")
		if i > 0 && line[:i] == name && strings.HasSuffix(line, ")") {
			return line[i+2 : len(line)-1]
		}
	}
	return ""
}

// ParserPath finds apparmor_parser, or "".
func ParserPath() string {
	if p, err := exec.LookPath("apparmor_parser"); err == nil {
		return p
	}
	for _, p := range []string{"/sbin/apparmor_parser", "/usr/sbin/apparmor_parser"} {
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	return ""
}

func (h *Host) parse(ctx context.Context, stdin []byte, args ...string) error {
	if h.Parser != nil {
		return h.Parser(ctx, stdin, args...)
	}
	p := ParserPath()
	if p == "" {
		return ErrNoParser
	}
	cmd := exec.CommandContext(ctx, p, args...)
	cmd.Stdin = bytes.NewReader(stdin)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w: %s", p, strings.Join(args, " "), err, strings.TrimSpace(out.String()))
	}
	return nil
}

// ErrNoParser: AppArmor is enabled but apparmor_parser is not installed,
// so edgerun cannot load its profile.
var ErrNoParser = errors.New("apparmor_parser not found: install the apparmor package (apt-get install apparmor)")

// EnsureDefault makes sure DefaultProfile is loaded as this edgerun's
// version of it and returns its name; "" with no error when the host has
// no AppArmor, or has it without apparmor_parser (as docker does, the
// containers then run unconfined; doctor says why).
//
// "This version" is decided by a marker in stateDir (a tmpfs, gone at
// reboot with the kernel's policy) holding the profile text's hash: a
// profile of that name loaded by another version of edgerun, or by
// anybody else, is replaced once. Concurrent commands load it once,
// under a lock in stateDir.
func (h *Host) EnsureDefault(ctx context.Context, stateDir string) (string, error) {
	if !h.Available() {
		return "", nil
	}
	text := Profile(DefaultProfile)
	sum := sha256.Sum256(text)
	want := hex.EncodeToString(sum[:])
	marker := filepath.Join(stateDir, DefaultProfile+".sha256")
	current := func() bool {
		b, err := os.ReadFile(marker)
		return err == nil && strings.TrimSpace(string(b)) == want && h.Loaded(DefaultProfile) != ""
	}
	if current() {
		return DefaultProfile, nil
	}
	if h.Parser == nil && ParserPath() == "" {
		return "", nil
	}
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		return "", fmt.Errorf("apparmor: %w", err)
	}
	lock, err := lockfile.Exclusive(ctx, filepath.Join(stateDir, "lock"))
	if err != nil {
		return "", fmt.Errorf("apparmor: %w", err)
	}
	defer lock.Unlock()
	if current() {
		return DefaultProfile, nil // another command loaded it meanwhile
	}
	// -r replaces a loaded profile of that name (or adds it); -K keeps
	// the text out of the parser's cache, which is the system's.
	if err := h.parse(ctx, text, "-Kr"); err != nil {
		return "", fmt.Errorf("load the AppArmor profile %s: %w (or run with --security-opt apparmor=unconfined)", DefaultProfile, err)
	}
	if h.Loaded(DefaultProfile) == "" {
		return "", fmt.Errorf("load the AppArmor profile %s: apparmor_parser succeeded but the kernel does not list it", DefaultProfile)
	}
	if err := atomicfile.WriteFileVolatile(marker, []byte(want+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("apparmor: %w", err)
	}
	return DefaultProfile, nil
}
