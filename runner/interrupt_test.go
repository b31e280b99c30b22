package main

import (
	"bytes"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// stop() at the end of a command cancels the signal context too; that is
// not an interrupt and prints nothing. A real SIGINT does.
func TestInterruptNoticeOnlyOnSignal(t *testing.T) {
	var w syncBuffer
	ctx, stop := interruptible(&w)
	stop()
	<-ctx.Done()
	time.Sleep(200 * time.Millisecond) // give a wrongly woken goroutine time to print
	assert.Empty(t, w.String(), "no interrupt notice after a normal end")

	if runtime.GOOS == "windows" {
		return // a process cannot send itself os.Interrupt there
	}
	var w2 syncBuffer
	ctx, stop = interruptible(&w2)
	defer stop()
	p, _ := os.FindProcess(os.Getpid())
	assert.NoError(t, p.Signal(os.Interrupt))
	<-ctx.Done()
	assert.Eventually(t, func() bool { return w2.String() != "" }, 10*time.Second, 10*time.Millisecond)
	assert.Equal(t, "runner: interrupted; finishing cleanup (interrupt again to abandon it)\n", w2.String())
}
