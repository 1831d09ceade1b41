// Command pulltime splits `edgerun pull` wall time into phases from its
// --format json events, each run into a fresh root: until the manifest is
// resolved, until the last layer blob is downloaded and verified, and until
// the image is named (every layer unpacked and synced). It prints the median
// of each over the runs.
//
// Usage: pulltime -edgerun BIN -runs N REF
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"time"
)

func main() {
	bin := flag.String("edgerun", "bin/edgerun", "edgerun binary")
	runs := flag.Int("runs", 5, "pulls to time")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: pulltime -edgerun BIN -runs N REF")
		os.Exit(2)
	}
	var resolved, downloaded, done []time.Duration
	for range *runs {
		r, d, t, err := once(*bin, flag.Arg(0))
		if err != nil {
			fmt.Fprintln(os.Stderr, "pulltime:", err)
			os.Exit(1)
		}
		resolved, downloaded, done = append(resolved, r), append(downloaded, d), append(done, t)
	}
	fmt.Printf("median of %d pulls: manifest resolved %v, last layer downloaded %v, image named (all unpacked) %v\n",
		*runs, median(resolved), median(downloaded), median(done))
}

func once(bin, ref string) (resolved, downloaded, done time.Duration, err error) {
	dir, err := os.MkdirTemp("", "pulltime-")
	if err != nil {
		return 0, 0, 0, err
	}
	defer os.RemoveAll(dir)
	_ = exec.Command("sync").Run() // best effort: start from clean pages
	cmd := exec.Command(bin, "--root", dir+"/root", "--state", dir+"/state", "pull", "--format", "json", ref)
	out, _ := cmd.StdoutPipe()
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, 0, 0, err
	}
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		var e struct{ Event string }
		if json.Unmarshal(sc.Bytes(), &e) != nil {
			continue
		}
		switch e.Event {
		case "resolved":
			resolved = time.Since(start)
		case "downloaded":
			downloaded = time.Since(start)
		}
	}
	if err := cmd.Wait(); err != nil {
		return 0, 0, 0, fmt.Errorf("pull: %w", err)
	}
	return resolved, downloaded, time.Since(start), nil
}

func median(ds []time.Duration) time.Duration {
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return ds[len(ds)/2].Round(time.Millisecond)
}
