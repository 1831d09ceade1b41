package specgen

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestSplitKeepGroups(t *testing.T) {
	for _, tt := range []struct {
		name     string
		in       []string
		userNS   bool
		keep     bool
		rest     []string
		errorHas string
	}{
		{name: "none", in: []string{"20"}, rest: []string{"20"}},
		{name: "rootless", in: []string{"keep-groups"}, userNS: true, keep: true},
		{name: "as root", in: []string{"keep-groups"}, errorHas: "as root, name the groups instead"},
		{name: "with another group", in: []string{"keep-groups", "dialout"}, userNS: true, errorHas: "cannot be combined with other groups (dialout)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			keep, rest, err := splitKeepGroups(tt.in, tt.userNS)
			if tt.errorHas != "" {
				if err == nil || !errors.Is(err, ErrInvalidOption) || !strings.Contains(err.Error(), tt.errorHas) {
					t.Fatalf("error %v, want one saying %q", err, tt.errorHas)
				}
				return
			}
			if err != nil || keep != tt.keep || strings.Join(rest, ",") != strings.Join(tt.rest, ",") {
				t.Fatalf("got %v %v %v, want %v %v", keep, rest, err, tt.keep, tt.rest)
			}
		})
	}
}

func TestKeepGroupsGivesARootlessContainerItsOwnUserNamespace(t *testing.T) {
	maps := &IDMaps{UIDs: []specs.LinuxIDMapping{{Size: 65537}}, GIDs: []specs.LinuxIDMapping{{Size: 65537}}}
	for _, tt := range []struct {
		name            string
		single, ownUser bool
	}{
		{name: "subordinate IDs", ownUser: true},
		{name: "one ID (setgroups is denied there: nothing to do)", single: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			opts := baseOptions()
			opts.UserNS, opts.SingleID, opts.IDMaps = true, tt.single, maps
			opts.GroupAdd = []string{KeepGroups}
			opts.NetNSPath = "/run/netns/x"
			s, err := GenerateSpec(testImage(), opts)
			if err != nil {
				t.Fatal(err)
			}
			if HasOwnUserNamespace(s) != tt.ownUser {
				t.Fatalf("own user namespace: %v, want %v", HasOwnUserNamespace(s), tt.ownUser)
			}
			if len(s.Process.User.AdditionalGids) != 0 {
				t.Errorf("keep-groups set groups: %v", s.Process.User.AdditionalGids)
			}
			for _, m := range s.Mounts {
				if m.Destination == "/sys" && tt.ownUser && m.Type != "bind" {
					t.Errorf("/sys of a container whose user namespace does not own its network namespace: %+v, want a bind", m)
				}
			}
		})
	}
	opts := baseOptions()
	opts.UserNS, opts.GroupAdd = true, []string{KeepGroups}
	if _, err := GenerateSpec(testImage(), opts); err == nil || !strings.Contains(err.Error(), "ID maps") {
		t.Errorf("keep-groups without the session's ID maps: %v, want an error", err)
	}
}

func TestExecAsAnotherUserOfAKeepGroupsContainerSetsNoGroups(t *testing.T) {
	rootfs := t.TempDir()
	if err := os.MkdirAll(filepath.Join(rootfs, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, text := range map[string]string{
		"passwd": "root:x:0:0::/root:/bin/sh\nsensor:x:1000:1000::/home/sensor:/bin/sh\n",
		"group":  "root:x:0:\ndialout:x:20:sensor\n",
	} {
		if err := os.WriteFile(filepath.Join(rootfs, "etc", name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	base := &specs.Process{Args: []string{"sleep"}, Cwd: "/"}
	for _, keep := range []bool{false, true} {
		p, err := ExecProcess(base, rootfs, ExecOptions{Args: []string{"id"}, User: "sensor", KeepGroups: keep})
		if err != nil {
			t.Fatal(err)
		}
		if want := !keep; (len(p.User.AdditionalGids) > 0) != want {
			t.Errorf("keep-groups %v: exec -u sensor has groups %v", keep, p.User.AdditionalGids)
		}
	}
}
