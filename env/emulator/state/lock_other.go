//go:build !unix && !windows

package state

import "os"

// lockFile: this system has no file locks Go can reach; nothing is locked.
func lockFile(*os.File) error { return nil }

func unlockFile(*os.File) {}
