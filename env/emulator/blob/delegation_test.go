package blob_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	sdkblob "github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"
	"github.com/miconform/miconform/env/cloud"
	"github.com/miconform/miconform/env/emulator"
	"github.com/miconform/miconform/env/emulator/directory"
	"github.com/miconform/miconform/env/wine/winetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const storageAud = "https://storage.azure.com/"

// keyInfo is a Get User Delegation Key body.
func keyInfo(start, expiry time.Time) []byte {
	return []byte("<KeyInfo><Start>" + start.UTC().Format(sas.TimeFormat) + "</Start><Expiry>" + expiry.UTC().Format(sas.TimeFormat) + "</Expiry></KeyInfo>")
}

// getKey calls Get User Delegation Key with a bearer token.
func (f *fixture) getKey(tok, version string, body []byte) res {
	f.t.Helper()
	h := bearer(tok, version)
	h.Set("Content-Type", "application/xml")
	return f.do("POST", f.base+"?restype=service&comp=userdelegationkey", h, body)
}

// assignment is the name of a principal's assignment of a role at a scope.
func (f *fixture) assignment(role, principal, scope string) string {
	f.t.Helper()
	def, ok := f.e.RBAC.RoleByName(role)
	require.True(f.t, ok, role)
	for _, a := range f.e.RBAC.List(scope, false) {
		if a.PrincipalID == principal && strings.EqualFold(a.RoleGUID(), def.ID) && strings.EqualFold(a.Scope, scope) {
			return a.Name
		}
	}
	f.t.Fatalf("no %s assignment for %s at %s", role, principal, scope)
	return ""
}

// imdsToken is the VM's managed identity token for Storage, asked of IMDS
// over HTTP as code on the VM does. (azidentity's managed identity
// credential is not used: MSAL caches its tokens process-wide, so emulators
// running side by side would be handed each other's.)
func (f *fixture) imdsToken() staticToken {
	f.t.Helper()
	r := f.do("GET", "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource="+url.QueryEscape(storageAud), hdr("Metadata", "true"), nil)
	require.Equal(f.t, 200, r.status, string(r.body))
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	require.NoError(f.t, json.Unmarshal(r.body, &tok))
	require.NotEmpty(f.t, tok.AccessToken)
	return staticToken(tok.AccessToken)
}

// app adds an application to the tenant and returns it and a Storage token.
func (f *fixture) app(name string) (directory.Principal, string) {
	f.t.Helper()
	p := directory.Principal{ObjectID: directory.NewGUID(), ClientID: directory.NewGUID(), DisplayName: name, Kind: directory.Application, Secret: "s"}
	f.e.Dir.Add(p)
	tok, err := f.e.Issuer.AppToken(p, storageAud)
	require.NoError(f.t, err)
	return p, tok.Raw
}

// udCred asks for a user delegation key through the SDK.
func udCred(t *testing.T, f *fixture, cred azcore.TokenCredential, life time.Duration) *service.UserDelegationCredential {
	t.Helper()
	svc, err := service.NewClient(f.base, cred, &service.ClientOptions{ClientOptions: sdkOpts(f)})
	require.NoError(t, err)
	now := time.Now().UTC()
	c, err := svc.GetUserDelegationCredential(context.Background(), service.KeyInfo{
		Start: ptr(now.Add(-time.Minute).Format(sas.TimeFormat)), Expiry: ptr(now.Add(life).Format(sas.TimeFormat)),
	}, nil)
	require.NoError(t, err)
	return c
}

func sdkOpts(f *fixture) azcore.ClientOptions {
	return azcore.ClientOptions{Transport: f.c, Retry: policy.RetryOptions{MaxRetries: -1}}
}

// staticToken is a credential that hands out one token.
type staticToken string

func (s staticToken) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{Token: string(s), ExpiresOn: time.Now().Add(time.Hour)}, nil
}

// sign signs blob (or container, when blob is "") SAS values with a key.
func sign(t *testing.T, c *service.UserDelegationCredential, v sas.BlobSignatureValues) string {
	t.Helper()
	v.ContainerName = emulator.SeedContainer
	if v.ExpiryTime.IsZero() {
		v.ExpiryTime = time.Now().Add(time.Hour).UTC()
	}
	q, err := v.SignWithUserDelegation(c)
	require.NoError(t, err)
	return q.Encode()
}

// The tutorial's way round account keys: the VM's managed identity, with
// Storage Blob Data Reader, gets a user delegation key through the
// official SDK, signs a read SAS with it, and anyone holding the SAS reads
// the blob without a token.
func TestUserDelegationSAS(t *testing.T) {
	// An emulator of its own: runs beside the others.
	t.Parallel()
	f := newFixture(t, "AzureCloud")
	ctx := context.Background()
	// The tutorials' world gives the VM Storage Blob Data Reader (and
	// Storage Account Contributor) on the account.
	grant := f.assignment("Storage Blob Data Reader", f.vmOID, f.acctID)
	mi := f.imdsToken()
	cred := udCred(t, f, mi, time.Hour)

	readSAS := sign(t, cred, sas.BlobSignatureValues{Protocol: sas.ProtocolHTTPS, BlobName: emulator.SeedBlob, Permissions: (&sas.BlobPermissions{Read: true}).String()})
	bc, err := sdkblob.NewClientWithNoCredential(f.blobURL(emulator.SeedBlob)+"?"+readSAS, &sdkblob.ClientOptions{ClientOptions: sdkOpts(f)})
	require.NoError(t, err)
	resp, err := bc.DownloadStream(ctx, nil)
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	assert.Equal(t, "Hello world!", string(b))

	q := parseQuery(t, readSAS)
	assert.Equal(t, f.vmOID, q.Get("skoid"), "the key is the VM identity's")
	assert.Equal(t, f.e.TenantID(), q.Get("sktid"))
	assert.Equal(t, "b", q.Get("sks"))
	assert.Equal(t, sas.Version, q.Get("skv"), "the key's version is the request's")

	hello := f.blobURL(emulator.SeedBlob)
	listURL := f.base + emulator.SeedContainer + "?restype=container&comp=list"
	put := func(u string) res {
		return f.do("PUT", u, hdr("x-ms-blob-type", "BlockBlob", "x-ms-version", "2021-08-06"), []byte("x"))
	}
	for _, c := range []struct {
		name, method, url string
		status            int
		code, detail      string
	}{
		{"read with the SAS", "GET", withSAS(hello, readSAS), 200, "", ""},
		{"tampered signature", "GET", withSAS(hello, strings.Replace(readSAS, "sig=", "sig=AAAA", 1)), 403, "AuthenticationFailed", "Signature did not match. String to sign used was r\n"},
		{"widened permissions", "GET", withSAS(hello, strings.Replace(readSAS, "sp=r", "sp=rw", 1)), 403, "AuthenticationFailed", "Signature did not match."},
		{"forged key owner", "GET", withSAS(hello, strings.Replace(readSAS, "skoid="+f.vmOID, "skoid="+f.e.Operator.ObjectID, 1)), 403, "AuthenticationFailed", "Signature did not match."},
		{"another blob", "GET", withSAS(f.blobURL("other.txt"), readSAS), 403, "AuthenticationFailed", "Signature did not match."},
		{"a write the SAS does not allow", "PUT", withSAS(hello, readSAS), 403, "AuthorizationPermissionMismatch", ""},
		{"a SAS for a list, without l", "GET", withSAS(listURL, sign(t, cred, sas.BlobSignatureValues{Permissions: "r"})), 403, "AuthorizationPermissionMismatch", ""},
		{"a SAS for a list, with l", "GET", withSAS(listURL, sign(t, cred, sas.BlobSignatureValues{Permissions: "rl"})), 200, "", ""},
		// The SAS says w, but the key's owner only reads: no more than the
		// creator has.
		{"w beyond the key owner's role", "PUT", withSAS(f.blobURL("ud.txt"), sign(t, cred, sas.BlobSignatureValues{BlobName: "ud.txt", Permissions: "rcw"})), 403, "AuthorizationPermissionMismatch", ""},
		{"a blob SAS at container level", "GET", withSAS(listURL, readSAS), 403, "AuthenticationFailed", "The specified signed resource is not allowed for the this resource level"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var r res
			if c.method == "PUT" {
				r = put(c.url)
			} else {
				r = f.do(c.method, c.url, nil, nil)
			}
			require.Equal(t, c.status, r.status, string(r.body))
			assert.Equal(t, c.code, r.code())
			if c.status >= 400 {
				e := r.xmlErr(t)
				assert.True(t, strings.HasPrefix(e.Detail, c.detail), "detail %q, want prefix %q", e.Detail, c.detail)
			}
		})
	}

	t.Run("role removed after signing", func(t *testing.T) {
		_, ok := f.e.RBAC.Delete(f.acctID, grant)
		require.True(t, ok)
		r := f.do("GET", withSAS(hello, readSAS), nil, nil)
		assert.Equal(t, 403, r.status)
		assert.Equal(t, "AuthorizationPermissionMismatch", r.xmlErr(t).Code)
		grant = f.grant("Storage Blob Data Reader", f.vmOID, f.acctID)
		assert.Equal(t, 200, f.do("GET", withSAS(hello, readSAS), nil, nil).status, "the same SAS works again once the role is back")
	})

	t.Run("expired key", func(t *testing.T) {
		short := udCred(t, f, mi, 30*time.Minute)
		s := sign(t, short, sas.BlobSignatureValues{BlobName: emulator.SeedBlob, Permissions: "r", ExpiryTime: time.Now().Add(2 * time.Hour).UTC()})
		require.Equal(t, 200, f.do("GET", withSAS(hello, s), nil, nil).status)
		f.e.Issuer.SetClock(func() time.Time { return time.Now().Add(45 * time.Minute) })
		defer f.e.Issuer.SetClock(time.Now)
		r := f.do("GET", withSAS(hello, s), nil, nil)
		assert.Equal(t, 403, r.status)
		assert.Equal(t, "AuthenticationFailed", r.code())
		assert.True(t, strings.HasPrefix(r.xmlErr(t).Detail, "Signed key not valid in the specified time frame: Start ["), r.xmlErr(t).Detail)
	})

	t.Run("an owner of the subscription gets a key but no data", func(t *testing.T) {
		// Owner's "*" covers generateUserDelegationKey/action, a control
		// action; reading blobs needs a data action it does not have.
		op, err := f.e.Issuer.AppToken(f.e.Operator, storageAud)
		require.NoError(t, err)
		oc := udCred(t, f, staticToken(op.Raw), time.Hour)
		r := f.do("GET", withSAS(hello, sign(t, oc, sas.BlobSignatureValues{BlobName: emulator.SeedBlob, Permissions: "r"})), nil, nil)
		assert.Equal(t, 403, r.status)
		assert.Equal(t, "AuthorizationPermissionMismatch", r.xmlErr(t).Code)
	})

	t.Run("revoked keys", func(t *testing.T) {
		before := f.do("GET", withSAS(hello, readSAS), nil, nil)
		require.Equal(t, 200, before.status)
		r := f.arm("POST", f.acctID+"/revokeUserDelegationKeys?api-version=2023-01-01", nil)
		require.Equal(t, 200, r.status, string(r.body))
		assert.Empty(t, r.body)
		after := f.do("GET", withSAS(hello, readSAS), nil, nil)
		assert.Equal(t, 403, after.status)
		assert.True(t, strings.HasPrefix(after.xmlErr(t).Detail, "Signature did not match."))
		fresh := sign(t, udCred(t, f, mi, time.Hour), sas.BlobSignatureValues{BlobName: emulator.SeedBlob, Permissions: "r"})
		assert.Equal(t, 200, f.do("GET", withSAS(hello, fresh), nil, nil).status, "a key issued after the revocation works")
	})
}

// Get User Delegation Key's refusals, each with Azure's status and code.
func TestGetUserDelegationKeyErrors(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "AzureUSGovernment")
	tok := f.vmToken(storageAud)
	now := time.Now().UTC()
	reader, readerTok := f.app("container-reader")
	f.grant("Storage Blob Data Reader", reader.ObjectID, f.acctID+"/blobServices/default/containers/"+emulator.SeedContainer)
	_, nobodyTok := f.app("no-role")
	u := f.base + "?restype=service&comp=userdelegationkey"

	for _, c := range []struct {
		name    string
		send    func() res
		status  int
		code    string
		details map[string]string
	}{
		{"ok", func() res { return f.getKey(tok, "2021-08-06", keyInfo(now, now.Add(time.Hour))) }, 200, "", nil},
		{"exactly seven days", func() res { return f.getKey(tok, "2021-08-06", keyInfo(now, now.Add(7*24*time.Hour))) }, 200, "", nil},
		{"expiry more than seven days away", func() res {
			return f.getKey(tok, "2021-08-06", keyInfo(now, now.Add(7*24*time.Hour+time.Minute)))
		}, 400, "InvalidXmlNodeValue", map[string]string{"XmlNodeValue": now.Add(7*24*time.Hour + time.Minute).Format(sas.TimeFormat)}},
		{"expiry not a date", func() res {
			return f.getKey(tok, "2021-08-06", []byte("<KeyInfo><Start>"+now.Format(sas.TimeFormat)+"</Start><Expiry>tomorrow</Expiry></KeyInfo>"))
		}, 400, "InvalidXmlNodeValue", map[string]string{"XmlNodeValue": "tomorrow"}},
		{"expiry before start", func() res { return f.getKey(tok, "2021-08-06", keyInfo(now.Add(2*time.Hour), now.Add(time.Hour))) }, 400, "InvalidXmlNodeValue", nil},
		{"no expiry", func() res {
			return f.getKey(tok, "2021-08-06", []byte("<KeyInfo><Start>"+now.Format(sas.TimeFormat)+"</Start></KeyInfo>"))
		}, 400, "InvalidXmlDocument", nil},
		{"not XML", func() res { return f.getKey(tok, "2021-08-06", []byte("<KeyInfo><Start>")) }, 400, "InvalidXmlDocument", nil},
		{"DelegatedUserTid before 2025-07-05", func() res {
			return f.getKey(tok, "2021-08-06", []byte("<KeyInfo><Expiry>"+now.Add(time.Hour).Format(sas.TimeFormat)+"</Expiry><DelegatedUserTid>"+f.e.TenantID()+"</DelegatedUserTid></KeyInfo>"))
		}, 400, "InvalidXmlDocument", nil},
		{"version before the operation", func() res { return f.getKey(tok, "2018-03-28", keyInfo(now, now.Add(time.Hour))) }, 400, "InvalidHeaderValue", map[string]string{"HeaderName": "x-ms-version"}},
		{"shared key", func() res {
			h := hdr("x-ms-version", "2021-08-06", "x-ms-date", time.Now().UTC().Format(http.TimeFormat), "Authorization", "SharedKey "+f.acct+":"+base64.StdEncoding.EncodeToString(make([]byte, 32)))
			return f.do("POST", u, h, keyInfo(now, now.Add(time.Hour)))
		}, 403, "AuthenticationFailed", map[string]string{"AuthenticationErrorDetail": "Only authentication scheme Bearer is supported"}},
		{"service SAS", func() res {
			return f.do("POST", withSAS(u, f.sas(nil)), hdr("x-ms-version", "2021-08-06"), keyInfo(now, now.Add(time.Hour)))
		}, 403, "AuthenticationFailed", map[string]string{"AuthenticationErrorDetail": "Only authentication scheme Bearer is supported"}},
		{"no role", func() res { return f.getKey(nobodyTok, "2021-08-06", keyInfo(now, now.Add(time.Hour))) }, 403, "AuthorizationPermissionMismatch", nil},
		// The action must be granted at the account or above.
		{"role at container scope only", func() res { return f.getKey(readerTok, "2021-08-06", keyInfo(now, now.Add(time.Hour))) }, 403, "AuthorizationPermissionMismatch", nil},
		{"GET", func() res { return f.do("GET", u, bearer(tok, "2021-08-06"), nil) }, 405, "UnsupportedHttpVerb", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := c.send()
			require.Equal(t, c.status, r.status, string(r.body))
			assert.Equal(t, c.code, r.code())
			if c.status >= 400 {
				r.xmlErr(t)
				got := map[string]string{}
				var doc struct {
					Items []struct {
						XMLName xml.Name
						Value   string `xml:",chardata"`
					} `xml:",any"`
				}
				require.NoError(t, xml.Unmarshal(r.body, &doc))
				for _, it := range doc.Items {
					got[it.XMLName.Local] = it.Value
				}
				for k, v := range c.details {
					assert.Equal(t, v, got[k], k)
				}
			}
		})
	}

	t.Run("response body", func(t *testing.T) {
		start := now.Add(-time.Minute).Truncate(time.Second)
		r := f.getKey(tok, "2020-04-08", keyInfo(start, start.Add(time.Hour)))
		require.Equal(t, 200, r.status, string(r.body))
		assert.Equal(t, "application/xml", r.header.Get("Content-Type"))
		var k struct {
			XMLName                                                        xml.Name
			SignedOid, SignedTid, SignedStart, SignedExpiry, SignedService string
			SignedVersion, Value                                           string
		}
		require.NoError(t, xml.Unmarshal(r.body, &k))
		assert.Equal(t, "UserDelegationKey", k.XMLName.Local)
		assert.Equal(t, f.vmOID, k.SignedOid)
		assert.Equal(t, f.e.TenantID(), k.SignedTid)
		assert.Equal(t, start.Format(sas.TimeFormat), k.SignedStart)
		assert.Equal(t, start.Add(time.Hour).Format(sas.TimeFormat), k.SignedExpiry)
		assert.Equal(t, "b", k.SignedService)
		assert.Equal(t, "2020-04-08", k.SignedVersion)
		key, err := base64.StdEncoding.DecodeString(k.Value)
		require.NoError(t, err)
		assert.Len(t, key, 32)
		assert.NotContains(t, string(r.body), "SignedDelegatedUserTid", "only when DelegatedUserTid was sent")
		// Deterministic: the same request gives the same key; another
		// expiry another one.
		again := f.getKey(tok, "2020-04-08", keyInfo(start, start.Add(time.Hour)))
		assert.Equal(t, string(r.body), string(again.body))
		other := f.getKey(tok, "2020-04-08", keyInfo(start, start.Add(2*time.Hour)))
		assert.NotContains(t, string(other.body), k.Value)
	})

	t.Run("shared key through the SDK", func(t *testing.T) {
		cred, err := service.NewSharedKeyCredential(f.acct, f.key(0))
		require.NoError(t, err)
		svc, err := service.NewClientWithSharedKeyCredential(f.base, cred, &service.ClientOptions{ClientOptions: sdkOpts(f)})
		require.NoError(t, err)
		_, err = svc.GetUserDelegationCredential(context.Background(), service.KeyInfo{Start: ptr(now.Format(sas.TimeFormat)), Expiry: ptr(now.Add(time.Hour).Format(sas.TimeFormat))}, nil)
		require.Error(t, err)
		assert.True(t, bloberror.HasCode(err, bloberror.AuthenticationFailed), "%v", err)
		assert.Contains(t, err.Error(), "Only authentication scheme Bearer is supported")
	})
}

// The SAS fields the newest layouts add: a delegated user (sduoid) who
// must bring a token, and signed request headers (srh) whose values the
// request must repeat.
func TestUserDelegationSASDelegatedUserAndSignedHeaders(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "AzureCloud")
	cred := udCred(t, f, staticToken(f.vmToken(storageAud)), time.Hour)
	hello := f.blobURL(emulator.SeedBlob)
	user, userTok := f.app("delegated-user")
	_, otherTok := f.app("someone-else")

	forUser := sign(t, cred, sas.BlobSignatureValues{BlobName: emulator.SeedBlob, Permissions: "r", SignedDelegatedUserObjectID: user.ObjectID})
	withTok := func(tok string) http.Header { return bearer(tok, sas.Version) }
	assert.Equal(t, 200, f.do("GET", withSAS(hello, forUser), withTok(userTok), nil).status)
	for name, h := range map[string]http.Header{"no token": nil, "another user's token": withTok(otherTok)} {
		r := f.do("GET", withSAS(hello, forUser), h, nil)
		assert.Equal(t, 403, r.status, name)
		assert.Equal(t, "AuthenticationFailed", r.code(), name)
	}

	headers := sign(t, cred, sas.BlobSignatureValues{BlobName: emulator.SeedBlob, Permissions: "r", SignedRequestHeaders: map[string]string{"x-ms-client-request-id": "tagged"}})
	assert.Equal(t, 200, f.do("GET", withSAS(hello, headers), hdr("x-ms-client-request-id", "tagged"), nil).status)
	r := f.do("GET", withSAS(hello, headers), hdr("x-ms-client-request-id", "other"), nil)
	assert.Equal(t, 403, r.status)
	assert.True(t, strings.HasPrefix(r.xmlErr(t).Detail, "Signature did not match."))

	// A version whose layout has no sduoid cannot carry one.
	old := sign(t, cred, sas.BlobSignatureValues{Version: "2021-08-06", BlobName: emulator.SeedBlob, Permissions: "r"})
	r = f.do("GET", withSAS(hello, old+"&sduoid="+user.ObjectID), withTok(userTok), nil)
	assert.Equal(t, "Signature fields not well formed.", r.xmlErr(t).Detail)
}

// A key outlives a restart of an emulator that keeps its state: the SAS
// signed before still works after.
func TestUserDelegationKeySurvivesRestart(t *testing.T) {
	t.Parallel()
	dir := winetest.TempDir(t)
	start := func() *fixture {
		return startFixture(t, emulator.Config{Cloud: cloud.MustLookup("AzureCloud"), StateDir: dir})
	}
	f := start()
	s := sign(t, udCred(t, f, staticToken(f.vmToken(storageAud)), time.Hour), sas.BlobSignatureValues{BlobName: emulator.SeedBlob, Permissions: "r"})
	require.Equal(t, 200, f.do("GET", withSAS(f.blobURL(emulator.SeedBlob), s), nil, nil).status)
	f.close()

	f = start()
	defer f.close()
	r := f.do("GET", withSAS(f.blobURL(emulator.SeedBlob), s), nil, nil)
	require.Equal(t, 200, r.status, string(r.body))
	assert.Equal(t, "Hello world!", string(r.body))
}

func parseQuery(t *testing.T, s string) url.Values {
	t.Helper()
	q, err := url.ParseQuery(s)
	require.NoError(t, err)
	return q
}
