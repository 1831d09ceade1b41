package specgen

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	"github.com/moby/sys/user"
	"golang.org/x/sys/unix"
)

// resolvedUser is the identity the container process runs as.
type resolvedUser struct {
	UID, GID       uint32
	AdditionalGids []uint32
	Home           string
}

// resolveUser turns -u NAME|UID[:GROUP|GID] plus --group-add into ids,
// reading /etc/passwd and /etc/group of the container's rootfs. The files
// are opened with fd-relative lookups confined to rootfs, so a symlinked
// /etc/passwd in a hostile image cannot make us read host files. Numeric
// ids need no files; a missing file only matters for names.
func resolveUser(rootfs, spec string, groupAdd []string) (resolvedUser, error) {
	if spec == "" {
		spec = "0"
	}
	passwd, err := openInRootfs(rootfs, "/etc/passwd")
	if err != nil {
		return resolvedUser{}, err
	}
	defer closeIfOpen(passwd)
	group, err := openInRootfs(rootfs, "/etc/group")
	if err != nil {
		return resolvedUser{}, err
	}
	defer closeIfOpen(group)
	defaults := &user.ExecUser{Home: "/"}
	eu, err := user.GetExecUser(spec, defaults, readerOrNil(passwd), readerOrNil(group))
	if err != nil {
		return resolvedUser{}, fmt.Errorf("%w: user %q: %w (names are looked up in the image's /etc/passwd and /etc/group; numeric ids always work)", ErrInvalidOption, spec, err)
	}
	out := resolvedUser{UID: uint32(eu.Uid), GID: uint32(eu.Gid), Home: eu.Home}
	for _, g := range eu.Sgids {
		out.AdditionalGids = append(out.AdditionalGids, uint32(g))
	}
	if len(groupAdd) > 0 {
		if group != nil {
			if _, err := group.Seek(0, io.SeekStart); err != nil {
				return resolvedUser{}, fmt.Errorf("read the image's /etc/group: %w", err)
			}
		}
		gids, err := user.GetAdditionalGroups(groupAdd, readerOrNil(group))
		if err != nil {
			return resolvedUser{}, fmt.Errorf("%w: --group-add %s: %w", ErrInvalidOption, strings.Join(groupAdd, ","), err)
		}
		for _, g := range gids {
			out.AdditionalGids = append(out.AdditionalGids, uint32(g))
		}
	}
	// GetAdditionalGroups does not keep the order; sort for stable specs.
	slices.Sort(out.AdditionalGids)
	out.AdditionalGids = slices.Compact(out.AdditionalGids)
	return out, nil
}

// openInRootfs opens name for reading inside rootfs; it returns nil, nil
// when the file does not exist or rootfs is empty.
func openInRootfs(rootfs, name string) (*os.File, error) {
	if rootfs == "" {
		return nil, nil
	}
	h, err := pathrs.OpenInRoot(rootfs, name)
	if errors.Is(err, os.ErrNotExist) || errors.Is(err, unix.ENOTDIR) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("open %s in the image: %w", name, err)
	}
	defer h.Close()
	f, err := pathrs.Reopen(h, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NOCTTY|unix.O_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("open %s in the image: %w", name, err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
		f.Close()
		return nil, fmt.Errorf("%w: %s in the image is not a regular file", ErrInvalidOption, name)
	}
	return f, nil
}

// readerOrNil keeps a nil *os.File from becoming a non-nil io.Reader.
func readerOrNil(f *os.File) io.Reader {
	if f == nil {
		return nil
	}
	return io.LimitReader(f, 16<<20)
}

func closeIfOpen(f *os.File) {
	if f != nil {
		f.Close()
	}
}

// singleIDUser refuses a user other than root when the user namespace maps
// only one ID: the kernel cannot switch to an ID that is not mapped.
func singleIDUser(u resolvedUser, spec string, groupAdd []string) error {
	const why = "rootless edgerun maps only your own user here (container root), because you have no subordinate IDs " +
		"in /etc/subuid and /etc/subgid or newuidmap is missing: ask for a range (usermod --add-subuids 100000-165535 " +
		"--add-subgids 100000-165535 USER; apt install uidmap), then stop your containers and run the command again"
	if u.UID != 0 || u.GID != 0 {
		return fmt.Errorf("%w: user %q (uid %d, gid %d) cannot run: %s", ErrInvalidOption, spec, u.UID, u.GID, why)
	}
	if len(groupAdd) > 0 {
		return fmt.Errorf("%w: --group-add %s cannot be joined: %s", ErrInvalidOption, strings.Join(groupAdd, ","), why)
	}
	return nil
}
