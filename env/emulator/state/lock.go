package state

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// LockFile is the file in a state directory whose lock its emulator holds.
const LockFile = "lock"

// DirLock is an exclusive lock on a state directory: two emulators sharing
// one would interleave records in the same logs and each trust an index
// the other invalidates. The lock is the operating system's (flock,
// LockFileEx) on an open file, so it goes with its process, even one
// killed, and is never stale; the file also names the holder.
type DirLock struct {
	f *os.File
}

// LockedError is LockDir's answer when another process (or another
// emulator in this one) holds the directory.
type LockedError struct {
	Dir string
	// Holder is what the holder wrote: "process 1234 on host h since ...",
	// or empty if it had not written it yet.
	Holder string
}

func (e *LockedError) Error() string {
	who := e.Holder
	if who == "" {
		who = "another process"
	}
	return fmt.Sprintf("state directory %s is in use by %s; stop that emulator or give another --state-dir", e.Dir, who)
}

// errWouldBlock is what the system helpers return when the lock is held.
var errWouldBlock = errors.New("state: lock held")

// LockDir creates dir if needed and locks it, or says who holds it. Close
// releases it.
func LockDir(dir string) (*DirLock, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, LockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := lockFile(f); err != nil {
		f.Close()
		if errors.Is(err, errWouldBlock) {
			return nil, &LockedError{Dir: dir, Holder: readHolder(path)}
		}
		return nil, fmt.Errorf("state: lock %s: %w", path, err)
	}
	host, _ := os.Hostname()
	who := fmt.Sprintf("process %d on host %s since %s\n", os.Getpid(), host, time.Now().UTC().Format(time.RFC3339))
	if err := f.Truncate(0); err == nil {
		// Best effort: the lock holds without the note.
		_, _ = f.WriteAt([]byte(who), 0)
	}
	return &DirLock{f: f}, nil
}

// readHolder reads the holder's note; the lock itself is on a byte past
// it, so Windows (whose locks are mandatory) lets it be read.
func readHolder(path string) string {
	b, err := os.ReadFile(path)
	if err != nil || len(b) > 512 {
		return ""
	}
	s := strings.TrimSpace(string(b))
	if pid, _, ok := strings.Cut(strings.TrimPrefix(s, "process "), " "); !ok || !strings.HasPrefix(s, "process ") {
		return ""
	} else if _, err := strconv.Atoi(pid); err != nil {
		return ""
	}
	return s
}

// Close releases the lock. The file stays (removing it would race a
// process that opened it and waits to lock it).
func (l *DirLock) Close() error {
	if l == nil || l.f == nil {
		return nil
	}
	unlockFile(l.f)
	err := l.f.Close()
	l.f = nil
	return err
}
