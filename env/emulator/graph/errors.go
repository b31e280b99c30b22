package graph

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// Error is Microsoft Graph's error body:
// {"error":{"code","message","innerError":{"date","request-id","client-request-id"}}}.
// Shape, status and headers (content-type application/json, request-id) of
// the recorded 404 in Azure/azure-cli
// src/azure-cli/azure/cli/command_modules/role/tests/latest/recordings/test_service_principal_scenario.yaml
// (ad sp show of a deleted principal).
type Error struct {
	Status  int
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

func errorf(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// errNotFound is Request_ResourceNotFound, worded as the recording above
// (test_service_principal_scenario.yaml, GET servicePrincipals/{id} → 404).
func errNotFound(id string) *Error {
	return errorf(http.StatusNotFound, "Request_ResourceNotFound",
		"Resource '%s' does not exist or one of its queried reference-property objects are not present.", id)
}

// errDenied is what Graph answers a caller whose token lacks the
// permission: 403 Authorization_RequestDenied. Verbatim (with innerError
// date, request-id, client-request-id) in MicrosoftDocs/azure-docs
// articles/service-fabric/service-fabric-cluster-creation-setup-aad.md and
// MicrosoftDocs/SupportArticles-docs
// support/entra/entra-id/app-integration/troubleshoot-authorization-requestdenied-graph-api.md.
func errDenied() *Error {
	return errorf(http.StatusForbidden, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
}

// errMeAppOnly is /me with an app-only token: 400 BadRequest, verbatim in
// microsoftgraph/msgraph-sdk-php#1163 ("GET https://graph.microsoft.com/v1.0/me
// resulted in a 400 Bad Request response: {"error":{"code":"BadRequest",
// "message":"/me request is only valid with delegated authentication flow."...").
func errMeAppOnly() *Error {
	return errorf(http.StatusBadRequest, "BadRequest", "/me request is only valid with delegated authentication flow.")
}

// errToken is a 401 InvalidAuthenticationToken. "Access token is empty."
// and "Access token validation failure. Invalid audience." are verbatim in
// microsoftgraph/microsoft-graph-docs#16208 and MicrosoftDocs/azure-docs#79918;
// "Lifetime validation failed, the token is expired." is Graph's expiry
// message.
func errToken(msg string) *Error {
	return &Error{Status: http.StatusUnauthorized, Code: "InvalidAuthenticationToken", Message: msg}
}

// errSegment is a path segment Graph has no resource for
// ("Resource not found for the segment 'x'.", the message az printed in
// Azure/azure-cli#10439).
func errSegment(seg string) *Error {
	return errorf(http.StatusBadRequest, "BadRequest", "Resource not found for the segment '%s'.", seg)
}

// errObjectID is a malformed object id in a key segment.
func errObjectID(id string) *Error {
	return errorf(http.StatusBadRequest, "Request_BadRequest", "Invalid object identifier '%s'.", id)
}

// writeError writes e as Graph does: JSON body with innerError, the
// request ids in headers, no-cache.
func (s *Service) writeError(w http.ResponseWriter, r *http.Request, e *Error) {
	reqID, clientID := s.requestIDs(w, r)
	if e.Status == http.StatusUnauthorized {
		// The challenge Graph sends with every 401 names the authority and
		// Graph's own application id.
		w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="", authorization_uri="https://%s/common/oauth2/authorize", client_id="%s"`, s.Cloud.LoginHost, graphAppID))
	}
	type inner struct {
		Date            string `json:"date"`
		RequestID       string `json:"request-id"`
		ClientRequestID string `json:"client-request-id"`
	}
	type body struct {
		Code       string `json:"code"`
		Message    string `json:"message"`
		InnerError inner  `json:"innerError"`
	}
	b, _ := json.Marshal(map[string]body{"error": {Code: e.Code, Message: e.Message, InnerError: inner{
		Date: s.Issuer.Now().UTC().Format("2006-01-02T15:04:05"), RequestID: reqID, ClientRequestID: clientID,
	}}})
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-cache")
	h.Set("Strict-Transport-Security", "max-age=31536000")
	// Graph varies its errors on Accept-Encoding too (the recorded 404 of
	// GET applications/{id}, test_app_scenario.yaml; testdata/app_not_found.json).
	h.Set("Vary", "Accept-Encoding")
	w.WriteHeader(e.Status)
	_, _ = w.Write(b)
}
