package faults

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
)

// ControlPrefix fences the control API off from every Azure API, as
// fake-gcs-server keeps its /_internal/ endpoints apart: no Azure path
// starts with an underscore segment, and container names cannot.
const ControlPrefix = "/_emulator/"

// Authorizer decides whether a control request may proceed; on refusal it
// returns the status (401 or 403) and a message.
type Authorizer func(r *http.Request) (status int, msg string)

// Control serves the control API:
//
//	GET    /_emulator/faults         the faults in force (a Set)
//	DELETE /_emulator/faults         remove every fault
//	PUT    /_emulator/faults/{kind}  set the fault of a kind (imds, services, rbac, tokens, operations)
//	GET    /_emulator/faults/{kind}  the fault of that kind (404 when none)
//	DELETE /_emulator/faults/{kind}  remove it
//
// Errors are {"error":{"code","message"}}, Resource Manager's shape.
func (in *Injector) Control(auth Authorizer) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if status, msg := auth(r); status != 0 {
			code := "AuthenticationFailed"
			if status == http.StatusForbidden {
				code = "AuthorizationFailed"
			}
			controlError(w, status, code, msg)
			return
		}
		rest, ok := strings.CutPrefix(strings.TrimSuffix(r.URL.Path, "/"), ControlPrefix+"faults")
		if !ok || (rest != "" && !strings.HasPrefix(rest, "/")) {
			controlError(w, http.StatusNotFound, "NotFound", "no control endpoint "+r.URL.Path+"; see /_emulator/faults")
			return
		}
		kind := strings.TrimPrefix(rest, "/")
		if kind != "" && !contains(Kinds, kind) {
			controlError(w, http.StatusNotFound, "NotFound", "unknown fault kind "+kind+" (want one of "+strings.Join(Kinds, ", ")+")")
			return
		}
		switch {
		case r.Method == http.MethodGet:
			cur := in.Current()
			if kind == "" {
				writeJSON(w, http.StatusOK, cur)
				return
			}
			if v := cur.of(kind); v != nil {
				writeJSON(w, http.StatusOK, v)
				return
			}
			controlError(w, http.StatusNotFound, "NotFound", "no "+kind+" fault is in force")
		case r.Method == http.MethodDelete:
			_ = in.Reset(kind)
			w.WriteHeader(http.StatusNoContent)
		case r.Method == http.MethodPut && kind != "":
			body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
			if err != nil {
				controlError(w, http.StatusBadRequest, "InvalidFault", err.Error())
				return
			}
			if err := in.Apply(kind, body); err != nil {
				code := http.StatusInternalServerError
				if errors.Is(err, ErrInvalid) {
					code = http.StatusBadRequest
				}
				controlError(w, code, "InvalidFault", err.Error())
				return
			}
			writeJSON(w, http.StatusOK, in.Current().of(kind))
		default:
			w.Header().Set("Allow", "GET, PUT, DELETE")
			controlError(w, http.StatusMethodNotAllowed, "MethodNotAllowed", r.Method+" is not supported on "+r.URL.Path)
		}
	})
}

// of is the member of a kind, nil when none (an untyped nil, so callers
// can compare it).
func (s Set) of(kind string) any {
	switch {
	case kind == "imds" && s.IMDS != nil:
		return s.IMDS
	case kind == "services" && s.Services != nil:
		return s.Services
	case kind == "rbac" && s.RBAC != nil:
		return s.RBAC
	case kind == "tokens" && s.Tokens != nil:
		return s.Tokens
	case kind == "operations" && s.Operations != nil:
		return s.Operations
	}
	return nil
}

func controlError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]string{"code": code, "message": msg}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
