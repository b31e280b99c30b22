package imds

import "net/http"

// WriteFault writes IMDS's answer for a transient failure (the fault
// injector's statuses). Statuses and retry guidance:
// https://learn.microsoft.com/entra/identity/managed-identities-azure-resources/how-to-use-vm-token#error-handling
// and https://learn.microsoft.com/azure/virtual-machines/instance-metadata-service#errors-and-debugging.
// Microsoft publishes the meanings, not the bodies (research/contracts.md:
// [unverified]); the bodies use the identity endpoint's error shape.
func WriteFault(w http.ResponseWriter, status int) {
	var code, desc string
	switch status {
	case http.StatusNotFound:
		code, desc = "not_found", "IMDS endpoint is updating"
	case http.StatusGone:
		code, desc = "unknown", "IMDS is being updated and will be available in a maximum of 70 seconds"
	case http.StatusTooManyRequests:
		writeThrottled(w)
		return
	case http.StatusInternalServerError:
		code, desc = "unknown", "Failed to retrieve token from the Active directory."
	default:
		code, desc = "service_unavailable", "IMDS is temporarily unavailable"
	}
	writeJSON(w, status, identityError(code, desc))
}

// writeThrottled is IMDS's 429, from the limiter or the fault injector.
func writeThrottled(w http.ResponseWriter) {
	w.Header().Set("Retry-After", "1")
	writeJSON(w, http.StatusTooManyRequests, identityError("too_many_requests", "IMDS Throttle limit reached. Retry with Exponential Backoff."))
}
