package oserr

import (
	"errors"
	"net"
	"testing"
)

// A real refused dial, as this system's kernel reports it, is recognised;
// other errors are not.
func TestRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, err = net.Dial("tcp", addr)
	if err == nil {
		t.Skipf("something else listens on %s now", addr)
	}
	if !Refused(err) {
		t.Errorf("%v (%#v) is not recognised as refused", err, errors.Unwrap(err))
	}
	if Refused(nil) || Refused(errors.New("connection refused")) || Refused(net.ErrClosed) {
		t.Error("errors other than a refusal are recognised as one")
	}
}
