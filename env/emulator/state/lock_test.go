package state

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/miconform/miconform/env/wine/winetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A state directory has one holder at a time, in this process or another;
// the refusal names the holder, and a released lock can be taken again.
func TestLockDir(t *testing.T) {
	dir := filepath.Join(winetest.TempDir(t), "state")
	first, err := LockDir(dir)
	require.NoError(t, err)
	_, err = LockDir(dir)
	var le *LockedError
	require.ErrorAs(t, err, &le, "a second lock in the same process")
	assert.Contains(t, err.Error(), "process "+strconv.Itoa(os.Getpid())+" on host")
	assert.Contains(t, err.Error(), dir)
	require.NoError(t, first.Close())
	require.NoError(t, first.Close(), "Close twice")
	again, err := LockDir(dir)
	require.NoError(t, err, "after Close")
	require.NoError(t, again.Close())
}

// The lock holds across processes and goes with its holder.
func TestLockDirOtherProcess(t *testing.T) {
	if d := os.Getenv("MICONFORM_LOCK_HOLDER"); d != "" {
		l, err := LockDir(d)
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		fmt.Println("locked")
		bufio.NewReader(os.Stdin).ReadString('\n') // until the parent says
		l.Close()
		os.Exit(0)
	}
	dir := winetest.TempDir(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestLockDirOtherProcess$")
	cmd.Env = append(os.Environ(), "MICONFORM_LOCK_HOLDER="+dir)
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	line, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "locked", strings.TrimSpace(line))

	_, err = LockDir(dir)
	var le *LockedError
	require.ErrorAs(t, err, &le)
	assert.True(t, strings.HasPrefix(le.Holder, "process "+strconv.Itoa(cmd.Process.Pid)+" "), "holder %q, child pid %d", le.Holder, cmd.Process.Pid)

	stdin.Close()
	require.NoError(t, cmd.Wait())
	l, err := LockDir(dir)
	require.NoError(t, err, "the holder ended")
	require.NoError(t, l.Close())
}

func TestLockedErrorWithoutHolder(t *testing.T) {
	err := &LockedError{Dir: "d"}
	assert.Equal(t, "state directory d is in use by another process; stop that emulator or give another --state-dir", err.Error())
	assert.False(t, errors.Is(err, os.ErrExist))
}
