package keyvault

import "net/http"

// WriteFault answers a request the emulator's services fault failed (500
// or 503) through the writer every vault answer takes, so it carries Key
// Vault's headers (region, service version, network info, request ids);
// the caller has set Retry-After. [unverified] No recorded Key Vault 5xx
// body was found; the codes are Resource Manager's for the same statuses,
// in Key Vault's {"error":{"code","message"}} shape.
func (s *Service) WriteFault(w http.ResponseWriter, r *http.Request, status int) {
	e := errorf(status, "InternalServerError", "The server encountered an internal error. Please retry the request.")
	if status == http.StatusServiceUnavailable {
		e = errorf(status, "ServiceUnavailable", "The service is temporarily unavailable. Please retry the request after the time given in Retry-After.")
	}
	s.write(w, r, "", fail(e))
}
