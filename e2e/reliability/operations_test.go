package reliability

import (
	"io"
	"log"
	"net/http/httptest"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/sys/unix"
)

// The operations the fault points interrupt (scenarios in points_test.go).

var opLoad = operation{
	prepare: func(*env) {},
	args:    func(e *env) []string { return []string{"load", "-i", imagePath(e.t, "busybox")} },
	retry: func(e *env) {
		e.loadBusybox()
		e.must("run", "--rm", "busybox", "true")
	},
}

// registryRef is the busybox image pushed to a registry of the test's own
// (go-containerregistry's, on a loopback port: plain HTTP is allowed there).
func registryRef(e *env) string {
	e.t.Helper()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	e.t.Cleanup(srv.Close)
	idx, err := layout.ImageIndexFromPath(imagePath(e.t, "busybox"))
	if err != nil {
		e.t.Fatal(err)
	}
	m, err := idx.IndexManifest()
	if err != nil || len(m.Manifests) != 1 {
		e.t.Fatalf("busybox layout: want one manifest: %v", err)
	}
	img, err := idx.Image(m.Manifests[0].Digest)
	if err != nil {
		e.t.Fatal(err)
	}
	ref := strings.TrimPrefix(srv.URL, "http://") + "/test/busybox:1"
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := remote.Write(r, img); err != nil {
		e.t.Fatalf("push busybox to %s: %v", ref, err)
	}
	return ref
}

var opPull = func() operation {
	var ref string
	return operation{
		prepare: func(e *env) { ref = registryRef(e) },
		args:    func(*env) []string { return []string{"pull", "--retries", "0", ref} },
		retry: func(e *env) {
			e.must("pull", ref)
			e.acked(ref)
			e.must("run", "--rm", ref, "true")
		},
	}
}

var opImagePrune = operation{
	prepare: func(e *env) {
		e.loadBusybox()
		e.must("rmi", "busybox")
		e.mu.Lock()
		e.ackImage = map[string]bool{}
		e.mu.Unlock()
	},
	args: func(*env) []string { return []string{"image", "prune"} },
	retry: func(e *env) {
		e.must("image", "prune")
		for _, dir := range []string{"blobs/sha256", "layers/sha256", "layers/staging", "layers/locks"} {
			if left := entries(filepath.Join(e.root, dir)); len(left) > 0 {
				e.t.Errorf("image prune, retried, left %s: %v", dir, left)
			}
		}
	},
}

// opRun is a kept foreground run on the bridge with a published port.
var opRun = operation{
	prepare: func(e *env) { e.loadBusybox() },
	args:    func(*env) []string { return []string{"run", "--name", "fg", "-p", "80", "busybox", "true"} },
	retry: func(e *env) {
		e.must("run", "--name", e.freeName("fg"), "-p", "80", "busybox", "true")
	},
}

// opRunRm is a foreground run --rm whose container outlives a killed
// edgerun by a moment.
var opRunRm = operation{
	prepare: func(e *env) { e.loadBusybox() },
	args: func(*env) []string {
		return []string{"run", "--rm", "--name", "fg", "-p", "80", "busybox", "sh", "-c", "sleep 0.3"}
	},
	retry: func(e *env) {
		e.must("run", "--rm", "--name", e.freeName("fg"), "-p", "80", "busybox", "sh", "-c", "sleep 0.3")
	},
}

// opRunD is run -d of a service with a restart policy and a published port.
var opRunD = operation{
	prepare: func(e *env) { e.loadBusybox() },
	args: func(*env) []string {
		return append([]string{"run", "-d", "--name", "svc", "--restart", "always", "-p", "80"}, sleeper...)
	},
	retry: func(e *env) {
		e.runD(append([]string{"--name", e.freeName("svc"), "--restart", "always", "-p", "80"}, sleeper...)...)
	},
}

// opRunDExits is run -d of a container that exits 3 after a moment.
func opRunDExits(policy string) operation {
	cmd := []string{"busybox", "sh", "-c", "sleep 0.3; exit 3"}
	return operation{
		prepare: func(e *env) { e.loadBusybox() },
		args: func(*env) []string {
			return append([]string{"run", "-d", "--name", "svc", "--restart", policy}, cmd...)
		},
		retry: func(e *env) {
			e.runD(append([]string{"--name", e.freeName("svc"), "--restart", policy}, cmd...)...)
		},
	}
}

var opStop = operation{
	prepare: func(e *env) {
		e.loadBusybox()
		e.runD(append([]string{"--name", "s", "-p", "80"}, sleeper...)...)
	},
	args: func(*env) []string { return []string{"stop", "s"} },
	retry: func(e *env) {
		e.must("stop", "s")
		e.waitState("s", "exited")
	},
}

var opRm = operation{
	prepare: func(e *env) {
		e.loadBusybox()
		e.runD(append([]string{"--name", "r", "-p", "80"}, sleeper...)...)
		e.forget("r") // the operation removes it
	},
	args: func(*env) []string { return []string{"rm", "-f", "r"} },
	retry: func(e *env) {
		if r := e.run("rm", "-f", "r"); r.code != 0 && !strings.Contains(r.stderr, "no such container") {
			e.t.Errorf("rm -f, retried: %s", r)
		}
		if c, ok := e.inspect("r"); ok {
			e.t.Errorf("rm -f, retried, left the container: %+v", c)
		}
	},
}

var opPrune = operation{
	prepare: func(e *env) {
		e.loadBusybox()
		e.must("run", "--name", "gone-1", "busybox", "true")
		e.must("run", "--name", "gone-2", "-p", "80", "busybox", "true")
		e.runD(append([]string{"--name", "keep"}, sleeper...)...)
	},
	args: func(*env) []string { return []string{"prune"} },
	retry: func(e *env) {
		e.must("prune")
		for _, n := range []string{"gone-1", "gone-2"} {
			if c, ok := e.inspect(n); ok {
				e.t.Errorf("prune, retried, left the stopped container %s: %+v", n, c)
			}
		}
	},
}

var opStart = operation{
	prepare: func(e *env) {
		e.loadBusybox()
		e.runD(append([]string{"--name", "s", "-p", "80"}, sleeper...)...)
		e.must("stop", "s")
	},
	args: func(*env) []string { return []string{"start", "s"} },
	retry: func(e *env) {
		e.must("start", "s")
		e.waitState("s", "running")
	},
}

// opReap: a service's monitor was killed; the next command (any: ps -a
// here) kills its container and restarts it by its policy.
var opReap = operation{
	prepare: func(e *env) {
		e.loadBusybox()
		e.runD(append([]string{"--name", "s", "--restart", "always", "-p", "80"}, sleeper...)...)
		c := e.waitState("s", "running")
		if err := unix.Kill(c.MonitorPid, unix.SIGKILL); err != nil {
			e.t.Fatal(err)
		}
		waitGone(e.t, c.MonitorPid)
	},
	args: func(*env) []string { return []string{"ps", "-a"} },
	retry: func(e *env) {
		e.must("ps", "-a")
		e.waitState("s", "running")
	},
}

// opBoot: a reboot under a service; boot starts it again. keepState
// keeps the volatile root across the reboot (not a tmpfs): the first
// command of the new boot clears it.
func opBoot(keepState bool) operation {
	return operation{
		prepare: func(e *env) {
			e.fakeBootID("boot-1")
			e.loadBusybox()
			e.runD(append([]string{"--name", "s", "--restart", "always", "-p", "80"}, sleeper...)...)
			e.powerCut(e.waitState("s", "running"), keepState)
			e.fakeBootID("boot-2")
		},
		args: func(*env) []string { return []string{"boot"} },
		retry: func(e *env) {
			e.must("boot")
			e.waitState("s", "running")
		},
	}
}

// opUpdate is `update --force` of a service with a published port (the
// port moves to the replacement): to busybox again, a good replacement;
// with broken set, to the sensor image, which has no sleep, so the
// replacement fails to start and the update rolls back. The old container
// is forgotten: the update replaces it. Between the kill and the retry
// the service runs, as svc or as svc.next, and the journal is left for
// the next update (or boot) to finish: check reports it. The retry is the
// same update (which first finishes or rolls back the killed one), then
// for broken a good one; exactly one svc is left, running.
func opUpdate(broken bool) operation {
	to, wait := "busybox", "300ms"
	if broken {
		to, wait = "sensor", "2s"
	}
	update := []string{"update", "--force", "--pull", "never", "--update-wait", wait, "--image", to, "svc"}
	return operation{
		prepare: func(e *env) {
			e.loadBusybox()
			if broken {
				e.must("load", "-i", imagePath(e.t, "sensor"))
				e.acked("sensor:latest")
			}
			e.runD(append([]string{"--name", "svc", "-p", "80"}, sleeper...)...)
			e.forget("svc")
		},
		args: func(*env) []string { return update },
		kept: func(e *env, when string) {
			e.t.Helper()
			for _, n := range []string{"svc", "svc.next"} {
				if c, ok := e.inspect(n); ok && c.State == "running" {
					return
				}
			}
			cs, _ := e.containers()
			e.t.Errorf("%s: neither svc nor svc.next runs: %+v", when, cs)
		},
		pending: []string{"update-interrupted"},
		retry: func(e *env) {
			e.t.Helper()
			r := e.run(update...)
			switch {
			case broken && (r.code == 0 || !strings.Contains(r.stderr, "rolled back")):
				e.t.Errorf("update to an image without sleep, retried: want it rolled back: %s", r)
			case !broken && r.code != 0:
				e.t.Errorf("update, retried: %s", r)
			}
			if broken {
				e.must("update", "--force", "--pull", "never", "--update-wait", "300ms", "--image", "busybox", "svc")
			}
			c := e.waitState("svc", "running")
			e.ackContainer(c.ID, []string{"--name", "svc", "(updated)"})
			if n, ok := e.inspect("svc.next"); ok {
				e.t.Errorf("update, retried, left the replacement's name taken: %+v", n)
			}
			if left := entries(filepath.Join(e.root, "updates")); len(left) > 0 {
				e.t.Errorf("update, retried, left journals: %v", left)
			}
		},
	}
}
