package blob

import (
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// Shared Key: https://learn.microsoft.com/rest/api/storageservices/authorize-with-shared-key
// (Blob service string-to-sign for version 2009-09-19 and later; Content-Length
// empty when zero from 2015-02-21).

// parseSharedKey splits "SharedKey account:signature".
func parseSharedKey(h string) (account, sig string, ok bool) {
	scheme, rest, found := strings.Cut(h, " ")
	if !found || scheme != "SharedKey" {
		return "", "", false
	}
	account, sig, found = strings.Cut(strings.TrimSpace(rest), ":")
	return account, sig, found && account != "" && sig != ""
}

// sharedKeyStringToSign builds the string a Shared Key request signs.
// escapedPath is the request path as sent (the canonicalized resource keeps
// the URI's encoding); version decides how a zero Content-Length is written.
func sharedKeyStringToSign(method string, h http.Header, contentLength int64, account, escapedPath string, q url.Values, version string) string {
	cl := ""
	if contentLength > 0 {
		cl = strconv.FormatInt(contentLength, 10)
	} else if version < "2015-02-21" && contentLength == 0 && h.Get("Content-Length") != "" {
		cl = "0"
	}
	fields := []string{
		method,
		h.Get("Content-Encoding"),
		h.Get("Content-Language"),
		cl,
		h.Get("Content-MD5"),
		h.Get("Content-Type"),
		h.Get("Date"),
		h.Get("If-Modified-Since"),
		h.Get("If-Match"),
		h.Get("If-None-Match"),
		h.Get("If-Unmodified-Since"),
		h.Get("Range"),
	}
	return strings.Join(fields, "\n") + "\n" + canonicalizedHeaders(h) + canonicalizedResource(account, escapedPath, q)
}

// canonicalizedHeaders is every x-ms- header, lower-cased, sorted, with its
// values joined by commas, one "name:value\n" line each.
func canonicalizedHeaders(h http.Header) string {
	var names []string
	vals := map[string][]string{}
	for k, v := range h {
		n := strings.ToLower(strings.TrimSpace(k))
		if strings.HasPrefix(n, "x-ms-") {
			if _, seen := vals[n]; !seen {
				names = append(names, n)
			}
			vals[n] = append(vals[n], v...)
		}
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		trimmed := make([]string, len(vals[n]))
		for i, v := range vals[n] {
			trimmed[i] = strings.TrimSpace(v)
		}
		b.WriteString(n + ":" + strings.Join(trimmed, ",") + "\n")
	}
	return b.String()
}

// canonicalizedResource is "/{account}{path}" and then, for each query
// parameter by lower-cased name, "\nname:v1,v2" with the values sorted.
func canonicalizedResource(account, escapedPath string, q url.Values) string {
	if escapedPath == "" {
		escapedPath = "/"
	}
	var b strings.Builder
	b.WriteString("/" + account + escapedPath)
	merged := map[string][]string{}
	var names []string
	for k, v := range q {
		n := strings.ToLower(k)
		if _, seen := merged[n]; !seen {
			names = append(names, n)
		}
		merged[n] = append(merged[n], v...)
	}
	sort.Strings(names)
	for _, n := range names {
		v := append([]string(nil), merged[n]...)
		sort.Strings(v)
		b.WriteString("\n" + n + ":" + strings.Join(v, ","))
	}
	return b.String()
}
