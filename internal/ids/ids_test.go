package ids

import (
	"regexp"
	"strings"
	"testing"
)

func TestNewIsRandom64Hex(t *testing.T) {
	a, err := New()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := New()
	if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(a) || a == b {
		t.Fatalf("New() = %q, %q: want two different 64-hex IDs", a, b)
	}
}

func TestCheckName(t *testing.T) {
	for name, ok := range map[string]bool{
		"sensor": true, "s_1.a-b": true, "0abc": true,
		"": false, "-x": false, "a/b": false, "a b": false, strings.Repeat("a", 129): false,
		strings.Repeat("ab", 32): false, // looks like an ID
	} {
		if err := CheckName(name); (err == nil) != ok {
			t.Errorf("CheckName(%q) = %v, want ok %v", name, err, ok)
		}
	}
}

func TestDefaultNameFromTheImage(t *testing.T) {
	id := "3f2a1b" + strings.Repeat("0", 58)
	for ref, want := range map[string]string{
		"sensor":                        "sensor-3f2a1b",
		"registry.local:5000/sensor:1":  "sensor-3f2a1b",
		"busybox@sha256:" + id:          "busybox-3f2a1b",
		"registry.local:5000/Ünïcode:1": "container-3f2a1b",
	} {
		if got := DefaultName(ref, id); got != want {
			t.Errorf("DefaultName(%q) = %q, want %q", ref, got, want)
		}
	}
}

func TestIsHexPrefix(t *testing.T) {
	if !IsHexPrefix("3f2a") || IsHexPrefix("") || IsHexPrefix("3F2A") || IsHexPrefix("xyz") {
		t.Error("IsHexPrefix misjudges")
	}
}

func TestCheckVolumeName(t *testing.T) {
	for _, tt := range []struct {
		name string
		ok   bool
	}{
		{"data", true}, {"db_1.x-y", true}, {"0a", true}, {"A9", true},
		{strings.Repeat("v", 255), true},
		{"", false}, {"a", false}, {"-x", false}, {"_x", false}, {".x", false},
		{"a/b", false}, {"a b", false}, {"a:b", false}, {"..", false}, {"vé", false},
		{strings.Repeat("v", 256), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckVolumeName(tt.name)
			if (err == nil) != tt.ok {
				t.Fatalf("CheckVolumeName(%q) = %v, want ok %v", tt.name, err, tt.ok)
			}
			if err != nil && !strings.Contains(err.Error(), "starting with a letter or digit") {
				t.Fatalf("error %q does not say what is allowed", err)
			}
		})
	}
}
