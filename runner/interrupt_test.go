package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

// A normal exit says nothing about an interrupt; a signal cancels the run
// and says so once.
func TestInterruptOnlyOnSignal(t *testing.T) {
	var out bytes.Buffer
	released := 0
	ctx, stop := watchInterrupt(make(chan os.Signal), func() { released++ }, &out)
	stop()
	stop()
	if out.Len() != 0 {
		t.Errorf("a normal exit printed %q", out.String())
	}
	if ctx.Err() == nil || released == 0 {
		t.Errorf("stop left the context live (%v) or the signals watched (%d releases)", ctx.Err(), released)
	}

	out.Reset()
	sigs := make(chan os.Signal, 1)
	ctx, stop = watchInterrupt(sigs, func() {}, &out)
	sigs <- os.Interrupt
	<-ctx.Done()
	stop()
	if got := out.String(); strings.Count(got, "runner: interrupted; finishing cleanup") != 1 {
		t.Errorf("after a signal: %q", got)
	}
}
