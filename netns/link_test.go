package netns

import (
	"crypto/rand"
	"encoding/hex"
	"path/filepath"
	"testing"

	"github.com/vishvananda/netlink"
	vnetns "github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/edgerun/edgerun/internal/testenv"
)

// vethInNS makes a namespace mounted in a temp dir and a veth of a new
// container ID whose peer is in it, as Setup does (without a bridge).
func vethInNS(t *testing.T, h *netlink.Handle) (id, nsPath string) {
	t.Helper()
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	id = hex.EncodeToString(b)
	nsPath = filepath.Join(t.TempDir(), "ns", id)
	if err := createNS(nsPath); err != nil {
		t.Fatal(err)
	}
	ns, err := vnetns.GetFromPath(nsPath)
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	v := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: vethName(id, 0)}, PeerName: "eth0", PeerNamespace: netlink.NsFd(int(ns))}
	if err := h.LinkAdd(v); err != nil {
		_ = removeNS(nsPath)
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if l, err := h.LinkByName(vethName(id, 0)); err == nil {
			_ = h.LinkDel(l)
		}
		_ = removeNS(nsPath)
	})
	return id, nsPath
}

func TestRemoveLinksLeavesNoVethWhetherTheNamespaceGoesOrIsHeld(t *testing.T) {
	testenv.RequireRoot(t, "create network namespaces and veths")
	h, err := netlink.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	for _, held := range []bool{false, true} {
		id, nsPath := vethInNS(t, h)
		if held {
			// Another holder of the namespace (a process that entered
			// it, an open handle): it outlives the mount, and so would
			// the veth.
			ns, err := vnetns.GetFromPath(nsPath)
			if err != nil {
				t.Fatal(err)
			}
			defer ns.Close()
		}
		if err := removeLinks(h, id, nsPath); err != nil {
			t.Fatalf("held %v: %v", held, err)
		}
		if _, err := h.LinkByName(vethName(id, 0)); !isNotFound(err) {
			t.Errorf("held %v: veth %s still there (%v)", held, vethName(id, 0), err)
		}
		if Mounted(nsPath) {
			t.Errorf("held %v: namespace still mounted at %s", held, nsPath)
		}
	}
}
