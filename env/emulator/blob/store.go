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
	// DeleteContainer removes a container and its blobs.
	DeleteContainer(account, name string) error
	// ListContainers lists containers by name from marker on, at most max
	// of them, and the name to continue from ("" when done).
	ListContainers(account, prefix, marker string, max int) ([]Container, string)
	// PutBlob replaces (or creates) a committed blob when cond accepts the
	// current one (nil when it does not exist); a rejected write stores nothing.
	PutBlob(account, container, name string, b Blob, cond func(*Blob) error) (Blob, error)
	// GetBlob returns a committed blob. Its Data must not be modified.
	GetBlob(account, container, name string) (Blob, error)
	// DeleteBlob removes a committed blob and its uncommitted blocks.
	DeleteBlob(account, container, name string, cond func(*Blob) error) error
	// ListBlobs lists committed blobs by name from marker on.
	ListBlobs(account, container, prefix, marker string, max int) ([]Blob, string, error)
	// PutBlock stages an uncommitted block for a blob.
	PutBlock(account, container, blob, id string, data []byte) error
	// CommitBlocks builds a blob from staged and committed blocks; the
	// staged blocks of the blob are dropped when it succeeds.
	CommitBlocks(account, container, name string, list []BlockRef, props Blob, cond func(*Blob) error) (Blob, error)
	// DropAccount forgets everything of an account.
	DropAccount(account string)
}

// Container is a blob container's properties.
type Container struct {
	Name         string
	ETag         string
	LastModified time.Time
	// PublicAccess is "" (private), "blob" or "container".
	PublicAccess string
	Metadata     map[string]string
}

// Blob is a committed block blob.
type Blob struct {
	Name         string
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
	// blocks are the committed blocks, for Put Block List's <Committed>.
	blocks []block
}

type block struct {
	id   string
	data []byte
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
)

// maxUncommitted is Azure's limit of uncommitted blocks per blob.
// https://learn.microsoft.com/rest/api/storageservices/put-block#remarks
const maxUncommitted = 100000

// memStore is the in-memory Store. Blob data slices are never mutated after
// they are stored, so readers share them without copying.
type memStore struct {
	mu       sync.RWMutex
	accounts map[string]*memAccount
	tick     int64
}

type memAccount struct {
	containers map[string]*memContainer
}

type memContainer struct {
	Container
	blobs map[string]*Blob
	// staged holds uncommitted blocks per blob name.
	staged map[string]map[string][]byte
}

// NewMemStore makes an empty in-memory store.
func NewMemStore() Store { return &memStore{accounts: map[string]*memAccount{}} }

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
	a.containers[name] = &memContainer{Container: c, blobs: map[string]*Blob{}, staged: map[string]map[string][]byte{}}
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

func (s *memStore) DeleteContainer(account, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.container(account, name); err != nil {
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
	return s.commit(c, name, b, []block{{id: "", data: b.Data}}, cond)
}

// commit stores b as the blob's new committed state, keeping its creation
// time when it replaces an existing blob.
func (s *memStore) commit(c *memContainer, name string, b Blob, blocks []block, cond func(*Blob) error) (Blob, error) {
	old := c.blobs[name]
	if cond != nil {
		if err := cond(old); err != nil {
			return Blob{}, err
		}
	}
	now := time.Now().UTC()
	b.Name, b.LastModified, b.ETag, b.blocks = name, now, s.etag(now), blocks
	b.Created = now
	if old != nil {
		b.Created = old.Created
	}
	c.blobs[name] = &b
	delete(c.staged, name)
	return b, nil
}

func (s *memStore) GetBlob(account, container, name string) (Blob, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	c, err := s.container(account, container)
	if err != nil {
		return Blob{}, err
	}
	b := c.blobs[name]
	if b == nil {
		return Blob{}, ErrBlobNotFound
	}
	return *b, nil
}

func (s *memStore) DeleteBlob(account, container, name string, cond func(*Blob) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.container(account, container)
	if err != nil {
		return err
	}
	b := c.blobs[name]
	if b == nil {
		return ErrBlobNotFound
	}
	if cond != nil {
		if err := cond(b); err != nil {
			return err
		}
	}
	delete(c.blobs, name)
	delete(c.staged, name)
	return nil
}

func (s *memStore) ListBlobs(account, container, prefix, marker string, max int) ([]Blob, string, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	c, err := s.container(account, container)
	if err != nil {
		return nil, "", err
	}
	names, next := page(c.blobs, prefix, marker, max)
	out := make([]Blob, len(names))
	for i, n := range names {
		out[i] = *c.blobs[n]
	}
	return out, next, nil
}

func (s *memStore) PutBlock(account, container, blob, id string, data []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.container(account, container)
	if err != nil {
		return err
	}
	st := c.staged[blob]
	if st == nil {
		st = map[string][]byte{}
		c.staged[blob] = st
	}
	if _, replace := st[id]; !replace && len(st) >= maxUncommitted {
		return ErrTooManyBlocks
	}
	st[id] = data
	return nil
}

func (s *memStore) CommitBlocks(account, container, name string, list []BlockRef, props Blob, cond func(*Blob) error) (Blob, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.container(account, container)
	if err != nil {
		return Blob{}, err
	}
	staged := c.staged[name]
	committed := map[string][]byte{}
	if old := c.blobs[name]; old != nil {
		for _, b := range old.blocks {
			if b.id != "" {
				committed[b.id] = b.data
			}
		}
	}
	blocks := make([]block, 0, len(list))
	size := 0
	for _, ref := range list {
		var data []byte
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
			return Blob{}, ErrInvalidBlockList
		}
		blocks = append(blocks, block{id: ref.ID, data: data})
		size += len(data)
	}
	all := make([]byte, 0, size)
	for _, b := range blocks {
		all = append(all, b.data...)
	}
	props.Data = all
	return s.commit(c, name, props, blocks, cond)
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
