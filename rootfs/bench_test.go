package rootfs

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// BenchmarkUnpack unpacks a synthetic gzip layer shaped like a minimal
// Debian root (many small files in a few hundred directories). `make bench`
// compares the real thing against tar and umoci with hyperfine.
func BenchmarkUnpack(b *testing.B) {
	var es []ent
	for d := range 200 {
		dn := fmt.Sprintf("usr/share/d%03d", d)
		es = append(es, dir(dn))
		for f := range 30 {
			es = append(es, file(fmt.Sprintf("%s/f%02d", dn, f), strings.Repeat(fmt.Sprintf("%d-%d ", d, f), 400*(f%7+1))))
		}
	}
	es = append([]ent{dir("usr"), dir("usr/share")}, es...)
	raw := buildTar(b, es...)
	blob := gzipBytes(b, raw)
	b.SetBytes(int64(len(raw)))
	work := b.TempDir()
	b.ResetTimer()
	for i := range b.N {
		dst := filepath.Join(work, fmt.Sprint(i))
		if err := os.Mkdir(dst, 0o755); err != nil {
			b.Fatal(err)
		}
		if _, err := Unpack(context.Background(), bytes.NewReader(blob), dst, UnpackOptions{MaxRatio: -1}); err != nil {
			b.Fatal(err)
		}
	}
}
