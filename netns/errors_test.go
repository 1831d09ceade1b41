package netns

import (
	"errors"
	"fmt"
	"testing"

	"golang.org/x/sys/unix"
)

// A kernel without nf_tables, veth or bridge support answers with these
// errnos; each must become ErrUnsupported with what to enable.
func TestMissingKernelFeaturesAreNamed(t *testing.T) {
	for _, errno := range []unix.Errno{unix.EOPNOTSUPP, unix.EAFNOSUPPORT, unix.EPROTONOSUPPORT} {
		for name, err := range map[string]error{
			"veth":   unsupported("veth", fmt.Errorf("netlink: %w", errno)),
			"bridge": unsupported("bridge", errno),
			"nft":    nftError(fmt.Errorf("conn.Receive: %w", errno)),
		} {
			if !errors.Is(err, ErrUnsupported) {
				t.Errorf("%s with %v: %v, want ErrUnsupported", name, errno, err)
			}
		}
	}
	if err := nftError(unix.ENOENT); !errors.Is(err, ErrUnsupported) {
		t.Errorf("nftables ENOENT (a missing expression module): %v", err)
	}
	if err := unsupported("veth", unix.EEXIST); errors.Is(err, ErrUnsupported) {
		t.Errorf("EEXIST is not a missing feature: %v", err)
	}
}
