package doctor

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckAppArmorSaysWhetherContainersAreConfined(t *testing.T) {
	tests := map[string]struct {
		enabled, profiles string // "" leaves the file out
		parser            bool
		uid               int
		status            Status
		detail            string
	}{
		"no AppArmor":            {status: OK, detail: "not enabled"},
		"module disabled":        {enabled: "N", profiles: "", status: OK, detail: "not enabled"},
		"loaded":                 {enabled: "Y", profiles: "edgerun-default (enforce)\n", status: OK, detail: "is loaded (enforce)"},
		"parser, not yet loaded": {enabled: "Y", profiles: "x (enforce)\n", parser: true, status: OK, detail: "loads its profile"},
		"no parser":              {enabled: "Y", profiles: "x (enforce)\n", status: Warn, detail: "apparmor_parser is not installed"},
		"rootless":               {enabled: "Y", profiles: "x (enforce)\n", uid: 1000, status: OK, detail: "rootless containers run without"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			root := t.TempDir()
			write := func(p, data string) {
				p = filepath.Join(root, p)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(data), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			if tt.enabled != "" {
				write("sys/module/apparmor/parameters/enabled", tt.enabled+"\n")
				write("sys/kernel/security/apparmor/profiles", tt.profiles)
			}
			if tt.parser {
				write("usr/sbin/apparmor_parser", "#!/bin/sh\n")
			}
			c := checkAppArmor(Options{HostRoot: root, UID: tt.uid})
			if c.Status != tt.status || !strings.Contains(c.Detail, tt.detail) {
				t.Fatalf("%s: %s (fix %q), want %s containing %q", c.Status, c.Detail, c.Fix, tt.status, tt.detail)
			}
			if c.Status == Warn && !strings.Contains(c.Fix, "apt-get install apparmor") {
				t.Fatalf("fix = %q", c.Fix)
			}
		})
	}
}
