package images

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/edgerun/edgerun/sigpolicy"
)

// checkLoadPolicy applies the signature policy to a load of input before
// anything of it is read. load reads no signatures from archives or
// layouts, so only a rule that accepts unsigned images lets it through.
// Which archive format a file holds is known only once it is read, so a
// file or stream must be accepted by both the oci-archive and the
// docker-archive rules; a directory is an OCI layout (transport oci).
func (s *Store) checkLoadPolicy(input string) error {
	pol, err := sigpolicy.Load(s.policy)
	if err != nil || pol == nil {
		return err
	}
	ref, transports := "stdin", []string{sigpolicy.TransportOCIArchive, sigpolicy.TransportDockerArchive}
	if input != "-" {
		if ref, err = filepath.Abs(input); err != nil {
			return fmt.Errorf("load %s: %w", input, err)
		}
		if fi, err := os.Stat(ref); err == nil && fi.IsDir() {
			transports = []string{sigpolicy.TransportOCI}
		}
	}
	for _, t := range transports {
		if err := pol.For(t, ref).Check(sigpolicy.Image{Ref: ref}); err != nil {
			return err
		}
	}
	return nil
}
