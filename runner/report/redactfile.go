package report

import (
	"os"
	"path/filepath"

	"github.com/miconform/miconform/runner/redact"
)

// RedactFile rewrites the file at path through redact.String (for example
// godog's cucumber JSON report after the run). The rewrite is atomic: a
// temporary file in the same directory replaces the original, keeping its
// permissions.
func RedactFile(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	out := redact.String(string(b))
	if out == string(b) {
		return nil
	}
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op after a successful rename
	if _, err := tmp.WriteString(out); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(st.Mode().Perm()); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
