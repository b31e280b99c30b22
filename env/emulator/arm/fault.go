package arm

import "net/http"

// WriteFault answers a request the emulator's services fault failed (500
// or 503) as Resource Manager does, through the writer every answer takes,
// so it carries ARM's headers and x-ms-failure-cause "service"; the caller
// has set Retry-After. Codes and messages:
// https://learn.microsoft.com/azure/azure-resource-manager/troubleshooting/common-deployment-errors
func (s *Server) WriteFault(w http.ResponseWriter, r *http.Request, status int) {
	e := Errorf(status, "InternalServerError", "The server encountered an internal error. Please retry the request.")
	if status == http.StatusServiceUnavailable {
		e = Errorf(status, "ServiceUnavailable", "The service is temporarily unavailable. Please retry the request after the time given in Retry-After.")
	}
	s.write(w, r, Fail(e))
}
