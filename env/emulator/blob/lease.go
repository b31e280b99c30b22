package blob

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/miconform/miconform/env/emulator/directory"
)

// Lease is a blob's or container's lease. Its state is worked out from the
// clock at each request (State), so a lease expires or finishes breaking
// with no timer, and the same record means the same thing after a restart.
// https://learn.microsoft.com/rest/api/storageservices/lease-blob#remarks
type Lease struct {
	// ID is the lease id ("" when there is no lease); a broken or expired
	// lease keeps it until another is acquired or it is released.
	ID string `json:",omitempty"`
	// Duration is 15 to 60 seconds, or -1 for an infinite lease.
	Duration int `json:",omitempty"`
	// Expires is when a fixed-duration lease runs out.
	Expires time.Time `json:",omitzero"`
	// Breaking is set by Break Lease; the lease is broken from BrokenAt.
	Breaking bool      `json:",omitempty"`
	BrokenAt time.Time `json:",omitzero"`
}

// The lease states Azure reports in x-ms-lease-state / LeaseState.
const (
	leaseAvailable = "available"
	leaseLeased    = "leased"
	leaseExpired   = "expired"
	leaseBreaking  = "breaking"
	leaseBroken    = "broken"
)

// State is the lease's state at now.
func (l Lease) State(now time.Time) string {
	switch {
	case l.ID == "":
		return leaseAvailable
	case l.Breaking && now.Before(l.BrokenAt):
		return leaseBreaking
	case l.Breaking:
		return leaseBroken
	case l.Duration > 0 && !now.Before(l.Expires):
		return leaseExpired
	}
	return leaseLeased
}

// status is x-ms-lease-status: a leased or breaking blob is locked.
func (l Lease) status(now time.Time) string {
	if st := l.State(now); st == leaseLeased || st == leaseBreaking {
		return "locked"
	}
	return "unlocked"
}

// duration is x-ms-lease-duration, which Azure sends only while leased.
func (l Lease) duration(now time.Time) string {
	if l.State(now) != leaseLeased {
		return ""
	}
	if l.Duration < 0 {
		return "infinite"
	}
	return "fixed"
}

// setHeaders adds the lease headers of Get Blob, Get Blob Properties and
// Get Container Properties.
func (l Lease) setHeaders(h http.Header, now time.Time) {
	h.Set("x-ms-lease-status", l.status(now))
	h.Set("x-ms-lease-state", l.State(now))
	if d := l.duration(now); d != "" {
		h.Set("x-ms-lease-duration", d)
	}
}

// parseLeaseID reads a lease id: Azure takes any GUID string format
// (lease-blob, x-ms-lease-id); it is compared in one canonical form.
// Only the 32-digit form, with or without hyphens and braces, is
// accepted here [unverified: Azure's other .NET Guid formats].
func parseLeaseID(v string) (string, bool) {
	s := strings.ToLower(strings.TrimSpace(v))
	if strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}") || strings.HasPrefix(s, "(") && strings.HasSuffix(s, ")") {
		s = s[1 : len(s)-1]
	}
	if len(s) == 36 {
		if s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
			return "", false
		}
		s = s[:8] + s[9:13] + s[14:18] + s[19:23] + s[24:]
	}
	if len(s) != 32 {
		return "", false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return "", false
		}
	}
	return s[:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:], true
}

// leaseHeader reads an optional lease id header.
func leaseHeader(h http.Header, name string) (string, *Error) {
	v := h.Get(name)
	if v == "" {
		return "", nil
	}
	id, ok := parseLeaseID(v)
	if !ok {
		return "", errInvalidHeader(name, v)
	}
	return id, nil
}

// checkLease is what a lease lets through: a write or delete of a blob or
// container with a lease needs its id; an id on a request for something
// without an active lease fails. Reads pass id only when the caller gave
// one. https://learn.microsoft.com/rest/api/storageservices/lease-blob#remarks
// (the outcomes table) and blob-service-error-codes for the codes.
func checkLease(l Lease, id string, now time.Time, what string) *Error {
	notPresent := func() *Error {
		return errorf(412, "LeaseNotPresentWith"+what+"Operation", "There is currently no lease on the "+strings.ToLower(what)+".")
	}
	switch l.State(now) {
	case leaseLeased, leaseBreaking:
		if id == "" {
			// The message names the blob or the container, as recorded for
			// LeaseLost below and documented for LeaseIdMissing
			// (blob-service-error-codes).
			return errorf(412, "LeaseIdMissing", "There is currently a lease on the "+strings.ToLower(what)+" and no lease ID was specified in the request.")
		}
		if id != l.ID {
			return errorf(412, "LeaseIdMismatchWith"+what+"Operation", "The lease ID specified did not match the lease ID for the "+strings.ToLower(what)+".")
		}
	case leaseExpired, leaseBroken:
		// A lease that ran out or was broken no longer guards writes;
		// naming it is LeaseLost, recorded for an expired blob lease and a
		// broken container lease (Azure/azure-sdk-for-python
		// sdk/storage/azure-storage-blob/tests/recordings/test_common_blob.pyTestStorageCommonBlobtest_lease_blob_with_duration.json,
		// test_container.pyTestStorageContainertest_lease_container_break_period.json).
		if id != "" && id == l.ID {
			return errorf(412, "LeaseLost", "A lease ID was specified, but the lease for the "+strings.ToLower(what)+" has expired.")
		}
		if id != "" {
			return notPresent()
		}
	default:
		// Available: naming a lease fails.
		if id != "" {
			return notPresent()
		}
	}
	return nil
}

// leaseCheck is the lease check of a write or delete: it reads the
// request's x-ms-lease-id (a malformed one fails before anything is looked
// up) and returns checkLease of a "Blob" or "Container" (what) against it
// at the request's time, as a Store condition's error.
func (s *Service) leaseCheck(r *request, what string) (func(Lease) error, *Error) {
	id, e := leaseHeader(r.Header, "x-ms-lease-id")
	if e != nil {
		return nil, e
	}
	now := s.Issuer.Now()
	return func(l Lease) error {
		if e := checkLease(l, id, now, what); e != nil {
			return e
		}
		return nil
	}, nil
}

// leaseRequest is one Lease Blob / Lease Container request.
type leaseRequest struct {
	action   string
	id       string
	proposed string
	duration int
	// breakPeriod is -1 when x-ms-lease-break-period was not sent.
	breakPeriod int
}

// parseLeaseRequest reads the lease headers, checking each is present
// where the action needs it and in range.
// https://learn.microsoft.com/rest/api/storageservices/lease-blob#request-headers
func parseLeaseRequest(h http.Header) (leaseRequest, *Error) {
	q := leaseRequest{breakPeriod: -1}
	act := h.Get("x-ms-lease-action")
	if act == "" {
		return q, errMissingHeader("x-ms-lease-action")
	}
	q.action = strings.ToLower(act)
	var e *Error
	if q.id, e = leaseHeader(h, "x-ms-lease-id"); e != nil {
		return q, e
	}
	if q.proposed, e = leaseHeader(h, "x-ms-proposed-lease-id"); e != nil {
		return q, e
	}
	need := func(name, v string) *Error {
		if v == "" {
			return errMissingHeader(name)
		}
		return nil
	}
	switch q.action {
	case "acquire":
		v := h.Get("x-ms-lease-duration")
		if v == "" {
			return q, errMissingHeader("x-ms-lease-duration")
		}
		n, err := strconv.Atoi(v)
		if err != nil || n != -1 && (n < 15 || n > 60) {
			return q, errInvalidHeader("x-ms-lease-duration", v)
		}
		q.duration = n
	case "renew", "release":
		e = need("x-ms-lease-id", q.id)
	case "change":
		if e = need("x-ms-lease-id", q.id); e == nil {
			e = need("x-ms-proposed-lease-id", q.proposed)
		}
	case "break":
		if v := h.Get("x-ms-lease-break-period"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || n > 60 {
				return q, errInvalidHeader("x-ms-lease-break-period", v)
			}
			q.breakPeriod = n
		}
	default:
		return q, errInvalidHeader("x-ms-lease-action", act)
	}
	return q, e
}

// apply runs the request against a lease at now: the transitions of Lease
// Blob's outcomes table, which Lease Container shares. It returns the
// seconds a break leaves (x-ms-lease-time); its error is an *Error, or nil.
// https://learn.microsoft.com/rest/api/storageservices/lease-blob#remarks
// https://learn.microsoft.com/rest/api/storageservices/lease-container#remarks
func (q leaseRequest) apply(l *Lease, now time.Time) (int, error) {
	notPresent := errorf(409, "LeaseNotPresentWithLeaseOperation", "There is currently no lease on the blob/container.")
	mismatch := errorf(409, "LeaseIdMismatchWithLeaseOperation", "The lease ID specified did not match the lease ID for the blob/container.")
	st := l.State(now)
	fresh := func(id string, d int) {
		*l = Lease{ID: id, Duration: d}
		if d > 0 {
			l.Expires = now.Add(time.Duration(d) * time.Second)
		}
	}
	switch q.action {
	case "acquire":
		switch {
		case st == leaseBreaking:
			return 0, errorf(409, "LeaseIsBreakingAndCannotBeAcquired", "The lease ID matched, but the lease is currently in breaking state and cannot be acquired until it is broken.")
		case st == leaseLeased && (q.proposed == "" || q.proposed != l.ID):
			return 0, errorf(409, "LeaseAlreadyPresent", "There is already a lease present.")
		}
		id := q.proposed
		if id == "" {
			id = directory.NewGUID()
		}
		// Acquiring the active lease again with its own id starts it over
		// with the new duration.
		fresh(id, q.duration)
	case "renew":
		switch {
		case st == leaseAvailable:
			return 0, notPresent
		case q.id != l.ID:
			return 0, mismatch
		case st == leaseBreaking || st == leaseBroken:
			return 0, errorf(409, "LeaseIsBrokenAndCannotBeRenewed", "The lease ID matched, but the lease has been broken explicitly and cannot be renewed.")
		}
		// An expired lease can be renewed while nobody else has leased the
		// blob [unverified: Azure also refuses once the blob was written
		// after the expiry; that is not tracked here].
		fresh(l.ID, l.Duration)
	case "change":
		switch {
		case st == leaseAvailable:
			return 0, notPresent
		case q.id != l.ID && q.proposed != l.ID:
			return 0, mismatch
		case st == leaseBreaking:
			return 0, errorf(409, "LeaseIsBreakingAndCannotBeChanged", "The lease ID matched, but the lease is currently in breaking state and cannot be changed.")
		case st != leaseLeased:
			// [unverified: the code Azure answers a change of an expired
			// or broken lease with]
			return 0, notPresent
		}
		// Changing to the id the lease already has succeeds (a retried
		// change is harmless).
		l.ID = q.proposed
	case "release":
		switch {
		case st == leaseAvailable:
			return 0, notPresent
		case q.id != l.ID:
			return 0, mismatch
		}
		*l = Lease{}
	case "break":
		switch st {
		case leaseAvailable, leaseExpired:
			return 0, notPresent
		case leaseBroken:
			return 0, nil
		}
		// The break ends after the period asked for (0 to 60 s), or, when
		// none is given, at the end of a fixed lease's term and at once
		// for an infinite one; never later than the lease or an earlier
		// break would have ended.
		end := now
		if q.breakPeriod >= 0 {
			end = now.Add(time.Duration(q.breakPeriod) * time.Second)
		} else if l.Duration > 0 {
			end = l.Expires
		}
		if st == leaseBreaking && l.BrokenAt.Before(end) {
			end = l.BrokenAt
		}
		if st == leaseLeased && l.Duration > 0 && l.Expires.Before(end) {
			end = l.Expires
		}
		l.Breaking, l.BrokenAt = true, end
		return int((end.Sub(now) + time.Second - 1) / time.Second), nil
	}
	return 0, nil
}

// leaseReply is Lease Blob's and Lease Container's answer.
func leaseReply(q leaseRequest, l Lease, etag string, modified time.Time, leaseTime int) reply {
	h := http.Header{"ETag": {etag}, "Last-Modified": {httpTime(modified)}}
	status := 200
	switch q.action {
	case "acquire":
		status = 201
		h.Set("x-ms-lease-id", l.ID)
	case "renew", "change":
		h.Set("x-ms-lease-id", l.ID)
	case "break":
		status = 202
		h.Set("x-ms-lease-time", strconv.Itoa(leaseTime))
	}
	return reply{status: status, header: h}
}

// LeaseBlob: https://learn.microsoft.com/rest/api/storageservices/lease-blob
func (s *Service) LeaseBlob(r *request) reply {
	q, e := parseLeaseRequest(r.Header)
	if e != nil {
		return fail(e)
	}
	now := s.Issuer.Now()
	var leaseTime int
	b, err := s.Store.LeaseBlob(r.acct.Name, r.container, r.blob, func(b *Blob) (err error) {
		if e := ifConditions(r, *b); e != nil {
			return e
		}
		leaseTime, err = q.apply(&b.Lease, now)
		return err
	})
	if err != nil {
		return fail(storeError(err))
	}
	return leaseReply(q, b.Lease, b.ETag, b.LastModified, leaseTime)
}

// LeaseContainer: https://learn.microsoft.com/rest/api/storageservices/lease-container
func (s *Service) LeaseContainer(r *request) reply {
	q, e := parseLeaseRequest(r.Header)
	if e != nil {
		return fail(e)
	}
	now := s.Issuer.Now()
	var leaseTime int
	c, err := s.Store.LeaseContainer(r.acct.Name, r.container, func(c *Container) (err error) {
		leaseTime, err = q.apply(&c.Lease, now)
		return err
	})
	if err != nil {
		return fail(storeError(err))
	}
	return leaseReply(q, c.Lease, c.ETag, c.LastModified, leaseTime)
}
