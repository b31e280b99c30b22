package blob

import "net/http"

// WriteFault answers a request the emulator's services fault failed (500
// or 503) through the writer every Blob answer takes: Storage's XML error,
// x-ms-error-code and the common headers; the caller has set Retry-After.
// ServerBusy (503) and InternalError (500), as listed in
// https://learn.microsoft.com/rest/api/storageservices/common-rest-api-error-codes.
func (s *Service) WriteFault(w http.ResponseWriter, r *http.Request, status int) {
	e := errorf(status, "InternalError", "The server encountered an internal error. Please retry the request.")
	if status == http.StatusServiceUnavailable {
		e = errorf(status, "ServerBusy", "The server is currently unable to receive requests. Please retry your request.")
	}
	version := r.Header.Get("x-ms-version")
	if !knownVersion(version) {
		version = ""
	}
	write(w, r, version, fail(e))
}
