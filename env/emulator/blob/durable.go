package blob

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/miconform/miconform/env/emulator/arm"
	"github.com/miconform/miconform/env/emulator/state"
)

// Persistence (--state-dir): durableStore is the memory store with every
// change recorded in a state log before it is acknowledged. Keys:
//
//	a/{account}                                  account keys and settings
//	c/{account}/{container}                      container properties
//	b/{account}/{container}/{blob}               blob properties, block list, data
//	k/{account}/{container}/{len(blob)}/{blob}{block id}   uncommitted block
//	f/{account}/{container}/{len(blob)}/{blob}{block id}   uncommitted block in a data file
//	l/{account}/{container}/{blob}               the blob's lease
//	s/{account}/{container}/{len(blob)}/{blob}{snapshot time}   snapshot
//	p/{account}/{container}/{len(blob)}/{blob}{block number}    appended block
//
// A blob or block larger than spillThreshold is not in its record: the
// record names a data file in the state dir's blobdata directory
// (spill.go), written and fsynced before the record. A file no record
// names (an upload cut by a crash) is removed at start.
//
// Account and container names never hold "/"; the length in the k, f, s and
// p keys makes "all of this blob's" a prefix that no other blob's share.
// A lease has its own record so a renewal does not rewrite the blob's
// data; an append blob is its b record plus its p records in order, so an
// Append Block writes one block, not the whole blob (any write of the b
// record folds the p records in and drops them).
type durableStore struct {
	mem *memStore
	log *state.Log
	// wmu orders changes so the log replays them in the order memory saw
	// them; readers go straight to memory.
	wmu sync.Mutex
	// staged holds the k, s and p prefixes (blobPrefix) of every blob
	// with uncommitted blocks, snapshots or appended blocks, so a write
	// adds a prefix delete only when there is something to delete (a
	// prefix delete scans the log's index).
	staged map[string]bool
}

// Persist loads the accounts and blobs l holds, keeping only accounts
// Resource Manager (loaded first) still has, and from then on records every
// change in l: the Store becomes a durable one.
// Large blobs' bytes go to files in dataDir.
func (s *Service) Persist(l *state.Log, a *arm.Server, dataDir string) error {
	sd := newSpillDir(dataDir, true)
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return err
	}
	mem := newMemStore(sd)
	live := map[string]bool{}
	for _, res := range a.Resources(TypeStorageAccount) {
		live[res.Name] = true
	}
	var gone state.Batch
	staged := map[string]bool{}
	load := func(k string, v []byte) error {
		kind, rest, _ := strings.Cut(k, "/")
		account, rest, _ := strings.Cut(rest, "/")
		if !live[account] {
			// Resource Manager deleted the account; a crash came before
			// its data went.
			gone.Delete(k)
			return nil
		}
		if kind == "a" {
			var acct Account
			if err := json.Unmarshal(v, &acct); err != nil {
				return err
			}
			s.accounts[account] = &acct
			return nil
		}
		return restoreRecord(mem, staged, k, v)
	}
	// Containers before the blobs in them, blobs before what hangs on
	// them; appended blocks in key (block number) order.
	for _, prefix := range append([]string{"a/"}, blobRecordPrefixes...) {
		if err := l.Each(prefix, load); err != nil {
			return err
		}
	}
	if !l.Reconciles() {
		// Another service's state was damaged: Resource Manager may
		// have lost the account, not the account its blobs.
		gone = state.Batch{}
	}
	if err := l.Commit(&gone); err != nil {
		return err
	}
	d := &durableStore{mem: mem, log: l, staged: staged}
	s.Store = d
	// Files no record names are uploads a crash cut short; from now on a
	// file whose last handle is collected goes under wmu, when memory
	// mirrors the log (so no record names it either).
	sd.removeOrphans()
	sd.mu.Lock()
	sd.reap = func(name string) {
		d.wmu.Lock()
		defer d.wmu.Unlock()
		sd.removeUnused(name)
	}
	sd.mu.Unlock()
	// A write the disk refuses is undone in memory (reload), so the log
	// may go on after it.
	l.RecoverWrites()
	s.log = l
	// State written before user delegation keys existed has no secret to
	// derive them from; one is made and kept from now on.
	var bare []string
	for name, a := range s.accounts {
		if len(a.DelegationSecret) == 0 {
			a.DelegationSecret = newKey()
			bare = append(bare, name)
		}
	}
	for _, name := range bare {
		s.saveAccount(name)
	}
	// A crash between Resource Manager storing a new account and its keys
	// being recorded leaves an account that was never acknowledged and
	// has no keys: it goes, as if the PUT had not happened.
	for _, res := range a.Resources(TypeStorageAccount) {
		if _, ok := s.accounts[res.Name]; !ok && l.Reconciles() {
			a.DeleteResource(res.ID)
		}
	}
	return nil
}

// restoreRecord loads one record other than an account's into mem.
func restoreRecord(mem *memStore, staged map[string]bool, k string, v []byte) error {
	kind, rest, _ := strings.Cut(k, "/")
	account, rest, _ := strings.Cut(rest, "/")
	switch kind {
	case "c":
		var c Container
		if err := json.Unmarshal(v, &c); err != nil {
			return err
		}
		mem.restoreContainer(account, c)
	case "b":
		container, _, _ := strings.Cut(rest, "/")
		if _, err := mem.container(account, container); err != nil {
			// Its container is gone: the blob goes with it (and its
			// data file, not opened, is an orphan removed at start).
			return nil
		}
		b, err := decodeBlob(v, mem.spill)
		if err != nil {
			return err
		}
		mem.restoreBlob(account, container, b)
	case "l":
		container, name, _ := strings.Cut(rest, "/")
		var l Lease
		if err := json.Unmarshal(v, &l); err != nil {
			return err
		}
		mem.restoreLease(account, container, name, l)
	case "k", "f", "s", "p":
		container, rest, _ := strings.Cut(rest, "/")
		n, rest, _ := strings.Cut(rest, "/")
		size, err := strconv.Atoi(n)
		if err != nil || size < 0 || size > len(rest) {
			return errors.New("blob: bad " + kind + " key")
		}
		name, tail := rest[:size], rest[size:]
		staged[blobPrefix(kind, account, container, name)] = true
		if c, err := mem.container(account, container); err != nil || (kind == "s" && c.blobs[name] == nil) {
			// Nothing to hang on: restore* would drop it (see "b").
			return nil
		}
		switch kind {
		case "k":
			mem.restoreStaged(account, container, name, tail, memPiece(v))
		case "f":
			var ref fileRef
			if err := json.Unmarshal(v, &ref); err != nil {
				return err
			}
			sp, err := mem.spill.open(ref.File, ref.Size)
			if err != nil {
				return err
			}
			mem.restoreStaged(account, container, name, tail, piece{sp: sp, n: sp.n})
		case "s":
			b, err := decodeBlob(v, mem.spill)
			if err != nil {
				return err
			}
			mem.restoreSnapshot(account, container, b)
		case "p":
			etag, modified, data, err := decodeAppended(v)
			if err != nil {
				return err
			}
			mem.restoreAppended(account, container, name, etag, modified, data)
		}
	}
	return nil
}

// blobRecordPrefixes are the record kinds of the store, in load order:
// containers before the blobs in them, blobs before what hangs on them;
// appended blocks in key (block number) order.
var blobRecordPrefixes = []string{"c/", "b/", "k/", "f/", "l/", "s/", "p/"}

// stagedKinds are the record kinds that hang on a blob under its prefix.
var stagedKinds = []string{"k", "f", "s", "p"}

// fileRef names a data file and its length.
type fileRef struct {
	File string
	Size int64
}

// reload makes memory what the log holds again, after a change memory took
// could not be logged (a full disk): nothing unrecorded is served, or
// built on by a later write that the disk then takes. Under wmu.
func (d *durableStore) reload() {
	mem := newMemStore(d.mem.spill)
	staged := map[string]bool{}
	for _, prefix := range blobRecordPrefixes {
		if err := d.log.Each(prefix, func(k string, v []byte) error { return restoreRecord(mem, staged, k, v) }); err != nil {
			return
		}
	}
	d.mem.mu.Lock()
	d.mem.accounts = mem.accounts
	d.mem.mu.Unlock()
	d.staged = staged
}

// saveAccount records an account's current state (or its removal).
func (s *Service) saveAccount(name string) {
	state.Must(s.writeAccount(name, true))
}

// writeAccount records the account as memory holds it (its removal when
// memory has none). A write the state dir refuses puts memory back to what
// the log holds when revert is set.
func (s *Service) writeAccount(name string, revert bool) error {
	if s.log == nil {
		return nil
	}
	var b state.Batch
	s.mu.Lock()
	if a, ok := s.accounts[name]; ok {
		if err := b.PutJSON("a/"+name, a); err != nil {
			s.mu.Unlock()
			return err
		}
	} else {
		b.Delete("a/" + name)
	}
	t, err := s.log.Write(&b)
	if err != nil && revert {
		// Refused (a full disk): memory goes back to what the log holds.
		delete(s.accounts, name)
		if v, ok, _ := s.log.Get("a/" + name); ok {
			var a Account
			if json.Unmarshal(v, &a) == nil {
				s.accounts[name] = &a
			}
		}
	}
	s.mu.Unlock()
	if err != nil {
		return err
	}
	return s.log.Wait(t)
}

func containerKey(account, container string) string { return "c/" + account + "/" + container }
func blobKey(account, container, name string) string {
	return "b/" + account + "/" + container + "/" + name
}
func leaseKey(account, container, name string) string {
	return "l/" + account + "/" + container + "/" + name
}

// blobPrefix is the prefix of a blob's k (uncommitted block), s
// (snapshot) or p (appended block) records.
func blobPrefix(kind, account, container, blob string) string {
	return kind + "/" + account + "/" + container + "/" + strconv.Itoa(len(blob)) + "/" + blob
}

func stagedPrefix(account, container, blob string) string {
	return blobPrefix("k", account, container, blob)
}

// appendedMeta is what an appended block's record holds beside the bytes:
// the blob's ETag and time after the append.
type appendedMeta struct {
	ETag         string
	LastModified time.Time
}

// encodeAppended is u32 length of the JSON, the JSON, the block's bytes.
func encodeAppended(b Blob, data []byte) ([]byte, error) {
	j, err := json.Marshal(appendedMeta{ETag: b.ETag, LastModified: b.LastModified})
	if err != nil {
		return nil, err
	}
	out := make([]byte, 4, 4+len(j)+len(data))
	binary.LittleEndian.PutUint32(out, uint32(len(j)))
	out = append(out, j...)
	return append(out, data...), nil
}

func decodeAppended(v []byte) (string, time.Time, []byte, error) {
	if len(v) < 4 || int(binary.LittleEndian.Uint32(v)) > len(v)-4 {
		return "", time.Time{}, nil, errors.New("blob: bad appended block record")
	}
	n := int(binary.LittleEndian.Uint32(v))
	var m appendedMeta
	if err := json.Unmarshal(v[4:4+n], &m); err != nil {
		return "", time.Time{}, nil, err
	}
	return m.ETag, m.LastModified, v[4+n:], nil
}

// blobMeta is a blob's record without its data.
type blobMeta struct {
	Blob
	Blocks []blockMeta
	// File and Size name the data file of a blob whose bytes are not in
	// the record.
	File string `json:",omitempty"`
	Size int64  `json:",omitempty"`
}

type blockMeta struct {
	ID  string
	Len int64
}

// encodeBlob is u32 length of the JSON properties, the properties, the data.
func encodeBlob(b Blob) ([]byte, error) {
	m := blobMeta{Blob: b}
	m.Data = nil
	if b.sp != nil {
		m.File, m.Size = b.sp.name, b.sp.n
	}
	for _, bl := range b.blocks {
		m.Blocks = append(m.Blocks, blockMeta{ID: bl.id, Len: bl.n})
	}
	j, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 4, 4+len(j)+len(b.Data))
	binary.LittleEndian.PutUint32(out, uint32(len(j)))
	out = append(out, j...)
	return append(out, b.Data...), nil
}

func decodeBlob(v []byte, sd *spillDir) (Blob, error) {
	if len(v) < 4 || int(binary.LittleEndian.Uint32(v)) > len(v)-4 {
		return Blob{}, errors.New("blob: bad blob record")
	}
	n := int(binary.LittleEndian.Uint32(v))
	var m blobMeta
	if err := json.Unmarshal(v[4:4+n], &m); err != nil {
		return Blob{}, err
	}
	b := m.Blob
	b.setContent(memPiece(v[4+n:]))
	if m.File != "" {
		sp, err := sd.open(m.File, m.Size)
		if err != nil {
			return Blob{}, err
		}
		b.setContent(piece{sp: sp, n: sp.n})
	}
	all := b.content()
	var off int64
	for _, bm := range m.Blocks {
		if bm.Len < 0 || off+bm.Len > all.n {
			return Blob{}, errors.New("blob: block list longer than the data")
		}
		b.blocks = append(b.blocks, block{id: bm.ID, piece: all.sub(off, bm.Len)})
		off += bm.Len
	}
	return b, nil
}

// commit writes b under wmu and waits for it once wmu is released.
func (d *durableStore) commit(b *state.Batch) error {
	t, err := d.log.Write(b)
	if err != nil {
		d.reload()
		d.wmu.Unlock()
		return err
	}
	d.wmu.Unlock()
	return d.log.Wait(t)
}

// record makes a change in memory under wmu and, when memory takes it,
// logs the records put adds to a batch before answering. A change memory
// refuses, or one put cannot encode, logs nothing.
func record[T any](d *durableStore, change func() (T, error), put func(*state.Batch, T) error) (T, error) {
	d.wmu.Lock()
	v, err := change()
	if err != nil {
		d.wmu.Unlock()
		return v, err
	}
	var b state.Batch
	if err := put(&b, v); err != nil {
		d.wmu.Unlock()
		var zero T
		return zero, err
	}
	return v, d.commit(&b)
}

// recordErr is record for a change that answers only an error.
func (d *durableStore) recordErr(change func() error, put func(*state.Batch)) error {
	_, err := record(d, func() (struct{}, error) { return struct{}{}, change() },
		func(b *state.Batch, _ struct{}) error { put(b); return nil })
	return err
}

func (d *durableStore) CreateContainer(account, name string, c Container) (Container, error) {
	return record(d, func() (Container, error) { return d.mem.CreateContainer(account, name, c) },
		func(b *state.Batch, c Container) error { return b.PutJSON(containerKey(account, name), c) })
}

func (d *durableStore) GetContainer(account, name string) (Container, error) {
	return d.mem.GetContainer(account, name)
}

func (d *durableStore) DeleteContainer(account, name string, cond func(*Container) error) error {
	return d.recordErr(func() error { return d.mem.DeleteContainer(account, name, cond) }, func(b *state.Batch) {
		b.Delete(containerKey(account, name))
		b.DeletePrefix(blobKey(account, name, ""))
		b.DeletePrefix(leaseKey(account, name, ""))
		for _, kind := range stagedKinds {
			d.dropStaged(b, kind+"/"+account+"/"+name+"/")
		}
	})
}

func (d *durableStore) ListContainers(account, prefix, marker string, max int) ([]Container, string) {
	return d.mem.ListContainers(account, prefix, marker, max)
}

// putBlob records a blob's whole new committed state: its b record, which
// replaces its uncommitted and appended blocks.
func (d *durableStore) putBlob(account, container, name string, change func() (Blob, error)) (Blob, error) {
	return record(d, change, func(b *state.Batch, bl Blob) error {
		v, err := encodeBlob(bl)
		if err != nil {
			return err
		}
		b.Put(blobKey(account, container, name), v)
		d.dropStaged(b, stagedPrefix(account, container, name))
		d.dropStaged(b, blobPrefix("f", account, container, name))
		d.dropStaged(b, blobPrefix("p", account, container, name))
		return nil
	})
}

func (d *durableStore) PutBlob(account, container, name string, b Blob, cond func(*Blob) error) (Blob, error) {
	return d.putBlob(account, container, name, func() (Blob, error) { return d.mem.PutBlob(account, container, name, b, cond) })
}

func (d *durableStore) GetBlob(account, container, name string) (Blob, error) {
	return d.mem.GetBlob(account, container, name)
}

func (d *durableStore) DeleteBlob(account, container, name string, del Deletion, cond func(*Blob) error) error {
	return d.recordErr(func() error { return d.mem.DeleteBlob(account, container, name, del, cond) }, func(b *state.Batch) {
		switch {
		case del.Snapshot != "":
			b.Delete(blobPrefix("s", account, container, name) + del.Snapshot)
		case del.Snapshots == "only":
			d.dropStaged(b, blobPrefix("s", account, container, name))
		default:
			b.Delete(blobKey(account, container, name))
			b.Delete(leaseKey(account, container, name))
			for _, kind := range stagedKinds {
				d.dropStaged(b, blobPrefix(kind, account, container, name))
			}
		}
	})
}

func (d *durableStore) ListBlobs(account, container, prefix, marker string, max int, snapshots bool) ([]Blob, string, error) {
	return d.mem.ListBlobs(account, container, prefix, marker, max, snapshots)
}

func (d *durableStore) GetSnapshot(account, container, name, snapshot string) (Blob, error) {
	return d.mem.GetSnapshot(account, container, name, snapshot)
}

func (d *durableStore) Snapshot(account, container, name string, meta map[string]string, cond func(*Blob) error) (Blob, error) {
	return record(d, func() (Blob, error) { return d.mem.Snapshot(account, container, name, meta, cond) },
		func(b *state.Batch, sn Blob) error {
			v, err := encodeBlob(sn)
			if err != nil {
				return err
			}
			p := blobPrefix("s", account, container, name)
			b.Put(p+sn.Snapshot, v)
			d.staged[p] = true
			return nil
		})
}

func (d *durableStore) LeaseBlob(account, container, name string, fn func(*Blob) error) (Blob, error) {
	return record(d, func() (Blob, error) { return d.mem.LeaseBlob(account, container, name, fn) },
		func(b *state.Batch, bl Blob) error {
			if bl.Lease.ID == "" {
				b.Delete(leaseKey(account, container, name))
				return nil
			}
			return b.PutJSON(leaseKey(account, container, name), bl.Lease)
		})
}

func (d *durableStore) LeaseContainer(account, name string, fn func(*Container) error) (Container, error) {
	return record(d, func() (Container, error) { return d.mem.LeaseContainer(account, name, fn) },
		func(b *state.Batch, c Container) error { return b.PutJSON(containerKey(account, name), c) })
}

func (d *durableStore) AppendBlock(account, container, name string, data []byte, cond func(*Blob) error) (Blob, error) {
	return record(d, func() (Blob, error) { return d.mem.AppendBlock(account, container, name, data, cond) },
		func(b *state.Batch, bl Blob) error {
			v, err := encodeAppended(bl, data)
			if err != nil {
				return err
			}
			p := blobPrefix("p", account, container, name)
			// Five digits hold block numbers up to maxAppendBlocks, so key
			// order is append order.
			b.Put(p+fmt.Sprintf("%05d", len(bl.blocks)-1), v)
			d.staged[p] = true
			return nil
		})
}

func (d *durableStore) PutBlock(account, container, blob, id string, data piece, cond func(*Blob) error) error {
	return d.recordErr(func() error { return d.mem.PutBlock(account, container, blob, id, data, cond) }, func(b *state.Batch) {
		// A block is a k record (its bytes) or an f record (its data
		// file); the other kind's record of the same id goes.
		k, f := stagedPrefix(account, container, blob), blobPrefix("f", account, container, blob)
		if data.sp == nil {
			b.Put(k+id, data.mem)
			b.Delete(f + id)
			d.staged[k] = true
		} else {
			state.Must(b.PutJSON(f+id, fileRef{File: data.sp.name, Size: data.n}))
			b.Delete(k + id)
			d.staged[f] = true
		}
	})
}

func (d *durableStore) spills() *spillDir { return d.mem.spill }

func (d *durableStore) CommitBlocks(account, container, name string, list []BlockRef, props Blob, cond func(*Blob) error) (Blob, error) {
	return d.putBlob(account, container, name, func() (Blob, error) { return d.mem.CommitBlocks(account, container, name, list, props, cond) })
}

func (d *durableStore) DropAccount(account string) {
	d.wmu.Lock()
	d.mem.DropAccount(account)
	var b state.Batch
	b.DeletePrefix("c/" + account + "/")
	b.DeletePrefix("b/" + account + "/")
	b.DeletePrefix("l/" + account + "/")
	for _, kind := range stagedKinds {
		d.dropStaged(&b, kind+"/"+account+"/")
	}
	state.Must(d.commit(&b))
}

// dropStaged deletes the uncommitted blocks under prefix, if any; under wmu.
func (d *durableStore) dropStaged(b *state.Batch, prefix string) {
	found := false
	for p := range d.staged {
		if strings.HasPrefix(p, prefix) {
			delete(d.staged, p)
			found = true
		}
	}
	if found {
		b.DeletePrefix(prefix)
	}
}

// The restore helpers put records back into the memory store at start.

func (s *memStore) restoreContainer(account string, c Container) {
	a := s.accounts[account]
	if a == nil {
		a = &memAccount{containers: map[string]*memContainer{}}
		s.accounts[account] = a
	}
	a.containers[c.Name] = newMemContainer(c)
}

func (s *memStore) restoreLease(account, container, name string, l Lease) {
	if _, b, err := s.blob(account, container, name); err == nil {
		b.Lease = l
	}
}

func (s *memStore) restoreSnapshot(account, container string, b Blob) {
	if c, _, err := s.blob(account, container, b.Name); err == nil {
		c.snaps[b.Name] = append(c.snaps[b.Name], &b)
	}
}

func (s *memStore) restoreAppended(account, container, name, etag string, modified time.Time, data []byte) {
	if _, b, err := s.blob(account, container, name); err == nil && b.Type == appendBlob {
		s.appendData(b, data, modified, etag)
	}
}

func (s *memStore) restoreBlob(account, container string, b Blob) {
	if c, err := s.container(account, container); err == nil {
		c.blobs[b.Name] = &b
	}
}

func (s *memStore) restoreStaged(account, container, blob, id string, data piece) {
	c, err := s.container(account, container)
	if err != nil {
		return
	}
	if c.staged[blob] == nil {
		c.staged[blob] = map[string]piece{}
	}
	c.staged[blob][id] = data
}
