package specgen

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestResolveUser(t *testing.T) {
	tests := []struct {
		spec     string
		groupAdd []string
		want     resolvedUser
		wantErr  bool
	}{
		{"", nil, resolvedUser{UID: 0, GID: 0, Home: "/root"}, false},
		{"app", nil, resolvedUser{UID: 1000, GID: 1000, AdditionalGids: []uint32{20}, Home: "/home/app"}, false},
		{"app:video", nil, resolvedUser{UID: 1000, GID: 44, Home: "/home/app"}, false},
		{"1000:20", nil, resolvedUser{UID: 1000, GID: 20, Home: "/home/app"}, false},
		{"4242", nil, resolvedUser{UID: 4242, GID: 0, Home: "/"}, false},
		{"nobody", []string{"video", "123"}, resolvedUser{UID: 65534, GID: 65534, AdditionalGids: []uint32{44, 123}, Home: "/nonexistent"}, false},
		{"ghost", nil, resolvedUser{}, true},
		{"app:ghosts", nil, resolvedUser{}, true},
		{"app", []string{"ghosts"}, resolvedUser{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			got, err := resolveUser("testdata/rootfs", tt.spec, tt.groupAdd)
			if (err != nil) != tt.wantErr {
				t.Fatalf("resolveUser(%q) error = %v", tt.spec, err)
			}
			if err != nil {
				if !errors.Is(err, ErrInvalidOption) {
					t.Fatalf("error %v is not ErrInvalidOption", err)
				}
				return
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("resolveUser(%q) = %+v, want %+v", tt.spec, got, tt.want)
			}
		})
	}
}

// A hostile image links /etc/passwd to the host's file; the lookup must
// stay inside the rootfs and not find the host's users.
func TestResolveUserSymlinkStaysInRootfs(t *testing.T) {
	hostDir := t.TempDir()
	hostPasswd := filepath.Join(hostDir, "passwd")
	if err := os.WriteFile(hostPasswd, []byte("hostonly:x:4711:4711::/h:/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	if err := os.Mkdir(filepath.Join(root, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(hostPasswd, filepath.Join(root, "etc", "passwd")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../../../../.."+hostDir, filepath.Join(root, "etc", "group")); err != nil {
		t.Fatal(err)
	}
	if _, err := resolveUser(root, "hostonly", nil); err == nil {
		t.Fatal("user from the host's passwd was resolved through the image's symlink")
	}
	if got, err := resolveUser(root, "5:6", nil); err != nil || got.UID != 5 || got.GID != 6 {
		t.Fatalf("numeric user = %+v, %v", got, err)
	}
}

func TestResolveUserRefusesNonRegularPasswd(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "etc", "passwd"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := resolveUser(root, "app", nil); !errors.Is(err, ErrInvalidOption) {
		t.Fatalf("error = %v, want ErrInvalidOption", err)
	}
}
