package blob

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/miconform/miconform/env/emulator/directory"
)

// Error is a Blob service error: its status, x-ms-error-code and the extra
// elements Azure puts beside Code and Message in the XML body
// (AuthenticationErrorDetail, HeaderName, QueryParameterName, ...).
// https://learn.microsoft.com/rest/api/storageservices/status-and-error-codes2
// https://learn.microsoft.com/rest/api/storageservices/blob-service-error-codes
type Error struct {
	Status  int
	Code    string
	Message string
	// Details are extra elements, in order.
	Details [][2]string
	// Challenge is sent as WWW-Authenticate.
	Challenge string
	// frontEnd marks the errors Azure answers before the Blob service
	// reads the request (a Bearer token it cannot accept): recorded with
	// Server Microsoft-HTTPAPI/2.0 and no x-ms-version or
	// x-ms-client-request-id (Azure/azure-sdk-for-js
	// sdk/storage/storage-blob/recordings/node/containerclient_nodejs_only/recording_bearer_token_challenge_should_work.js).
	frontEnd bool
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

func errorf(status int, code, msg string, details ...string) *Error {
	e := &Error{Status: status, Code: code, Message: msg}
	for i := 0; i+1 < len(details); i += 2 {
		e.Details = append(e.Details, [2]string{details[i], details[i+1]})
	}
	return e
}

// The Blob service's errors, with Azure's messages (typos included).
func errAuthFailed(detail string) *Error {
	return errorf(403, "AuthenticationFailed", "Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly including the signature.", "AuthenticationErrorDetail", detail)
}

func errPermissionMismatch() *Error {
	return errorf(403, "AuthorizationPermissionMismatch", "This request is not authorized to perform this operation using this permission.")
}

func errProtocolMismatch() *Error {
	return errorf(403, "AuthorizationProtocolMismatch", "This request is not authorized to perform this operation using this protocol.")
}

func errSourceIPMismatch(ip string) *Error {
	return errorf(403, "AuthorizationSourceIPMismatch", "This request is not authorized to perform this operation using this source IP "+ip+".")
}

func errContainerNotFound() *Error {
	return errorf(404, "ContainerNotFound", "The specified container does not exist.")
}

func errBlobNotFound() *Error {
	return errorf(404, "BlobNotFound", "The specified blob does not exist.")
}

func errMissingHeader(name string) *Error {
	return errorf(400, "MissingRequiredHeader", "An HTTP header that's mandatory for this request is not specified.", "HeaderName", name)
}

func errInvalidHeader(name, value string) *Error {
	return errorf(400, "InvalidHeaderValue", "The value for one of the HTTP headers is not in the correct format.", "HeaderName", name, "HeaderValue", value)
}

func errInvalidQuery(name, value, reason string) *Error {
	return errorf(400, "InvalidQueryParameterValue", "Value for one of the query parameters specified in the request URI is invalid.", "QueryParameterName", name, "QueryParameterValue", value, "Reason", reason)
}

func errInvalidResourceName() *Error {
	return errorf(400, "InvalidResourceName", "The specifed resource name contains invalid characters.")
}

func errInvalidXML() *Error {
	return errorf(400, "InvalidXmlDocument", "XML specified is not syntactically valid.")
}

func errUnsupportedVerb() *Error {
	return errorf(405, "UnsupportedHttpVerb", "The resource doesn't support specified Http Verb.")
}

func errInvalidURI() *Error {
	return errorf(400, "InvalidUri", "The requested URI does not represent any resource on the server.")
}

// errorBody is the XML error document.
type errorBody struct {
	XMLName xml.Name `xml:"Error"`
	Code    string   `xml:"Code"`
	Message string   `xml:"Message"`
	Extra   []xmlKV
}

type xmlKV struct {
	XMLName xml.Name
	Value   string `xml:",chardata"`
}

// reply is what a handler answers: a status, headers and a body, or an
// error. One writer turns it into bytes so every answer carries the
// service's common headers and every error Azure's XML shape.
type reply struct {
	status int
	header http.Header
	body   []byte
	// file, when set, is the body instead of body: a part of a spill
	// file (a pointer, as replies are passed by value everywhere).
	file *piece
	err  *Error
}

func fail(e *Error) reply { return reply{err: e} }

// writeError sends an error answer. Not inlined: the front door's many
// error paths would each hold a reply in its frame, and a large frame
// there made every request's goroutine grow its stack.
//
//go:noinline
func writeError(w http.ResponseWriter, r *http.Request, version string, e *Error) {
	write(w, r, version, fail(e))
}

// write sends a reply with the headers every Blob service answer has.
// https://learn.microsoft.com/rest/api/storageservices/common-rest-api-headers
func write(w http.ResponseWriter, r *http.Request, version string, rp reply) {
	h := w.Header()
	reqID := directory.NewGUID()
	// Canonical keys set directly: Header.Set canonicalises each key on
	// every answer.
	h["X-Ms-Request-Id"] = []string{reqID}
	h["Server"] = serverValue
	h["Date"] = []string{httpDate()}
	if version != "" {
		h["X-Ms-Version"] = []string{version}
	}
	// The caller's x-ms-client-request-id comes back from 2019-02-02 on:
	// recorded echoed at 2020-04-08 and later (testdata/put_block_2020-04-08_recorded.json)
	// and not echoed at 2018-11-09 though sent (Azure/azure-sdk-for-net
	// sdk/storage/Azure.Storage.Blobs/tests/SessionRecords/ServiceClientTests/GetUserDelegationKey.json)
	// [unverified: 2019-02-02 as the first version that echoes it].
	if id := r.Header["X-Ms-Client-Request-Id"]; len(id) > 0 && id[0] != "" && version >= clientRequestIDVersion {
		h["X-Ms-Client-Request-Id"] = id[:1:1]
	}
	for k, v := range rp.header {
		h[k] = v
	}
	if rp.err != nil {
		e := rp.err
		if e.frontEnd {
			h["Server"] = frontEndServer
			delete(h, "X-Ms-Version")
			delete(h, "X-Ms-Client-Request-Id")
		}
		h.Set("x-ms-error-code", e.Code)
		if e.Challenge != "" {
			h.Set("WWW-Authenticate", e.Challenge)
		}
		body := errorBody{Code: e.Code, Message: fmt.Sprintf("%s\nRequestId:%s\nTime:%s", e.Message, reqID, time.Now().UTC().Format("2006-01-02T15:04:05.0000000Z"))}
		for _, d := range e.Details {
			body.Extra = append(body.Extra, xmlKV{XMLName: xml.Name{Local: d[0]}, Value: d[1]})
		}
		if r.Method == http.MethodHead {
			// A HEAD's error has no body, and Azure sends no Content-Type
			// for the body it does not send (Azure/azure-sdk-for-js
			// sdk/storage/storage-blob/recordings/node/blobclient/recording_exists_returns_false_on_nonexisting_blob.json).
			w.WriteHeader(e.Status)
			return
		}
		b, _ := xml.Marshal(body)
		// Azure writes the line breaks of Message (before RequestId and
		// Time) and of AuthenticationErrorDetail as they are, where
		// encoding/xml writes &#xA; (every recorded error, e.g.
		// testdata/container_not_found_2021-12-02_recorded.json).
		b = bytes.ReplaceAll(b, []byte("&#xA;"), []byte("\n"))
		b = append([]byte(xmlDecl), b...)
		h.Set("Content-Type", "application/xml")
		h.Set("Content-Length", strconv.Itoa(len(b)))
		w.WriteHeader(e.Status)
		_, _ = w.Write(b)
		return
	}
	if rp.body != nil && h.Get("Content-Length") == "" {
		h.Set("Content-Length", strconv.Itoa(len(rp.body)))
	}
	if rp.body == nil && h.Get("Content-Length") == "" {
		h.Set("Content-Length", "0")
	}
	w.WriteHeader(rp.status)
	if r.Method == http.MethodHead {
		return
	}
	if rp.file != nil {
		bp := copyBufs.Get().(*[]byte)
		_ = rp.file.writeTo(w, *bp)
		copyBufs.Put(bp)
		return
	}
	if len(rp.body) > 0 {
		_, _ = w.Write(rp.body)
	}
}

// clientRequestIDVersion is the first version whose answers echo
// x-ms-client-request-id.
const clientRequestIDVersion = "2019-02-02"

// serverValue is the Server header of every answer; the server only reads it.
var serverValue = []string{"Windows-Azure-Blob/1.0 Microsoft-HTTPAPI/2.0"}

// frontEndServer is the Server header of a frontEnd error.
var frontEndServer = []string{"Microsoft-HTTPAPI/2.0"}

// dateCache is the Date header of the current second.
var dateCache atomic.Pointer[cachedDate]

type cachedDate struct {
	sec int64
	s   string
}

// httpDate is now in http.TimeFormat, formatted once a second.
func httpDate() string {
	now := time.Now()
	if d := dateCache.Load(); d != nil && d.sec == now.Unix() {
		return d.s
	}
	d := &cachedDate{sec: now.Unix(), s: now.UTC().Format(http.TimeFormat)}
	dateCache.Store(d)
	return d.s
}

// xmlReply is a 200 answer with an XML document.
func xmlReply(v any) reply {
	b, err := xml.Marshal(v)
	if err != nil {
		return fail(errorf(500, "InternalError", "The server encountered an internal error. Please retry the request."))
	}
	b = append([]byte(xmlDecl), b...)
	return reply{status: 200, header: http.Header{"Content-Type": {"application/xml"}}, body: b}
}

// withBOM starts a listing's XML with the UTF-8 byte order mark Azure
// writes before it: recorded "\uFEFF<?xml ..." for List Containers, List
// Blobs and Get Block List (Azure/azure-sdk-for-js
// sdk/storage/storage-blob/recordings/node/blobserviceclient/recording_listcontainers_with_default_parameters.json,
// .../containerclient/recording_listblobsflat_with_default_parameters.json;
// Azure/azure-sdk-for-net .../BlockBlobClientTests/CommitBlockListAsync.json).
// Error bodies have none (recorded without, e.g. Crc64Mismatch in
// .../appendblobclient/recording_appendblock_with_invalid_crc64_should_fail.js).
func withBOM(rp reply) reply {
	if rp.err == nil && rp.body != nil {
		rp.body = append([]byte("\uFEFF"), rp.body...)
	}
	return rp
}

// xmlDecl is the XML declaration Azure writes (lower-case utf-8).
const xmlDecl = `<?xml version="1.0" encoding="utf-8"?>`

// httpTime is the RFC 1123 form Azure uses in headers and XML.
func httpTime(t time.Time) string { return t.UTC().Format(http.TimeFormat) }
