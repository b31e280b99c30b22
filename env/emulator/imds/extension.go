package imds

// This file is IMDS's predecessor: the token endpoint of the managed identity
// VM extension (ManagedIdentityExtensionForWindows / ForLinux), which listened
// on http://localhost:50342/oauth2/token inside the VM until its retirement
// in January 2019. The 2017 tutorial (000/002) gets its token there.
//
// Contract: "How to use an Azure VM Managed Service Identity (MSI) to acquire
// an access token using HTTP", ms.date 12/01/2017,
// MicrosoftDocs/azure-docs articles/active-directory/managed-service-identity/how-to-use-vm-token.md
// (https://docs.microsoft.com/azure/active-directory/managed-service-identity/how-to-use-vm-token),
// sections "Get a token using HTTP" and "HTTP response reference".
// That reference article is the only source: no SDK or CLI recording and no
// captured answer of this retired endpoint exists (evidence_test.go keeps
// its two operations in noEvidenceYet). It is not one of the tutorials
// under test (features/tutorials), whose sample output is never a source.

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/miconform/miconform/env/emulator/entra"
)

// The extension types Resource Manager knows, publisher Microsoft.ManagedIdentity.
const (
	ExtensionPublisher = "Microsoft.ManagedIdentity"
	ExtensionWindows   = "ManagedIdentityExtensionForWindows"
	ExtensionLinux     = "ManagedIdentityExtensionForLinux"
	// ExtensionPort is the port the extension's settings named; the 2017
	// doc calls 50342 "the default port and ... configurable".
	ExtensionPort = 50342
)

// The documented error descriptions, verbatim from the doc's table.
const (
	extMetadataRequired = "Required metadata header not specified"
	extInvalidRequest   = "The request is missing a required parameter, includes an invalid parameter value, includes a parameter more than once, or is otherwise malformed."
	extUnauthorized     = "The client is not authorized to request an access token using this method."
)

// Extension serves the VM extension's token endpoint for one installed
// extension. Type is ExtensionWindows or ExtensionLinux: the doc lists the
// invalid_resource answer as "(Linux only)"; the Windows extension reported
// an unknown resource as the 500 "unknown" failure instead.
type Extension struct {
	Issuer  *entra.Issuer
	VM      VMSource
	Type    string
	Version string
}

// NewExtension makes the endpoint of an installed extension of type typ and
// typeHandlerVersion version on the VM source describes.
func NewExtension(iss *entra.Issuer, source VMSource, typ, version string) *Extension {
	return &Extension{Issuer: iss, VM: source, Type: typ, Version: version}
}

// extensionTokenResponse is the doc's "Sample response": IMDS's fields
// without client_id and ext_expires_in, every value a string.
type extensionTokenResponse struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	ExpiresIn    string `json:"expires_in"`
	ExpiresOn    string `json:"expires_on"`
	NotBefore    string `json:"not_before"`
	Resource     string `json:"resource"`
	TokenType    string `json:"token_type"`
}

// extensionPath and extensionMethods are the one operation the extension
// serves, by GET or POST; ServeHTTP checks requests against them and
// Operations reads them.
const extensionPath = "/oauth2/token"

var extensionMethods = []string{http.MethodGet, http.MethodPost}

// Operations lists what the extension serves, "METHOD /oauth2/token".
func (x *Extension) Operations() []string {
	ops := make([]string, 0, len(extensionMethods))
	for _, m := range extensionMethods {
		ops = append(ops, m+" "+extensionPath)
	}
	return ops
}

// maxFormBody bounds a POST body; a token request is a few hundred bytes.
const maxFormBody = 64 << 10

// ServeHTTP checks the request in the order the doc's table suggests (the
// source, the path, the Metadata header, the parameters) and answers
// Get Token.
func (x *Extension) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// "Caused by a request that didn't use local loopback to call the
	// extension": only the VM itself may ask (the table gives no status;
	// 400 is OAuth's for unauthorized_client).
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
			writeExt(w, http.StatusBadRequest, "unauthorized_client", extUnauthorized)
			return
		}
	}
	if strings.TrimSuffix(r.URL.Path, "/") != extensionPath {
		writeExt(w, http.StatusUnauthorized, "unknown_source", "Unknown Source "+requestURI(r))
		return
	}
	if r.Header.Get("Metadata") != "true" {
		writeExt(w, http.StatusBadRequest, "bad_request_102", extMetadataRequired)
		return
	}
	if !slices.Contains(extensionMethods, r.Method) {
		// The table documents no method error; "otherwise malformed" is the
		// nearest documented answer.
		writeExt(w, http.StatusBadRequest, "invalid_request", extInvalidRequest)
		return
	}
	var body []byte
	if r.Method == http.MethodPost {
		b, err := io.ReadAll(io.LimitReader(r.Body, maxFormBody+1))
		if err != nil || len(b) > maxFormBody {
			writeExt(w, http.StatusBadRequest, "invalid_request", extInvalidRequest)
			return
		}
		body = b
	}
	p, err := ParseExtensionRequest(r.URL.RawQuery, r.Header.Get("Content-Type"), body)
	if err != nil {
		writeExt(w, http.StatusBadRequest, "invalid_request", extInvalidRequest)
		return
	}
	x.token(w, p)
}

// ExtensionRequest is what a token request asks for.
type ExtensionRequest struct {
	Resource, ClientID, ObjectID string
}

// ErrMalformedRequest is a token request the extension refuses as
// invalid_request: a parameter missing, repeated or undecodable.
var ErrMalformedRequest = errors.New("malformed token request")

// ParseExtensionRequest reads the parameters from the query string and, for
// a POST, from an application/x-www-form-urlencoded body (what the old Python
// CLI sent); Invoke-WebRequest -Method GET -Body @{...} puts them in the
// query. A parameter given twice, in either place or across both, is
// refused, as is a body of any other media type.
func ParseExtensionRequest(rawQuery, contentType string, body []byte) (ExtensionRequest, error) {
	all := url.Values{}
	add := func(raw string) error {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return fmt.Errorf("%w: %v", ErrMalformedRequest, err)
		}
		for k, vs := range v {
			all[k] = append(all[k], vs...)
		}
		return nil
	}
	if err := add(rawQuery); err != nil {
		return ExtensionRequest{}, err
	}
	if len(body) > 0 {
		mt, _, err := mime.ParseMediaType(contentType)
		if err != nil || mt != "application/x-www-form-urlencoded" {
			return ExtensionRequest{}, fmt.Errorf("%w: body of type %q", ErrMalformedRequest, contentType)
		}
		if err := add(string(body)); err != nil {
			return ExtensionRequest{}, err
		}
	}
	for k, vs := range all {
		if len(vs) > 1 {
			return ExtensionRequest{}, fmt.Errorf("%w: %q given %d times", ErrMalformedRequest, k, len(vs))
		}
	}
	p := ExtensionRequest{Resource: all.Get("resource"), ClientID: all.Get("client_id"), ObjectID: all.Get("object_id")}
	if p.Resource == "" {
		return ExtensionRequest{}, fmt.Errorf("%w: resource is missing", ErrMalformedRequest)
	}
	return p, nil
}

// token is Get Token once the request is well formed.
func (x *Extension) token(w http.ResponseWriter, p ExtensionRequest) {
	vm, ok := x.VM()
	if !ok || (vm.System == nil && len(vm.User) == 0) {
		// "Verify that MSI has been enabled on the VM."
		writeExt(w, http.StatusInternalServerError, "unknown", x.failedToRetrieve())
		return
	}
	// The extension predates msi_res_id; it took client_id or object_id.
	id, errBody := selectIdentity(vm, p.ClientID, p.ObjectID, "")
	if errBody != nil {
		writeExt(w, http.StatusBadRequest, "invalid_request", extInvalidRequest)
		return
	}
	if !x.Issuer.KnownResource(p.Resource) {
		if x.Type == ExtensionLinux {
			writeExt(w, http.StatusBadRequest, "invalid_resource", fmt.Sprintf(
				"AADSTS50001: The application named %s was not found in the tenant named %s. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.",
				p.Resource, x.Issuer.Dir.TenantID))
			return
		}
		writeExt(w, http.StatusInternalServerError, "unknown", x.failedToRetrieve())
		return
	}
	t, err := x.Issuer.ManagedIdentityToken(id, p.Resource, vm.ResourceID)
	if err != nil {
		writeExt(w, http.StatusInternalServerError, "unknown", x.failedToRetrieve())
		return
	}
	now := x.Issuer.Now()
	writeExtJSON(w, http.StatusOK, extensionTokenResponse{
		AccessToken:  t.Raw,
		RefreshToken: "",
		ExpiresIn:    strconv.FormatInt(int64(t.ExpiresOn.Sub(now)/time.Second), 10),
		ExpiresOn:    strconv.FormatInt(t.ExpiresOn.Unix(), 10),
		NotBefore:    strconv.FormatInt(t.NotBefore.Unix(), 10),
		Resource:     p.Resource,
		TokenType:    "Bearer",
	})
}

// failedToRetrieve is the 500 "unknown" description. The doc leaves the
// file path as "<file path>"; these are the directories the VM agent gives
// every extension for its logs.
func (x *Extension) failedToRetrieve() string {
	dir := `C:\WindowsAzure\Logs\Plugins\` + ExtensionPublisher + "." + ExtensionWindows + `\` + x.Version
	if x.Type == ExtensionLinux {
		dir = "/var/log/azure/" + ExtensionPublisher + "." + ExtensionLinux
	}
	return "Failed to retrieve token from the Active directory. For details see logs in " + dir
}

// requestURI is the URI the caller asked for, as the unknown_source
// description names it.
func requestURI(r *http.Request) string {
	return "http://" + r.Host + r.URL.RequestURI()
}

func writeExt(w http.ResponseWriter, status int, code, desc string) {
	writeExtJSON(w, status, identityError(code, desc))
}

// writeExtJSON writes an answer as the doc's samples show it; unlike IMDS,
// the extension's Server header was never documented, so none is sent.
func writeExtJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
