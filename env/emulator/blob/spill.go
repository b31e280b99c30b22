package blob

import (
	"bytes"
	"crypto/md5"
	"errors"
	"fmt"
	"hash/crc64"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miconform/miconform/env/emulator/state"
)

// Large blobs live in spill files, not in the Go heap. An upload is read in
// chunks of readChunk bytes; the first spillThreshold bytes stay in memory
// (most blobs are small, and serving them from memory is what keeps Get
// Blob close to a bare server); a body longer than that goes to a new file
// of the store's spill directory as it is read. So one upload costs at most
// spillThreshold+readChunk bytes of heap whatever its size, and a stored
// large blob costs a file handle, not its size in memory.
//
// Why files rather than chunked memory: chunked memory bounds the extra
// copy but still keeps every stored byte in the heap (eight 100 MiB blobs
// are 800 MiB of live heap, which the runtime returns to the system only
// slowly after they are deleted); a file costs the page cache, which the
// kernel reclaims at once when the file is removed.
//
// A spill file is immutable once written and shared by every value that
// holds its *spill (a blob, its snapshots, a staged block). The file is
// closed and removed when the last *spill naming it is garbage collected
// (runtime.AddCleanup), so deleting a blob gives its disk space back after
// the next GC, and a reader holding a copy of a deleted blob still reads
// it. With --state-dir the files live in the state dir beside the log,
// whose records name them (durable.go), and a file is removed only under
// the durable store's write lock, when memory (which mirrors the log
// there) holds no handle to it.
//
// Not on Windows: there a file cannot be removed while any handle holds it
// open (Go opens files without FILE_SHARE_DELETE), so a deleted blob's file
// would stay until every reader's handle is collected, and a state dir's
// files could not be reaped; large blobs stay in memory there, as before
// spill files (spillThreshold is math.MaxInt32, spill_windows.go, past the
// 256 MiB a request may carry).
const readChunk = 256 << 10

// spill is one spill file, n bytes long.
type spill struct {
	f    *os.File
	name string
	n    int64
}

// spillDir makes, opens and removes the spill files of one store.
type spillDir struct {
	mu sync.Mutex
	// dir is where the files are; "" until the first file of a memory
	// store, which gets a new temporary directory.
	dir string
	// durable: files are fsynced (with their directory) before a log
	// record names them.
	durable bool
	// refs counts the live *spill values per file name.
	refs map[string]int
	// reap, when set, is called (in its own goroutine) with a file no
	// handle holds any more, instead of removing it at once.
	reap func(name string)
	// fault, when set (tests), is called before each write and fails it
	// as a full disk does.
	fault func() error
}

// write appends p to a spill file being written.
func (d *spillDir) write(f *os.File, p []byte) error {
	d.mu.Lock()
	fault := d.fault
	d.mu.Unlock()
	if fault != nil {
		if err := fault(); err != nil {
			return err
		}
	}
	_, err := f.Write(p)
	return err
}

// InjectSpillFault makes every later write of blob data to a spill file
// (blobs larger than 4 MiB) call fn first and fail with its error, as a
// full disk does; fn nil ends it. For tests of full-disk behaviour.
func (s *Service) InjectSpillFault(fn func() error) {
	d := s.Store.spills()
	d.mu.Lock()
	d.fault = fn
	d.mu.Unlock()
}

// SpillFiles counts the files holding large blobs' data (tests: a deleted
// blob's file goes once it is garbage collected).
func (s *Service) SpillFiles() int { return s.Store.spills().files() }

var spillSeq atomic.Uint64

func newSpillDir(dir string, durable bool) *spillDir {
	return &spillDir{dir: dir, durable: durable, refs: map[string]int{}}
}

// path is a file's path; pathLocked the same under mu.
func (d *spillDir) path(name string) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.pathLocked(name)
}

func (d *spillDir) pathLocked(name string) string { return filepath.Join(d.dir, name) }

// create makes a new empty spill file.
func (d *spillDir) create() (*os.File, string, error) {
	d.mu.Lock()
	if d.dir == "" {
		dir, err := os.MkdirTemp("", "miconform-blobs-")
		if err != nil {
			d.mu.Unlock()
			return nil, "", err
		}
		d.dir = dir
	}
	dir := d.dir
	d.mu.Unlock()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, "", err
	}
	name := strconv.FormatInt(time.Now().UnixNano(), 36) + "-" + strconv.FormatUint(spillSeq.Add(1), 36)
	f, err := os.OpenFile(filepath.Join(dir, name), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	return f, name, err
}

// seal makes a written file a *spill (durable first, with --state-dir).
func (d *spillDir) seal(f *os.File, name string, n int64) (*spill, error) {
	if d.durable {
		if err := f.Sync(); err != nil {
			return nil, err
		}
		if err := syncDirectory(d.dir); err != nil {
			return nil, err
		}
	}
	return d.track(f, name, n), nil
}

// discard closes and removes a file that was never sealed.
func (d *spillDir) discard(f *os.File, name string) {
	f.Close()
	os.Remove(d.path(name))
}

// open opens an existing spill file (a restart reading its log).
func (d *spillDir) open(name string, n int64) (*spill, error) {
	if name == "" || filepath.Base(name) != name {
		return nil, errors.New("blob: bad spill file name " + strconv.Quote(name))
	}
	f, err := os.Open(d.path(name))
	if err != nil {
		return nil, fmt.Errorf("blob: a record names data file %s: %w", name, err)
	}
	st, err := f.Stat()
	if err == nil && st.Size() < n {
		err = fmt.Errorf("blob: data file %s holds %d bytes, its record %d", name, st.Size(), n)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return d.track(f, name, n), nil
}

type spillRef struct {
	d    *spillDir
	f    *os.File
	name string
}

func (d *spillDir) track(f *os.File, name string, n int64) *spill {
	sp := &spill{f: f, name: name, n: n}
	d.mu.Lock()
	d.refs[name]++
	d.mu.Unlock()
	runtime.AddCleanup(sp, func(r spillRef) {
		r.f.Close()
		r.d.release(r.name)
	}, spillRef{d, f, name})
	return sp
}

func (d *spillDir) release(name string) {
	d.mu.Lock()
	d.refs[name]--
	unused := d.refs[name] <= 0
	if unused {
		delete(d.refs, name)
	}
	reap, durable, dir := d.reap, d.durable, d.dir
	d.mu.Unlock()
	if !unused {
		return
	}
	if reap != nil {
		go reap(name)
		return
	}
	if !durable && dir != "" {
		// A durable store's file goes only through reap, once memory
		// mirrors the log; one let go before then (a record a restart
		// dropped) is an orphan the next start removes.
		os.Remove(filepath.Join(dir, name))
	}
}

// Close removes a memory store's spill directory (the emulator is
// closing); a state dir's data files stay.
func (s *Service) Close() {
	d := s.Store.spills()
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.durable && d.dir != "" {
		os.RemoveAll(d.dir)
		d.dir = ""
	}
}

// removeUnused removes a file no handle holds; the durable store calls it
// under its write lock.
func (d *spillDir) removeUnused(name string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.refs[name] == 0 {
		os.Remove(d.pathLocked(name))
	}
}

// removeOrphans removes the files no handle holds: uploads a crash cut
// before their record was written.
func (d *spillDir) removeOrphans() {
	d.mu.Lock()
	defer d.mu.Unlock()
	ents, _ := os.ReadDir(d.dir)
	for _, e := range ents {
		if d.refs[e.Name()] == 0 && e.Type().IsRegular() {
			os.Remove(d.pathLocked(e.Name()))
		}
	}
}

// files counts the spill files on disk (tests).
func (d *spillDir) files() int {
	d.mu.Lock()
	dir := d.dir
	d.mu.Unlock()
	if dir == "" {
		return 0
	}
	ents, _ := os.ReadDir(dir)
	return len(ents)
}

// piece is a run of a blob's or a block's bytes: in memory, or n bytes at
// off in a spill file.
type piece struct {
	mem []byte
	sp  *spill
	off int64
	n   int64
}

func memPiece(b []byte) piece { return piece{mem: b, n: int64(len(b))} }

// sub is the n bytes of p from off on.
func (p piece) sub(off, n int64) piece {
	if p.sp == nil {
		return memPiece(p.mem[off : off+n : off+n])
	}
	return piece{sp: p.sp, off: p.off + off, n: n}
}

// writeTo copies the piece to w.
func (p piece) writeTo(w io.Writer, buf []byte) error {
	if p.sp == nil {
		_, err := w.Write(p.mem)
		return err
	}
	_, err := io.CopyBuffer(w, io.NewSectionReader(p.sp.f, p.off, p.n), buf)
	// The file stays open until the copy is done.
	runtime.KeepAlive(p.sp)
	return err
}

// same reports whether two pieces are the same bytes (not just equal ones).
func (p piece) same(q piece) bool {
	if p.sp != nil || q.sp != nil {
		return p.sp == q.sp && p.off == q.off && p.n == q.n
	}
	return len(p.mem) == len(q.mem) && (len(p.mem) == 0 || &p.mem[0] == &q.mem[0])
}

var copyBufs = sync.Pool{New: func() any { b := make([]byte, readChunk); return &b }}

// concat joins pieces: in memory up to spillThreshold bytes, else into a
// new spill file.
func (d *spillDir) concat(ps []piece) (piece, error) {
	var size int64
	for _, p := range ps {
		size += p.n
	}
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	if size <= spillThreshold {
		var out bytes.Buffer
		out.Grow(int(size))
		for _, p := range ps {
			if err := p.writeTo(&out, *bp); err != nil {
				return piece{}, err
			}
		}
		return memPiece(out.Bytes()), nil
	}
	f, name, err := d.create()
	if err != nil {
		return piece{}, spillError(d, err)
	}
	w := &fileWriter{d: d, f: f}
	for _, p := range ps {
		if err := p.writeTo(w, *bp); err != nil {
			d.discard(f, name)
			return piece{}, spillError(d, err)
		}
	}
	sp, err := d.seal(f, name, size)
	if err != nil {
		d.discard(f, name)
		return piece{}, spillError(d, err)
	}
	return piece{sp: sp, n: size}, nil
}

// fileWriter writes to a file without the file's ReadFrom, which would
// read the section reader in its own small chunks.
type fileWriter struct {
	d *spillDir
	f *os.File
}

func (w *fileWriter) Write(p []byte) (int, error) {
	if err := w.d.write(w.f, p); err != nil {
		return 0, err
	}
	return len(p), nil
}

// spillError is a spill file the disk refused, shaped as the log's refusal
// so it answers InternalError naming the cause; nothing was stored.
func spillError(d *spillDir, err error) error {
	d.mu.Lock()
	dir := d.dir
	d.mu.Unlock()
	return &state.WriteError{Path: dir, Op: "write blob data", Err: err}
}

// upload is a request body read into the store: its bytes and sums.
type upload struct {
	piece
	md5   []byte
	crc64 uint64
}

// readUpload reads a body in chunks: in memory up to spillThreshold bytes,
// then into a spill file, never allocating what Content-Length announces
// before the bytes arrive. limit bounds the body.
func (d *spillDir) readUpload(body io.Reader, announced int64, limit int64) (upload, error) {
	mh, ch := md5.New(), crc64.New(crc64Table)
	sums := io.MultiWriter(mh, ch)
	first := min(max(announced, 0), readChunk)
	buf := make([]byte, 0, first)
	var f *os.File
	var name string
	var total int64
	chunk := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(chunk)
	for {
		var n int
		var err error
		if f == nil {
			// Read straight into the memory buffer while it has room.
			// Once full, read into the chunk first, so a body that ends
			// there costs no larger buffer; then grow it (doubling, up
			// to the announced length, never past spillThreshold) by
			// what arrived, or, past spillThreshold, move to a spill
			// file. A blob kept in memory holds at most twice its
			// length, exactly its length when Content-Length was sent.
			if len(buf) < cap(buf) {
				n, err = body.Read(buf[len(buf):cap(buf)])
				_, _ = sums.Write(buf[len(buf) : len(buf)+n]) // a hash never fails a write
				buf = buf[:len(buf)+n]
			} else if n, err = body.Read(*chunk); n > 0 {
				_, _ = sums.Write((*chunk)[:n]) // a hash never fails a write
				if len(buf)+n <= spillThreshold {
					target := min(max(2*cap(buf), 4096), spillThreshold)
					if announced > int64(len(buf)) && announced < int64(target) {
						target = int(announced)
					}
					nb := make([]byte, len(buf), max(target, len(buf)+n))
					copy(nb, buf)
					buf = append(nb, (*chunk)[:n]...)
				} else {
					var werr error
					if f, name, werr = d.create(); werr != nil {
						return upload{}, refuse(body, limit, spillError(d, werr))
					}
					if werr = d.write(f, buf); werr == nil {
						werr = d.write(f, (*chunk)[:n])
					}
					if werr != nil {
						d.discard(f, name)
						return upload{}, refuse(body, limit, spillError(d, werr))
					}
					buf = nil
				}
			}
		} else {
			n, err = body.Read(*chunk)
			if n > 0 {
				_, _ = sums.Write((*chunk)[:n]) // a hash never fails a write
				if werr := d.write(f, (*chunk)[:n]); werr != nil {
					d.discard(f, name)
					return upload{}, refuse(body, limit, spillError(d, werr))
				}
			}
		}
		total += int64(n)
		if total > limit {
			if f != nil {
				d.discard(f, name)
			}
			return upload{}, errBodyTooLarge
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			if f != nil {
				d.discard(f, name)
			}
			return upload{}, errBodyRead
		}
	}
	up := upload{md5: mh.Sum(nil), crc64: ch.Sum64()}
	if f == nil {
		up.piece = memPiece(buf)
		return up, nil
	}
	sp, err := d.seal(f, name, total)
	if err != nil {
		d.discard(f, name)
		return upload{}, spillError(d, err)
	}
	up.piece = piece{sp: sp, n: total}
	return up, nil
}

// refuse reads the rest of a body the disk refused, so the client, still
// sending, reads the error answer rather than a reset connection.
func refuse(body io.Reader, limit int64, err error) error {
	_, _ = io.Copy(io.Discard, io.LimitReader(body, limit))
	return err
}

var (
	errBodyTooLarge = errors.New("body too large")
	errBodyRead     = errors.New("body cut short")
)

// syncDirectory makes a new file's name durable. Windows cannot open a
// directory to fsync it (its file system orders the name with the data).
func syncDirectory(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}
