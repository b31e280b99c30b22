// Package state is the emulator's durable store for --state-dir: one
// append-only record log per service. A service keeps serving from its own
// in-memory structures and mirrors every change into its log as key/value
// records; on start it reads its log back. Without a state dir a service's
// *Log is nil, and every method of a nil *Log does nothing, so the
// in-memory behaviour and speed stay as they were.
//
// File layout (v2): a header line, then records. A record is
//
//	u32 payload length | u64 sequence number | u32 CRC-32C of the payload |
//	u32 CRC-32C of the 16 bytes before it | payload
//
// (little-endian), and a payload is a batch of operations applied all or
// nothing: uvarint count, then per operation a type byte (put, delete,
// delete prefix), the uvarint-prefixed key and, for a put, the
// uvarint-prefixed value. Records of a file are numbered 1, 2, 3...; the
// header checksum lets a reader find the next intact record after damage
// without trusting a damaged length, and the numbers say how many records
// a damaged span held. Files of the v1 format (u32 length | u32 CRC |
// payload, no numbers) still open and are rewritten as v2 at once.
//
// Durability: Write appends a batch (in the order the service applied it to
// memory, under the service's lock) and Wait fsyncs; a service answers a
// request only after Wait returns, so an acknowledged write is on disk.
// Concurrent Waits share one fsync (group commit).
//
// Damage (replay.go): a bad record with no intact record after it is a
// write torn by a crash, never acknowledged: Open keeps its bytes in a side
// file and cuts it. A bad record followed by intact ones is damage to data
// that was acknowledged: Open refuses with a *DamageError naming the file,
// the offset and the records around it, and changes nothing; with
// Options.Repair it keeps every intact record, moves the damaged bytes to a
// side file and says how many records were lost.
// Compaction writes the live records to a new file, fsyncs it and renames
// it over the log (then fsyncs the directory): at every instant the log
// name points to a complete file.
//
// Reads are served from memory, so between Write and Wait another client
// can read a change that is not yet durable (and that a crash in that
// instant loses, unacknowledged to its writer); every change a later write
// depends on is durable before that later write is acknowledged, since
// the log is one ordered file.
//
// Failure policy: a write the disk refuses (a full disk) is undone — the
// file is cut back to where the record started — and returned as a
// *WriteError. For a service that undoes its memory when a write fails
// (RecoverWrites) the log stays usable, so writes succeed again once there
// is space; for the others the log fails, as their memory may now hold a
// change the log does not. A failed fsync leaves the log failed (after a failed fsync the
// kernel may have dropped the unsynced pages, so nothing written since the
// last good fsync can be trusted): every later Write and Wait returns the
// error until restart, so nothing is acknowledged that is not on disk.
package state

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
)

// header starts every log file; a file that does not start with it (or
// with headerV1) is not a state log and Open refuses it.
const header = "miconform state log v2\n"

// headerV1 starts logs written before records had numbers and header
// checksums; Open reads them and rewrites them as v2.
const headerV1 = "miconform state log v1\n"

// maxRecord bounds one record's payload: a length beyond it can only be a
// torn or corrupt length field.
const maxRecord = 1 << 31

// recordHeader is the size of a v2 record's header, recordHeaderV1 of a v1
// record's.
const (
	recordHeader   = 20
	recordHeaderV1 = 8
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

type opType byte

const (
	opPut opType = 1 + iota
	opDelete
	opDeletePrefix
)

// Batch is a set of changes written as one record: after a crash either
// all of them are in the log or none is.
type Batch struct {
	ops  []op
	size int
}

type op struct {
	t   opType
	key string
	val []byte
}

// Put sets key to value. The log keeps its own copy on disk; value may be
// reused once Write returns.
func (b *Batch) Put(key string, value []byte) {
	b.ops = append(b.ops, op{t: opPut, key: key, val: value})
	b.size += 1 + 2*binary.MaxVarintLen64 + len(key) + len(value)
}

// Delete removes key.
func (b *Batch) Delete(key string) {
	b.ops = append(b.ops, op{t: opDelete, key: key})
	b.size += 1 + binary.MaxVarintLen64 + len(key)
}

// DeletePrefix removes every key that starts with prefix (a container and
// its blobs, a vault and its secrets).
func (b *Batch) DeletePrefix(prefix string) {
	b.ops = append(b.ops, op{t: opDeletePrefix, key: prefix})
	b.size += 1 + binary.MaxVarintLen64 + len(prefix)
}

// Len is the number of changes in the batch.
func (b *Batch) Len() int { return len(b.ops) }

// Ticket names a written batch; Wait(t) returns once it is durable.
type Ticket struct {
	gen uint64
	end int64
}

// Options tune a log.
type Options struct {
	// CompactMin is the file size below which the log is never compacted
	// (default 4 MiB). Above it, a write that leaves the file more than
	// twice the size of its live records starts a compaction.
	CompactMin int64
	// MustExist says the log is known to hold data (the state dir's
	// world.json exists): a missing or empty file is then damage, not a
	// new log, and Open refuses it with a *MissingError (with Repair it
	// starts an empty log and says so in Repaired).
	MustExist bool
	// Repair keeps every intact record of a log damaged in the middle:
	// the damaged bytes go to a side file, the log is rewritten without
	// them, and Repaired says how many records were lost.
	Repair bool
}

// Stats describe a log.
type Stats struct {
	Size, Live int64
	Keys       int
	// Compactions counts completed compactions since Open.
	Compactions int
}

// ErrClosed is returned by a closed log.
var ErrClosed = errors.New("state: log closed")

// Log is one service's durable record log. It is safe for concurrent use.
type Log struct {
	path string
	opts Options

	// syncMu is held around fsync and by compaction, so the file a
	// Wait syncs is never swapped or closed under it.
	syncMu sync.Mutex
	mu     sync.RWMutex
	f      *os.File
	// gen counts files: a compaction makes everything durable and starts
	// a new generation, so tickets of older generations are durable.
	gen         uint64
	size        int64
	synced      int64
	index       map[string]loc
	live        int64
	err         error
	closed      bool
	compacting  bool
	compactions int
	recovery    *Recovery
	repaired    *Repaired
	hold        bool
	recoverable bool
	// seq is the number of the last record in the file.
	seq uint64
	// writeAt writes to f; tests replace it to fail as a full disk does.
	writeAt func(f *os.File, p []byte, off int64) (int, error)
	wg      sync.WaitGroup

	// hook, when set (tests), is called at each step of a compaction.
	hook func(step string)
}

// loc is where a live value sits in the file.
type loc struct {
	off, n int64
}

func (l loc) cost(key string) int64 { return recordHeader + 12 + int64(len(key)) + l.n }

// apply updates the index for a batch whose payload starts at base.
func (l *Log) apply(ops []op, valOffs []int64, base int64) {
	for i, o := range ops {
		switch o.t {
		case opPut:
			if old, ok := l.index[o.key]; ok {
				l.live -= old.cost(o.key)
			}
			lc := loc{off: base + valOffs[i], n: int64(len(o.val))}
			l.index[o.key] = lc
			l.live += lc.cost(o.key)
		case opDelete:
			if old, ok := l.index[o.key]; ok {
				l.live -= old.cost(o.key)
				delete(l.index, o.key)
			}
		case opDeletePrefix:
			for k, old := range l.index {
				if strings.HasPrefix(k, o.key) {
					l.live -= old.cost(k)
					delete(l.index, k)
				}
			}
		}
	}
}

// encode makes a record (header included, to be sealed with its number)
// of a batch and returns each put value's offset within the payload.
func encode(b *Batch) ([]byte, []int64) {
	buf := make([]byte, recordHeader, recordHeader+binary.MaxVarintLen64+b.size)
	buf = binary.AppendUvarint(buf, uint64(len(b.ops)))
	offs := make([]int64, len(b.ops))
	for i, o := range b.ops {
		buf = append(buf, byte(o.t))
		buf = binary.AppendUvarint(buf, uint64(len(o.key)))
		buf = append(buf, o.key...)
		if o.t == opPut {
			buf = binary.AppendUvarint(buf, uint64(len(o.val)))
			offs[i] = int64(len(buf) - recordHeader)
			buf = append(buf, o.val...)
		}
	}
	payload := buf[recordHeader:]
	binary.LittleEndian.PutUint32(buf[0:4], uint32(len(payload)))
	binary.LittleEndian.PutUint32(buf[12:16], crc32.Checksum(payload, castagnoli))
	return buf, offs
}

// seal numbers an encoded record and checksums its header.
func seal(rec []byte, seq uint64) {
	binary.LittleEndian.PutUint64(rec[4:12], seq)
	binary.LittleEndian.PutUint32(rec[16:20], crc32.Checksum(rec[:16], castagnoli))
}

// decode parses a payload; put values alias it.
func decode(p []byte) ([]op, []int64, error) {
	count, n := binary.Uvarint(p)
	if n <= 0 || count > uint64(len(p)) {
		return nil, nil, errors.New("bad operation count")
	}
	pos := n
	ops := make([]op, 0, count)
	offs := make([]int64, 0, count)
	str := func() ([]byte, int, error) {
		l, n := binary.Uvarint(p[pos:])
		if n <= 0 || l > uint64(len(p)-pos-n) {
			return nil, 0, errors.New("bad length")
		}
		start := pos + n
		return p[start : start+int(l)], start, nil
	}
	for i := uint64(0); i < count; i++ {
		if pos >= len(p) {
			return nil, nil, errors.New("operations cut short")
		}
		t := opType(p[pos])
		pos++
		if t != opPut && t != opDelete && t != opDeletePrefix {
			return nil, nil, fmt.Errorf("unknown operation %d", t)
		}
		key, start, err := str()
		if err != nil {
			return nil, nil, err
		}
		pos = start + len(key)
		o := op{t: t, key: string(key)}
		var voff int64
		if t == opPut {
			val, start, err := str()
			if err != nil {
				return nil, nil, err
			}
			o.val, voff = val, int64(start)
			pos = start + len(val)
		}
		ops = append(ops, o)
		offs = append(offs, voff)
	}
	if pos != len(p) {
		return nil, nil, errors.New("trailing bytes")
	}
	return ops, offs, nil
}

// Write appends a batch; it is durable once Wait returns for its ticket.
// Call it under the lock that orders the service's changes, so the log
// replays them in the order memory saw them.
func (l *Log) Write(b *Batch) (Ticket, error) {
	if l == nil || b == nil || len(b.ops) == 0 {
		return Ticket{}, nil
	}
	rec, valOffs := encode(b)
	if len(rec)-recordHeader > maxRecord {
		return Ticket{}, fmt.Errorf("state: record of %d bytes is too large", len(rec))
	}
	l.mu.Lock()
	if err := l.usable(); err != nil {
		l.mu.Unlock()
		return Ticket{}, err
	}
	off := l.size
	seal(rec, l.seq+1)
	if _, err := l.writeAt(l.f, rec, off); err != nil {
		werr := &WriteError{Path: l.path, Op: "write", Err: err}
		// Undo what part of the record reached the file, so the next
		// write starts where this one did; only if that fails too is
		// the log's end unknown, and the log fails.
		if terr := l.f.Truncate(off); terr != nil || !l.recoverable {
			werr.Sticky = true
			l.err = werr
		}
		l.mu.Unlock()
		return Ticket{}, werr
	}
	l.seq++
	l.size += int64(len(rec))
	l.apply(b.ops, valOffs, off+recordHeader)
	t := Ticket{gen: l.gen, end: l.size}
	start := !l.compacting && l.size > l.opts.CompactMin && l.size > 2*l.live
	if start {
		l.compacting = true
		l.wg.Add(1)
	}
	l.mu.Unlock()
	if start {
		go func() {
			defer l.wg.Done()
			_ = l.Compact()
			l.mu.Lock()
			l.compacting = false
			l.mu.Unlock()
		}()
	}
	return t, nil
}

func (l *Log) usable() error {
	if l.closed {
		return ErrClosed
	}
	return l.err
}

// Wait returns once the batch of t (and everything written before it) is
// on disk. Writers waiting together share one fsync.
func (l *Log) Wait(t Ticket) error {
	if l == nil || t.end == 0 {
		return nil
	}
	l.syncMu.Lock()
	defer l.syncMu.Unlock()
	l.mu.RLock()
	err, gen, synced, size, f := l.usable(), l.gen, l.synced, l.size, l.f
	l.mu.RUnlock()
	if err != nil {
		return err
	}
	if t.gen < gen || t.end <= synced {
		return nil
	}
	if err := f.Sync(); err != nil {
		l.mu.Lock()
		l.err = &WriteError{Path: l.path, Op: "fsync", Err: err, Sticky: true}
		l.mu.Unlock()
		return l.err
	}
	l.mu.Lock()
	if l.gen == gen && size > l.synced {
		l.synced = size
	}
	l.mu.Unlock()
	return nil
}

// Commit writes a batch and waits until it is durable.
func (l *Log) Commit(b *Batch) error {
	t, err := l.Write(b)
	if err != nil {
		return err
	}
	return l.Wait(t)
}

// Get reads a live value.
func (l *Log) Get(key string) ([]byte, bool, error) {
	if l == nil {
		return nil, false, nil
	}
	l.mu.RLock()
	defer l.mu.RUnlock()
	lc, ok := l.index[key]
	if !ok {
		return nil, false, nil
	}
	b := make([]byte, lc.n)
	if _, err := l.f.ReadAt(b, lc.off); err != nil {
		return nil, false, err
	}
	return b, true, nil
}

// Each calls fn for every live key starting with prefix, in key order
// (services load their state with it at start). fn must not write to the
// log; value is fn's to keep.
func (l *Log) Each(prefix string, fn func(key string, value []byte) error) error {
	if l == nil {
		return nil
	}
	l.mu.RLock()
	defer l.mu.RUnlock()
	for _, k := range l.keysLocked(prefix) {
		lc := l.index[k]
		b := make([]byte, lc.n)
		if _, err := l.f.ReadAt(b, lc.off); err != nil {
			return err
		}
		if err := fn(k, b); err != nil {
			return err
		}
	}
	return nil
}

// Keys lists the live keys starting with prefix, in order.
func (l *Log) Keys(prefix string) []string {
	if l == nil {
		return nil
	}
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.keysLocked(prefix)
}

func (l *Log) keysLocked(prefix string) []string {
	var keys []string
	for k := range l.index {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}

// Recovered reports what Open cut from a torn tail, if anything.
func (l *Log) Recovered() *Recovery {
	if l == nil {
		return nil
	}
	return l.recovery
}

// Stats reports the log's size and live data.
func (l *Log) Stats() Stats {
	if l == nil {
		return Stats{}
	}
	l.mu.RLock()
	defer l.mu.RUnlock()
	return Stats{Size: l.size, Live: l.live, Keys: len(l.index), Compactions: l.compactions}
}

// Err is the error that failed the log, if any.
func (l *Log) Err() error {
	if l == nil {
		return nil
	}
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.err
}

// Compact rewrites the log with only its live records. Writers wait while
// it runs. A crash at any point leaves either the old or the new file
// under the log's name, both complete.
func (l *Log) Compact() error {
	if l == nil {
		return nil
	}
	l.syncMu.Lock()
	defer l.syncMu.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.usable(); err != nil {
		return err
	}
	tmp := l.path + ".compact"
	tf, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	index, size, live, seq, err := l.copyLive(tf)
	if err == nil {
		l.step("written")
		err = tf.Sync()
	}
	if err != nil {
		tf.Close()
		os.Remove(tmp)
		return fmt.Errorf("state: compact %s: %w", l.path, err)
	}
	l.step("synced")
	// replaceOpen (fsync_*.go): a rename over the open log where the
	// system allows it, close-rename-reopen on Windows.
	f, err := replaceOpen(l.f, tf, l.path)
	if err != nil {
		if l.f = f; f == nil {
			l.err = fmt.Errorf("state: compact %s: %w", l.path, err)
		}
		return fmt.Errorf("state: compact %s: %w", l.path, err)
	}
	// From here the name points to the new file: append there whatever
	// happens next.
	l.step("renamed")
	l.f, l.index, l.size, l.live, l.seq = f, index, size, live, seq
	l.gen++
	l.compactions++
	if err := syncDir(filepath.Dir(l.path)); err != nil {
		l.err = fmt.Errorf("state: compact %s: sync directory: %w", l.path, err)
		return l.err
	}
	l.synced = size
	l.step("done")
	return nil
}

// copyLive writes the header and one put record per live key to w.
func (l *Log) copyLive(f *os.File) (map[string]loc, int64, int64, uint64, error) {
	w := bufio.NewWriterSize(f, 1<<20)
	if _, err := w.WriteString(header); err != nil {
		return nil, 0, 0, 0, err
	}
	var seq uint64
	index := make(map[string]loc, len(l.index))
	off, live := int64(len(header)), int64(0)
	for _, k := range l.keysLocked("") {
		lc := l.index[k]
		v := make([]byte, lc.n)
		if _, err := l.f.ReadAt(v, lc.off); err != nil {
			return nil, 0, 0, 0, err
		}
		var b Batch
		b.Put(k, v)
		rec, offs := encode(&b)
		seq++
		seal(rec, seq)
		if _, err := w.Write(rec); err != nil {
			return nil, 0, 0, 0, err
		}
		nl := loc{off: off + recordHeader + offs[0], n: lc.n}
		index[k] = nl
		live += nl.cost(k)
		off += int64(len(rec))
	}
	return index, off, live, seq, w.Flush()
}

func (l *Log) step(s string) {
	if l.hook != nil {
		l.hook(s)
	}
}

// Close waits for a running compaction, syncs and closes the file.
func (l *Log) Close() error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	l.mu.Unlock()
	l.wg.Wait()
	l.syncMu.Lock()
	defer l.syncMu.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	err := l.f.Sync()
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	return err
}

// PutJSON sets key to the JSON encoding of v.
func (b *Batch) PutJSON(key string, v any) error {
	j, err := json.Marshal(v)
	if err != nil {
		return err
	}
	b.Put(key, j)
	return nil
}

// Failure is what Must panics with: a store whose methods cannot return an
// error could not record a change, so the request that made it must not be
// acknowledged (net/http drops the connection of a panicking handler).
type Failure struct{ Err error }

func (f Failure) Error() string { return f.Err.Error() }

// Must panics with Failure when err is not nil.
func Must(err error) {
	if err != nil {
		panic(Failure{err})
	}
}

// Catch runs fn and returns the error of a Failure it panics with (a
// change the store could not record) instead of letting it end the
// request; other panics carry on. Callers that must undo or accept a
// refusal themselves use it.
func Catch(fn func()) (err error) {
	defer func() {
		if v := recover(); v != nil {
			f, ok := v.(Failure)
			if !ok {
				panic(v)
			}
			err = f.Err
		}
	}()
	fn()
	return nil
}
