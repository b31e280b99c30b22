package sandbox

import (
	"errors"
	"runtime"
)

// ErrUnavailable means the machine lets this process make neither network
// namespaces (root) nor unprivileged user namespaces.
var ErrUnavailable = errors.New("sandbox: needs root or unprivileged user namespaces, and neither is available here")

// ErrNeedsLinux is why no sandbox runs on Windows or macOS: it is built on
// Linux network, mount and UTS namespaces, which those systems lack.
var ErrNeedsLinux = errors.New("sandbox: needs Linux (network and mount namespaces); this system is " + runtime.GOOS)
