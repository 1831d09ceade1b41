package specgen

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	goruntime "runtime"
	"strings"

	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// CheckCommand finds the command the way the container's execve will (in
// the root file system, or in a bind mount's source for paths under its
// destination), and refuses early what cannot run: ErrCommandNotFound
// when it does not exist (docker's 127), ErrCannotInvoke when it is not an
// executable file (126), and a plain error when it is built for another
// architecture or cannot be looked up (125). A command on a tmpfs or
// kernel file system is left to the runtime, whose errors the caller maps
// to the same codes.
func CheckCommand(rootfs string, mounts []specs.Mount, args, env []string, cwd string) error {
	view := newContainerView(rootfs, mounts)
	cmd := args[0]
	var candidates []string
	switch {
	case strings.Contains(cmd, "/"):
		if !path.IsAbs(cmd) {
			cmd = path.Join(cwd, cmd)
		}
		candidates = []string{cmd}
	default:
		p := strings.TrimPrefix(defaultPath, "PATH=")
		for _, kv := range env {
			if v, ok := strings.CutPrefix(kv, "PATH="); ok {
				p = v
			}
		}
		for _, dir := range strings.Split(p, ":") {
			if dir == "" {
				dir = cwd
			}
			if !path.IsAbs(dir) {
				dir = path.Join(cwd, dir)
			}
			candidates = append(candidates, path.Join(dir, cmd))
		}
	}
	var notExec error
	for _, c := range candidates {
		err := checkExecutable(view, c, 0)
		if err == nil || errors.Is(err, errUnseen) {
			return nil
		}
		switch {
		case errors.Is(err, ErrCommandNotFound):
		case errors.Is(err, ErrCannotInvoke):
			if notExec == nil {
				notExec = err
			}
		default:
			return err
		}
	}
	if notExec != nil {
		return notExec
	}
	if strings.Contains(args[0], "/") {
		return notFound("%s: no such file or directory in the image or its volumes", args[0])
	}
	return notFound("%s: executable file not found in $PATH of the container", args[0])
}

// checkExecutable checks one path (resolved in the container's view)
// and, for a script, its interpreter. errUnseen is returned as is.
func checkExecutable(view *containerView, p string, depth int) error {
	root, rel, err := view.locate(p)
	if errors.Is(err, errUnseen) {
		return err
	}
	var f *os.File
	if err == nil {
		f, err = pathrs.OpenInRoot(root, rel)
	}
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, unix.ENOTDIR) || errors.Is(err, unix.ELOOP) {
			return notFound("%s: no such file or directory in the image", p)
		}
		return fmt.Errorf("look up %s in the image: %w", p, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("stat %s in the image: %w", p, err)
	}
	if !st.Mode().IsRegular() || st.Mode().Perm()&0o111 == 0 {
		return cannotInvoke("%s: permission denied: not an executable file", p)
	}
	rf, err := pathrs.Reopen(f, unix.O_RDONLY|unix.O_CLOEXEC)
	if err != nil {
		// Execute-only files cannot be inspected; let execve decide.
		return nil
	}
	defer rf.Close()
	var head [256]byte
	n, _ := io.ReadFull(rf, head[:])
	b := head[:n]
	switch {
	case bytes.HasPrefix(b, []byte("\x7fELF")):
		return checkELF(rf, p)
	case bytes.HasPrefix(b, []byte("#!")) && depth == 0:
		line, _, _ := bytes.Cut(b[2:], []byte("\n"))
		fields := strings.Fields(string(line))
		if len(fields) == 0 {
			return cannotInvoke("%s: the script has an empty #! line", p)
		}
		if err := checkExecutable(view, fields[0], 1); err != nil {
			if errors.Is(err, ErrCommandNotFound) {
				return notFound("%s: its interpreter %s is not in the image", p, fields[0])
			}
			return err
		}
	}
	return nil
}

// hostMachines are the ELF machines this host executes natively.
func hostMachines() []elf.Machine {
	switch goruntime.GOARCH {
	case "amd64":
		return []elf.Machine{elf.EM_X86_64, elf.EM_386}
	case "386":
		return []elf.Machine{elf.EM_386}
	case "arm64":
		return []elf.Machine{elf.EM_AARCH64, elf.EM_ARM}
	case "arm":
		return []elf.Machine{elf.EM_ARM}
	case "riscv64":
		return []elf.Machine{elf.EM_RISCV}
	}
	return nil
}

var machinePlatform = map[elf.Machine]string{
	elf.EM_X86_64:  "linux/amd64",
	elf.EM_386:     "linux/386",
	elf.EM_AARCH64: "linux/arm64",
	elf.EM_ARM:     "linux/arm",
	elf.EM_RISCV:   "linux/riscv64",
}

func checkELF(r io.ReaderAt, p string) error {
	ef, err := elf.NewFile(r)
	if err != nil {
		return cannotInvoke("%s: not a valid executable: %w", p, err)
	}
	host := hostMachines()
	for _, m := range host {
		if ef.Machine == m {
			return nil
		}
	}
	if binfmtHandles(ef.Machine) {
		return nil
	}
	img := machinePlatform[ef.Machine]
	if img == "" {
		img = ef.Machine.String()
	}
	return fmt.Errorf("%s: image is %s but this host is linux/%s: load the image for this host's platform (edgerun load --platform linux/%s), or register a qemu-user binfmt handler for it",
		p, img, goruntime.GOARCH, goruntime.GOARCH)
}

// binfmtQemu maps ELF machines to the names Debian's qemu-user-static
// registers in binfmt_misc.
var binfmtQemu = map[elf.Machine]string{
	elf.EM_X86_64:  "qemu-x86_64",
	elf.EM_386:     "qemu-i386",
	elf.EM_AARCH64: "qemu-aarch64",
	elf.EM_ARM:     "qemu-arm",
	elf.EM_RISCV:   "qemu-riscv64",
}

// binfmtHandles says whether an enabled binfmt_misc handler runs binaries
// of machine m (a qemu-user emulator), so foreign images can still run.
func binfmtHandles(m elf.Machine) bool {
	name := binfmtQemu[m]
	if name == "" {
		return false
	}
	b, err := os.ReadFile("/proc/sys/fs/binfmt_misc/" + name)
	return err == nil && bytes.HasPrefix(b, []byte("enabled"))
}
