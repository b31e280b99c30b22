// Package oserr recognises operating-system errors the same way on every
// system. Windows reports socket errors as Winsock codes (WSAECONNREFUSED,
// 10061), which the syscall package's portable names (syscall.ECONNREFUSED,
// an invented value there) never match.
package oserr

import (
	"errors"
	"syscall"
)

// Refused reports whether err says nothing listened where a connection
// was attempted.
func Refused(err error) bool {
	return err != nil && (errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, ConnRefused))
}
