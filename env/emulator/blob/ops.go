package blob

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Operations, by what route picks: the REST reference of each is beside
// its handler.
var (
	opListContainers        = &operation{name: "ListContainers", level: levelAccount, action: actContainers + "/read", h: (*Service).ListContainers}
	opCreateContainer       = &operation{name: "CreateContainer", level: levelContainer, action: actContainers + "/write", h: (*Service).CreateContainer}
	opGetContainerProps     = &operation{name: "GetContainerProperties", level: levelContainer, action: actContainers + "/read", sas: "r", h: (*Service).GetContainerProperties}
	opDeleteContainer       = &operation{name: "DeleteContainer", level: levelContainer, action: actContainers + "/delete", h: (*Service).DeleteContainer}
	opListBlobs             = &operation{name: "ListBlobs", level: levelContainer, action: actBlobs + "/read", data: true, sas: "l", h: (*Service).ListBlobs}
	opPutBlob               = &operation{name: "PutBlob", level: levelBlob, action: actBlobs + "/write|" + actBlobs + "/add/action", data: true, sas: "cw", h: (*Service).PutBlob}
	opPutBlock              = &operation{name: "PutBlock", level: levelBlob, action: actBlobs + "/write|" + actBlobs + "/add/action", data: true, sas: "cw", h: (*Service).PutBlock}
	opPutBlockList          = &operation{name: "PutBlockList", level: levelBlob, action: actBlobs + "/write|" + actBlobs + "/add/action", data: true, sas: "cw", h: (*Service).PutBlockList}
	opGetBlob               = &operation{name: "GetBlob", level: levelBlob, action: actBlobs + "/read", data: true, sas: "r", h: (*Service).GetBlob}
	opGetBlobProperties     = &operation{name: "GetBlobProperties", level: levelBlob, action: actBlobs + "/read", data: true, sas: "r", h: (*Service).GetBlobProperties}
	opDeleteBlob            = &operation{name: "DeleteBlob", level: levelBlob, action: actBlobs + "/delete", data: true, sas: "d", h: (*Service).DeleteBlob}
	errUnsupportedOperation = errorf(400, "UnsupportedQueryParameter", "One of the query parameters specified in the request URI is not supported.")
)

// route picks the operation from the method, the path level and the
// restype/comp query parameters.
func route(r *request) (*operation, *Error) {
	comp := r.q.Get("comp")
	m := r.Method
	switch {
	case r.container == "":
		switch {
		case comp == "list" && m == http.MethodGet:
			return opListContainers, nil
		case comp == "userdelegationkey" && r.q.Get("restype") == "service":
			if m != http.MethodPost {
				return nil, errUnsupportedVerb()
			}
			return opGetUserDelegationKey, nil
		}
		return nil, errUnsupportedOperation
	case r.blob == "":
		switch {
		case comp == "list" && m == http.MethodGet:
			return opListBlobs, nil
		case comp != "":
			return nil, errUnsupportedOperation
		case m == http.MethodPut:
			return opCreateContainer, nil
		case m == http.MethodGet || m == http.MethodHead:
			return opGetContainerProps, nil
		case m == http.MethodDelete:
			return opDeleteContainer, nil
		}
		return nil, errUnsupportedVerb()
	}
	if len(r.blob) > 1024 || !utf8.ValidString(r.blob) {
		return nil, errorf(400, "InvalidUri", "The requested URI does not represent any resource on the server.")
	}
	switch {
	case m == http.MethodPut && comp == "":
		return opPutBlob, nil
	case m == http.MethodPut && comp == "block":
		return opPutBlock, nil
	case m == http.MethodPut && comp == "blocklist":
		return opPutBlockList, nil
	case m == http.MethodGet && comp == "":
		return opGetBlob, nil
	case m == http.MethodHead && comp == "":
		return opGetBlobProperties, nil
	case m == http.MethodDelete && comp == "":
		return opDeleteBlob, nil
	case comp != "":
		return nil, errUnsupportedOperation
	}
	return nil, errUnsupportedVerb()
}

// containerNameRE is the container naming rule: 3-63 lower-case letters,
// digits and single hyphens, starting and ending with a letter or digit.
// https://learn.microsoft.com/rest/api/storageservices/naming-and-referencing-containers--blobs--and-metadata
var containerNameRE = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9]|-[a-z0-9]){2,62}$`)

// ValidContainerName reports whether a container name follows Azure's rules.
func ValidContainerName(n string) bool {
	return n == "$root" || (containerNameRE.MatchString(n) && len(n) <= 63)
}

func storeError(err error) *Error {
	switch {
	case errors.Is(err, ErrContainerNotFound):
		return errContainerNotFound()
	case errors.Is(err, ErrBlobNotFound):
		return errBlobNotFound()
	case errors.Is(err, ErrContainerExists):
		return errorf(409, "ContainerAlreadyExists", "The specified container already exists.")
	case errors.Is(err, ErrInvalidBlockList):
		return errorf(400, "InvalidBlockList", "The specified block list is invalid.")
	case errors.Is(err, ErrTooManyBlocks):
		return errorf(409, "BlockCountExceedsLimit", "The uncommitted block count cannot exceed the maximum limit of 100,000 blocks.")
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return errorf(500, "InternalError", "The server encountered an internal error. Please retry the request.")
}

// metadata reads x-ms-meta-* headers.
func metadata(h http.Header) map[string]string {
	m := map[string]string{}
	for k, v := range h {
		if n, ok := strings.CutPrefix(strings.ToLower(k), "x-ms-meta-"); ok && len(v) > 0 {
			m[n] = v[0]
		}
	}
	return m
}

// CreateContainer: https://learn.microsoft.com/rest/api/storageservices/create-container
func (s *Service) CreateContainer(r *request) reply {
	if !ValidContainerName(r.container) {
		return fail(errInvalidResourceName())
	}
	access := r.Header.Get("x-ms-blob-public-access")
	if access != "" && access != "blob" && access != "container" {
		return fail(errInvalidHeader("x-ms-blob-public-access", access))
	}
	c, err := s.Store.CreateContainer(r.acct.Name, r.container, Container{PublicAccess: access, Metadata: metadata(r.Header)})
	if err != nil {
		return fail(storeError(err))
	}
	return reply{status: 201, header: http.Header{"ETag": {c.ETag}, "Last-Modified": {httpTime(c.LastModified)}}}
}

// GetContainerProperties: https://learn.microsoft.com/rest/api/storageservices/get-container-properties
func (s *Service) GetContainerProperties(r *request) reply {
	c, err := s.Store.GetContainer(r.acct.Name, r.container)
	if err != nil {
		return fail(storeError(err))
	}
	h := http.Header{
		"ETag": {c.ETag}, "Last-Modified": {httpTime(c.LastModified)},
		"x-ms-lease-status": {"unlocked"}, "x-ms-lease-state": {"available"},
		"x-ms-has-immutability-policy": {"false"}, "x-ms-has-legal-hold": {"false"},
	}
	if c.PublicAccess != "" {
		h.Set("x-ms-blob-public-access", c.PublicAccess)
	}
	for k, v := range c.Metadata {
		h.Set("x-ms-meta-"+k, v)
	}
	return reply{status: 200, header: h}
}

// DeleteContainer: https://learn.microsoft.com/rest/api/storageservices/delete-container
func (s *Service) DeleteContainer(r *request) reply {
	if err := s.Store.DeleteContainer(r.acct.Name, r.container); err != nil {
		return fail(storeError(err))
	}
	return reply{status: 202}
}

// listParams reads prefix, marker and maxresults (1-5000, default 5000).
func listParams(r *request) (prefix, marker string, max int, e *Error) {
	prefix, marker, max = r.q.Get("prefix"), r.q.Get("marker"), 5000
	if v := r.q.Get("maxresults"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return "", "", 0, errInvalidQuery("maxresults", v, "")
		}
		max = min(n, 5000)
	}
	return prefix, marker, max, nil
}

type containerListXML struct {
	XMLName         xml.Name       `xml:"EnumerationResults"`
	ServiceEndpoint string         `xml:"ServiceEndpoint,attr"`
	Prefix          string         `xml:"Prefix,omitempty"`
	Marker          string         `xml:"Marker,omitempty"`
	MaxResults      int            `xml:"MaxResults,omitempty"`
	Containers      []containerXML `xml:"Containers>Container"`
	NextMarker      string         `xml:"NextMarker"`
}

type containerXML struct {
	Name       string `xml:"Name"`
	Properties struct {
		LastModified          string `xml:"Last-Modified"`
		Etag                  string `xml:"Etag"`
		LeaseStatus           string `xml:"LeaseStatus"`
		LeaseState            string `xml:"LeaseState"`
		PublicAccess          string `xml:"PublicAccess,omitempty"`
		HasImmutabilityPolicy bool   `xml:"HasImmutabilityPolicy"`
		HasLegalHold          bool   `xml:"HasLegalHold"`
	} `xml:"Properties"`
}

// ListContainers: https://learn.microsoft.com/rest/api/storageservices/list-containers2
func (s *Service) ListContainers(r *request) reply {
	prefix, marker, max, e := listParams(r)
	if e != nil {
		return fail(e)
	}
	cs, next := s.Store.ListContainers(r.acct.Name, prefix, marker, max)
	out := containerListXML{ServiceEndpoint: s.Endpoint(r.acct.Name), Prefix: prefix, Marker: marker, NextMarker: next, Containers: []containerXML{}}
	if r.q.Has("maxresults") {
		out.MaxResults = max
	}
	for _, c := range cs {
		x := containerXML{Name: c.Name}
		x.Properties.LastModified, x.Properties.Etag = httpTime(c.LastModified), c.ETag
		x.Properties.LeaseStatus, x.Properties.LeaseState, x.Properties.PublicAccess = "unlocked", "available", c.PublicAccess
		out.Containers = append(out.Containers, x)
	}
	return xmlReply(out)
}

type blobListXML struct {
	XMLName         xml.Name `xml:"EnumerationResults"`
	ServiceEndpoint string   `xml:"ServiceEndpoint,attr"`
	ContainerName   string   `xml:"ContainerName,attr"`
	Prefix          string   `xml:"Prefix,omitempty"`
	Marker          string   `xml:"Marker,omitempty"`
	MaxResults      int      `xml:"MaxResults,omitempty"`
	Delimiter       string   `xml:"Delimiter,omitempty"`
	Blobs           struct {
		Items []any `xml:",any"`
	} `xml:"Blobs"`
	NextMarker string `xml:"NextMarker"`
}

type blobXML struct {
	XMLName    xml.Name `xml:"Blob"`
	Name       string   `xml:"Name"`
	Properties struct {
		CreationTime       string `xml:"Creation-Time"`
		LastModified       string `xml:"Last-Modified"`
		Etag               string `xml:"Etag"`
		ContentLength      int    `xml:"Content-Length"`
		ContentType        string `xml:"Content-Type"`
		ContentEncoding    string `xml:"Content-Encoding"`
		ContentLanguage    string `xml:"Content-Language"`
		ContentMD5         string `xml:"Content-MD5"`
		CacheControl       string `xml:"Cache-Control"`
		ContentDisposition string `xml:"Content-Disposition"`
		BlobType           string `xml:"BlobType"`
		AccessTier         string `xml:"AccessTier"`
		AccessTierInferred bool   `xml:"AccessTierInferred"`
		LeaseStatus        string `xml:"LeaseStatus"`
		LeaseState         string `xml:"LeaseState"`
		ServerEncrypted    bool   `xml:"ServerEncrypted"`
	} `xml:"Properties"`
}

type blobPrefixXML struct {
	XMLName xml.Name `xml:"BlobPrefix"`
	Name    string   `xml:"Name"`
}

// ListBlobs: https://learn.microsoft.com/rest/api/storageservices/list-blobs
// (flat, or hierarchical with a delimiter).
func (s *Service) ListBlobs(r *request) reply {
	prefix, marker, max, e := listParams(r)
	if e != nil {
		return fail(e)
	}
	delim := r.q.Get("delimiter")
	// Fetch everything from the marker on and page here, since a delimiter
	// folds many blobs into one prefix entry.
	all, _, err := s.Store.ListBlobs(r.acct.Name, r.container, prefix, marker, int(^uint(0)>>1))
	if err != nil {
		return fail(storeError(err))
	}
	out := blobListXML{ServiceEndpoint: s.Endpoint(r.acct.Name), ContainerName: r.container, Prefix: prefix, Marker: marker, Delimiter: delim}
	if r.q.Has("maxresults") {
		out.MaxResults = max
	}
	seen := map[string]bool{}
	n := 0
	for _, b := range all {
		if delim != "" {
			if i := strings.Index(b.Name[len(prefix):], delim); i >= 0 {
				p := b.Name[:len(prefix)+i+len(delim)]
				if seen[p] {
					continue
				}
				if n == max {
					out.NextMarker = b.Name
					break
				}
				seen[p] = true
				out.Blobs.Items = append(out.Blobs.Items, blobPrefixXML{Name: p})
				n++
				continue
			}
		}
		if n == max {
			out.NextMarker = b.Name
			break
		}
		out.Blobs.Items = append(out.Blobs.Items, toBlobXML(b))
		n++
	}
	return xmlReply(out)
}

func toBlobXML(b Blob) blobXML {
	x := blobXML{Name: b.Name}
	p := &x.Properties
	p.CreationTime, p.LastModified, p.Etag = httpTime(b.Created), httpTime(b.LastModified), b.ETag
	p.ContentLength, p.ContentType, p.ContentEncoding, p.ContentLanguage = len(b.Data), b.ContentType, b.Encoding, b.Language
	if b.ContentMD5 != nil {
		p.ContentMD5 = base64.StdEncoding.EncodeToString(b.ContentMD5)
	}
	p.CacheControl, p.ContentDisposition, p.BlobType = b.CacheControl, b.Disposition, "BlockBlob"
	p.AccessTier, p.AccessTierInferred, p.LeaseStatus, p.LeaseState, p.ServerEncrypted = "Hot", true, "unlocked", "available", true
	return x
}

// maxBody bounds one request's body. Azure allows up to 5000 MiB per Put
// Blob and 4000 MiB per block; an in-memory emulator keeps a lower bound.
const maxBody = 256 << 20

// readBody reads the body, checking its length and Content-MD5.
func readBody(r *request) ([]byte, *Error) {
	if r.ContentLength < 0 && r.Header.Get("Transfer-Encoding") == "" {
		return nil, errMissingHeader("Content-Length")
	}
	if r.ContentLength > maxBody {
		return nil, errorf(413, "RequestBodyTooLarge", "The request body is too large and exceeds the maximum permissible limit.", "MaxLimit", strconv.Itoa(maxBody))
	}
	var b []byte
	var err error
	if r.ContentLength >= 0 {
		// One allocation of the announced size; a shorter body is an error.
		b = make([]byte, r.ContentLength)
		_, err = io.ReadFull(r.Body, b)
	} else {
		b, err = io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	}
	if err != nil {
		return nil, errorf(400, "InvalidInput", "One of the request inputs is not valid.")
	}
	if len(b) > maxBody {
		return nil, errorf(413, "RequestBodyTooLarge", "The request body is too large and exceeds the maximum permissible limit.", "MaxLimit", strconv.Itoa(maxBody))
	}
	if v := r.Header.Get("Content-MD5"); v != "" {
		want, err := base64.StdEncoding.DecodeString(v)
		if err != nil || len(want) != 16 {
			return nil, errInvalidHeader("Content-MD5", v)
		}
		if got := contentMD5(b); !bytes.Equal(got, want) {
			return nil, errorf(400, "Md5Mismatch", "The MD5 value specified in the request did not match with the MD5 value calculated by the server.",
				"UserSpecifiedMd5", v, "ServerCalculatedMd5", base64.StdEncoding.EncodeToString(got))
		}
	}
	return b, nil
}

// writeConditions checks If-Match / If-None-Match against the blob a write
// would replace (nil when there is none).
// https://learn.microsoft.com/rest/api/storageservices/specifying-conditional-headers-for-blob-service-operations
func writeConditions(r *request) func(*Blob) error {
	ifMatch, ifNone := r.Header.Get("If-Match"), r.Header.Get("If-None-Match")
	if ifMatch == "" && ifNone == "" {
		return nil
	}
	return func(old *Blob) error {
		if ifNone == "*" && old != nil {
			return errorf(409, "BlobAlreadyExists", "The specified blob already exists.")
		}
		if ifNone != "" && ifNone != "*" && old != nil && ifNone == old.ETag {
			return errorf(412, "ConditionNotMet", "The condition specified using HTTP conditional header(s) is not met.")
		}
		if ifMatch != "" && (old == nil || (ifMatch != "*" && ifMatch != old.ETag)) {
			if old == nil {
				return errBlobNotFound()
			}
			return errorf(412, "ConditionNotMet", "The condition specified using HTTP conditional header(s) is not met.")
		}
		return nil
	}
}

// blobProps reads the x-ms-blob-content-* headers a write sets.
func blobProps(r *request, fallbackType string) (Blob, *Error) {
	h := r.Header
	b := Blob{
		ContentType: h.Get("x-ms-blob-content-type"), Encoding: h.Get("x-ms-blob-content-encoding"),
		Language: h.Get("x-ms-blob-content-language"), CacheControl: h.Get("x-ms-blob-cache-control"),
		Disposition: h.Get("x-ms-blob-content-disposition"), Metadata: metadata(h),
	}
	if b.ContentType == "" {
		b.ContentType = fallbackType
	}
	if b.ContentType == "" {
		b.ContentType = "application/octet-stream"
	}
	if v := h.Get("x-ms-blob-content-md5"); v != "" {
		md, err := base64.StdEncoding.DecodeString(v)
		if err != nil || len(md) != 16 {
			return Blob{}, errInvalidHeader("x-ms-blob-content-md5", v)
		}
		b.ContentMD5 = md
	}
	return b, nil
}

func writtenHeaders(b Blob) http.Header {
	h := http.Header{
		"ETag": {b.ETag}, "Last-Modified": {httpTime(b.LastModified)},
		"x-ms-request-server-encrypted": {"true"},
	}
	if b.ContentMD5 != nil {
		h.Set("Content-MD5", base64.StdEncoding.EncodeToString(b.ContentMD5))
	}
	return h
}

// PutBlob: https://learn.microsoft.com/rest/api/storageservices/put-blob
// (block blobs; page and append blobs are not emulated).
func (s *Service) PutBlob(r *request) reply {
	switch t := r.Header.Get("x-ms-blob-type"); t {
	case "":
		return fail(errMissingHeader("x-ms-blob-type"))
	case "BlockBlob":
	case "PageBlob", "AppendBlob":
		return fail(errorf(400, "FeatureNotSupportedByEmulator", "miconform emulates block blobs only."))
	default:
		return fail(errInvalidHeader("x-ms-blob-type", t))
	}
	props, e := blobProps(r, r.Header.Get("Content-Type"))
	if e != nil {
		return fail(e)
	}
	if v := r.Header.Get("Content-Encoding"); v != "" && props.Encoding == "" {
		props.Encoding = v
	}
	if v := r.Header.Get("Content-Language"); v != "" && props.Language == "" {
		props.Language = v
	}
	data, e := readBody(r)
	if e != nil {
		return fail(e)
	}
	props.Data = data
	if props.ContentMD5 == nil {
		props.ContentMD5 = contentMD5(data)
	}
	b, err := s.Store.PutBlob(r.acct.Name, r.container, r.blob, props, writeConditions(r))
	if err != nil {
		return fail(storeError(err))
	}
	return reply{status: 201, header: writtenHeaders(b)}
}

// validBlockID: a base64 string whose decoded form is at most 64 bytes.
func validBlockID(id string) bool {
	b, err := base64.StdEncoding.DecodeString(id)
	return err == nil && len(b) <= 64 && id != ""
}

// PutBlock: https://learn.microsoft.com/rest/api/storageservices/put-block
func (s *Service) PutBlock(r *request) reply {
	id := r.q.Get("blockid")
	if !validBlockID(id) {
		return fail(errInvalidQuery("blockid", id, ""))
	}
	data, e := readBody(r)
	if e != nil {
		return fail(e)
	}
	if err := s.Store.PutBlock(r.acct.Name, r.container, r.blob, id, data); err != nil {
		return fail(storeError(err))
	}
	return reply{status: 201, header: http.Header{
		"Content-MD5":                   {base64.StdEncoding.EncodeToString(contentMD5(data))},
		"x-ms-request-server-encrypted": {"true"},
	}}
}

// ParseBlockList reads a Put Block List body: <BlockList> with Committed,
// Uncommitted and Latest entries in order.
func ParseBlockList(body []byte) ([]BlockRef, error) {
	d := xml.NewDecoder(bytes.NewReader(body))
	var refs []BlockRef
	depth := 0
	var cur string
	var text strings.Builder
	sawRoot := false
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			switch {
			case depth == 1 && t.Name.Local == "BlockList":
				sawRoot = true
			case depth == 2 && (t.Name.Local == "Committed" || t.Name.Local == "Uncommitted" || t.Name.Local == "Latest"):
				cur = t.Name.Local
				text.Reset()
			default:
				return nil, errors.New("unexpected element " + t.Name.Local)
			}
		case xml.CharData:
			if depth == 2 {
				text.Write(t)
			} else if strings.TrimSpace(string(t)) != "" {
				return nil, errors.New("unexpected text")
			}
		case xml.EndElement:
			if depth == 2 {
				id := strings.TrimSpace(text.String())
				if !validBlockID(id) {
					return nil, errors.New("invalid block id")
				}
				refs = append(refs, BlockRef{ID: id, From: cur})
			}
			depth--
		}
	}
	if !sawRoot {
		return nil, errors.New("no BlockList element")
	}
	return refs, nil
}

// PutBlockList: https://learn.microsoft.com/rest/api/storageservices/put-block-list
func (s *Service) PutBlockList(r *request) reply {
	props, e := blobProps(r, "")
	if e != nil {
		return fail(e)
	}
	body, e := readBody(r)
	if e != nil {
		return fail(e)
	}
	refs, err := ParseBlockList(body)
	if err != nil {
		return fail(errInvalidXML())
	}
	if len(refs) > 50000 {
		return fail(errorf(400, "InvalidBlockList", "The specified block list is invalid."))
	}
	b, err := s.Store.CommitBlocks(r.acct.Name, r.container, r.blob, refs, props, writeConditions(r))
	if err != nil {
		return fail(storeError(err))
	}
	return reply{status: 201, header: writtenHeaders(b)}
}

// readConditions answers If-Match / If-None-Match / If-Modified-Since /
// If-Unmodified-Since on reads: 412, or 304 for a matching If-None-Match.
func readConditions(r *request, b Blob) *reply {
	h := r.Header
	if v := h.Get("If-Match"); v != "" && v != "*" && v != b.ETag {
		rp := fail(errorf(412, "ConditionNotMet", "The condition specified using HTTP conditional header(s) is not met."))
		return &rp
	}
	if v := h.Get("If-Unmodified-Since"); v != "" {
		if t, err := time.Parse(http.TimeFormat, v); err == nil && b.LastModified.Truncate(time.Second).After(t) {
			rp := fail(errorf(412, "ConditionNotMet", "The condition specified using HTTP conditional header(s) is not met."))
			return &rp
		}
	}
	notModified := false
	if v := h.Get("If-None-Match"); v != "" && (v == "*" || v == b.ETag) {
		notModified = true
	}
	if v := h.Get("If-Modified-Since"); v != "" {
		if t, err := time.Parse(http.TimeFormat, v); err == nil && !b.LastModified.Truncate(time.Second).After(t) {
			notModified = true
		}
	}
	if notModified {
		rp := reply{status: 304, header: http.Header{"ETag": {b.ETag}, "Last-Modified": {httpTime(b.LastModified)}, "x-ms-error-code": {"ConditionNotMet"}}}
		return &rp
	}
	return nil
}

// blobHeaders are the properties Get Blob and Get Blob Properties return,
// with the SAS's response-header overrides (rsct, rscd, ...) applied.
func blobHeaders(r *request, b Blob) http.Header {
	h := http.Header{
		"ETag": {b.ETag}, "Last-Modified": {httpTime(b.LastModified)}, "x-ms-creation-time": {httpTime(b.Created)},
		"x-ms-blob-type": {"BlockBlob"}, "x-ms-lease-status": {"unlocked"}, "x-ms-lease-state": {"available"},
		"x-ms-server-encrypted": {"true"}, "Accept-Ranges": {"bytes"}, "Content-Type": {b.ContentType},
	}
	set := func(k, v string) {
		if v != "" {
			h.Set(k, v)
		}
	}
	set("Content-Encoding", b.Encoding)
	set("Content-Language", b.Language)
	set("Cache-Control", b.CacheControl)
	set("Content-Disposition", b.Disposition)
	for k, v := range b.Metadata {
		h.Set("x-ms-meta-"+k, v)
	}
	if sas := r.sas; sas != nil {
		set("Cache-Control", sas.CacheControl)
		set("Content-Disposition", sas.Disposition)
		set("Content-Encoding", sas.Encoding)
		set("Content-Language", sas.Language)
		set("Content-Type", sas.ContentType)
	}
	return h
}

// parseRange reads "bytes=a-b" / "bytes=a-" (x-ms-range wins over Range).
// ok is false for a malformed header, which Azure ignores (whole blob).
func parseRange(v string) (start, end int64, open, ok bool) {
	spec, found := strings.CutPrefix(strings.TrimSpace(v), "bytes=")
	if !found {
		return 0, 0, false, false
	}
	a, b, found := strings.Cut(spec, "-")
	if !found {
		return 0, 0, false, false
	}
	start, err := strconv.ParseInt(a, 10, 64)
	if err != nil || start < 0 {
		return 0, 0, false, false
	}
	if b == "" {
		return start, 0, true, true
	}
	end, err = strconv.ParseInt(b, 10, 64)
	if err != nil || end < start {
		return 0, 0, false, false
	}
	return start, end, false, true
}

// GetBlob: https://learn.microsoft.com/rest/api/storageservices/get-blob
func (s *Service) GetBlob(r *request) reply {
	b, err := s.Store.GetBlob(r.acct.Name, r.container, r.blob)
	if err != nil {
		return fail(storeError(err))
	}
	if rp := readConditions(r, b); rp != nil {
		return *rp
	}
	h := blobHeaders(r, b)
	rangeHdr := r.Header.Get("x-ms-range")
	if rangeHdr == "" {
		rangeHdr = r.Header.Get("Range")
	}
	size := int64(len(b.Data))
	if rangeHdr != "" {
		if start, end, open, ok := parseRange(rangeHdr); ok {
			if start >= size {
				e := errorf(416, "InvalidRange", "The range specified is invalid for the current size of the resource.")
				return reply{err: e, header: http.Header{"Content-Range": {"bytes */" + strconv.FormatInt(size, 10)}}}
			}
			if open || end >= size {
				end = size - 1
			}
			h.Set("Content-Range", "bytes "+strconv.FormatInt(start, 10)+"-"+strconv.FormatInt(end, 10)+"/"+strconv.FormatInt(size, 10))
			if b.ContentMD5 != nil {
				h.Set("x-ms-blob-content-md5", base64.StdEncoding.EncodeToString(b.ContentMD5))
			}
			data := b.Data[start : end+1]
			h.Set("Content-Length", strconv.Itoa(len(data)))
			return reply{status: 206, header: h, body: data}
		}
	}
	if b.ContentMD5 != nil {
		h.Set("Content-MD5", base64.StdEncoding.EncodeToString(b.ContentMD5))
	}
	h.Set("Content-Length", strconv.Itoa(len(b.Data)))
	return reply{status: 200, header: h, body: nonNil(b.Data)}
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// GetBlobProperties: https://learn.microsoft.com/rest/api/storageservices/get-blob-properties
func (s *Service) GetBlobProperties(r *request) reply {
	b, err := s.Store.GetBlob(r.acct.Name, r.container, r.blob)
	if err != nil {
		return fail(storeError(err))
	}
	if rp := readConditions(r, b); rp != nil {
		return *rp
	}
	h := blobHeaders(r, b)
	h.Set("Content-Length", strconv.Itoa(len(b.Data)))
	h.Set("x-ms-access-tier", "Hot")
	h.Set("x-ms-access-tier-inferred", "true")
	if b.ContentMD5 != nil {
		h.Set("Content-MD5", base64.StdEncoding.EncodeToString(b.ContentMD5))
	}
	return reply{status: 200, header: h}
}

// DeleteBlob: https://learn.microsoft.com/rest/api/storageservices/delete-blob
func (s *Service) DeleteBlob(r *request) reply {
	cond := func(b *Blob) error {
		if rp := readConditions(r, *b); rp != nil && rp.err != nil {
			return rp.err
		}
		return nil
	}
	if err := s.Store.DeleteBlob(r.acct.Name, r.container, r.blob, cond); err != nil {
		return fail(storeError(err))
	}
	return reply{status: 202, header: http.Header{"x-ms-delete-type-permanent": {"true"}}}
}
