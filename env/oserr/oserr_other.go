//go:build !windows

package oserr

import "syscall"

// ConnRefused is the errno this system's connect returns when nothing
// listens.
const ConnRefused = syscall.ECONNREFUSED
