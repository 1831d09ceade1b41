// Command updategap measures what clients of a published port see while
// `edgerun update` replaces the container behind it: it asks URL for a
// response every -every (default 2 ms) from -clients goroutines, each
// with a fresh connection, while it runs the update command given after
// --, and prints one JSON line: the update's wall time, the requests that
// succeeded and failed, and the longest time between two successful
// responses (the gap a client saw: nobody answered for that long).
//
//	updategap -url http://127.0.0.1:18080/reading -- edgerun update --image sensor:v2 svc
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

type result struct {
	UpdateMs float64 `json:"updateMs"`
	ExitCode int     `json:"exitCode"`
	OK       int64   `json:"ok"`
	Failed   int64   `json:"failed"`
	MaxGapMs float64 `json:"maxGapMs"`
	// Errors counts the failed requests by what failed.
	Errors map[string]int `json:"errors,omitempty"`
}

// kind is a failed request's error without its addresses and ports.
func kind(err error, status int) string {
	if err == nil {
		return fmt.Sprintf("status %d", status)
	}
	s := err.Error()
	for _, k := range []string{"connection refused", "connection reset", "Client.Timeout", "EOF", "no route to host"} {
		if strings.Contains(s, k) {
			return k
		}
	}
	return s
}

func main() {
	url := flag.String("url", "", "URL to ask")
	every := flag.Duration("every", 2*time.Millisecond, "pause between a client's requests")
	clients := flag.Int("clients", 4, "concurrent clients")
	flag.Parse()
	if *url == "" || flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: updategap -url URL -- UPDATE-COMMAND...")
		os.Exit(2)
	}
	var ok, failed atomic.Int64
	var mu sync.Mutex
	errs := map[string]int{}
	last, maxGap := time.Now(), time.Duration(0)
	done := make(chan struct{})
	var wg sync.WaitGroup
	for range *clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
			for {
				select {
				case <-done:
					return
				default:
				}
				resp, err := c.Get(*url)
				if err == nil && resp.StatusCode == http.StatusOK {
					ok.Add(1)
					now := time.Now()
					mu.Lock()
					maxGap, last = max(maxGap, now.Sub(last)), now
					mu.Unlock()
				} else {
					failed.Add(1)
					status := 0
					if resp != nil {
						status = resp.StatusCode
					}
					mu.Lock()
					errs[kind(err, status)]++
					mu.Unlock()
				}
				if resp != nil {
					resp.Body.Close()
				}
				time.Sleep(*every)
			}
		}()
	}
	time.Sleep(200 * time.Millisecond) // the clients are asking before the update starts
	start := time.Now()
	cmd := exec.Command(flag.Arg(0), flag.Args()[1:]...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	err := cmd.Run()
	took := time.Since(start)
	time.Sleep(200 * time.Millisecond) // and after it ended
	close(done)
	wg.Wait()
	res := result{UpdateMs: float64(took.Microseconds()) / 1000, OK: ok.Load(), Failed: failed.Load(),
		MaxGapMs: float64(maxGap.Microseconds()) / 1000, Errors: errs}
	if ee, isExit := err.(*exec.ExitError); isExit {
		res.ExitCode = ee.ExitCode()
	} else if err != nil {
		res.ExitCode = -1
	}
	_ = json.NewEncoder(os.Stdout).Encode(res)
}
