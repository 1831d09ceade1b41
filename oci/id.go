package oci

import (
	"fmt"
	"regexp"
)

// validID is runc's rule: letters, digits and _ + - . only, so an ID is
// always one path element of the state root.
var validID = regexp.MustCompile(`^[A-Za-z0-9_+.-]+$`)

// MaxIDLength bounds an ID (a file name, with room for a suffix).
const MaxIDLength = 1024

// CheckID refuses an ID that is empty, too long, "." or "..", or holds
// anything but letters, digits and _ + - . (a "/" above all).
func CheckID(id string) error {
	switch {
	case id == "":
		return fmt.Errorf("%w: the container id is empty", ErrInvalidID)
	case len(id) > MaxIDLength:
		return fmt.Errorf("%w: the container id is %d bytes long; at most %d", ErrInvalidID, len(id), MaxIDLength)
	case id == "." || id == "..":
		return fmt.Errorf("%w: %q is not a container id", ErrInvalidID, id)
	case !validID.MatchString(id):
		return fmt.Errorf("%w: %q: use only letters, digits and the characters _ + - . (a dot)", ErrInvalidID, id)
	}
	return nil
}
