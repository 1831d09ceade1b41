package specgen

import (
	"fmt"
	"slices"
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

// IDMaps are the IDs edgerun's own user namespace has, each range mapped
// onto itself: the mappings of a keep-groups container's namespace.
type IDMaps struct {
	UIDs, GIDs []specs.LinuxIDMapping
}

// ownUserNamespace says whether the container gets a user namespace of its
// own: --group-add keep-groups in a session with subordinate IDs (a
// single-ID session's setgroups is denied, so its groups are kept anyway).
func ownUserNamespace(opts *SpecOptions) bool {
	return opts.UserNS && !opts.SingleID && slices.Contains(opts.GroupAdd, KeepGroups)
}

// keepGroupsNamespace gives a container of --group-add keep-groups a user
// namespace of its own, mapping the IDs of edgerun's one-to-one.
// libcontainer, told the container is rootless (HasOwnUserNamespace), then
// leaves the process's groups alone instead of setting the image's. A
// session that maps one ID only needs none: its setgroups is denied, so
// no groups are ever set there.
func keepGroupsNamespace(l *specs.Linux, maps *IDMaps) error {
	if maps == nil || len(maps.UIDs) == 0 || len(maps.GIDs) == 0 {
		return fmt.Errorf("--group-add keep-groups: the ID maps of edgerun's user namespace are unknown")
	}
	l.Namespaces = append(l.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
	l.UIDMappings, l.GIDMappings = slices.Clone(maps.UIDs), slices.Clone(maps.GIDs)
	return nil
}

// HasOwnUserNamespace says whether the spec asks for a new user namespace
// (a rootless container of --group-add keep-groups).
func HasOwnUserNamespace(s *specs.Spec) bool {
	return s.Linux != nil && slices.ContainsFunc(s.Linux.Namespaces, func(n specs.LinuxNamespace) bool {
		return n.Type == specs.UserNamespace && n.Path == ""
	})
}
