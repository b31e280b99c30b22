package state

import (
	"errors"
	"os"

	"golang.org/x/sys/windows"
)

// syncDir does nothing: Windows cannot flush a directory (FlushFileBuffers
// on a directory handle is refused with "Access is denied"). NTFS journals
// the directory entries of a new file itself, and replaceOpen renames
// with MOVEFILE_WRITE_THROUGH, which returns once the rename is on disk.
func syncDir(string) error { return nil }

// replaceOpen makes tf, the compacted copy, the log at path. Windows
// renames neither an open file nor over one (Go opens files without
// FILE_SHARE_DELETE), so both are closed, the copy renamed over the log,
// and the log opened again: a crash in between leaves the old or the new
// file under the name, both complete. On failure it returns the old log,
// opened again (nil if even that failed), and removes tf.
func replaceOpen(old, tf *os.File, path string) (*os.File, error) {
	tmp := tf.Name()
	tf.Close()
	old.Close()
	from, err := windows.UTF16PtrFromString(tmp)
	if err != nil {
		return nil, err
	}
	to, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return nil, err
	}
	if err := windows.MoveFileEx(from, to, windows.MOVEFILE_REPLACE_EXISTING|windows.MOVEFILE_WRITE_THROUGH); err != nil {
		os.Remove(tmp)
		f, rerr := os.OpenFile(path, os.O_RDWR, 0)
		if rerr != nil {
			return nil, errors.Join(err, rerr)
		}
		return f, &os.LinkError{Op: "rename", Old: tmp, New: path, Err: err}
	}
	return os.OpenFile(path, os.O_RDWR, 0)
}
