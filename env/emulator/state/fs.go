package state

import (
	"errors"
	"os"
	"syscall"
)

// The state package's operating-system specific calls live here, each in a
// small function, so a platform that needs another way (Windows cannot
// fsync a directory, and renames over an open file differently) replaces
// only these.

// syncDir makes a rename or a new file in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// replaceFile renames tmp over path (atomically, on one file system).
func replaceFile(tmp, path string) error { return os.Rename(tmp, path) }

// writeFileAt is the default Log.writeAt.
func writeFileAt(f *os.File, p []byte, off int64) (int, error) { return f.WriteAt(p, off) }

// IsNoSpace says whether err is a write refused for lack of disk space
// (or quota).
func IsNoSpace(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}
