package oserr

import "golang.org/x/sys/windows"

// ConnRefused is the errno this system's connect returns when nothing
// listens: Winsock's WSAECONNREFUSED.
const ConnRefused = windows.WSAECONNREFUSED
