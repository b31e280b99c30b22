package arm

import (
	"errors"
	"net/http"

	"github.com/miconform/miconform/env/emulator/state"
)

// Persist loads the resource groups and resources l holds and records every
// later change in it (--state-dir). Call it before serving.
func (s *Server) Persist(l *state.Log) error { return s.store.persist(l) }

// recoverFailure turns a state.Failure (a change the state dir could not
// record) into a 500, so the write is never acknowledged; other panics
// carry on.
func (s *Server) recoverFailure(w http.ResponseWriter, r *http.Request) {
	v := recover()
	if v == nil {
		return
	}
	var f state.Failure
	if err, ok := v.(error); !ok || !errors.As(err, &f) {
		panic(v)
	}
	next := "Restart the emulator."
	var we *state.WriteError
	if errors.As(f.Err, &we) && !we.Sticky && state.IsNoSpace(we) {
		// Blob's and Key Vault's logs go on after a refused write.
		next = "Retry once the disk has space."
	}
	s.write(w, r, Fail(Errorf(http.StatusInternalServerError, "InternalServerError", "The change could not be saved: the emulator's state directory failed (%s). %s", f.Err.Error(), next)))
}
