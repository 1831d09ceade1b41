package specgen

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// KeepGroups is podman's --group-add keep-groups: a rootless container's
// processes keep the supplementary groups of the user who runs edgerun,
// so a device or file the user may open through a group (dialout's
// /dev/ttyUSB0, i2c's /dev/i2c-1) opens in the container too. Those groups
// are not mapped into the user namespace: inside they show as nogroup.
const KeepGroups = "keep-groups"

// splitKeepGroups takes keep-groups out of --group-add, refusing it where
// it cannot be kept: as root, and next to other groups.
func splitKeepGroups(groupAdd []string, userNS bool) (bool, []string, error) {
	if !slices.Contains(groupAdd, KeepGroups) {
		return false, groupAdd, nil
	}
	if !userNS {
		return false, nil, fmt.Errorf("%w: --group-add keep-groups keeps the groups of the user who runs rootless edgerun; "+
			"as root, name the groups instead: --group-add GID", ErrInvalidOption)
	}
	if len(groupAdd) > 1 {
		return false, nil, fmt.Errorf("%w: --group-add keep-groups cannot be combined with other groups (%s): "+
			"the container keeps your own groups as they are", ErrInvalidOption, strings.Join(slices.DeleteFunc(slices.Clone(groupAdd), func(g string) bool { return g == KeepGroups }), ","))
	}
	return true, nil, nil
}

// IDMaps are the IDs edgerun's own user namespace maps: the inside column
// of /proc/self/uid_map and gid_map.
type IDMaps struct {
	UIDs, GIDs []specs.LinuxIDMapping
}

// SessionIDMaps reads the ID maps of the user namespace edgerun runs in.
func SessionIDMaps() (*IDMaps, error) {
	var m IDMaps
	for _, f := range []struct {
		file string
		out  *[]specs.LinuxIDMapping
	}{{"/proc/self/uid_map", &m.UIDs}, {"/proc/self/gid_map", &m.GIDs}} {
		b, err := os.ReadFile(f.file)
		if err != nil {
			return nil, fmt.Errorf("read this user namespace's ID map: %w", err)
		}
		if *f.out, err = identityOf(string(b)); err != nil {
			return nil, fmt.Errorf("%s: %w", f.file, err)
		}
	}
	return &m, nil
}

// identityOf maps each range a user namespace's ID map has inside (its
// first and third columns) onto itself.
func identityOf(idMap string) ([]specs.LinuxIDMapping, error) {
	var out []specs.LinuxIDMapping
	for line := range strings.Lines(idMap) {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if len(f) != 3 {
			return nil, fmt.Errorf("malformed line %q", strings.TrimSpace(line))
		}
		inside, err1 := strconv.ParseUint(f[0], 10, 32)
		size, err2 := strconv.ParseUint(f[2], 10, 32)
		if err1 != nil || err2 != nil || size == 0 {
			return nil, fmt.Errorf("malformed line %q", strings.TrimSpace(line))
		}
		out = append(out, specs.LinuxIDMapping{ContainerID: uint32(inside), HostID: uint32(inside), Size: uint32(size)})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no IDs mapped")
	}
	return out, nil
}

// keepGroupsNamespace gives a container of --group-add keep-groups a user
// namespace of its own, mapping the IDs of edgerun's one-to-one.
// libcontainer, told the container is rootless (HasOwnUserNamespace), then
// leaves the process's groups alone instead of setting the image's. A
// session that maps one ID only needs none: its setgroups is denied, so
// no groups are ever set there.
func keepGroupsNamespace(l *specs.Linux, maps *IDMaps) {
	l.Namespaces = append(l.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
	l.UIDMappings, l.GIDMappings = slices.Clone(maps.UIDs), slices.Clone(maps.GIDs)
}

// HasOwnUserNamespace says whether the spec asks for a new user namespace
// (a rootless container of --group-add keep-groups).
func HasOwnUserNamespace(s *specs.Spec) bool {
	return s.Linux != nil && slices.ContainsFunc(s.Linux.Namespaces, func(n specs.LinuxNamespace) bool {
		return n.Type == specs.UserNamespace && n.Path == ""
	})
}
