package blob

import (
	"crypto/md5"
	"errors"
	"sort"
	"strings"
	"sync"
	"time"
)

// Store keeps containers, committed blobs and uncommitted blocks of the
// emulated storage accounts. Handlers see only this interface, so a disk
// backed store can replace the memory one without touching them.
type Store interface {
	// CreateContainer creates a container; ErrContainerExists if it exists.
	CreateContainer(account, name string, c Container) (Container, error)
	// GetContainer returns a container's properties.
	GetContainer(account, name string) (Container, error)
	// DeleteContainer removes a container and its blobs when cond (nil:
	// always) accepts it; cond sees the container under the store's lock,
	// so a lease check and the delete are one step.
	DeleteContainer(account, name string, cond func(*Container) error) error
	// ListContainers lists containers by name from marker on, at most max
	// of them, and the name to continue from ("" when done).
	ListContainers(account, prefix, marker string, max int) ([]Container, string)
	// PutBlob replaces (or creates) a committed blob when cond accepts the
	// current one (nil when it does not exist); a rejected write stores nothing.
	PutBlob(account, container, name string, b Blob, cond func(*Blob) error) (Blob, error)
	// GetBlob returns a committed blob. Its Data must not be modified.
	GetBlob(account, container, name string) (Blob, error)
	// DeleteBlob removes a committed blob (with its uncommitted blocks and
	// lease), its snapshots, or one snapshot, as del says, when cond
	// accepts the blob or snapshot; ErrSnapshotsPresent when deleting the
	// base blob would orphan snapshots.
	DeleteBlob(account, container, name string, del Deletion, cond func(*Blob) error) error
	// ListBlobs lists committed blobs by name from marker on; with
	// snapshots, each blob's snapshots (oldest first) come before it and
	// count towards max.
	ListBlobs(account, container, prefix, marker string, max int, snapshots bool) ([]Blob, string, error)
	// GetSnapshot returns one snapshot of a blob (ErrBlobNotFound when
	// there is none with that time).
	GetSnapshot(account, container, name, snapshot string) (Blob, error)
	// Snapshot records a read-only copy of a blob as it is now when cond
	// accepts it, with meta as its metadata when non-nil, and returns the
	// copy (its Snapshot field set).
	Snapshot(account, container, name string, meta map[string]string, cond func(*Blob) error) (Blob, error)
	// LeaseBlob changes a blob's lease through fn, which sees the blob
	// under the lock; the blob's ETag and data do not change.
	LeaseBlob(account, container, name string, fn func(*Blob) error) (Blob, error)
	// LeaseContainer changes a container's lease through fn.
	LeaseContainer(account, name string, fn func(*Container) error) (Container, error)
	// AppendBlock adds data as one block at the end of an append blob when
	// cond accepts the blob as it is before the append.
	AppendBlock(account, container, name string, data []byte, cond func(*Blob) error) (Blob, error)
	// PutBlock stages an uncommitted block for a blob when cond accepts
	// the committed blob (not called when there is none).
	PutBlock(account, container, blob, id string, data piece, cond func(*Blob) error) error
	// CommitBlocks builds a blob from staged and committed blocks; the
	// staged blocks of the blob are dropped when it succeeds.
	CommitBlocks(account, container, name string, list []BlockRef, props Blob, cond func(*Blob) error) (Blob, error)
	// DropAccount forgets everything of an account.
	DropAccount(account string)
	// spills is where uploads too large for memory go (spill.go).
	spills() *spillDir
}

// Container is a blob container's properties.
type Container struct {
	Name         string
	ETag         string
	LastModified time.Time
	// PublicAccess is "" (private), "blob" or "container".
	PublicAccess string
	Metadata     map[string]string
	Lease        Lease
}

// Deletion is what a Delete Blob removes: Snapshot names one snapshot
// (then only it goes); otherwise Snapshots is "" (the blob, which must
// have no snapshots), "include" (the blob and its snapshots) or "only"
// (its snapshots, keeping the blob).
// https://learn.microsoft.com/rest/api/storageservices/delete-blob
type Deletion struct {
	Snapshot  string
	Snapshots string
}

// Blob is a committed block blob.
type Blob struct {
	Name string
	// Type is "BlockBlob" or "AppendBlob" ("" is a block blob, as
	// records written before append blobs existed have it).
	Type string `json:",omitempty"`
	// Snapshot is the snapshot's time ("" for the base blob).
	Snapshot string `json:",omitempty"`
	// Data is the blob's bytes when they are in memory; a large blob's
	// are in a spill file instead (spill.go) and Data is nil.
	Data         []byte
	ContentType  string
	ContentMD5   []byte
	Encoding     string
	Language     string
	CacheControl string
	Disposition  string
	ETag         string
	Created      time.Time
	LastModified time.Time
	Metadata     map[string]string
	// Lease is kept in its own record (durable.go), so renewing a lease
	// does not rewrite the blob's data.
	Lease Lease `json:"-"`
	// blocks are the committed blocks, for Put Block List's <Committed>,
	// and an append blob's appended blocks.
	blocks []block
	// sp holds the bytes of a blob too large for memory.
	sp *spill
}

// Size is the blob's length in bytes.
func (b *Blob) Size() int64 {
	if b.sp != nil {
		return b.sp.n
	}
	return int64(len(b.Data))
}

// content is all of the blob's bytes.
func (b *Blob) content() piece {
	if b.sp != nil {
		return piece{sp: b.sp, n: b.sp.n}
	}
	return memPiece(b.Data)
}

// setContent makes p the blob's bytes.
func (b *Blob) setContent(p piece) {
	b.Data, b.sp = nil, nil
	if p.sp != nil {
		if p.off != 0 || p.n != p.sp.n {
			panic("blob: a blob's spill file is all of it")
		}
		b.sp = p.sp
		return
	}
	b.Data = p.mem
}

// BlobType is the x-ms-blob-type of the blob.
func (b *Blob) BlobType() string {
	if b.Type == "" {
		return blockBlob
	}
	return b.Type
}

const (
	blockBlob  = "BlockBlob"
	appendBlob = "AppendBlob"
)

// block is one committed block: its id and its bytes (a part of the
// blob's).
type block struct {
	id string
	piece
}

// BlockRef is one entry of a Put Block List request: a block id and where
// to look it up (Committed, Uncommitted or Latest).
type BlockRef struct {
	ID   string
	From string
}

// Store errors; handlers map them to Azure's error codes.
var (
	ErrContainerExists   = errors.New("container exists")
	ErrContainerNotFound = errors.New("container not found")
	ErrBlobNotFound      = errors.New("blob not found")
	ErrInvalidBlockList  = errors.New("invalid block list")
	ErrTooManyBlocks     = errors.New("too many uncommitted blocks")
	ErrSnapshotsPresent  = errors.New("blob has snapshots")
	ErrInvalidBlobType   = errors.New("wrong blob type for the operation")
	ErrAppendLimit       = errors.New("too many committed blocks")
)

// maxAppendBlocks is Azure's limit of blocks in an append blob.
// https://learn.microsoft.com/rest/api/storageservices/append-block#remarks
const maxAppendBlocks = 50000

// maxUncommitted is Azure's limit of uncommitted blocks per blob.
// https://learn.microsoft.com/rest/api/storageservices/put-block#remarks
const maxUncommitted = 100000

// memStore is the in-memory Store. Blob data slices are never mutated after
// they are stored, so readers share them without copying.
type memStore struct {
	mu       sync.RWMutex
	accounts map[string]*memAccount
	tick     int64
	spill    *spillDir
}

type memAccount struct {
	containers map[string]*memContainer
}

type memContainer struct {
	Container
	blobs map[string]*Blob
	// staged holds uncommitted blocks per blob name.
	staged map[string]map[string]piece
	// snaps holds each blob's snapshots, oldest first.
	snaps map[string][]*Blob
}

func newMemContainer(c Container) *memContainer {
	return &memContainer{Container: c, blobs: map[string]*Blob{}, staged: map[string]map[string]piece{}, snaps: map[string][]*Blob{}}
}

// NewMemStore makes an empty in-memory store.
func NewMemStore() Store { return newMemStore(newSpillDir("", false)) }

func newMemStore(sd *spillDir) *memStore {
	return &memStore{accounts: map[string]*memAccount{}, spill: sd}
}

func (s *memStore) spills() *spillDir { return s.spill }

// etag makes an ETag shaped like Azure's ("0x8D..." quoted), unique per store.
func (s *memStore) etag(t time.Time) string {
	s.tick++
	// Azure's ETags are the hex of a .NET tick count; ours add a counter so
	// two writes in one tick still differ.
	return `"0x` + strings.ToUpper(hex64(uint64(t.UnixNano()/100+621355968000000000+s.tick))) + `"`
}

func hex64(v uint64) string {
	const digits = "0123456789abcdef"
	var b [16]byte
	for i := 15; i >= 0; i-- {
		b[i] = digits[v&0xf]
		v >>= 4
	}
	return string(b[:])
}

func (s *memStore) container(account, name string) (*memContainer, error) {
	a := s.accounts[account]
	if a == nil {
		return nil, ErrContainerNotFound
	}
	c := a.containers[name]
	if c == nil {
		return nil, ErrContainerNotFound
	}
	return c, nil
}

// blob looks up a committed blob and its container, with the store's
// not-found errors; the caller holds mu.
func (s *memStore) blob(account, container, name string) (*memContainer, *Blob, error) {
	c, err := s.container(account, container)
	if err != nil {
		return nil, nil, err
	}
	b := c.blobs[name]
	if b == nil {
		return nil, nil, ErrBlobNotFound
	}
	return c, b, nil
}

// snapshot is the index in c.snaps[name] of the snapshot taken at t;
// ErrBlobNotFound when there is none.
func (c *memContainer) snapshot(name, t string) (int, error) {
	for i, sn := range c.snaps[name] {
		if sn.Snapshot == t {
			return i, nil
		}
	}
	return -1, ErrBlobNotFound
}

// accept runs a store method's condition on what it would change (nil
// cond: no condition).
func accept[T any](cond func(*T) error, v *T) error {
	if cond == nil {
		return nil
	}
	return cond(v)
}

func (s *memStore) CreateContainer(account, name string, c Container) (Container, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.accounts[account]
	if a == nil {
		a = &memAccount{containers: map[string]*memContainer{}}
		s.accounts[account] = a
	}
	if _, ok := a.containers[name]; ok {
		return Container{}, ErrContainerExists
	}
	now := time.Now().UTC()
	c.Name, c.LastModified, c.ETag = name, now, s.etag(now)
	a.containers[name] = newMemContainer(c)
	return c, nil
}

func (s *memStore) GetContainer(account, name string) (Container, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	c, err := s.container(account, name)
	if err != nil {
		return Container{}, err
	}
	return c.Container, nil
}

func (s *memStore) DeleteContainer(account, name string, cond func(*Container) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.container(account, name)
	if err != nil {
		return err
	}
	if err := accept(cond, &c.Container); err != nil {
		return err
	}
	delete(s.accounts[account].containers, name)
	return nil
}

func (s *memStore) ListContainers(account, prefix, marker string, max int) ([]Container, string) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	a := s.accounts[account]
	if a == nil {
		return nil, ""
	}
	names, next := page(a.containers, prefix, marker, max)
	out := make([]Container, len(names))
	for i, n := range names {
		out[i] = a.containers[n].Container
	}
	return out, next
}

func (s *memStore) PutBlob(account, container, name string, b Blob, cond func(*Blob) error) (Blob, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.container(account, container)
	if err != nil {
		return Blob{}, err
	}
	blocks := []block{{piece: b.content()}}
	if b.Type == appendBlob {
		blocks = nil
	}
	return s.commit(c, name, b, blocks, cond)
}

// commit stores b as the blob's new committed state, keeping its creation
// time when it replaces an existing blob.
func (s *memStore) commit(c *memContainer, name string, b Blob, blocks []block, cond func(*Blob) error) (Blob, error) {
	old := c.blobs[name]
	if err := accept(cond, old); err != nil {
		return Blob{}, err
	}
	now := time.Now().UTC()
	b.Name, b.LastModified, b.ETag, b.blocks = name, now, s.etag(now), blocks
	b.Created = now
	if old != nil {
		// Replacing a blob keeps its creation time and its lease.
		// https://learn.microsoft.com/rest/api/storageservices/put-blob
		b.Created, b.Lease = old.Created, old.Lease
	}
	c.blobs[name] = &b
	delete(c.staged, name)
	return b, nil
}

func (s *memStore) GetBlob(account, container, name string) (Blob, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	_, b, err := s.blob(account, container, name)
	if err != nil {
		return Blob{}, err
	}
	return *b, nil
}

func (s *memStore) DeleteBlob(account, container, name string, del Deletion, cond func(*Blob) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.container(account, container)
	if err != nil {
		return err
	}
	if del.Snapshot != "" {
		i, err := c.snapshot(name, del.Snapshot)
		if err != nil {
			return err
		}
		snaps := c.snaps[name]
		if err := accept(cond, snaps[i]); err != nil {
			return err
		}
		c.snaps[name] = append(snaps[:i:i], snaps[i+1:]...)
		if len(c.snaps[name]) == 0 {
			delete(c.snaps, name)
		}
		return nil
	}
	b := c.blobs[name]
	if b == nil {
		return ErrBlobNotFound
	}
	if err := accept(cond, b); err != nil {
		return err
	}
	switch {
	case del.Snapshots == "" && len(c.snaps[name]) > 0:
		return ErrSnapshotsPresent
	case del.Snapshots == "only":
		delete(c.snaps, name)
		return nil
	}
	delete(c.snaps, name)
	delete(c.blobs, name)
	delete(c.staged, name)
	return nil
}

func (s *memStore) GetSnapshot(account, container, name, snapshot string) (Blob, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	c, err := s.container(account, container)
	if err != nil {
		return Blob{}, err
	}
	i, err := c.snapshot(name, snapshot)
	if err != nil {
		return Blob{}, err
	}
	return *c.snaps[name][i], nil
}

// snapshotLayout is how Azure writes a snapshot's time: UTC with seven
// fractional digits. https://learn.microsoft.com/rest/api/storageservices/snapshot-blob
const snapshotLayout = "2006-01-02T15:04:05.0000000Z"

func (s *memStore) Snapshot(account, container, name string, meta map[string]string, cond func(*Blob) error) (Blob, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, b, err := s.blob(account, container, name)
	if err != nil {
		return Blob{}, err
	}
	if err := accept(cond, b); err != nil {
		return Blob{}, err
	}
	t := time.Now().UTC().Truncate(100 * time.Nanosecond)
	snaps := c.snaps[name]
	if n := len(snaps); n > 0 {
		// Two snapshots in one 100 ns tick would share a name; the later
		// one moves to the next tick.
		if last, err := time.Parse(snapshotLayout, snaps[n-1].Snapshot); err == nil && !t.After(last) {
			t = last.Add(100 * time.Nanosecond)
		}
	}
	sn := *b
	sn.Snapshot, sn.Lease = t.Format(snapshotLayout), Lease{}
	// The snapshot shares the blob's bytes; capping the capacity keeps a
	// later append to the blob from writing where the snapshot could see.
	sn.Data = b.Data[:len(b.Data):len(b.Data)]
	sn.blocks = b.blocks[:len(b.blocks):len(b.blocks)]
	if meta != nil {
		sn.Metadata = meta
	}
	c.snaps[name] = append(snaps, &sn)
	return sn, nil
}

func (s *memStore) LeaseBlob(account, container, name string, fn func(*Blob) error) (Blob, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, b, err := s.blob(account, container, name)
	if err != nil {
		return Blob{}, err
	}
	nb := *b
	if err := fn(&nb); err != nil {
		return Blob{}, err
	}
	b.Lease = nb.Lease
	return *b, nil
}

func (s *memStore) LeaseContainer(account, name string, fn func(*Container) error) (Container, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.container(account, name)
	if err != nil {
		return Container{}, err
	}
	nc := c.Container
	if err := fn(&nc); err != nil {
		return Container{}, err
	}
	c.Lease = nc.Lease
	return c.Container, nil
}

func (s *memStore) AppendBlock(account, container, name string, data []byte, cond func(*Blob) error) (Blob, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, b, err := s.blob(account, container, name)
	if err != nil {
		return Blob{}, err
	}
	if b.Type != appendBlob {
		return Blob{}, ErrInvalidBlobType
	}
	if err := accept(cond, b); err != nil {
		return Blob{}, err
	}
	if len(b.blocks) >= maxAppendBlocks {
		return Blob{}, ErrAppendLimit
	}
	now := time.Now().UTC()
	s.appendData(b, data, now, s.etag(now))
	return *b, nil
}

// appendData adds one block to an append blob in place. Readers hold
// copies whose Data ends before the new bytes, so they never see them.
func (s *memStore) appendData(b *Blob, data []byte, now time.Time, etag string) {
	off := len(b.Data)
	b.Data = append(b.Data, data...)
	b.blocks = append(b.blocks, block{piece: memPiece(b.Data[off:len(b.Data):len(b.Data)])})
	b.LastModified, b.ETag = now, etag
}

func (s *memStore) ListBlobs(account, container, prefix, marker string, max int, snapshots bool) ([]Blob, string, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	c, err := s.container(account, container)
	if err != nil {
		return nil, "", err
	}
	if !snapshots {
		names, next := page(c.blobs, prefix, marker, max)
		out := make([]Blob, len(names))
		for i, n := range names {
			out[i] = *c.blobs[n]
		}
		return out, next, nil
	}
	names, _ := page(c.blobs, prefix, marker, int(^uint(0)>>1))
	var out []Blob
	for _, n := range names {
		for _, sn := range c.snaps[n] {
			out = append(out, *sn)
		}
		out = append(out, *c.blobs[n])
		if len(out) > max {
			break
		}
	}
	return out, "", nil
}

func (s *memStore) PutBlock(account, container, blob, id string, data piece, cond func(*Blob) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.container(account, container)
	if err != nil {
		return err
	}
	if b := c.blobs[blob]; b != nil {
		if b.Type == appendBlob {
			// https://learn.microsoft.com/rest/api/storageservices/put-block#remarks
			return ErrInvalidBlobType
		}
		if err := accept(cond, b); err != nil {
			return err
		}
	}
	st := c.staged[blob]
	if st == nil {
		st = map[string]piece{}
		c.staged[blob] = st
	}
	if _, replace := st[id]; !replace && len(st) >= maxUncommitted {
		return ErrTooManyBlocks
	}
	st[id] = data
	return nil
}

func (s *memStore) CommitBlocks(account, container, name string, list []BlockRef, props Blob, cond func(*Blob) error) (Blob, error) {
	// The blocks are joined outside the lock (a large blob is copied into
	// a new spill file, which takes a while); under the lock the commit
	// checks that every entry still names the same bytes, and joins them
	// again there if a Put Block raced it.
	s.mu.RLock()
	blocks, err := s.resolve(account, container, name, list)
	s.mu.RUnlock()
	if err != nil {
		return Blob{}, err
	}
	joined, err := s.spill.concat(blocks)
	if err != nil {
		return Blob{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now, err := s.resolve(account, container, name, list)
	if err != nil {
		return Blob{}, err
	}
	for i := range now {
		if !now[i].same(blocks[i]) {
			if joined, err = s.spill.concat(now); err != nil {
				return Blob{}, err
			}
			break
		}
	}
	c, _ := s.container(account, container)
	out := make([]block, len(list))
	var off int64
	for i, b := range now {
		out[i] = block{id: list[i].ID, piece: joined.sub(off, b.n)}
		off += b.n
	}
	props.setContent(joined)
	return s.commit(c, name, props, out, cond)
}

// resolve finds the bytes of each entry of a block list; under mu.
func (s *memStore) resolve(account, container, name string, list []BlockRef) ([]piece, error) {
	c, err := s.container(account, container)
	if err != nil {
		return nil, err
	}
	staged := c.staged[name]
	committed := map[string]piece{}
	if old := c.blobs[name]; old != nil && old.Type == appendBlob {
		// https://learn.microsoft.com/rest/api/storageservices/put-block-list#remarks
		return nil, ErrInvalidBlobType
	} else if old != nil {
		for _, b := range old.blocks {
			if b.id != "" {
				committed[b.id] = b.piece
			}
		}
	}
	out := make([]piece, 0, len(list))
	for _, ref := range list {
		var data piece
		var ok bool
		switch ref.From {
		case "Committed":
			data, ok = committed[ref.ID]
		case "Uncommitted":
			data, ok = staged[ref.ID]
		default: // Latest: the uncommitted block if there is one.
			if data, ok = staged[ref.ID]; !ok {
				data, ok = committed[ref.ID]
			}
		}
		if !ok {
			return nil, ErrInvalidBlockList
		}
		out = append(out, data)
	}
	return out, nil
}

func (s *memStore) DropAccount(account string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.accounts, account)
}

// contentMD5 is the MD5 Azure stores for a blob uploaded in one Put Blob.
func contentMD5(b []byte) []byte {
	sum := md5.Sum(b)
	return sum[:]
}

// page is the List operations' paging: the names with the prefix from the
// marker on, in order, at most max of them, and the marker of the next page
// ("" on the last one).
// https://learn.microsoft.com/rest/api/storageservices/enumerating-blob-resources
func page[V any](m map[string]V, prefix, marker string, max int) ([]string, string) {
	var names []string
	for n := range m {
		if strings.HasPrefix(n, prefix) && n >= marker {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	if len(names) > max {
		return names[:max], names[max]
	}
	return names, ""
}
