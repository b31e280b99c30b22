package state

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Recovery says what Open cut from the end of a log: a write torn by a
// crash, which was never acknowledged.
type Recovery struct {
	// Offset is where the first bad record started; Bytes how many bytes
	// from there on were cut.
	Offset, Bytes int64
	// Reason is why the record there was refused.
	Reason string
	// SavedAs is the side file that keeps the cut bytes.
	SavedAs string
}

// Damage is one damaged span in the middle of a log: bytes that fail their
// checksums with intact records after them.
type Damage struct {
	// Offset is where the span starts in the file, Bytes its length.
	Offset, Bytes int64
	// Reason is why the record at Offset was refused.
	Reason string
	// Before and After count the intact records before and after the
	// span (After: in the rest of the file, other spans aside).
	Before, After int
	// Lost is how many records the span held, -1 when the file format
	// cannot tell (v1 logs have no record numbers).
	Lost int
}

func (d Damage) lost() string {
	if d.Lost < 0 {
		return "an unknown number of records (at least 1)"
	}
	return plural(d.Lost, "record")
}

// DamageError is Open's refusal of a log damaged in the middle. Nothing in
// the file was changed.
type DamageError struct {
	Path  string
	Spans []Damage
}

func (e *DamageError) Error() string {
	d := e.Spans[0]
	var b strings.Builder
	fmt.Fprintf(&b, "state: %s is damaged at offset %d (%s): %d damaged bytes holding %s, with %s intact before them and %s after",
		e.Path, d.Offset, d.Reason, d.Bytes, d.lost(), plural(d.Before, "record"), plural(d.After, "record"))
	if len(e.Spans) > 1 {
		fmt.Fprintf(&b, " (and %s more further on)", plural(len(e.Spans)-1, "damaged span"))
	}
	b.WriteString("; intact records follow the damage, so it is not a write torn by a crash, and nothing was cut or changed")
	return b.String()
}

// Repaired says what Open with Options.Repair did to a damaged log.
type Repaired struct {
	// Spans are the damaged spans set aside, in file order.
	Spans []Damage
	// Kept is how many intact records were kept; Lost how many records
	// the damaged spans held (-1 when the format cannot tell).
	Kept, Lost int
	// Missing is set when the log was missing or empty and an empty one
	// was started.
	Missing bool
	// SavedAs is the side file holding the damaged bytes, span after
	// span.
	SavedAs string
}

// String describes the repair for the operator.
func (r *Repaired) String() string {
	if r.Missing {
		return "the log was missing or empty; started an empty one (whatever it held is lost)"
	}
	var bytes int64
	for _, d := range r.Spans {
		bytes += d.Bytes
	}
	lost := "an unknown number of records (at least " + plural(len(r.Spans), "record") + ")"
	if r.Lost >= 0 {
		lost = plural(r.Lost, "record")
	}
	return fmt.Sprintf("kept %s, lost %s in %s of damage (%d bytes, set aside in %s)",
		plural(r.Kept, "intact record"), lost, plural(len(r.Spans), "span"), bytes, r.SavedAs)
}

// MissingError is Open's refusal of a log that should hold data but is
// missing or empty.
type MissingError struct {
	Path  string
	Empty bool
}

func (e *MissingError) Error() string {
	what := "is missing"
	if e.Empty {
		what = "is empty"
	}
	return fmt.Sprintf("state: %s %s although the state dir holds a world (world.json), so its records were lost; it is not a fresh start", e.Path, what)
}

// WriteError is a write or fsync the disk refused. A refused write was
// undone and the log goes on (Sticky false); a failed fsync leaves the log
// failed until restart (Sticky true).
type WriteError struct {
	Path, Op string
	Err      error
	Sticky   bool
}

func (e *WriteError) Error() string {
	return fmt.Sprintf("state: %s: %s: %v", e.Path, e.Op, e.Err)
}

func (e *WriteError) Unwrap() error { return e.Err }

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// Open opens (creating it if needed) the log at path and reads it back.
func Open(path string, opts Options) (*Log, error) {
	if opts.CompactMin <= 0 {
		opts.CompactMin = 4 << 20
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	// A compaction that did not reach its rename left this behind; the
	// log itself is complete.
	if err := os.Remove(path + ".compact"); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	flags := os.O_RDWR | os.O_CREATE
	if opts.MustExist && !opts.Repair {
		flags = os.O_RDWR
	}
	f, err := os.OpenFile(path, flags, 0o600)
	if errors.Is(err, os.ErrNotExist) && opts.MustExist {
		return nil, &MissingError{Path: path}
	}
	if err != nil {
		return nil, err
	}
	l := &Log{path: path, opts: opts, f: f, gen: 1, index: map[string]loc{}, writeAt: writeFileAt}
	upgrade, err := l.replay()
	if err != nil {
		f.Close()
		var de *DamageError
		var me *MissingError
		if errors.As(err, &de) || errors.As(err, &me) {
			return nil, err
		}
		return nil, fmt.Errorf("state: %s: %w", path, err)
	}
	if upgrade {
		// A repaired log is rewritten without its damage, a v1 log in
		// the v2 format: both by one compaction.
		if err := l.Compact(); err != nil {
			f.Close()
			return nil, err
		}
		l.compactions = 0
	}
	return l, nil
}

// record is one parsed record.
type record struct {
	n       int64 // bytes, header included
	seq     uint64
	ops     []op
	valOffs []int64
}

// replay rebuilds the index from the file. It cuts a torn tail and refuses
// (or, with Repair, sets aside) damage in the middle; it returns whether
// the file must be rewritten.
func (l *Log) replay() (bool, error) {
	st, err := l.f.Stat()
	if err != nil {
		return false, err
	}
	fileSize := st.Size()
	if fileSize < int64(len(header)) {
		b := make([]byte, fileSize)
		if _, err := l.f.ReadAt(b, 0); err != nil && err != io.EOF {
			return false, err
		}
		if !strings.HasPrefix(header, string(b)) && !strings.HasPrefix(headerV1, string(b)) {
			return false, fmt.Errorf("not a miconform state log")
		}
		if l.opts.MustExist {
			if !l.opts.Repair {
				return false, &MissingError{Path: l.path, Empty: true}
			}
			l.repaired = &Repaired{Missing: true}
		}
		// New, or a crash while the header was being written: nothing
		// was ever acknowledged from it.
		if err := l.f.Truncate(0); err != nil {
			return false, err
		}
		if _, err := l.f.WriteAt([]byte(header), 0); err != nil {
			return false, err
		}
		if err := l.f.Sync(); err != nil {
			return false, err
		}
		l.size, l.synced = int64(len(header)), int64(len(header))
		return false, syncDir(filepath.Dir(l.path))
	}
	hb := make([]byte, len(header))
	if _, err := l.f.ReadAt(hb, 0); err != nil {
		return false, err
	}
	v1 := string(hb) == headerV1
	if !v1 && string(hb) != header {
		return false, fmt.Errorf("not a miconform state log (header %q)", hb)
	}
	w := &window{r: l.f, size: fileSize}
	off := int64(len(header))
	var spans []Damage
	records := 0
	torn := ""
	for off < fileSize {
		r, reason := parseAt(w, off, v1)
		if reason == "" && !v1 && r.seq != l.seq+1 {
			if r.seq <= l.seq {
				reason = fmt.Sprintf("record number %d after %d", r.seq, l.seq)
			} else {
				// Intact, but records are missing before it.
				spans = append(spans, Damage{Offset: off, Reason: fmt.Sprintf("records %d to %d missing", l.seq+1, r.seq-1), Before: records, Lost: int(r.seq - l.seq - 1)})
			}
		}
		if reason == "" {
			l.apply(r.ops, r.valOffs, off+headerSize(v1))
			l.seq = r.seq
			records++
			off += r.n
			continue
		}
		next, nr := scan(w, off+1, v1, l.seq)
		if next < 0 {
			torn = reason
			break
		}
		d := Damage{Offset: off, Bytes: next - off, Reason: reason, Before: records, Lost: -1}
		if !v1 {
			d.Lost = int(nr.seq - l.seq - 1)
			l.seq = nr.seq - 1
		}
		spans = append(spans, d)
		off = next
	}
	lost := 0
	for i := range spans {
		spans[i].After = records - spans[i].Before
		if spans[i].Lost < 0 || lost < 0 {
			lost = -1
		} else {
			lost += spans[i].Lost
		}
	}
	if len(spans) > 0 && !l.opts.Repair {
		return false, &DamageError{Path: l.path, Spans: spans}
	}
	if len(spans) > 0 {
		side, err := l.saveAside(".damaged", spans)
		if err != nil {
			return false, err
		}
		l.repaired = &Repaired{Spans: spans, Kept: records, Lost: lost, SavedAs: side}
	}
	if torn != "" {
		if err := l.cutTail(off, fileSize, torn); err != nil {
			return false, err
		}
	}
	l.size, l.synced = off, off
	return v1 || len(spans) > 0, nil
}

func headerSize(v1 bool) int64 {
	if v1 {
		return recordHeaderV1
	}
	return recordHeader
}

// parseAt reads the record at off; reason says why it is not intact.
func parseAt(w *window, off int64, v1 bool) (record, string) {
	hs := headerSize(v1)
	h, err := w.at(off, int(hs))
	if err != nil {
		return record{}, "record header cut short"
	}
	n := int64(binary.LittleEndian.Uint32(h[0:4]))
	var seq uint64
	var sum uint32
	if v1 {
		sum = binary.LittleEndian.Uint32(h[4:8])
	} else {
		if crc32.Checksum(h[:16], castagnoli) != binary.LittleEndian.Uint32(h[16:20]) {
			return record{}, "record header checksum mismatch"
		}
		seq, sum = binary.LittleEndian.Uint64(h[4:12]), binary.LittleEndian.Uint32(h[12:16])
	}
	if n == 0 || n > maxRecord || off+hs+n > w.size {
		return record{}, "record cut short"
	}
	p, err := w.at(off+hs, int(n))
	if err != nil {
		return record{}, "record cut short"
	}
	if crc32.Checksum(p, castagnoli) != sum {
		return record{}, "checksum mismatch"
	}
	ops, valOffs, err := decode(p)
	if err != nil {
		return record{}, "undecodable record: " + err.Error()
	}
	return record{n: hs + n, seq: seq, ops: ops, valOffs: valOffs}, ""
}

// scan finds the first intact record at or after from (numbered after
// last), or returns -1.
func scan(w *window, from int64, v1 bool, last uint64) (int64, record) {
	for pos := from; pos+headerSize(v1) <= w.size; pos++ {
		if r, reason := parseAt(w, pos, v1); reason == "" && (v1 || r.seq > last) {
			return pos, r
		}
	}
	return -1, record{}
}

// window reads a file through a buffer of at least 1 MiB, so replay and
// the byte-by-byte scan past damage cost few system calls. A returned
// slice is valid until the next call.
type window struct {
	r     io.ReaderAt
	size  int64
	buf   []byte
	start int64
}

func (w *window) at(off int64, n int) ([]byte, error) {
	if off >= w.start && off+int64(n) <= w.start+int64(len(w.buf)) {
		return w.buf[off-w.start : off-w.start+int64(n)], nil
	}
	if off+int64(n) > w.size {
		return nil, io.ErrUnexpectedEOF
	}
	m := int64(max(n, 1<<20))
	m = min(m, w.size-off)
	if int64(cap(w.buf)) < m {
		w.buf = make([]byte, m)
	}
	w.buf = w.buf[:m]
	if _, err := w.r.ReadAt(w.buf, off); err != nil && err != io.EOF {
		w.buf = w.buf[:0]
		return nil, err
	}
	w.start = off
	return w.buf[:n], nil
}

// saveAside copies the damaged spans to a new side file.
func (l *Log) saveAside(kind string, spans []Damage) (string, error) {
	side := fmt.Sprintf("%s%s-%d", l.path, kind, time.Now().UnixNano())
	sf, err := os.OpenFile(side, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", err
	}
	for _, d := range spans {
		if _, err := io.Copy(sf, io.NewSectionReader(l.f, d.Offset, d.Bytes)); err != nil {
			sf.Close()
			return "", err
		}
	}
	if err := sf.Sync(); err != nil {
		sf.Close()
		return "", err
	}
	if err := sf.Close(); err != nil {
		return "", err
	}
	return side, syncDir(filepath.Dir(l.path))
}

// cutTail keeps the bytes from off on in a side file, then truncates the
// log there.
func (l *Log) cutTail(off, fileSize int64, reason string) error {
	side, err := l.saveAside(".torn", []Damage{{Offset: off, Bytes: fileSize - off}})
	if err != nil {
		return err
	}
	if err := l.f.Truncate(off); err != nil {
		return err
	}
	if err := l.f.Sync(); err != nil {
		return err
	}
	l.recovery = &Recovery{Offset: off, Bytes: fileSize - off, Reason: reason, SavedAs: side}
	return nil
}

// Repaired reports what Open with Options.Repair set aside, if anything.
func (l *Log) Repaired() *Repaired {
	if l == nil {
		return nil
	}
	return l.repaired
}

// InjectWriteFault makes every later write call fn first; when fn returns
// an error the write fails with it after writing half the record, as a
// disk that fills up in the middle of a write does. fn nil ends it. For
// tests of full-disk behaviour.
func (l *Log) InjectWriteFault(fn func() error) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if fn == nil {
		l.writeAt = writeFileAt
		return
	}
	l.writeAt = func(f *os.File, p []byte, off int64) (int, error) {
		if err := fn(); err != nil {
			n, _ := f.WriteAt(p[:len(p)/2], off)
			return n, err
		}
		return f.WriteAt(p, off)
	}
}

// HoldReconciliation marks l as opened beside a log that was damaged or
// repaired: the service that owns it must not drop records because
// another service's state lacks what they belong to, since that state may
// be what was lost.
func (l *Log) HoldReconciliation() {
	if l == nil {
		return
	}
	l.mu.Lock()
	l.hold = true
	l.mu.Unlock()
}

// Reconciles says whether the service owning l may drop records another
// service's state no longer backs (a crash between the two services'
// writes leaves such records). True unless HoldReconciliation was called.
func (l *Log) Reconciles() bool {
	if l == nil {
		return true
	}
	l.mu.RLock()
	defer l.mu.RUnlock()
	return !l.hold
}

// RecoverWrites declares that the service owning l undoes its in-memory
// change when Write fails (it reloads from the log), so a write the disk
// refuses need not fail the log: later writes are tried again.
func (l *Log) RecoverWrites() {
	if l == nil {
		return
	}
	l.mu.Lock()
	l.recoverable = true
	l.mu.Unlock()
}
