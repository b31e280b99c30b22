//go:build unix

package state

import (
	"errors"
	"os"
	"syscall"
)

// lockFile takes flock's exclusive lock without waiting. flock, not fcntl:
// its locks belong to the open file, so a second LockDir in the same
// process is refused too.
func lockFile(f *os.File) error {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		switch {
		case errors.Is(err, syscall.EINTR):
			continue
		case errors.Is(err, syscall.EWOULDBLOCK):
			return errWouldBlock
		}
		return err
	}
}

func unlockFile(f *os.File) { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN) }
