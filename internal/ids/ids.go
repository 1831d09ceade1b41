// Package ids holds the rules for container IDs and names: random 64-hex
// IDs, docker's rule for container and volume names, and the default name
// made from an image reference. It is pure and imports no package of this
// module.
package ids

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"
)

// validName is docker's rule for container names.
var validName = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)

// validVolumeName is docker's rule for volume names: at least two
// characters, so that a one-letter -v source is never taken for one.
var validVolumeName = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]+$`)

// maxVolumeName bounds a volume name: it is a directory name on disk.
const maxVolumeName = 255

// CheckVolumeName refuses volume names docker would refuse, with what is
// allowed.
func CheckVolumeName(name string) error {
	if len(name) > maxVolumeName || !validVolumeName.MatchString(name) {
		return fmt.Errorf("volume name %q: use at least two letters, digits, '_', '.' and '-', "+
			"starting with a letter or digit (at most %d); a host path must start with /", name, maxVolumeName)
	}
	return nil
}

// New returns a random 64-hex container ID.
func New() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("generate container id: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// CheckName refuses names docker would refuse, before anything is created.
// Its errors wrap ErrInvalidName.
func CheckName(name string) error {
	if len(name) > 128 || !validName.MatchString(name) {
		return fmt.Errorf("container name %q: use letters, digits, '_', '.' and '-', starting with a letter or digit (at most 128)", name)
	}
	if IsHexPrefix(name) && len(name) == 64 {
		return fmt.Errorf("container name %q looks like a container ID: choose another name", name)
	}
	return nil
}

// IsHexPrefix says whether s could be (the start of) a container ID.
func IsHexPrefix(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if !strings.ContainsRune("0123456789abcdef", c) {
			return false
		}
	}
	return true
}

// DefaultName derives a name from the image and the ID, like "sensor-3f2a1b".
func DefaultName(imageName, id string) string {
	base := imageName
	if i := strings.LastIndexByte(base, '/'); i >= 0 {
		base = base[i+1:]
	}
	if i := strings.IndexAny(base, ":@"); i >= 0 {
		base = base[:i]
	}
	if !validName.MatchString(base) {
		base = "container"
	}
	return base + "-" + id[:6]
}

// ValidName says whether s follows docker's rule for container names
// (length aside; see CheckName).
func ValidName(s string) bool { return validName.MatchString(s) }
