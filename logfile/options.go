package logfile

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/docker/go-units"
)

// ParseOptions parses docker's --log-opt max-size=SIZE and max-file=N
// (several options may share one flag, separated by commas). The defaults
// are small, for SD cards: at most 3 × 5 MiB per container.
func ParseOptions(opts []string) (size int64, files int, err error) {
	size, files = DefaultMaxSize, DefaultMaxFile
	for _, o := range opts {
		for _, kv := range strings.Split(o, ",") {
			k, v, ok := strings.Cut(kv, "=")
			switch {
			case !ok:
				return 0, 0, fmt.Errorf("--log-opt %q: use KEY=VALUE (max-size=10m, max-file=3)", kv)
			case k == "max-size":
				size, err = units.RAMInBytes(v)
				if err != nil || size < 4096 {
					return 0, 0, fmt.Errorf("--log-opt max-size=%s: use a size of at least 4k, like 10m", v)
				}
			case k == "max-file":
				files, err = strconv.Atoi(v)
				if err != nil || files < 1 || files > 100 {
					return 0, 0, fmt.Errorf("--log-opt max-file=%s: use a number from 1 to 100", v)
				}
			default:
				return 0, 0, fmt.Errorf("unknown --log-opt %q: edgerun knows max-size and max-file", k)
			}
		}
	}
	return size, files, nil
}
