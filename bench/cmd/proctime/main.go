// Command proctime runs a command N times, one after the other, and prints
// one line per run: its wall time, user and system CPU time in seconds, and
// its peak RSS in kB, from the rusage wait4 returns (the process and the
// descendants it waited for; the peak is that of the largest one, not
// their sum). It is GNU time's '%e %U %S %M' with microseconds instead of
// hundredths. A run that exits non-zero stops it with exit 1.
//
// Usage: proctime -runs N -o FILE COMMAND [ARG...]
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"
)

func main() {
	runs := flag.Int("runs", 10, "runs")
	out := flag.String("o", "", "append the lines to this file (default stdout)")
	flag.Parse()
	if flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: proctime -runs N -o FILE COMMAND [ARG...]")
		os.Exit(2)
	}
	if err := run(*runs, *out, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "proctime:", err)
		os.Exit(1)
	}
}

func run(runs int, out string, args []string) error {
	w := os.Stdout
	if out != "" {
		f, err := os.OpenFile(out, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	for range runs {
		line, err := once(args)
		if err != nil {
			return err
		}
		if _, err := fmt.Fprintln(w, line); err != nil {
			return err
		}
	}
	return nil
}

func once(args []string) (string, error) {
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if err != nil {
		return "", fmt.Errorf("%s: %w", args[0], err)
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		return "", fmt.Errorf("%s: no rusage", args[0])
	}
	return fmt.Sprintf("%.6f %.6f %.6f %d", wall.Seconds(), seconds(ru.Utime), seconds(ru.Stime), ru.Maxrss), nil
}

func seconds(t syscall.Timeval) float64 {
	return float64(t.Sec) + float64(t.Usec)/1e6
}
