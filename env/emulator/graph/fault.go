package graph

import "net/http"

// WriteFault answers a request the emulator's services fault failed (500
// or 503) through Graph's error writer (innerError, request ids); the
// caller has set Retry-After. Codes and messages are Graph's documented
// ones for these statuses (microsoftgraph/microsoft-graph-docs
// concepts/errors.md: generalException, serviceNotAvailable).
func (s *Service) WriteFault(w http.ResponseWriter, r *http.Request, status int) {
	e := errorf(status, "generalException", "An unspecified error has occurred.")
	if status == http.StatusServiceUnavailable {
		e = errorf(status, "serviceNotAvailable", "The service is temporarily unavailable for maintenance or is overloaded. You may repeat the request after a delay, the length of which may be specified in a Retry-After header.")
	}
	s.writeError(w, r, e)
}
