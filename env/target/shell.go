package target

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"sync"

	"github.com/miconform/miconform/env/emulator"
	"github.com/miconform/miconform/env/sandbox"
)

// Shell is what a target offers when it can run a program on the VM, as a
// person following a tutorial types a command into the VM's terminal. The
// emulator runs it in a sandbox (env/sandbox) that looks like the VM from
// the inside; on Azure the runner is on the VM, so the program runs
// directly. Steps that run the tutorials' own commands use it and never
// ask which target they have.
type Shell interface {
	RunOnVM(ctx context.Context, c Command) (CommandResult, error)
	// LookPath finds a program on the VM as its shell would (in PATH),
	// without starting anything.
	LookPath(file string) (string, error)
}

// Command is one program run on the VM.
type Command struct {
	// Args is the program and its arguments (Args[0] looked up in PATH).
	Args []string
	// Env adds KEY=VALUE pairs to the runner's environment.
	Env []string
	// Dir is the working directory (empty: the runner's).
	Dir string
}

// CommandResult is what a finished program left.
type CommandResult struct {
	Stdout, Stderr []byte
	// ExitCode is the program's, 128+n when signal n ended it.
	ExitCode int
}

// ErrNoShell wraps why a target cannot run programs on its VM here (no
// namespaces for the sandbox, say); steps report it as a skip.
var ErrNoShell = errors.New("cannot run programs on the VM here")

// probeSandbox asks once per process whether sandboxes can run here.
var probeSandbox = sync.OnceValue(sandbox.Probe)

// RunOnVM implements Shell with a sandbox around the emulator.
func (t *Emulator) RunOnVM(ctx context.Context, c Command) (CommandResult, error) {
	return SandboxShell(t.E).RunOnVM(ctx, c)
}

// LookPath implements Shell.
func (t *Emulator) LookPath(file string) (string, error) { return SandboxShell(t.E).LookPath(file) }

// SandboxShell runs programs in a sandbox around e (env/sandbox), which
// looks like e's VM from the inside: 169.254.169.254 and the cloud's host
// names are e's. Linux only; elsewhere its methods say why (ErrNoShell).
func SandboxShell(e *emulator.Emulator) Shell { return sandboxShell{e} }

type sandboxShell struct{ e *emulator.Emulator }

func (s sandboxShell) RunOnVM(ctx context.Context, c Command) (CommandResult, error) {
	if err := probeSandbox(); err != nil {
		return CommandResult{}, fmt.Errorf("%w: %w", ErrNoShell, err)
	}
	var out, errb bytes.Buffer
	sb := sandbox.New(s.e, c.Args...)
	sb.Env = append(os.Environ(), c.Env...)
	sb.Dir = c.Dir
	sb.Stdout, sb.Stderr = &out, &errb
	err := sb.Run(ctx)
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		return CommandResult{Stdout: out.Bytes(), Stderr: errb.Bytes(), ExitCode: -1}, err
	}
	return CommandResult{Stdout: out.Bytes(), Stderr: errb.Bytes(), ExitCode: sb.ExitCode()}, nil
}

// LookPath: the sandbox runs this machine's programs (its mount namespace
// replaces only /etc/hosts, /etc/resolv.conf and the CA bundle) with this
// process's PATH, so the VM finds what this process finds; no sandbox need
// start to ask.
func (s sandboxShell) LookPath(file string) (string, error) {
	// Off Linux no sandbox can run: say why here, before a step believes
	// the VM has the tool and fails later.
	if err := sandbox.Supported(); err != nil {
		return "", fmt.Errorf("%w: %w", ErrNoShell, err)
	}
	return exec.LookPath(file)
}

// errWindowsVM is why a Windows VM (the tutorials' own OS) has no Shell:
// the tutorials' snippet commands are Linux shell commands (/bin/sh, curl
// with POSIX quoting), which neither cmd nor PowerShell runs as printed.
var errWindowsVM = errors.New("the VM runs Windows, and the tutorials' commands here are Linux shell commands (/bin/sh)")

// LookPath implements Shell: the runner is on the VM.
func (t *Azure) LookPath(file string) (string, error) {
	if t.shell != nil {
		return t.shell.LookPath(file)
	}
	if runtime.GOOS == "windows" {
		return "", fmt.Errorf("%w: %w", ErrNoShell, errWindowsVM)
	}
	return exec.LookPath(file)
}

// RunOnVM implements Shell: the runner is on the VM.
func (t *Azure) RunOnVM(ctx context.Context, c Command) (CommandResult, error) {
	if t.shell != nil {
		return t.shell.RunOnVM(ctx, c)
	}
	if runtime.GOOS == "windows" {
		return CommandResult{}, fmt.Errorf("%w: %w", ErrNoShell, errWindowsVM)
	}
	if len(c.Args) == 0 {
		return CommandResult{}, errors.New("target: no command")
	}
	var out, errb bytes.Buffer
	cmd := exec.CommandContext(ctx, c.Args[0], c.Args[1:]...)
	cmd.Env = append(os.Environ(), c.Env...)
	cmd.Dir = c.Dir
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		return CommandResult{Stdout: out.Bytes(), Stderr: errb.Bytes(), ExitCode: -1}, err
	}
	return CommandResult{Stdout: out.Bytes(), Stderr: errb.Bytes(), ExitCode: cmd.ProcessState.ExitCode()}, nil
}
