package specgen

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	units "github.com/docker/go-units"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// DefaultShmSize is the size of a container's /dev/shm, docker's.
const DefaultShmSize = 64 << 20

// ParseShmSize reads --shm-size as docker does: a size with an optional
// unit (b, k, m, g; powers of 1024); "" and 0 are the default, 64m.
func ParseShmSize(s string) (int64, error) {
	if s == "" {
		return DefaultShmSize, nil
	}
	n, err := units.RAMInBytes(s)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%w: --shm-size %q: give a size greater than 0, like 64m or 1g (units b, k, m, g)", ErrInvalidOption, s)
	}
	if n == 0 {
		return DefaultShmSize, nil
	}
	return n, nil
}

// setShmSize sizes the /dev/shm tmpfs of mounts (--shm-size).
func setShmSize(mounts []specs.Mount, s string) error {
	n, err := ParseShmSize(s)
	if err != nil {
		return err
	}
	size := "size=" + strconv.FormatInt(n, 10)
	if n%1024 == 0 {
		size = "size=" + strconv.FormatInt(n/1024, 10) + "k"
	}
	for i, m := range mounts {
		if m.Destination == "/dev/shm" && m.Type == "tmpfs" {
			opts := slices.DeleteFunc(slices.Clone(m.Options), func(o string) bool { return strings.HasPrefix(o, "size=") })
			opts = append(opts, size)
			mounts[i].Options = opts
		}
	}
	return nil
}
