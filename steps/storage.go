package steps

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/cucumber/godog"
	"github.com/miconform/miconform/internal/azhttp"
	"github.com/miconform/miconform/internal/redact"
	"github.com/tidwall/gjson"
)

// Storage steps: the two Storage tutorials. Given steps are the portal
// (Resource Manager as the operator, and the portal's upload with the
// account key); When steps are what the tutorials run on the VM: the .NET
// sample's token GET, and PowerShell's listServiceSas call,
// Set-AzStorageBlobContent and Get-AzStorageBlobContent with the SAS.
func registerStorage(sc *godog.ScenarioContext) {
	sc.Before(func(ctx context.Context, _ *godog.Scenario) (context.Context, error) {
		return context.WithValue(ctx, filesKey{}, map[string][]byte{}), nil
	})
	sc.Step(re(`^the operator creates a storage account of kind "([^"]*)" in the resource group$`), createStorageAccount)
	sc.Step(re(`^the operator creates the blob container "([^"]*)" in the storage account$`), createContainer)
	sc.Step(re(`^the operator uploads "([^"]*)" with the text "([^"]*)" to the container$`), operatorUploads)
	sc.Step(re(`^the operator grants the VM's system-assigned identity the "([^"]*)" role on the storage account$`), grantVMRoleOnAccount)
	sc.Step(re(`^the operator turns off "Secure transfer required" on the storage account$`), disableSecureTransfer)
	sc.Step(re(`^the operator regenerates the storage account's "(key1|key2)"$`), regenerateKey)
	sc.Step(re(`^the time (\d+) hours? (from now|ago) as <([A-Z][A-Z0-9-]*)>$`), timeAs)
	sc.Step(re(`^the VM sends GET "([^"]*)" with the access token and header "([^"]*)"(, expecting to be refused)?$`), vmGetWithTokenAndHeader)
	sc.Step(re(`^the VM sends POST "([^"]*)" with the access token, Content-Type "([^"]*)" and this body(, expecting to be refused)?:$`), vmPostWithToken)
	sc.Step(re(`^the VM extracts the SAS credential from the response$`), extractSAS)
	sc.Step(re(`^the VM changes "([^"]*)" to "([^"]*)" in the SAS credential$`), editSAS)
	sc.Step(re(`^the SAS credential has these parameters:$`), sasHasParams)
	sc.Step(re(`^the SAS credential has a signature$`), sasHasSignature)
	sc.Step(re(`^a file "([^"]*)" on the VM with the line "([^"]*)"$`), fileWithLine)
	sc.Step(re(`^the response header "Content-Length" is the size of "([^"]*)"$`), contentLengthIsFileSize)
	sc.Step(re(`^the VM uploads "([^"]*)" to the container as blob "([^"]*)" with the SAS credential( over http)?$`), uploadWithSAS)
	sc.Step(re(`^the VM downloads blob "([^"]*)" from the container to "([^"]*)" with the SAS credential$`), downloadWithSAS)
	sc.Step(re(`^"([^"]*)" has the same bytes as "([^"]*)"$`), sameBytes)
	sc.Step(re(`^the response body is the text "([^"]*)"$`), bodyIsText)
	sc.Step(re(`^the response body is not the text "([^"]*)"$`), bodyIsNotText)
	sc.Step(re(`^the response header "([^"]*)" is "([^"]*)"$`), headerIs)
	sc.Step(re(`^the storage error code is "([^"]*)"$`), storageErrorCode)
	sc.Step(re(`^the storage error detail starts with "([^"]*)"$`), storageErrorDetail)
}

const storageAPI = "2023-01-01"

// filesKey holds the scenario's files on the VM (test.txt, test2.txt).
type filesKey struct{}

func files(ctx context.Context) map[string][]byte {
	m, _ := ctx.Value(filesKey{}).(map[string][]byte)
	if m == nil {
		panic("steps: storage files missing from context (registerStorage not called)")
	}
	return m
}

func (s *scenario) accountPath() (string, error) {
	return s.expand("/subscriptions/<SUBSCRIPTION-ID>/resourceGroups/<RESOURCE-GROUP>/providers/Microsoft.Storage/storageAccounts/<STORAGE-ACCOUNT-NAME>")
}

// createStorageAccount is the portal's "Create storage account" with the
// tutorial's account kind. Azure may create the account asynchronously
// (202); the step waits until it reads back Succeeded. The account goes
// with the resource group.
func createStorageAccount(ctx context.Context, kind string) error {
	s := from(ctx)
	if err := s.skipUnlessProvisioning("a new storage account"); err != nil {
		return err
	}
	// 3-24 lower-case letters and digits, unique across Azure.
	s.set("STORAGE-ACCOUNT-NAME", "miconform"+randomSuffix()+randomSuffix()[:3])
	s.set("STORAGE-SUFFIX", s.t.Cloud().StorageSuffix)
	path, err := s.accountPath()
	if err != nil {
		return err
	}
	x, err := s.operator(ctx, http.MethodPut, path+"?api-version="+storageAPI, map[string]any{
		"location": s.vars["LOCATION"], "kind": kind, "sku": map[string]any{"name": "Standard_LRS"},
		"tags": s.t.Policy().Tags,
	})
	if err != nil {
		return err
	}
	// Azure accepts the create (202) and finishes it in the background.
	if x, err = s.awaitOperation(ctx, x, path+"?api-version="+storageAPI); err != nil {
		return err
	}
	if st := gjson.GetBytes(x.Body, "properties.provisioningState").String(); st != "Succeeded" {
		return fmt.Errorf("storage account %s: provisioningState %q, want Succeeded: %.300s", s.vars["STORAGE-ACCOUNT-NAME"], st, x.Body)
	}
	s.last = x
	s.set("BLOB-ENDPOINT", gjson.GetBytes(x.Body, "properties.primaryEndpoints.blob").String())
	return nil
}

// createContainer is "+ Container" with the default (private) access level.
func createContainer(ctx context.Context, name string) error {
	s := from(ctx)
	path, err := s.accountPath()
	if err != nil {
		return err
	}
	c := path + "/blobServices/default/containers/" + name + "?api-version=" + storageAPI
	if _, err := s.operator(ctx, http.MethodPut, c, map[string]any{"properties": map[string]any{}}); err != nil {
		return err
	}
	// The create's 201 echoes only what was asked (no publicAccess when
	// none was); the container as the portal then shows it is its GET
	// (azure-sdk-for-net BlobContainerTests/CreateDeleteBlobContainer.json).
	x, err := s.operator(ctx, http.MethodGet, c, nil)
	if err != nil {
		return err
	}
	s.last = x
	s.set("CONTAINER-NAME", name)
	return nil
}

// accountKey is what the portal uses for its uploads: key1 from List Keys.
func (s *scenario) accountKey(ctx context.Context) (string, error) {
	path, err := s.accountPath()
	if err != nil {
		return "", err
	}
	x, err := s.operator(ctx, http.MethodPost, path+"/listKeys?api-version="+storageAPI, nil)
	if err != nil {
		return "", err
	}
	key := gjson.GetBytes(x.Body, "keys.0.value").String()
	if key == "" {
		return "", fmt.Errorf("listKeys returned no key1")
	}
	redact.Register(key)
	return key, nil
}

// operatorUploads is the portal's Upload blob pane, which signs with the
// account key; the official SDK does the signing, as the portal's own
// client would. The blob's URL, as its Properties page shows it, becomes
// <URI-TO-BLOB-FILE>.
func operatorUploads(ctx context.Context, name, text string) error {
	s := from(ctx)
	key, err := s.accountKey(ctx)
	if err != nil {
		return err
	}
	cred, err := azblob.NewSharedKeyCredential(s.vars["STORAGE-ACCOUNT-NAME"], key)
	if err != nil {
		return err
	}
	c, err := azblob.NewClientWithSharedKeyCredential(s.vars["BLOB-ENDPOINT"], cred, &azblob.ClientOptions{ClientOptions: azcore.ClientOptions{
		Transport: s.t.HTTPClient(), Retry: policy.RetryOptions{MaxRetries: 2},
	}})
	if err != nil {
		return err
	}
	if _, err := c.UploadBuffer(ctx, s.vars["CONTAINER-NAME"], name, []byte(text), nil); err != nil {
		return fmt.Errorf("operator upload of %q: %s", name, redact.String(err.Error()))
	}
	s.log.Printf("operator uploaded %q (%d bytes) to %s with Shared Key", name, len(text), s.vars["CONTAINER-NAME"])
	s.set("BLOB-NAME", name)
	s.set("URI-TO-BLOB-FILE", s.vars["BLOB-ENDPOINT"]+s.vars["CONTAINER-NAME"]+"/"+url.PathEscape(name))
	return nil
}

func grantVMRoleOnAccount(ctx context.Context, role string) error {
	s := from(ctx)
	pid, err := s.expand("<VM-PRINCIPAL-ID>")
	if err != nil {
		return err
	}
	path, err := s.accountPath()
	if err != nil {
		return err
	}
	if err := s.skipUnlessProvisioning("the " + role + " role on a storage account of its own"); err != nil {
		return err
	}
	_, err = s.assignRole(ctx, role, pid, path)
	return err
}

// disableSecureTransfer is Configuration > "Secure transfer required":
// Disabled, which lets the account answer plain HTTP.
func disableSecureTransfer(ctx context.Context) error {
	s := from(ctx)
	path, err := s.accountPath()
	if err != nil {
		return err
	}
	_, err = s.operator(ctx, http.MethodPatch, path+"?api-version="+storageAPI, map[string]any{"properties": map[string]any{"supportsHttpsTrafficOnly": false}})
	return err
}

// regenerateKey is Access keys > Rotate key.
func regenerateKey(ctx context.Context, key string) error {
	s := from(ctx)
	path, err := s.accountPath()
	if err != nil {
		return err
	}
	_, err = s.operator(ctx, http.MethodPost, path+"/regenerateKey?api-version="+storageAPI, map[string]any{"keyName": key})
	return err
}

// timeAs sets a placeholder to a UTC time in the tutorial's ISO 8601 form
// (2017-09-22T00:06:00Z).
func timeAs(ctx context.Context, n int, dir, name string) error {
	d := time.Duration(n) * time.Hour
	if dir == "ago" {
		d = -d
	}
	from(ctx).set(name, time.Now().Add(d).UTC().Format("2006-01-02T15:04:05Z"))
	return nil
}

func splitHeader(header string) (string, string, error) {
	name, value, ok := strings.Cut(header, ":")
	if !ok {
		return "", "", fmt.Errorf("header %q is not of the form Name: value", header)
	}
	return strings.TrimSpace(name), strings.TrimSpace(value), nil
}

// sendWithToken sends a request with the VM's token. A call the scenario
// expects to succeed retries a 403 while a role granted in the scenario may
// still be propagating (sendAsVM); a call expected to be refused is sent
// once, since waiting could only turn a wrong answer into a slow one.
func (s *scenario) sendWithToken(ctx context.Context, method, u string, h http.Header, body []byte, refusal string) {
	h.Set("Authorization", "Bearer "+s.token)
	if refusal != "" {
		s.last = azhttp.Send(ctx, s.t.HTTPClient(), s.log, method, u, h, body)
		return
	}
	s.last = s.sendAsVM(ctx, method, u, h, body)
}

// vmGetWithTokenAndHeader is the .NET sample's CloudBlockBlob.DownloadText
// with a TokenCredential: a GET with the bearer token and x-ms-version.
func vmGetWithTokenAndHeader(ctx context.Context, rawURL, header, refusal string) error {
	s := from(ctx)
	u, err := s.tokenURL(rawURL)
	if err != nil {
		return err
	}
	name, value, err := splitHeader(header)
	if err != nil {
		return err
	}
	h := http.Header{}
	h.Set(name, value)
	s.sendWithToken(ctx, http.MethodGet, u, h, nil, refusal)
	return nil
}

// vmPostWithToken is Invoke-WebRequest -Method POST -Body $jsonParams
// -Headers @{Authorization="Bearer $ArmToken"} with the Content-Type the
// feature names: the article's command sets none, so Windows PowerShell
// sends application/x-www-form-urlencoded; a working call needs
// -ContentType "application/json".
func vmPostWithToken(ctx context.Context, rawURL, contentType, refusal string, doc *godog.DocString) error {
	s := from(ctx)
	u, err := s.tokenURL(rawURL)
	if err != nil {
		return err
	}
	body, err := s.expand(doc.Content)
	if err != nil {
		return err
	}
	if !json.Valid([]byte(body)) {
		return fmt.Errorf("the body in the feature is not JSON")
	}
	s.sendWithToken(ctx, http.MethodPost, u, http.Header{"Content-Type": {contentType}}, []byte(body), refusal)
	return nil
}

// extractSAS is $sasCred = $sasContent.serviceSasToken.
func extractSAS(ctx context.Context) error {
	s := from(ctx)
	j, err := s.json()
	if err != nil {
		return err
	}
	sas := j.Get("serviceSasToken")
	if sas.Type != gjson.String || sas.String() == "" {
		return fmt.Errorf("the %d answer has no serviceSasToken string", s.last.Status)
	}
	s.set("SAS-CREDENTIAL", sas.String())
	return nil
}

func (s *scenario) sas() (url.Values, error) {
	raw, err := s.expand("<SAS-CREDENTIAL>")
	if err != nil {
		return nil, err
	}
	return url.ParseQuery(raw)
}

// editSAS changes the credential as a careless or malicious user would,
// e.g. "sig=" to "sig=AAAA".
func editSAS(ctx context.Context, old, repl string) error {
	s := from(ctx)
	raw, err := s.expand("<SAS-CREDENTIAL>")
	if err != nil {
		return err
	}
	if !strings.Contains(raw, old) {
		return fmt.Errorf("the SAS credential has no %q", old)
	}
	s.set("SAS-CREDENTIAL", strings.Replace(raw, old, repl, 1))
	return nil
}

// sasHasParams checks the credential against the tutorial's sample
// (sv=2015-04-05&sr=c&spr=https&se=2017-09-23T00%3A00%3A00Z&sp=rcw&sig=...):
// each listed parameter has that value, and times are URL-encoded as shown.
func sasHasParams(ctx context.Context, table *godog.Table) error {
	s := from(ctx)
	q, err := s.sas()
	if err != nil {
		return err
	}
	raw := s.vars["SAS-CREDENTIAL"]
	c := &check{}
	for _, row := range table.Rows {
		if len(row.Cells) != 2 {
			return fmt.Errorf("each row names a parameter and its value")
		}
		name := row.Cells[0].Value
		want, err := s.expand(row.Cells[1].Value)
		if err != nil {
			return err
		}
		if got := q[name]; len(got) != 1 || got[0] != want {
			c.Errorf("SAS parameter %s is %q, want %q", name, got, want)
			continue
		}
		if !strings.Contains("&"+raw, "&"+name+"="+url.QueryEscape(want)) {
			c.Errorf("SAS parameter %s is not written %s=%s", name, name, url.QueryEscape(want))
		}
	}
	return c.err()
}

func sasHasSignature(ctx context.Context) error {
	q, err := from(ctx).sas()
	if err != nil {
		return err
	}
	sig := q.Get("sig")
	// An HMAC-SHA256 in base64: 44 characters ending in "=".
	if len(sig) != 44 || !strings.HasSuffix(sig, "=") {
		return fmt.Errorf("the SAS signature is not a base64 HMAC-SHA256 (%d characters)", len(sig))
	}
	return nil
}

// fileWithLine puts a one-line text file (LF-terminated) in the VM's
// working directory. It is the scenario's data, not a model of any shell:
// the article's `echo ... > test.txt` is PowerShell, which does not run here
// (its "Length : 56" is Windows PowerShell 5.1's UTF-16 Out-File encoding).
func fileWithLine(ctx context.Context, file, line string) error {
	files(ctx)[file] = []byte(line + "\n")
	return nil
}

// contentLengthIsFileSize compares the length Storage reports for the blob
// with the bytes uploaded from the file.
func contentLengthIsFileSize(ctx context.Context, file string) error {
	s := from(ctx)
	if err := s.requireAnswer(); err != nil {
		return err
	}
	b, ok := files(ctx)[file]
	if !ok {
		return fmt.Errorf("there is no file %q on the VM", file)
	}
	if got, want := s.last.Header.Get("Content-Length"), strconv.Itoa(len(b)); got != want {
		return fmt.Errorf("Content-Length is %q, %s is %s bytes", got, file, want)
	}
	return nil
}

// blobURL is the URL New-AzStorageContext -StorageAccountName builds for a
// blob: the cloud's blob suffix, not the account's reported endpoint.
func (s *scenario) blobURL(blob string, https bool) (string, error) {
	scheme := "https"
	if !https {
		scheme = "http"
	}
	u, err := s.expand(scheme + "://<STORAGE-ACCOUNT-NAME>.blob.<STORAGE-SUFFIX>/<CONTAINER-NAME>/")
	if err != nil {
		return "", err
	}
	sas, err := s.expand("<SAS-CREDENTIAL>")
	if err != nil {
		return "", err
	}
	return u + url.PathEscape(blob) + "?" + sas, nil
}

// storageVersion is the x-ms-version the tutorial's Azure.Storage
// PowerShell module (2017) sends.
const storageVersion = "2017-04-17"

// uploadWithSAS is Set-AzStorageBlobContent -File ... -Blob ... -Context
// (New-AzStorageContext -SasToken $sasCred): one Put Blob of a block blob.
func uploadWithSAS(ctx context.Context, file, blob, overHTTP string) error {
	s := from(ctx)
	b, ok := files(ctx)[file]
	if !ok {
		return fmt.Errorf("there is no file %q on the VM", file)
	}
	u, err := s.blobURL(blob, overHTTP == "")
	if err != nil {
		return err
	}
	h := http.Header{"x-ms-blob-type": {"BlockBlob"}, "x-ms-version": {storageVersion}}
	s.last = azhttp.Send(ctx, s.t.HTTPClient(), s.log, http.MethodPut, u, h, b)
	return nil
}

// downloadWithSAS is Get-AzStorageBlobContent -Destination: the blob's
// bytes become the file.
func downloadWithSAS(ctx context.Context, blob, file string) error {
	s := from(ctx)
	u, err := s.blobURL(blob, true)
	if err != nil {
		return err
	}
	s.last = azhttp.Send(ctx, s.t.HTTPClient(), s.log, http.MethodGet, u, http.Header{"x-ms-version": {storageVersion}}, nil)
	if s.last.Err == nil && s.last.Status == http.StatusOK {
		files(ctx)[file] = s.last.Body
	}
	return nil
}

func sameBytes(ctx context.Context, a, b string) error {
	fa, oka := files(ctx)[a]
	fb, okb := files(ctx)[b]
	if !oka || !okb {
		return fmt.Errorf("%s or %s is missing on the VM", a, b)
	}
	if !bytes.Equal(fa, fb) {
		return fmt.Errorf("%s (%d bytes) and %s (%d bytes) differ", a, len(fa), b, len(fb))
	}
	return nil
}

func bodyIsText(ctx context.Context, want string) error {
	s := from(ctx)
	if err := s.requireAnswer(); err != nil {
		return err
	}
	if string(s.last.Body) != want {
		return fmt.Errorf("the body is %q, want %q", s.last.Body, want)
	}
	return nil
}

func bodyIsNotText(ctx context.Context, not string) error {
	s := from(ctx)
	if err := s.requireAnswer(); err != nil {
		return err
	}
	if string(s.last.Body) == not {
		return fmt.Errorf("the body is %q", not)
	}
	return nil
}

func headerIs(ctx context.Context, name, want string) error {
	s := from(ctx)
	if err := s.requireAnswer(); err != nil {
		return err
	}
	w, err := s.expand(want)
	if err != nil {
		return err
	}
	if got := s.last.Header.Get(name); got != w {
		return fmt.Errorf("header %s is %q, want %q", name, got, w)
	}
	return nil
}

// storageError is the Blob service's XML error body.
// https://learn.microsoft.com/rest/api/storageservices/status-and-error-codes2
type storageError struct {
	Code    string `xml:"Code"`
	Message string `xml:"Message"`
	Detail  string `xml:"AuthenticationErrorDetail"`
}

func (s *scenario) storageError() (storageError, error) {
	var e storageError
	if err := s.requireAnswer(); err != nil {
		return e, err
	}
	if err := xml.Unmarshal(s.last.Body, &e); err != nil {
		return e, fmt.Errorf("the %d answer is not a Storage XML error: %.300s", s.last.Status, s.last.Body)
	}
	return e, nil
}

// storageErrorCode checks both places Storage names the error: the
// x-ms-error-code header and the body's <Code>.
func storageErrorCode(ctx context.Context, want string) error {
	s := from(ctx)
	e, err := s.storageError()
	if err != nil {
		return err
	}
	c := &check{}
	if e.Code != want {
		c.Errorf("<Code> is %q, want %q; body: %.600s", e.Code, want, s.last.Body)
	}
	if h := s.last.Header.Get("x-ms-error-code"); h != want {
		c.Errorf("x-ms-error-code is %q, want %q", h, want)
	}
	return c.err()
}

func storageErrorDetail(ctx context.Context, prefix string) error {
	e, err := from(ctx).storageError()
	if err != nil {
		return err
	}
	if !strings.HasPrefix(e.Detail, prefix) {
		return fmt.Errorf("AuthenticationErrorDetail is %q, want it to start with %q", e.Detail, prefix)
	}
	return nil
}
