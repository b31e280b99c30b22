package steps

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/miconform/miconform/internal/azhttp"
	"github.com/tidwall/gjson"
)

// Long-running creates, followed as Azure's clients follow them (azcore's
// pollers, `az`): an Azure-AsyncOperation status resource is polled until
// it leaves InProgress and the resource is then read; a 202's Location is
// polled until it answers something other than 202, which is the result;
// a resource answered in a transitional provisioningState is read again
// until it leaves it. Waits honour Retry-After, as Azure asks; without one
// they back off from a quarter second to 5 s. Both Azure and the emulator
// answer this way (the emulator paces its operations by polls, so a run
// against it waits only what its Retry-After says).

// lroTimeout bounds one create: Azure SQL servers take a few minutes.
const lroTimeout = 15 * time.Minute

// lroBackoff is the first wait between polls without a Retry-After,
// doubled each poll up to lroMaxBackoff.
const (
	lroBackoff    = 250 * time.Millisecond
	lroMaxBackoff = 5 * time.Second
)

// transitional are provisioningStates that are not an outcome.
var transitional = map[string]bool{
	"Accepted": true, "Creating": true, "Updating": true, "Provisioning": true,
	"RegisteringDns": true, "ResolvingDns": true, "Running": true, "InProgress": true,
}

// awaitOperation follows the long-running operation x started on the
// resource at path (with its api-version query) and returns the final
// answer for the resource.
func (s *scenario) awaitOperation(ctx context.Context, x *azhttp.Exchange, path string) (*azhttp.Exchange, error) {
	deadline := time.Now().Add(lroTimeout)
	delay := lroBackoff
	if s.pollBackoff > 0 {
		delay = s.pollBackoff
	}
	zeros := 0
	wait := func(h http.Header) error {
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: still not done after %s", path, lroTimeout)
		}
		d := delay
		ra, err := strconv.Atoi(strings.TrimSpace(h.Get("Retry-After")))
		switch {
		case err == nil && ra > 0:
			d = time.Duration(ra) * time.Second
		case err == nil && ra == 0 && zeros < 2:
			// "Retry-After: 0" (an emulator told to hurry) is honoured a
			// couple of times, then backed off from, so a server that
			// keeps saying 0 is not polled in a busy loop.
			zeros++
			d = 0
		default:
			delay = min(2*delay, lroMaxBackoff)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(d):
			return nil
		}
	}
	var err error
	if async := x.Header.Get("Azure-AsyncOperation"); async != "" {
		rel, rerr := s.armRelative(async)
		if rerr != nil {
			return nil, rerr
		}
		h := x.Header
		for {
			if err := wait(h); err != nil {
				return nil, err
			}
			st, err := s.operator(ctx, http.MethodGet, rel, nil)
			if err != nil {
				return nil, err
			}
			switch status := gjson.GetBytes(st.Body, "status").String(); {
			case strings.EqualFold(status, "Succeeded"):
				return s.operator(ctx, http.MethodGet, path, nil)
			case strings.EqualFold(status, "Failed"), strings.EqualFold(status, "Canceled"):
				return nil, fmt.Errorf("%s: the operation ended %s: %s", path, status, st.Body)
			}
			h = st.Header
		}
	}
	for x.Status == http.StatusAccepted && x.Header.Get("Location") != "" {
		rel, rerr := s.armRelative(x.Header.Get("Location"))
		if rerr != nil {
			return nil, rerr
		}
		if err := wait(x.Header); err != nil {
			return nil, err
		}
		if x, err = s.operator(ctx, http.MethodGet, rel, nil); err != nil {
			return nil, err
		}
	}
	if x.Status == http.StatusAccepted {
		// A 202 without anything to poll: read the resource.
		if x, err = s.operator(ctx, http.MethodGet, path, nil); err != nil {
			return nil, err
		}
	}
	for transitional[gjson.GetBytes(x.Body, "properties.provisioningState").String()] {
		if err := wait(x.Header); err != nil {
			return nil, err
		}
		if x, err = s.operator(ctx, http.MethodGet, path, nil); err != nil {
			return nil, err
		}
	}
	return x, nil
}

// armRelative turns a polling URL into a path on the cloud's Resource
// Manager; a URL on another host is refused (the operator's token is only
// for Resource Manager).
func (s *scenario) armRelative(u string) (string, error) {
	prefix := "https://" + s.t.Cloud().ARMHost
	if len(u) < len(prefix) || !strings.EqualFold(u[:len(prefix)], prefix) {
		return "", fmt.Errorf("polling URL %q is not on %s", u, prefix)
	}
	return u[len(prefix):], nil
}
