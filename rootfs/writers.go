package rootfs

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The file writers: the tar reader creates each file itself (so names,
// replacements, hardlinks and whiteouts keep the stream's order) and hands
// its content, in chunks, to a few goroutines that write it at its offset
// and then set the file's owner, mode, xattrs and times through its
// descriptor. On a disk most of an unpack is the kernel's work per page
// written; spreading it over the CPUs is what makes edgerun faster than a
// tar that writes from one thread.
const (
	writerChunk = 128 << 10
	// writerBuffers bounds what is in flight: 16 chunks, 2 MiB per
	// unpack, whatever the layer holds.
	writerBuffers = 16
	maxWriters    = 4
	// writebackMin is the size from which a written file's writeback is
	// started at once.
	writebackMin = 256 << 10
)

// writers is the pool of one unpack. Its goroutines only ever use the
// descriptors they are given; nothing of the tree.
type writers struct {
	u    *unpacker
	jobs chan chunkJob
	free chan []byte
	wg   sync.WaitGroup

	mu  sync.Mutex
	err error // the first failure; later chunks are dropped

	skippedXattrs atomic.Int64
}

// pendingFile is a created file whose content is on its way. refs counts
// its chunks in flight plus the reader's own hold; the last one to let go
// finishes the file.
type pendingFile struct {
	fd   int
	name string
	hdr  *tar.Header
	o    owner
	have uint32
	refs atomic.Int32
}

type chunkJob struct {
	f    *pendingFile
	off  int64
	data []byte
}

// writerCount is how many goroutines write: one per CPU, at most
// maxWriters. With one CPU there is nothing to overlap and no pool (0).
func writerCount() int {
	n := min(runtime.GOMAXPROCS(0), maxWriters)
	if n < 2 {
		return 0
	}
	return n
}

func startWriters(u *unpacker, n int) *writers {
	w := &writers{u: u, jobs: make(chan chunkJob, writerBuffers), free: make(chan []byte, writerBuffers)}
	for range writerBuffers {
		w.free <- make([]byte, writerChunk)
	}
	w.wg.Add(n)
	for range n {
		go w.work()
	}
	return w
}

func (w *writers) work() {
	defer w.wg.Done()
	for j := range w.jobs {
		if w.failed() == nil {
			if err := pwriteAll(j.f.fd, j.data, j.off); err != nil {
				w.fail(j.f.name, fmt.Errorf("write: %w", err))
			}
		}
		w.free <- j.data[:cap(j.data)]
		w.release(j.f)
	}
}

func (w *writers) failed() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

func (w *writers) fail(name string, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err == nil {
		w.err = fmt.Errorf("unpack %q: %w", name, err)
	}
}

// release drops one hold on f and finishes it when that was the last.
func (w *writers) release(f *pendingFile) {
	if f.refs.Add(-1) != 0 {
		return
	}
	if w.failed() == nil {
		if f.hdr.Size >= writebackMin {
			// Start writing it out now: the caller's syncfs then
			// waits for the tail of the layer, not for all of it.
			// Only a hint; the syncfs is what makes it durable.
			_ = unix.SyncFileRange(f.fd, 0, 0, unix.SYNC_FILE_RANGE_WRITE)
		}
		skipped, err := w.u.fdAttrs(f.fd, f.hdr, f.o, f.have)
		w.skippedXattrs.Add(int64(skipped))
		if err == nil {
			err = futimes(f.fd, f.hdr)
		}
		if err != nil {
			w.fail(f.name, err)
		}
	}
	if err := unix.Close(f.fd); err != nil {
		w.fail(f.name, fmt.Errorf("close: %w", err))
	}
}

// send reads f's content from r in chunks and queues them. It returns
// once the last chunk is queued; the writers finish the file.
func (w *writers) send(f *pendingFile, r io.Reader) error {
	f.refs.Store(1)
	defer w.release(f)
	var off int64
	for {
		if err := w.failed(); err != nil {
			return err
		}
		b := <-w.free
		n, err := fill(r, b)
		if n > 0 {
			f.refs.Add(1)
			w.jobs <- chunkJob{f: f, off: off, data: b[:n]}
			off += int64(n)
		} else {
			w.free <- b
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return streamErr(err)
		}
	}
}

// stop waits for every queued chunk and finished file and returns the
// first failure. The pool cannot be used after.
func (w *writers) stop() error {
	close(w.jobs)
	w.wg.Wait()
	w.u.st.SkippedXattrs += int(w.skippedXattrs.Swap(0))
	return w.failed()
}

func pwriteAll(fd int, b []byte, off int64) error {
	for len(b) > 0 {
		n, err := unix.Pwrite(fd, b, off)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return err
		}
		b, off = b[n:], off+int64(n)
	}
	return nil
}

// futimes sets the access and modification times of the open file fd as
// setTimes does by name: utimensat(fd, NULL, ...), which x/sys/unix does
// not wrap.
func futimes(fd int, hdr *tar.Header) error {
	ts := hdrTimes(hdr)
	_, _, e := unix.Syscall6(unix.SYS_UTIMENSAT, uintptr(fd), 0, uintptr(unsafe.Pointer(&ts[0])), 0, 0, 0)
	if e != 0 {
		return fmt.Errorf("set times: %w", e)
	}
	return nil
}
