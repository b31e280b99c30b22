//go:build !linux

package sandbox

import (
	"context"
	"io"
	"os"

	"github.com/miconform/miconform/env/emulator"
)

// Sandbox is one program run on the emulated VM; off Linux it never
// starts (ErrNeedsLinux). The fields match the Linux type so callers
// compile everywhere.
type Sandbox struct {
	Args           []string
	Env            []string
	Dir            string
	Stdin          io.Reader
	Stdout, Stderr io.Writer
}

// New prepares argv to run on e's VM.
func New(_ *emulator.Emulator, argv ...string) *Sandbox { return &Sandbox{Args: argv} }

// Supported is ErrNeedsLinux: callers ask it before starting an emulator.
func Supported() error { return ErrNeedsLinux }

// Probe is ErrNeedsLinux.
func Probe() error { return ErrNeedsLinux }

// Start is ErrNeedsLinux; nothing is started.
func (s *Sandbox) Start(context.Context) error { return ErrNeedsLinux }

// Wait is ErrNeedsLinux.
func (s *Sandbox) Wait() error { return ErrNeedsLinux }

// Run is ErrNeedsLinux.
func (s *Sandbox) Run(context.Context) error { return ErrNeedsLinux }

// Signal is ErrNeedsLinux.
func (s *Sandbox) Signal(os.Signal) error { return ErrNeedsLinux }

// ExitCode is -1: no program ran.
func (s *Sandbox) ExitCode() int { return -1 }

// FilesDir is empty: no files are made.
func (s *Sandbox) FilesDir() string { return "" }
