package rootfs

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"hash"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	digest "github.com/opencontainers/go-digest"

	"github.com/edgerun/edgerun/internal/diskspace"
)

const (
	chunkSize  = 256 << 10 // read-ahead chunk
	chunkDepth = 8         // chunks decompressed ahead of the tar reader
)

var (
	gzipMagic = []byte{0x1f, 0x8b}
	zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}
)

// checkMediaType accepts the OCI and Docker layer media types (and the empty
// string, for callers that only have a blob). The compression is decided by
// the magic bytes, because `docker save` archives declare gzip for plain tars.
func checkMediaType(mt string) error {
	if mt == "" {
		return nil
	}
	if strings.Contains(mt, "encrypted") {
		return fmt.Errorf("%w %q: encrypted layers are not supported", ErrMediaType, mt)
	}
	known := strings.HasPrefix(mt, "application/vnd.oci.image.layer.") ||
		strings.HasPrefix(mt, "application/vnd.docker.image.rootfs.")
	if !known {
		return fmt.Errorf("%w %q: expected an OCI or Docker layer (tar, tar+gzip or tar+zstd)", ErrMediaType, mt)
	}
	return nil
}

// layerStream is the decompressed tar stream. A producer goroutine
// decompresses ahead of the tar reader, so decompression and file creation
// use two cores, like `tar -xzf` piping from gzip; the reader hashes.
type layerStream struct {
	ch      chan chunk
	free    chan []byte
	done    chan struct{}
	wg      sync.WaitGroup
	cur     []byte
	curBuf  []byte
	err     error
	closeFn func()

	h     hash.Hash
	total int64
	algo  digest.Algorithm
}

type chunk struct {
	b   []byte
	err error
}

// limits are what the producer enforces while it decompresses.
type limits struct {
	ctx      context.Context
	maxBytes int64
	maxRatio int64 // 0: none
	known    int64 // compressed bytes left in r at the start; -1 unknown
	read     *countingReader
	space    *diskspace.Guard
}

func openStream(ctx context.Context, r io.Reader, cfg *unpackConfig, space *diskspace.Guard) (*layerStream, error) {
	lim := &limits{ctx: ctx, maxBytes: cfg.maxBytes, maxRatio: cfg.maxRatio, known: remaining(r),
		read: &countingReader{r: r}, space: space}
	br := bufio.NewReaderSize(lim.read, 1<<20)
	magic, _ := br.Peek(4)
	var src io.Reader = br
	closeFn := func() {}
	switch {
	case bytes.HasPrefix(magic, gzipMagic):
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("%w: gzip header: %w", ErrCorruptLayer, err)
		}
		src, closeFn = zr, func() { zr.Close() }
	case bytes.HasPrefix(magic, zstdMagic):
		zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1),
			zstd.WithDecoderMaxWindow(cfg.zstdWindow), zstd.WithDecoderMaxMemory(cfg.zstdWindow*2))
		if err != nil {
			return nil, fmt.Errorf("%w: zstd: %w", ErrCorruptLayer, err)
		}
		src, closeFn = zr, zr.Close
	}
	algo := digest.SHA256
	if cfg.diffID != "" {
		algo = cfg.diffID.Algorithm()
		if !algo.Available() {
			closeFn()
			return nil, fmt.Errorf("diff ID %s: %w", cfg.diffID, digest.ErrDigestUnsupported)
		}
	}
	s := &layerStream{
		ch:      make(chan chunk, chunkDepth),
		free:    make(chan []byte, chunkDepth+2),
		done:    make(chan struct{}),
		closeFn: closeFn,
		h:       algo.Hash(),
		algo:    algo,
	}
	if algo == digest.SHA256 {
		s.h = sha256.New()
	}
	for range chunkDepth + 2 {
		s.free <- make([]byte, chunkSize)
	}
	s.wg.Add(1)
	go s.produce(src, lim)
	return s, nil
}

func (s *layerStream) produce(src io.Reader, lim *limits) {
	defer s.wg.Done()
	for {
		var b []byte
		select {
		case b = <-s.free:
		case <-s.done:
			return
		}
		n, err := fill(src, b)
		if n > 0 {
			s.total += int64(n)
			if lerr := lim.check(s.total, int64(n)); lerr != nil {
				err = lerr
			}
		}
		select {
		case s.ch <- chunk{b[:n], err}:
		case <-s.done:
			return
		}
		if err != nil {
			return
		}
	}
}

// check is called after each chunk: total uncompressed bytes so far, n in
// this chunk. A failed check ends the stream with its error.
func (l *limits) check(total, n int64) error {
	if l.ctx.Err() != nil {
		return context.Cause(l.ctx)
	}
	if total > l.maxBytes {
		return fmt.Errorf("%w: more than %d uncompressed bytes", ErrTooLarge, l.maxBytes)
	}
	if l.maxRatio > 0 && total > RatioFloor {
		compressed := max(l.known, l.read.n)
		if total > l.maxRatio*compressed {
			return fmt.Errorf("%w: the layer unpacks to more than %d times its compressed size (%d bytes compressed, %d unpacked so far): "+
				"a decompression bomb, or an image that needs a higher --max-layer-ratio", ErrTooLarge, l.maxRatio, compressed, total)
		}
	}
	if err := l.space.Wrote(n); err != nil {
		return noSpace(err)
	}
	return nil
}

// countingReader counts the compressed bytes read (read-ahead included,
// which only makes the ratio look smaller).
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// remaining is how many bytes r has left when r can tell (a regular file,
// an in-memory reader), else -1: the ratio is then taken against what was
// read so far.
func remaining(r io.Reader) int64 {
	switch v := r.(type) {
	case *os.File:
		fi, err := v.Stat()
		if err != nil || !fi.Mode().IsRegular() {
			return -1
		}
		off, err := v.Seek(0, io.SeekCurrent)
		if err != nil {
			return -1
		}
		return fi.Size() - off
	case interface{ Len() int }:
		return int64(v.Len())
	}
	return -1
}

// fill reads until b is full or src fails; unlike io.ReadFull it keeps the
// source's own error (a truncated gzip's io.ErrUnexpectedEOF stays an error,
// a clean end stays io.EOF).
func fill(src io.Reader, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, err := src.Read(b[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

func (s *layerStream) Read(p []byte) (int, error) {
	for len(s.cur) == 0 {
		if s.err != nil {
			return 0, s.err
		}
		if s.curBuf != nil {
			s.free <- s.curBuf[:cap(s.curBuf)]
			s.curBuf = nil
		}
		c := <-s.ch
		// Hashed here, not in the producer: inflating is the longest
		// stage of an unpack, and the reader has time to spare while the
		// file writers do the writing.
		s.h.Write(c.b)
		s.cur, s.curBuf, s.err = c.b, c.b, c.err
	}
	n := copy(p, s.cur)
	s.cur = s.cur[n:]
	return n, nil
}

// Sum returns the stream size and digest; valid after Read returned io.EOF.
func (s *layerStream) Sum() (int64, digest.Digest) {
	return s.total, digest.NewDigest(s.algo, s.h)
}

// Close stops the producer and waits for it, so the caller may close the
// underlying reader afterwards.
func (s *layerStream) Close() error {
	close(s.done)
	s.wg.Wait()
	s.closeFn()
	return nil
}
