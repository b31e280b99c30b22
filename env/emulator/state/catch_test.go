package state

import (
	"errors"
	"syscall"
	"testing"
)

// Catch hands back a refused write and lets any other panic through.
func TestCatch(t *testing.T) {
	if err := Catch(func() {}); err != nil {
		t.Fatalf("nothing refused: %v", err)
	}
	if err := Catch(func() { Must(syscall.ENOSPC) }); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("a refused write: got %v", err)
	}
	defer func() {
		if v := recover(); v != "boom" {
			t.Fatalf("another panic was not passed on: %v", v)
		}
	}()
	_ = Catch(func() { panic("boom") })
	t.Fatal("not reached")
}
