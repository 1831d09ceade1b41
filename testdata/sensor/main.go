// Command sensor is the demo and test workload packed into edgerun's sensor image.
//
// It reports a temperature reading, either once or over HTTP:
//
//	sensor                 print one reading as a JSON line and exit
//	sensor read [-n N]     print N readings, one per line (default 1)
//	sensor watch [-every D] [-n N]
//	                       print a reading every D (default 1s), N times (0 = forever)
//	sensor serve [ADDR]    serve readings over HTTP on ADDR (default $SENSOR_LISTEN, else :8080):
//	                       GET /reading (JSON), GET /healthz ("ok"; 503 when $SENSOR_HEALTHZ is "fail")
//	sensor health [ADDR]   ask the server on ADDR (default $SENSOR_LISTEN) for /healthz, through
//	                       the loopback: exit 0 when it answers ok (the image's HEALTHCHECK)
//	sensor udp-echo [ADDR] send every UDP datagram on ADDR (default :8081) back to its sender
//	                       (busybox's nc has no UDP: the tests of UDP publishing use this)
//	sensor gpio CHIP [LINE [VALUE]]
//	                       list the lines of the GPIO chip CHIP (/dev/gpiochipN) as JSON, or read
//	                       LINE as an input, or drive it to VALUE (0 or 1) as an output and read it
//	                       back (the tests of GPIO devices use this)
//
// Readings come from /sys/class/thermal/thermal_zone*/temp when the source is "thermal" or "auto"
// and such a zone is readable; otherwise ("sim", or "auto" without a zone) from a deterministic
// simulation: the n-th reading (n counted from 0 in each process) is 21.0 + 4.0*sin(n*pi/12) °C,
// rounded to 0.1. The source is chosen with -source or $SENSOR_SOURCE (default "sim", so tests and
// demos print the same numbers on every machine).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// reading is one sample as printed and served.
type reading struct {
	Seq     int     `json:"seq"`
	Sensor  string  `json:"sensor"`
	Celsius float64 `json:"celsius"`
	Source  string  `json:"source"`
}

// source produces readings; it is safe for concurrent use.
type source struct {
	mu     sync.Mutex
	n      int
	zone   string // thermal zone directory, "" for simulation
	sysDir string
}

func newSource(kind, sysDir string) (*source, error) {
	s := &source{sysDir: sysDir}
	switch kind {
	case "sim":
		return s, nil
	case "thermal", "auto":
		zones, _ := filepath.Glob(filepath.Join(sysDir, "thermal_zone*", "temp"))
		sort.Strings(zones)
		for _, z := range zones {
			if _, err := os.ReadFile(z); err == nil {
				s.zone = filepath.Dir(z)
				return s, nil
			}
		}
		if kind == "thermal" {
			return nil, fmt.Errorf("no readable thermal zone under %s: use -source sim", sysDir)
		}
		return s, nil
	default:
		return nil, fmt.Errorf("unknown source %q: use sim, thermal or auto", kind)
	}
}

func (s *source) next() (reading, error) {
	s.mu.Lock()
	n := s.n
	s.n++
	s.mu.Unlock()
	if s.zone == "" {
		c := 21.0 + 4.0*math.Sin(float64(n)*math.Pi/12)
		return reading{Seq: n, Sensor: "sim0", Celsius: math.Round(c*10) / 10, Source: "sim"}, nil
	}
	b, err := os.ReadFile(filepath.Join(s.zone, "temp"))
	if err != nil {
		return reading{}, fmt.Errorf("read thermal zone: %w", err)
	}
	milli, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return reading{}, fmt.Errorf("parse %s/temp: %w", s.zone, err)
	}
	return reading{Seq: n, Sensor: filepath.Base(s.zone), Celsius: float64(milli) / 1000, Source: "thermal"}, nil
}

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "sensor:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	cmd := "read"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	fs := flag.NewFlagSet("sensor "+cmd, flag.ContinueOnError)
	kind := fs.String("source", envOr("SENSOR_SOURCE", "sim"), "reading source: sim, thermal or auto")
	count := fs.Int("n", 1, "number of readings (watch: 0 = forever)")
	every := fs.Duration("every", time.Second, "interval between readings (watch)")
	if cmd == "watch" {
		*count = 0
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	src, err := newSource(*kind, "/sys/class/thermal")
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	switch cmd {
	case "read":
		return emit(ctx, stdout, src, *count, 0)
	case "watch":
		return emit(ctx, stdout, src, *count, *every)
	case "serve":
		addr := envOr("SENSOR_LISTEN", ":8080")
		if fs.NArg() > 0 {
			addr = fs.Arg(0)
		}
		return serve(ctx, addr, src)
	case "health":
		addr := envOr("SENSOR_LISTEN", ":8080")
		if fs.NArg() > 0 {
			addr = fs.Arg(0)
		}
		return checkHealth(ctx, addr, stdout)
	case "udp-echo":
		addr := ":8081"
		if fs.NArg() > 0 {
			addr = fs.Arg(0)
		}
		return udpEcho(ctx, addr)
	case "gpio":
		return gpio(fs.Args(), stdout)
	default:
		return fmt.Errorf("unknown command %q: use read, watch, serve, health, udp-echo or gpio", cmd)
	}
}

func envOr(key, def string) string {
	if v, ok := os.LookupEnv(key); ok && v != "" {
		return v
	}
	return def
}

// emit prints count readings (0 = until ctx ends), waiting every between them.
func emit(ctx context.Context, w io.Writer, src *source, count int, every time.Duration) error {
	enc := json.NewEncoder(w)
	for i := 0; count == 0 || i < count; i++ {
		if i > 0 && every > 0 {
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(every):
			}
		}
		r, err := src.next()
		if err != nil {
			return err
		}
		if err := enc.Encode(r); err != nil {
			return err
		}
	}
	return nil
}

func handler(src *source) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /reading", func(w http.ResponseWriter, _ *http.Request) {
		r, err := src.next()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(r)
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		if os.Getenv("SENSOR_HEALTHZ") == "fail" {
			http.Error(w, "failing on purpose: SENSOR_HEALTHZ=fail", http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "ok\n")
	})
	return mux
}

func serve(ctx context.Context, addr string, src *source) error {
	srv := &http.Server{Addr: addr, Handler: handler(src), ReadHeaderTimeout: 5 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	fmt.Fprintf(os.Stderr, "sensor: serving readings on %s\n", addr)
	select {
	case err := <-errc:
		return fmt.Errorf("serve on %s: %w", addr, err)
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// checkHealth asks the server listening on addr for /healthz over the
// loopback and fails unless it answers 200.
func checkHealth(ctx context.Context, addr string, stdout io.Writer) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("health: address %q: %w", addr, err)
	}
	// A listen address (":8080", "0.0.0.0:8080") is this container's own
	// server; a host name asks another one (sensor health sensor-a:8080).
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+net.JoinHostPort(host, port)+"/healthz", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("health: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("health: %s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	_, err = stdout.Write(body)
	return err
}

// udpEcho sends every datagram received on addr back to its sender until
// ctx ends.
func udpEcho(ctx context.Context, addr string) error {
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		return fmt.Errorf("udp-echo: %w", err)
	}
	fmt.Fprintf(os.Stderr, "sensor: echoing UDP on %s\n", pc.LocalAddr())
	go func() { <-ctx.Done(); pc.Close() }()
	buf := make([]byte, 64<<10)
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("udp-echo: %w", err)
		}
		if _, err := pc.WriteTo(buf[:n], from); err != nil {
			fmt.Fprintf(os.Stderr, "sensor: udp-echo: answer %s: %v\n", from, err)
		}
	}
}
