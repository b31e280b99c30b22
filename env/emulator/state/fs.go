package state

import (
	"errors"
	"os"
	"syscall"
)

// The state package's operating-system specific calls live here and in
// fsync_*.go (directory sync and replacing the open log, which Windows
// does differently) and lock_*.go, each in a small function.

// writeFileAt is the default Log.writeAt.
func writeFileAt(f *os.File, p []byte, off int64) (int, error) { return f.WriteAt(p, off) }

// IsNoSpace says whether err is a write refused for lack of disk space
// (or quota).
func IsNoSpace(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}
