package netns

import (
	"bufio"
	"bytes"
	"os"
	"strconv"
	"strings"
)

// Counters sums the received and sent bytes of every interface but lo
// in the network namespace of pid (from /proc/PID/net/dev, which shows the
// process's namespace). A container on the host network shows the host's.
func Counters(pid int) (rx, tx uint64) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/net/dev")
	if err != nil {
		return 0, 0
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok || strings.TrimSpace(name) == "lo" {
			continue
		}
		f := strings.Fields(rest)
		if len(f) < 9 {
			continue
		}
		r, _ := strconv.ParseUint(f[0], 10, 64)
		t, _ := strconv.ParseUint(f[8], 10, 64)
		rx, tx = rx+r, tx+t
	}
	return rx, tx
}
