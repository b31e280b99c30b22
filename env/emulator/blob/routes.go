package blob

import (
	"net/http"
	"unicode/utf8"
)

// routeEntry is one row of the Blob service's route table: what a request
// must be (method, path level, restype and comp) to run an operation.
// https://learn.microsoft.com/rest/api/storageservices/blob-service-rest-api
type routeEntry struct {
	method string
	level  level
	// restype is the restype query value the operation needs; "" takes
	// any.
	restype string
	comp    string
	op      *operation
}

// routes is the table route dispatches by and Operations lists: one row
// an operation, so that what the service serves and what its evidence
// test holds against recordings cannot drift apart.
var routes = []routeEntry{
	{http.MethodGet, levelAccount, "", "list", opListContainers},
	{http.MethodPost, levelAccount, "service", "userdelegationkey", opGetUserDelegationKey},
	// A one-segment path is a container only with restype=container
	// (locate), so every container row has it.
	{http.MethodPut, levelContainer, "container", "", opCreateContainer},
	{http.MethodGet, levelContainer, "container", "", opGetContainerProps},
	{http.MethodHead, levelContainer, "container", "", opGetContainerProps},
	{http.MethodDelete, levelContainer, "container", "", opDeleteContainer},
	{http.MethodGet, levelContainer, "container", "list", opListBlobs},
	{http.MethodPut, levelContainer, "container", "lease", opLeaseContainer},
	{http.MethodPut, levelBlob, "", "", opPutBlob},
	{http.MethodGet, levelBlob, "", "", opGetBlob},
	{http.MethodHead, levelBlob, "", "", opGetBlobProperties},
	{http.MethodDelete, levelBlob, "", "", opDeleteBlob},
	{http.MethodPut, levelBlob, "", "lease", opLeaseBlob},
	{http.MethodPut, levelBlob, "", "snapshot", opSnapshotBlob},
	{http.MethodPut, levelBlob, "", "appendblock", opAppendBlock},
	{http.MethodPut, levelBlob, "", "block", opPutBlock},
	{http.MethodPut, levelBlob, "", "blocklist", opPutBlockList},
}

// pattern is the row as "METHOD /path?query", the form the evidence
// excerpts name operations in.
func (e routeEntry) pattern() string {
	p := "/"
	switch e.level {
	case levelContainer:
		p = "/{container}"
	case levelBlob:
		p = "/{container}/{blob}"
	}
	q := ""
	if e.restype != "" {
		q = "restype=" + e.restype
	}
	if e.comp != "" {
		if q != "" {
			q += "&"
		}
		q += "comp=" + e.comp
	}
	if q != "" {
		p += "?" + q
	}
	return e.method + " " + p
}

// Operations lists every operation the Blob data plane serves, as
// "METHOD /path?query" (restype and comp), from the table route uses.
func (s *Service) Operations() []string {
	out := make([]string, len(routes))
	for i, e := range routes {
		out[i] = e.pattern()
	}
	return out
}

// route picks the operation from the method, the path level and the
// restype/comp query parameters.
func route(r *request) (*operation, *Error) {
	comp, restype := r.q.Get("comp"), r.q.Get("restype")
	lv := levelAccount
	switch {
	case r.blob != "":
		lv = levelBlob
		if len(r.blob) > 1024 || !utf8.ValidString(r.blob) {
			return nil, errorf(400, "InvalidUri", "The requested URI does not represent any resource on the server.")
		}
		if r.q.Has("snapshot") && r.Method != http.MethodGet && r.Method != http.MethodHead && r.Method != http.MethodDelete {
			// A snapshot is read-only: only reads and Delete Blob take one
			// [unverified: the code Azure answers a write to one with].
			return nil, errInvalidQuery("snapshot", r.q.Get("snapshot"), "")
		}
	case r.container != "":
		lv = levelContainer
	}
	for i := range routes {
		e := &routes[i]
		if e.level == lv && e.method == r.Method && e.comp == comp && (e.restype == "" || e.restype == restype) {
			return e.op, nil
		}
	}
	switch {
	case lv == levelAccount && comp == "userdelegationkey" && restype == "service":
		return nil, errUnsupportedVerb()
	case lv == levelAccount || comp != "":
		return nil, errUnsupportedOperation
	}
	return nil, errUnsupportedVerb()
}
