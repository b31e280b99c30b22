package report

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/miconform/miconform/internal/redact"
)

// RedactFile rewrites the file at path through redact.String. The rewrite
// is atomic: a temporary file in the same directory replaces the original,
// keeping its permissions. Nothing may hold the file open meanwhile
// (Windows refuses to replace an open file).
func RedactFile(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	out := redact.String(string(b))
	if out == string(b) {
		return nil
	}
	return writeAtomic(path, []byte(out))
}

// WriteRedacted writes b through redact.String to path, atomically (for
// example godog's cucumber JSON report, buffered in memory during the run
// so no secret ever reaches the disk). An existing file's permissions are
// kept; a new file gets 0644.
func WriteRedacted(path string, b []byte) error {
	return writeAtomic(path, []byte(redact.String(string(b))))
}

func writeAtomic(path string, b []byte) error {
	perm := fs.FileMode(0o644)
	if st, err := os.Stat(path); err == nil {
		perm = st.Mode().Perm()
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op after a successful rename
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return err
	}
	// Closed before the rename: Windows cannot rename an open file.
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
