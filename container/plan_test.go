package container

import (
	"errors"
	"strings"
	"testing"

	"github.com/edgerun/edgerun/image"
	"github.com/edgerun/edgerun/specgen"
)

// TestPlanNetworkRefusesAnUnknownMode: --network is checked in one place,
// before anything exists, with the modes it takes.
func TestPlanNetworkRefusesAnUnknownMode(t *testing.T) {
	r := &Runtime{cfg: Config{Root: t.TempDir(), State: t.TempDir()}}
	for _, mode := range []string{"wifi", "bridge0", "Host", "../x"} {
		_, err := r.planNetwork(&NetOptions{Mode: mode}, &image.Image{})
		if !errors.Is(err, specgen.ErrInvalidOption) || !strings.Contains(err.Error(), "use bridge, host, none, container:NAME or a network of edgerun network ls") {
			t.Errorf("--network %q: %v, want an invalid option naming the modes", mode, err)
		}
	}
	for _, mode := range []string{"", NetworkNone, NetworkHost} {
		if p, err := r.planNetwork(&NetOptions{Mode: mode}, &image.Image{}); err != nil || p.join != "" || p.eps != nil {
			t.Errorf("--network %q: %+v, %v; want a plan without a bridge", mode, p, err)
		}
	}
	if _, err := r.planNetwork(&NetOptions{Mode: NetworkHost, IP: "10.0.0.2"}, &image.Image{}); !errors.Is(err, specgen.ErrInvalidOption) {
		t.Errorf("--ip with --network host: %v, want refused", err)
	}
}
