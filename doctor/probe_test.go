package doctor

import (
	"net"
	"os"
	"testing"

	"github.com/edgerun/edgerun/internal/testenv"
)

// TestMain answers the user-namespace overlay probe when this test binary
// is re-executed as its child, as main does for edgerun.
func TestMain(m *testing.M) {
	if dir := os.Getenv(ProbeEnv); dir != "" {
		os.Exit(ProbeChild(dir))
	}
	os.Exit(m.Run())
}

func TestProbeOverlayMountsAndLeavesNothing(t *testing.T) {
	testenv.RequireRoot(t, "mount overlays (the overlay probe)")
	dir := t.TempDir()
	for _, userns := range []bool{false, true} {
		if err := ProbeOverlay(dir, userns); err != nil {
			t.Errorf("overlay probe (userns %v) on %s: %v", userns, dir, err)
		}
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("the probe left %v in %s", left, dir)
	}
}

func TestProbeOverlayReportsAMissingDir(t *testing.T) {
	if err := ProbeOverlay("/nonexistent/edgerun-doctor", false); err == nil {
		t.Error("probe under a missing dir succeeded")
	}
}

func TestProbeNetworkLeavesNoLinkOnTheHost(t *testing.T) {
	testenv.RequireRoot(t, "create network namespaces, veths and bridges (the network probe)")
	before, err := net.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	res := ProbeNetwork()
	for _, m := range []string{"veth", "bridge", "nf_tables"} {
		if err, ok := res[m]; ok {
			t.Logf("%s: %v (this kernel lacks it)", m, err)
		}
	}
	after, err := net.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before) {
		t.Errorf("host interfaces changed: %d before, %d after the probe", len(before), len(after))
	}
}
