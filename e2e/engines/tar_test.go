package engines

import (
	"bytes"

	"github.com/edgerun/edgerun/internal/testenv"
)

// tarLayout returns an OCI image layout directory as a tar archive (an
// oci-archive): what ctr images import and podman load read.
func tarLayout(dir string) ([]byte, error) {
	var buf bytes.Buffer
	if err := testenv.TarDir(&buf, dir); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
