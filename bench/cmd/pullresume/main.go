// Command pullresume measures how many bytes an interrupted `edgerun pull`
// fetches twice. For each interruption point it pulls through a throttling,
// byte-counting proxy in front of a registry, interrupts edgerun (SIGKILL or
// SIGINT) once the given fraction of the layer bytes is on disk, pulls again,
// and compares the blob bytes served in both pulls with the image's size.
//
// Usage: pullresume -edgerun BIN -registry HOST:PORT -ref REPO:TAG [-at 0.25,0.5,0.75]
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	bin := flag.String("edgerun", "bin/edgerun", "edgerun binary")
	reg := flag.String("registry", "", "registry host:port (plain HTTP, loopback)")
	ref := flag.String("ref", "", "repository:tag in the registry")
	at := flag.String("at", "0.25,0.5,0.75", "interrupt when this fraction of the layer bytes is written")
	rate := flag.Float64("rate", 20e6, "bytes per second per blob download through the proxy")
	flag.Parse()
	if err := run(*bin, *reg, *ref, *at, *rate); err != nil {
		fmt.Fprintln(os.Stderr, "pullresume:", err)
		os.Exit(1)
	}
}

type proxy struct {
	sent atomic.Int64
	rate float64
}

func (p *proxy) start(target string) *httptest.Server {
	u, _ := url.Parse("http://" + target)
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.ModifyResponse = func(resp *http.Response) error {
		if resp.Request.Method == http.MethodGet && strings.Contains(resp.Request.URL.Path, "/blobs/") {
			resp.Body = &slowBody{ReadCloser: resp.Body, p: p}
		}
		return nil
	}
	return httptest.NewServer(rp)
}

type slowBody struct {
	io.ReadCloser
	p *proxy
}

func (b *slowBody) Read(buf []byte) (int, error) {
	n, err := b.ReadCloser.Read(buf[:min(len(buf), 64<<10)])
	b.p.sent.Add(int64(n))
	time.Sleep(time.Duration(float64(n) / b.p.rate * float64(time.Second)))
	return n, err
}

type event struct {
	Event   string `json:"event"`
	Digest  string `json:"digest"`
	Size    int64  `json:"size"`
	Current int64  `json:"current"`
}

func run(bin, reg, ref, at string, rate float64) error {
	if reg == "" || ref == "" {
		return fmt.Errorf("-registry and -ref are required")
	}
	fmt.Println("| interrupted by | at | layer bytes | served before | served after | fetched twice | share |")
	fmt.Println("|---|---|---|---|---|---|---|")
	for _, sig := range []syscall.Signal{syscall.SIGKILL, syscall.SIGINT} {
		for _, fs := range strings.Split(at, ",") {
			f, err := strconv.ParseFloat(fs, 64)
			if err != nil {
				return err
			}
			if err := once(bin, reg, ref, f, rate, sig); err != nil {
				return err
			}
		}
	}
	return nil
}

func once(bin, reg, ref string, frac, rate float64, sig syscall.Signal) error {
	dir, err := os.MkdirTemp("", "pullresume-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	p := &proxy{rate: rate}
	srv := p.start(reg)
	defer srv.Close()
	full := strings.TrimPrefix(srv.URL, "http://") + "/" + ref
	pull := func() *exec.Cmd {
		return exec.Command(bin, "--root", dir+"/root", "--state", dir+"/state", "pull", "--format", "json", full)
	}
	cmd := pull()
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		return err
	}
	var total int64
	cur := map[string]int64{}
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		var e event
		if json.Unmarshal(sc.Bytes(), &e) != nil {
			continue
		}
		switch e.Event {
		case "resolved":
			total = e.Size
		case "progress":
			cur[e.Digest] = e.Current
		}
		var sum int64
		for _, n := range cur {
			sum += n
		}
		if total > 0 && float64(sum) >= frac*float64(total) {
			_ = cmd.Process.Signal(sig) // it may have finished meanwhile
			break
		}
	}
	go func() { _, _ = io.Copy(io.Discard, out) }()
	_ = cmd.Wait() // killed or interrupted: its exit status says nothing
	before := p.sent.Swap(0)
	if out, err := pull().CombinedOutput(); err != nil {
		return fmt.Errorf("second pull: %w\n%s", err, out)
	}
	after := p.sent.Load()
	config, err := configSize(dir + "/root")
	if err != nil {
		return err
	}
	twice := before + after - total - config
	fmt.Printf("| %s | %.0f%% | %d | %d | %d | %d | %.3f%% |\n", sigName(sig), frac*100, total, before, after, twice, 100*float64(twice)/float64(total))
	return nil
}

// configSize is the size of the one config blob: everything served that is
// neither a layer nor a manifest (manifests are not blob GETs).
func configSize(root string) (int64, error) {
	b, err := os.ReadFile(root + "/images.json")
	if err != nil {
		return 0, err
	}
	var ix struct {
		Images map[string]json.RawMessage `json:"images"`
	}
	if err := json.Unmarshal(b, &ix); err != nil {
		return 0, err
	}
	for d := range ix.Images {
		mb, err := os.ReadFile(root + "/blobs/sha256/" + strings.TrimPrefix(d, "sha256:"))
		if err != nil {
			return 0, err
		}
		var m struct {
			Config struct {
				Size int64 `json:"size"`
			} `json:"config"`
		}
		if err := json.Unmarshal(mb, &m); err != nil {
			return 0, err
		}
		return m.Config.Size, nil
	}
	return 0, fmt.Errorf("no image in %s", root)
}

func sigName(s syscall.Signal) string {
	if s == syscall.SIGKILL {
		return "kill -9"
	}
	return "Ctrl-C (SIGINT)"
}
