package rootless

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/edgerun/edgerun/internal/atomicfile"
	"github.com/edgerun/edgerun/internal/lockfile"
)

const (
	// HoldArg is the argument that makes the binary the session holder
	// (handled by session.c's constructor).
	HoldArg = "__session"
	// JoinEnv makes session.c's constructor enter a session: PID:START.
	JoinEnv = "_EDGERUN_JOIN"
	// SessionEnv is set in every process of a session (commands, monitors,
	// containers' inits): the session directory.
	SessionEnv = "EDGERUN_ROOTLESS_SESSION"
)

// Session is the record of a user's session, session.json in its directory.
type Session struct {
	Dir     string  `json:"-"`
	Pid     int     `json:"pid"`     // the holder
	Start   uint64  `json:"start"`   // the holder's start time (/proc/PID/stat field 22)
	Mapping Mapping `json:"mapping"` // what the holder's user namespace maps
	// Network is the user-mode network process (slirp4netns), 0 if none.
	Network      int    `json:"network,omitempty"`
	NetworkStart uint64 `json:"networkStart,omitempty"`
	// NetworkAPI is slirp4netns's API socket (port forwarding).
	NetworkAPI string `json:"networkAPI,omitempty"`
	// NetworkError says why the session has no user-mode network.
	NetworkError string `json:"networkError,omitempty"`
	// Wanted is the mapping chosen when the session was made (key of
	// Mapping); it differs from Mapping when newuidmap failed and the
	// session fell back to the single-ID mapping.
	Wanted string `json:"wanted"`
	// HelperError says why newuidmap or newgidmap failed.
	HelperError string `json:"helperError,omitempty"`
}

// key identifies a mapping and how it is written.
func (m Mapping) key() string {
	return fmt.Sprintf("%s;%s;%v", rangesString(m.UIDs), rangesString(m.GIDs), m.Helper)
}

// errMapHelper marks a failure of newuidmap or newgidmap.
var errMapHelper = errors.New("the ID map helper failed")

// Inside reports whether this process runs in a rootless session.
func Inside() bool { return os.Getenv(SessionEnv) != "" }

// SessionDir is the directory of the session of the user running this
// process: $XDG_RUNTIME_DIR/edgerun-session, or a private directory in the
// system's temporary directory when there is no XDG_RUNTIME_DIR (runuser,
// CI jobs without a login session).
func SessionDir(getenv func(string) string) (string, error) {
	if d := getenv(SessionEnv); d != "" {
		return d, nil
	}
	run := getenv("XDG_RUNTIME_DIR")
	if run == "" {
		run = filepath.Join(os.TempDir(), "edgerun-"+strconv.Itoa(os.Geteuid()))
		if err := privateDir(run); err != nil {
			return "", err
		}
	}
	d := filepath.Join(run, "edgerun-session")
	if err := privateDir(d); err != nil {
		return "", err
	}
	return d, nil
}

// privateDir makes dir (mode 0700) or checks that the existing one is a
// directory of this user that nobody else may write: in a shared /tmp,
// another user could have made it first.
func privateDir(dir string) error {
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	var st unix.Stat_t
	if err := unix.Lstat(dir, &st); err != nil {
		return fmt.Errorf("check %s: %w", dir, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR || int(st.Uid) != os.Geteuid() || st.Mode&0o022 != 0 {
		return fmt.Errorf("%s is not a private directory of uid %d (owner %d, mode %o): remove it, or set XDG_RUNTIME_DIR to a directory of your own",
			dir, os.Geteuid(), st.Uid, st.Mode&0o7777)
	}
	return nil
}

// procStart is field 22 of /proc/PID/stat (the start time in clock ticks
// since boot), or 0 when the process does not exist or has exited (a
// zombie keeps its start time but not its namespaces).
func procStart(pid int) uint64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 20 || f[0] == "Z" || f[0] == "X" {
		return 0
	}
	n, _ := strconv.ParseUint(f[19], 10, 64)
	return n
}

// alive reports whether pid is still the process that started at start.
func alive(pid int, start uint64) bool {
	return pid > 0 && start != 0 && procStart(pid) == start
}

// Load reads the session record of dir; nil when there is none or its
// holder is gone.
func Load(dir string) *Session {
	b, err := os.ReadFile(filepath.Join(dir, "session.json"))
	if err != nil {
		return nil
	}
	var s Session
	if json.Unmarshal(b, &s) != nil || !alive(s.Pid, s.Start) {
		return nil
	}
	s.Dir = dir
	return &s
}

func (s *Session) save() error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFileVolatile(filepath.Join(s.Dir, "session.json"), b, 0o600)
}

// Options configure Enter.
type Options struct {
	// Getenv reads the environment (os.Getenv when nil).
	Getenv func(string) string
	// Env is added to the re-executed command's environment (the defaults
	// of --root and --state, computed as the user).
	Env []string
	// Notice receives what the user should know once (the single-ID
	// mapping and why; no user-mode network).
	Notice func(string)
}

// Enter makes sure the calling user's session exists and re-executes this
// command inside it. It returns only with an error; as root, or already
// inside a session, it returns nil at once.
func Enter(ctx context.Context, o Options) error {
	if os.Geteuid() == 0 || Inside() {
		return nil
	}
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	if o.Notice == nil {
		o.Notice = func(string) {}
	}
	dir, err := SessionDir(o.Getenv)
	if err != nil {
		return err
	}
	s, err := ensure(ctx, dir, o.Notice)
	if err != nil {
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find edgerun's own binary: %w", err)
	}
	env := append(os.Environ(), o.Env...)
	env = append(env, JoinEnv+"="+strconv.Itoa(s.Pid)+":"+strconv.FormatUint(s.Start, 10), SessionEnv+"="+dir)
	err = unix.Exec(exe, os.Args, env)
	return fmt.Errorf("enter the rootless session: re-execute %s: %w", exe, err)
}

// ensure returns the live session of dir, making it when there is none.
func ensure(ctx context.Context, dir string, notice func(string)) (*Session, error) {
	m, why := ChooseMapping()
	if s := Load(dir); s != nil && s.current(m) {
		return s, nil
	}
	lock, err := lockfile.Exclusive(ctx, filepath.Join(dir, "session.lock"))
	if err != nil {
		return nil, fmt.Errorf("lock the rootless session: %w", err)
	}
	defer lock.Unlock()
	if s := Load(dir); s != nil {
		if s.current(m) {
			return s, nil // made or mended by another command while we waited
		}
		if s.mappingChanged(m) {
			if n := s.members(); n > 0 {
				notice(fmt.Sprintf("your subordinate IDs or newuidmap changed, but %d processes (containers) still run in the session made before: "+
					"it keeps its old mapping until they end (edgerun stop them, then run the command again)", n))
				return s, nil
			}
			s.Stop()
		} else {
			// The same holder: only its network is missing or gone.
			if err := startNetwork(s); err != nil {
				s.NetworkError = err.Error()
				notice(err.Error())
			} else {
				s.NetworkError = ""
			}
			if err := s.save(); err != nil {
				return nil, fmt.Errorf("record the rootless session: %w", err)
			}
			return s, nil
		}
	}
	if why != "" {
		notice(why)
	}
	s, err := startHolder(dir, m)
	helperErr := ""
	if err != nil && errors.Is(err, errMapHelper) {
		// A broken or unprivileged newuidmap (not setuid, no_new_privs):
		// the single-ID mapping still works.
		helperErr = err.Error()
		notice(helperErr + ": this session uses the single-ID mapping instead (containers see only you, as root)")
		s, err = startHolder(dir, singleMapping())
	}
	if err != nil {
		return nil, err
	}
	s.Wanted, s.HelperError = m.key(), helperErr
	if err := startNetwork(s); err != nil {
		s.NetworkError = err.Error()
		notice(err.Error())
	}
	if err := s.save(); err != nil {
		s.Stop()
		return nil, fmt.Errorf("record the rootless session: %w", err)
	}
	return s, nil
}

// Stop ends the session: the network process and the holder, and with the
// holder its namespaces.
func (s *Session) Stop() {
	if alive(s.Network, s.NetworkStart) {
		_ = unix.Kill(s.Network, unix.SIGTERM)
	}
	if alive(s.Pid, s.Start) {
		_ = unix.Kill(s.Pid, unix.SIGKILL)
	}
	_ = os.Remove(filepath.Join(s.Dir, "session.json"))
}

// startHolder clones the holder into new user, mount and network
// namespaces and maps its IDs.
func startHolder(dir string, m Mapping) (*Session, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find edgerun's own binary: %w", err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	defer w.Close()
	cmd := exec.Command(exe, HoldArg)
	cmd.Dir = "/"
	cmd.ExtraFiles = []*os.File{r} // fd 3: session.c's SYNC_FD
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags: syscall.CLONE_NEWUSER | syscall.CLONE_NEWNS | syscall.CLONE_NEWNET,
		Setsid:     true,
	}
	if !m.Helper {
		// The single-ID mapping: written by Go before the holder runs.
		cmd.SysProcAttr.UidMappings = toSys(m.UIDs)
		cmd.SysProcAttr.GidMappings = toSys(m.GIDs)
		cmd.SysProcAttr.GidMappingsEnableSetgroups = false
	}
	if err := cmd.Start(); err != nil {
		return nil, userNSError(err)
	}
	pid := cmd.Process.Pid
	fail := func(err error) (*Session, error) {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, err
	}
	if m.Helper {
		if err := runMapHelper("newuidmap", pid, m.UIDs); err != nil {
			return fail(err)
		}
		if err := runMapHelper("newgidmap", pid, m.GIDs); err != nil {
			return fail(err)
		}
	}
	if _, err := w.Write([]byte{'g'}); err != nil {
		return fail(fmt.Errorf("start the rootless session: %w", err))
	}
	start := procStart(pid)
	if start == 0 {
		return fail(errors.New("start the rootless session: the holder process ended at once"))
	}
	_ = cmd.Process.Release() // it outlives this command
	return &Session{Dir: dir, Pid: pid, Start: start, Mapping: m}, nil
}

// userNSError explains why a user namespace could not be made.
func userNSError(err error) error {
	if errors.Is(err, unix.EPERM) || errors.Is(err, unix.ENOSPC) || errors.Is(err, unix.EACCES) {
		return fmt.Errorf("rootless edgerun needs a user namespace, and this host refuses one to ordinary users (%w): "+
			"allow them with `sysctl kernel.unprivileged_userns_clone=1` (Debian kernels before 6.x), a non-zero user.max_user_namespaces, "+
			"or kernel.apparmor_restrict_unprivileged_userns=0 (Ubuntu 24.04); `edgerun doctor` checks this", err)
	}
	return fmt.Errorf("start the rootless session: %w", err)
}

func toSys(ms []IDMap) []syscall.SysProcIDMap {
	out := make([]syscall.SysProcIDMap, len(ms))
	for i, m := range ms {
		out[i] = syscall.SysProcIDMap{ContainerID: m.Inside, HostID: m.Outside, Size: m.Size}
	}
	return out
}

// runMapHelper writes the holder's map with the setuid helper.
func runMapHelper(helper string, pid int, ms []IDMap) error {
	args := []string{strconv.Itoa(pid)}
	for _, m := range ms {
		args = append(args, strconv.Itoa(m.Inside), strconv.Itoa(m.Outside), strconv.Itoa(m.Size))
	}
	path, err := exec.LookPath(helper)
	if err != nil {
		return fmt.Errorf("%s is not installed (Debian: apt install uidmap): %w", helper, err)
	}
	out, err := exec.Command(path, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%w: %s %s: %w: %s (it must be setuid root or have cap_set%sid, run without no_new_privs, and the ranges in /etc/sub%sid must be yours)",
			errMapHelper, helper, strings.Join(args, " "), err, strings.TrimSpace(string(out)), helper[3:4], helper[3:4])
	}
	return nil
}

// mappingChanged says the session maps other IDs than m, the mapping a
// new session would get now.
func (s *Session) mappingChanged(m Mapping) bool {
	return s.Mapping.String() != m.String() || s.Mapping.Helper != m.Helper
}

// current says the session can be used as it is: its mapping is m and its
// network runs, or cannot (slirp4netns is not installed).
func (s *Session) current(m Mapping) bool {
	if s.mappingChanged(m) {
		return false
	}
	if alive(s.Network, s.NetworkStart) {
		return true
	}
	_, err := exec.LookPath("slirp4netns")
	return err != nil && s.NetworkAPI == ""
}

// members counts the processes in the session's user namespace besides
// its holder: commands, monitors and containers.
func (s *Session) members() int {
	own, err := os.Readlink("/proc/" + strconv.Itoa(s.Pid) + "/ns/user")
	if err != nil {
		return 0
	}
	ents, _ := os.ReadDir("/proc")
	n := 0
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == s.Pid {
			continue
		}
		if ns, err := os.Readlink("/proc/" + e.Name() + "/ns/user"); err == nil && ns == own && procStart(pid) != 0 {
			n++
		}
	}
	return n
}
