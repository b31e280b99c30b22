package state

import (
	"errors"
	"os"

	"golang.org/x/sys/windows"
)

// lockedByte is where the lock is taken: one byte at 4 GiB, far past the
// holder's note, because Windows locks are mandatory and a lock on the
// note would keep the second emulator from reading who holds it.
var lockedByte = windows.Overlapped{OffsetHigh: 1}

// lockFile takes LockFileEx's exclusive lock without waiting; its locks
// belong to the handle, so a second LockDir in the same process is
// refused too.
func lockFile(f *os.File) error {
	ol := lockedByte
	err := windows.LockFileEx(windows.Handle(f.Fd()), windows.LOCKFILE_EXCLUSIVE_LOCK|windows.LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, &ol)
	if errors.Is(err, windows.ERROR_LOCK_VIOLATION) || errors.Is(err, windows.ERROR_IO_PENDING) {
		return errWouldBlock
	}
	return err
}

func unlockFile(f *os.File) {
	ol := lockedByte
	_ = windows.UnlockFileEx(windows.Handle(f.Fd()), 0, 1, 0, &ol)
}
