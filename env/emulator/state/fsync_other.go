//go:build !windows

package state

import "os"

// syncDir makes a rename or a new file in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// replaceOpen makes tf, the compacted copy, the log at path: a rename
// over the open old file, which POSIX allows; the old file is closed. On
// failure it returns old, still the log, and removes tf.
func replaceOpen(old, tf *os.File, path string) (*os.File, error) {
	if err := os.Rename(tf.Name(), path); err != nil {
		tf.Close()
		os.Remove(tf.Name())
		return old, err
	}
	old.Close()
	return tf, nil
}
