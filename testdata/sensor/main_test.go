package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestSimulatedReadingsAreDeterministic(t *testing.T) {
	want := []float64{21, 22, 23, 23.8, 24.5, 24.9, 25}
	src, err := newSource("sim", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range want {
		r, err := src.next()
		if err != nil {
			t.Fatal(err)
		}
		if r.Seq != i || r.Celsius != c || r.Source != "sim" {
			t.Errorf("reading %d = %+v, want seq %d celsius %v source sim", i, r, i, c)
		}
	}
}

func TestThermalZoneIsRead(t *testing.T) {
	dir := t.TempDir()
	zone := filepath.Join(dir, "thermal_zone0")
	if err := os.Mkdir(zone, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(zone, "temp"), []byte("48250\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, kind := range []string{"thermal", "auto"} {
		src, err := newSource(kind, dir)
		if err != nil {
			t.Fatal(err)
		}
		r, err := src.next()
		if err != nil {
			t.Fatal(err)
		}
		if r.Celsius != 48.25 || r.Sensor != "thermal_zone0" || r.Source != "thermal" {
			t.Errorf("%s: got %+v, want 48.25 from thermal_zone0", kind, r)
		}
	}
}

func TestSourceSelectionErrors(t *testing.T) {
	tests := []struct {
		kind, want string
	}{
		{"thermal", "no readable thermal zone"},
		{"moon", `unknown source "moon"`},
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			_, err := newSource(tt.kind, t.TempDir())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("newSource(%q) error = %v, want %q", tt.kind, err, tt.want)
			}
		})
	}
	if src, err := newSource("auto", t.TempDir()); err != nil || src.zone != "" {
		t.Errorf("auto without zones = %+v, %v; want simulation", src, err)
	}
}

func TestReadPrintsJSONLines(t *testing.T) {
	t.Setenv("SENSOR_SOURCE", "sim")
	var out bytes.Buffer
	if err := run(context.Background(), []string{"read", "-n", "2"}, &out); err != nil {
		t.Fatal(err)
	}
	want := `{"seq":0,"sensor":"sim0","celsius":21,"source":"sim"}` + "\n" +
		`{"seq":1,"sensor":"sim0","celsius":22,"source":"sim"}` + "\n"
	if out.String() != want {
		t.Errorf("output = %q, want %q", out.String(), want)
	}
	if err := run(context.Background(), []string{"fly"}, &out); err == nil {
		t.Error("unknown command accepted")
	}
}

func TestHTTPServesReadingsAndHealth(t *testing.T) {
	src, err := newSource("sim", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(handler(src))
	defer srv.Close()
	for i := range 2 {
		resp, err := http.Get(srv.URL + "/reading")
		if err != nil {
			t.Fatal(err)
		}
		var r reading
		err = json.NewDecoder(resp.Body).Decode(&r)
		resp.Body.Close()
		if err != nil || r.Seq != i {
			t.Fatalf("GET /reading #%d = %+v, %v", i, r, err)
		}
	}
	resp, err := http.Get(srv.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /healthz status %d", resp.StatusCode)
	}
}

func TestHealthAsksTheServerAndFailsWhenItFails(t *testing.T) {
	src, err := newSource("sim", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(handler(src))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	var out strings.Builder
	if err := run(context.Background(), []string{"health", addr}, &out); err != nil || out.String() != "ok\n" {
		t.Fatalf("health of a healthy server: %v, printed %q", err, out.String())
	}
	t.Setenv("SENSOR_HEALTHZ", "fail")
	if err := run(context.Background(), []string{"health", addr}, &out); err == nil || !strings.Contains(err.Error(), "503") {
		t.Fatalf("health of a failing server: %v, want a 503 error", err)
	}
}

func TestUDPEchoSendsDatagramsBack(t *testing.T) {
	l, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.LocalAddr().String()
	l.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"udp-echo", addr}, io.Discard) }()
	c, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 64)
	var got string
	for range 50 { // the server may not listen yet: refused, or no answer
		_ = c.SetDeadline(time.Now().Add(100 * time.Millisecond))
		if _, err := c.Write([]byte("ping 1")); err == nil {
			if n, err := c.Read(buf); err == nil {
				got = string(buf[:n])
				break
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got != "ping 1" {
		t.Errorf("echo %q, want %q", got, "ping 1")
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("udp-echo after cancel: %v", err)
	}
}

// The uAPI's ioctl numbers and sizes as linux/gpio.h defines them.
func TestGPIOUAPIMatchesTheKernelHeader(t *testing.T) {
	for _, c := range []struct {
		name      string
		got, want uintptr
	}{
		{"GPIO_GET_CHIPINFO_IOCTL", gpioGetChipInfo, 0x8044B401},
		{"GPIO_V2_GET_LINEINFO_IOCTL", gpioGetLineInfo, 0xC100B405},
		{"GPIO_V2_GET_LINE_IOCTL", gpioGetLine, 0xC250B407},
		{"GPIO_V2_LINE_GET_VALUES_IOCTL", gpioGetLineValues, 0xC010B40E},
	} {
		if c.got != c.want {
			t.Errorf("%s = %#x, want %#x", c.name, c.got, c.want)
		}
	}
}

func TestGPIORefusesWhatIsNotAChip(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "use gpio CHIP"},
		{[]string{"/nonexistent/gpiochip9"}, "no such file"},
		{[]string{"/dev/null"}, "not a GPIO chip"},
	} {
		err := run(context.Background(), append([]string{"gpio"}, c.args...), io.Discard)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("gpio %q: error %v, want one containing %q", c.args, err, c.want)
		}
	}
}
