package entra

import "net/http"

// WriteFault answers a request the emulator's services fault failed (500
// or 503) as the login host does, with ESTS's headers and an AADSTS body;
// the caller has set Retry-After. The 503 is the outage answer recorded in
// Azure/azure-sdk-for-python#14241: "temporarily_unavailable", "AADSTS90033:
// A transient error has occurred. Please try again.", error_codes [90033].
// [unverified] The 500 uses OAuth's "server_error" with AADSTS50000, the
// code Entra's error reference gives for an issue with its sign-in service.
func (i *Issuer) WriteFault(w http.ResponseWriter, r *http.Request, status int) {
	estsHeaders(w.Header(), r)
	e := i.NewAADSTSError("server_error", 50000, "There was an error issuing a token or an issue with our sign-in service.")
	if status == http.StatusServiceUnavailable {
		e = i.NewAADSTSError("temporarily_unavailable", 90033, "A transient error has occurred. Please try again.")
	}
	i.writeErr(w, status, e)
}
