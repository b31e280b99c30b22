package emulator

import (
	"errors"
	"net/http"
	"strings"

	"github.com/miconform/miconform/env/emulator/entra"
	"github.com/miconform/miconform/env/emulator/faults"
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

// serviceOf names the service the host router sends host to, for the
// services fault ("" for hosts it never faults).
func (e *Emulator) serviceOf(host string) string {
	switch {
	case host == strings.ToLower(e.Cloud.ARMHost):
		return "arm"
	case host == strings.ToLower(e.Cloud.LoginHost):
		return "login"
	case e.Blob != nil && (strings.HasSuffix(host, ".blob."+strings.ToLower(e.Cloud.StorageSuffix)) || host == "127.0.0.1" || host == "localhost"):
		return "blob"
	case strings.HasSuffix(host, "."+strings.ToLower(e.Cloud.VaultSuffix)):
		return "vault"
	case host == e.Cloud.GraphHost:
		return "graph"
	}
	return ""
}

// serveFaulted is the host router's fault step: control requests go to
// the control API, and the services fault may answer before the service.
func (e *Emulator) serveFaulted(w http.ResponseWriter, r *http.Request, host string) bool {
	if strings.HasPrefix(r.URL.Path, faults.ControlPrefix) {
		e.control.ServeHTTP(w, r)
		return true
	}
	return e.Faults.Service(w, r, e.serviceOf(host))
}
