package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
)

// TestMTUFollowsTheUplinkAndALargeDownloadArrives: the fake host's uplink
// has MTU 1400 and its far side 1500, and nothing between says so (no
// ICMP: the host side drops what does not fit, as a tunnel or PPPoE link
// without MSS clamping does). Only a container whose eth0 takes the
// uplink's MTU, and so announces a TCP MSS of 1360, gets a large answer
// through; with 1500 the download stalls on its first full segment.
func TestMTUFollowsTheUplinkAndALargeDownloadArrives(t *testing.T) {
	t.Parallel()
	h := newFakeHost(t, 1400, 1500)
	big := make([]byte, 8<<20)
	_, _ = rand.NewChaCha8([32]byte{'e', 'd', 'g', 'e', 'r', 'u', 'n'}).Read(big)
	sum := sha256.Sum256(big)
	url := h.serve(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(big) }))
	n := newNetEnv(t)
	n.netns = h
	n.loadBusybox()
	r := n.run("run", "--rm", "--network", "bridge", "busybox", "sh", "-c",
		"cat /sys/class/net/eth0/mtu; timeout 30 wget -q -O - "+url+" | sha256sum")
	want := "1400\n" + hex.EncodeToString(sum[:]) + "  -\n"
	if r.code != 0 || r.stdout != want {
		t.Errorf("eth0's MTU and the sha256 of 8 MiB from the internet: %s\nwant stdout:\n%s", r, want)
	}
	if strings.Contains(r.stderr, "note:") {
		t.Errorf("a note without a firewall: %s", r.stderr)
	}
	n.assertCheckClean()
}
