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

func TestProbeUsernsStartsAChildInANewUserNamespace(t *testing.T) {
	testenv.RequireRoot(t, "create a user namespace whatever the host's sysctls say")
	if err := ProbeUserns(); err != nil {
		t.Fatalf("user namespace probe: %v", err)
	}
}

func TestProbeOverlayReportsAMissingDir(t *testing.T) {
	if err := ProbeOverlay("/nonexistent/edgerun-doctor", false); err == nil {
		t.Error("probe under a missing dir succeeded")
	}
}

func TestProbeNetworkLeavesNoLinkOnTheHost(t *testing.T) {
	testenv.RequireRoot(t, "create network namespaces, veths and bridges (the network probe)")
	// The probe's own links, by name: counting all of the host's would
	// see other tests' veths come and go (go test runs packages at once).
	probeLinks := func() []string {
		ifs, err := net.Interfaces()
		if err != nil {
			t.Fatal(err)
		}
		var found []string
		for _, i := range ifs {
			switch i.Name {
			case "doctor0", "doctor1", "doctorbr0":
				found = append(found, i.Name)
			}
		}
		return found
	}
	if left := probeLinks(); len(left) > 0 {
		t.Fatalf("links of the probe are on the host before it runs: %v", left)
	}
	res := ProbeNetwork()
	for _, m := range []string{"veth", "bridge", "nf_tables"} {
		if err, ok := res[m]; ok {
			t.Logf("%s: %v (this kernel lacks it)", m, err)
		}
	}
	if left := probeLinks(); len(left) > 0 {
		t.Errorf("the probe left its links on the host: %v", left)
	}
}
