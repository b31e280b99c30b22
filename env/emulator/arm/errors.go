package arm

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/miconform/miconform/env/emulator/directory"
)

// Error is Resource Manager's error body: {"error":{"code":...,"message":...}}.
// https://github.com/Azure/azure-resource-manager-rpc/blob/master/v1.0/common-api-details.md#error-response-content
type Error struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
	// Challenge, when set, is sent as WWW-Authenticate (401 answers).
	Challenge string `json:"-"`
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

func errorf(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// response is what every handler returns; one writer turns it into bytes, so
// every answer carries ARM's headers and every error ARM's shape
// (the fake-gcs-server jsonResponse pattern).
type response struct {
	status int
	body   any
	header http.Header
	err    *Error
}

func ok(body any) response      { return response{status: http.StatusOK, body: body} }
func created(body any) response { return response{status: http.StatusCreated, body: body} }
func fail(e *Error) response    { return response{err: e} }

func (s *Server) write(w http.ResponseWriter, r *http.Request, resp response) {
	h := w.Header()
	reqID := directory.NewGUID()
	// Headers ARM sets on every answer.
	h.Set("x-ms-request-id", reqID)
	h.Set("x-ms-correlation-request-id", reqID)
	h.Set("x-ms-routing-request-id", "WESTUS:"+time.Now().UTC().Format("20060102T150405Z")+":"+reqID)
	h.Set("Cache-Control", "no-cache")
	h.Set("Pragma", "no-cache")
	h.Set("Expires", "-1")
	h.Set("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
	h.Set("X-Content-Type-Options", "nosniff")
	for k, v := range resp.header {
		h[k] = v
	}
	if resp.err != nil {
		if resp.err.Challenge != "" {
			h.Set("WWW-Authenticate", resp.err.Challenge)
		}
		h.Set("x-ms-failure-cause", failureCause(resp.err))
		h.Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(resp.err.Status)
		_ = json.NewEncoder(w).Encode(map[string]any{"error": resp.err})
		return
	}
	if resp.body == nil {
		w.WriteHeader(resp.status)
		return
	}
	h.Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(resp.status)
	if r.Method != http.MethodHead {
		_ = json.NewEncoder(w).Encode(resp.body)
	}
}

func failureCause(e *Error) string {
	if e.Status >= 500 {
		return "service"
	}
	return "gateway"
}

// Common errors, with the messages ARM sends.

func errResourceGroupNotFound(name string) *Error {
	return errorf(404, "ResourceGroupNotFound", "Resource group '%s' could not be found.", name)
}

func errResourceNotFound(typ, name, rg string) *Error {
	return errorf(404, "ResourceNotFound", "The Resource '%s/%s' under resource group '%s' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix", typ, name, rg)
}

func errInvalidRequestContent(detail string) *Error {
	return errorf(400, "InvalidRequestContent", "The request content was invalid and could not be deserialized: '%s'.", detail)
}
