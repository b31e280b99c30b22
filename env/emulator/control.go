package emulator

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/miconform/miconform/env/emulator/entra"
)

// The control API (/_emulator/faults on every host of the HTTPS listener)
// is the operator's: the caller presents a bearer token of the operator
// application for the cloud's Resource Manager audience, the token the
// operator already gets with its client secret (MICONFORM_OPERATOR_CLIENT_ID
// and _SECRET from `emulate`) to act as the person in the portal. No second
// credential exists to leak or to rotate, and a VM's managed identity (which
// has a token for the same audience) is refused with 403.

// authorizeControl is the control API's Authorizer.
func (e *Emulator) authorizeControl(r *http.Request) (int, string) {
	scheme, raw, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	raw = strings.TrimSpace(raw)
	if !strings.EqualFold(scheme, "Bearer") || raw == "" {
		return http.StatusUnauthorized, "the control API needs the operator's bearer token for Resource Manager"
	}
	c, err := e.Issuer.Verify(raw)
	switch {
	case errors.Is(err, entra.ErrExpired):
		return http.StatusUnauthorized, "the token is expired"
	case err != nil:
		return http.StatusUnauthorized, "the token is invalid"
	}
	audOK := false
	for _, a := range e.Cloud.ARMAudiences() {
		audOK = audOK || c.Aud == a
	}
	if !audOK || c.Iss != e.Issuer.IssuerURL() || !strings.EqualFold(c.TID, e.TenantID()) {
		return http.StatusUnauthorized, "the token is not for this tenant's Resource Manager"
	}
	if !strings.EqualFold(c.OID, e.Operator.ObjectID) {
		return http.StatusForbidden, "only the operator application may change faults"
	}
	return 0, ""
}

// serveFaulted is the host router's fault step: the services fault may
// fail the request, and the service writes the failure in its own error
// shape, with Retry-After as Azure's front doors send it.
func (e *Emulator) serveFaulted(w http.ResponseWriter, r *http.Request, s *service) bool {
	status, retryAfter, hit := e.Faults.Service(s.name)
	if !hit {
		return false
	}
	w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
	s.fault(w, r, status)
	return true
}
