package images

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgerun/edgerun/sigpolicy"
)

func TestLoadPolicy(t *testing.T) {
	dir := t.TempDir()
	trusted := filepath.Join(dir, "trusted")
	if err := os.MkdirAll(filepath.Join(trusted, "layout"), 0o755); err != nil {
		t.Fatal(err)
	}
	archive := filepath.Join(trusted, "app.tar")
	if err := os.WriteFile(archive, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	policy := filepath.Join(dir, "policy.json")
	err := os.WriteFile(policy, []byte(`{"default":[{"type":"reject"}],"transports":{
		"oci":{"`+trusted+`":[{"type":"insecureAcceptAnything"}]},
		"oci-archive":{"`+trusted+`":[{"type":"insecureAcceptAnything"}]},
		"docker-archive":{"`+archive+`":[{"type":"insecureAcceptAnything"}]}}}`), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		input string
		want  string // "" accepted; else the refusing scope
	}{
		{filepath.Join(trusted, "layout"), ""},
		{archive, ""},                                    // both archive transports accept it
		{filepath.Join(trusted, "other.tar"), "default"}, // oci-archive accepts, docker-archive does not
		{dir, "default"},
		{"-", "default"},
	}
	for _, tc := range tests {
		s := &Store{policy: sigpolicy.Source{Path: policy}}
		err := s.checkLoadPolicy(tc.input)
		if tc.want == "" {
			if err != nil {
				t.Errorf("load %s: %v, want accepted", tc.input, err)
			}
			continue
		}
		if !errors.Is(err, sigpolicy.ErrRejected) || !strings.Contains(err.Error(), "("+tc.want+", reject)") {
			t.Errorf("load %s: %v, want refused by %s", tc.input, err, tc.want)
		}
	}
	none := &Store{policy: sigpolicy.Source{Path: filepath.Join(dir, "missing.json"), Optional: true}}
	if err := none.checkLoadPolicy("-"); err != nil {
		t.Errorf("no policy file: %v, want every load accepted", err)
	}
}
