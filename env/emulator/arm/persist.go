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
	s.write(w, r, Fail(StoreFailure(f.Err)))
}

// StoreFailure is Resource Manager's answer to a change the state dir did
// not take, naming the cause: a full disk (the write was undone, nothing
// changed, so retrying once there is space works) or a failed fsync (the
// log is failed until restart). A 500, as Resource Manager answers an
// internal failure, which the SDKs' retry policies retry.
func StoreFailure(err error) *Error {
	var we *state.WriteError
	switch {
	case errors.As(err, &we) && !we.Sticky && state.IsNoSpace(we):
		return Errorf(http.StatusInternalServerError, "InternalServerError", "The change could not be saved: the emulator's state directory is full (%v). Nothing was changed; retry once the disk has space.", err)
	case errors.As(err, &we) && !we.Sticky:
		return Errorf(http.StatusInternalServerError, "InternalServerError", "The change could not be saved: the emulator's state directory refused it (%v). Nothing was changed; retry the request.", err)
	}
	return Errorf(http.StatusInternalServerError, "InternalServerError", "The change could not be saved: the emulator's state directory failed (%v). Restart the emulator.", err)
}
