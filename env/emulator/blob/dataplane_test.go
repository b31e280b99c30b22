package blob_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/xml"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/miconform/miconform/env/emulator"
	"github.com/miconform/miconform/env/emulator/blob"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type xmlError struct {
	Code   string `xml:"Code"`
	Detail string `xml:"AuthenticationErrorDetail"`
}

func (r res) xmlErr(t testing.TB) xmlError {
	t.Helper()
	var e xmlError
	require.NoError(t, xml.Unmarshal(r.body, &e), "error body is not XML: %s", r.body)
	assert.Equal(t, r.code(), e.Code, "x-ms-error-code and <Code> disagree")
	assert.True(t, strings.HasPrefix(string(r.body), `<?xml version="1.0" encoding="utf-8"?><Error>`), "%s", r.body)
	return e
}

func TestBearer(t *testing.T) {
	f := newFixture(t, "AzureChinaCloud")
	hello := f.blobURL(emulator.SeedBlob)
	tok := f.vmToken("https://storage.azure.com/")

	r := f.do("GET", hello, bearer(tok, "2017-11-09"), nil)
	require.Equal(t, 200, r.status, string(r.body))
	assert.Equal(t, "Hello world!", string(r.body))
	for _, h := range []string{"ETag", "Last-Modified", "Content-MD5", "x-ms-request-id", "x-ms-creation-time"} {
		assert.NotEmpty(t, r.header.Get(h), h)
	}
	assert.Equal(t, "BlockBlob", r.header.Get("x-ms-blob-type"))
	assert.Equal(t, "2017-11-09", r.header.Get("x-ms-version"))
	assert.Equal(t, "12", r.header.Get("Content-Length"))
	assert.Equal(t, "hvsmnRkNLIX24EaM7KQqIA==", r.header.Get("Content-MD5"), "MD5 of Hello world!")

	// The account's own endpoint is an accepted audience too, slash or not.
	for _, aud := range []string{"https://storage.azure.com", strings.TrimSuffix(f.base, "/")} {
		assert.Equal(t, 200, f.do("GET", hello, bearer(f.vmToken(aud), "2019-02-02"), nil).status, aud)
	}

	t.Run("old version", func(t *testing.T) {
		r := f.do("GET", hello, bearer(tok, "2017-07-29"), nil)
		assert.Equal(t, 403, r.status)
		assert.Equal(t, "Authentication scheme Bearer is not supported in this version.", r.xmlErr(t).Detail)
		assert.Equal(t, "AuthenticationFailed", r.code())
	})
	t.Run("wrong audience", func(t *testing.T) {
		r := f.do("GET", hello, bearer(f.vmToken(f.e.Cloud.ARMResource), "2017-11-09"), nil)
		assert.Equal(t, 401, r.status)
		assert.Equal(t, "InvalidAuthenticationInfo", r.code())
		assert.Equal(t, "Audience validation failed. Audience did not match.", r.xmlErr(t).Detail)
		assert.Equal(t, "Bearer authorization_uri=https://login.chinacloudapi.cn/"+f.e.TenantID()+"/oauth2/authorize resource_id=https://storage.azure.com", r.header.Get("WWW-Authenticate"))
	})
	t.Run("expired", func(t *testing.T) {
		f.e.Issuer.SetClock(func() time.Time { return time.Now().Add(25 * time.Hour) })
		defer f.e.Issuer.SetClock(time.Now)
		r := f.do("GET", hello, bearer(tok, "2017-11-09"), nil)
		assert.Equal(t, 401, r.status)
		assert.Equal(t, "Lifetime validation failed. The token is expired.", r.xmlErr(t).Detail)
	})
	t.Run("tampered", func(t *testing.T) {
		r := f.do("GET", hello, bearer(tok[:len(tok)-4]+"AAAA", "2017-11-09"), nil)
		assert.Equal(t, 401, r.status)
		assert.Equal(t, "InvalidAuthenticationInfo", r.code())
	})
	t.Run("no credentials", func(t *testing.T) {
		r := f.do("GET", hello, http.Header{"x-ms-version": {"2017-11-09"}}, nil)
		assert.Equal(t, 401, r.status)
		assert.Equal(t, "NoAuthenticationInformation", r.code())
		assert.True(t, strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer authorization_uri=https://login.chinacloudapi.cn/"))
		r.xmlErr(t)
	})
	t.Run("control-plane roles grant no data access", func(t *testing.T) {
		// The operator is Owner of the subscription.
		op, err := f.e.Issuer.AppToken(f.e.Operator, "https://storage.azure.com/")
		require.NoError(t, err)
		r := f.do("GET", hello, bearer(op.Raw, "2017-11-09"), nil)
		assert.Equal(t, 403, r.status)
		assert.Equal(t, "AuthorizationPermissionMismatch", r.code())
		r.xmlErr(t)
	})
	t.Run("data roles are inherited from the resource group", func(t *testing.T) {
		op, err := f.e.Issuer.AppToken(f.e.Operator, "https://storage.azure.com/")
		require.NoError(t, err)
		f.grant("Storage Blob Data Reader", f.e.Operator.ObjectID, "/subscriptions/"+f.e.SubscriptionID()+"/resourceGroups/"+emulator.SeedResourceGroup)
		assert.Equal(t, 200, f.do("GET", hello, bearer(op.Raw, "2017-11-09"), nil).status)
	})
	t.Run("reader cannot write, contributor at the container can", func(t *testing.T) {
		u := f.blobURL("rbac.txt")
		h := bearer(tok, "2017-11-09")
		h.Set("x-ms-blob-type", "BlockBlob")
		assert.Equal(t, "AuthorizationPermissionMismatch", f.do("PUT", u, h, []byte("x")).code())
		f.grant("Storage Blob Data Contributor", f.vmOID, f.acctID+"/blobServices/default/containers/"+emulator.SeedContainer)
		assert.Equal(t, 201, f.do("PUT", u, h, []byte("x")).status)
	})
}

func TestSAS(t *testing.T) {
	f := newFixture(t, "AzureCloud")
	hello := f.blobURL(emulator.SeedBlob)
	put := func(u string, body string) res {
		return f.do("PUT", u, http.Header{"x-ms-blob-type": {"BlockBlob"}, "x-ms-version": {"2017-04-17"}}, []byte(body))
	}

	sas := f.sas(nil)
	q, err := url.ParseQuery(sas)
	require.NoError(t, err)
	assert.Equal(t, "2015-04-05", q.Get("sv"))
	assert.Equal(t, "c", q.Get("sr"))
	assert.Equal(t, "rcw", q.Get("sp"))
	assert.Equal(t, "https", q.Get("spr"))
	assert.NotContains(t, q, "st", "without signedStart Resource Manager signs no start time")
	assert.True(t, strings.HasPrefix(sas, "sv=2015-04-05&sr=c&"), sas)

	r := put(withSAS(f.blobURL("testblob"), sas), "This is a test text file.")
	require.Equal(t, 201, r.status, string(r.body))
	r = f.do("GET", withSAS(f.blobURL("testblob"), sas), nil, nil)
	require.Equal(t, 200, r.status)
	assert.Equal(t, "This is a test text file.", string(r.body))
	assert.Equal(t, "application/octet-stream", r.header.Get("Content-Type"))
	assert.Equal(t, "2015-04-05", r.header.Get("x-ms-version"), "without x-ms-version the SAS's version answers")

	authFailed := func(t *testing.T, r res, detailPrefix string) {
		t.Helper()
		assert.Equal(t, 403, r.status)
		assert.Equal(t, "AuthenticationFailed", r.code())
		assert.True(t, strings.HasPrefix(r.xmlErr(t).Detail, detailPrefix), "detail %q, want prefix %q", r.xmlErr(t).Detail, detailPrefix)
	}
	t.Run("misordered permissions", func(t *testing.T) {
		authFailed(t, f.do("GET", withSAS(hello, strings.Replace(f.sas(map[string]any{"signedPermission": "rw"}), "sp=rw", "sp=wr", 1)), nil, nil), "Signature fields not well formed.")
		// Resource Manager passes the order through, so the tutorial's
		// warning bites on the data plane.
		authFailed(t, f.do("GET", withSAS(hello, f.sas(map[string]any{"signedPermission": "wr"})), nil, nil), "Signature fields not well formed.")
		authFailed(t, f.do("GET", withSAS(hello, strings.Replace(sas, "sp=rcw", "sp=rrcw", 1)), nil, nil), "Signature fields not well formed.")
	})
	t.Run("expired", func(t *testing.T) {
		old := f.sas(map[string]any{"signedStart": "2017-09-22T00:00:00Z", "signedExpiry": "2017-09-23T00:00:00Z"})
		authFailed(t, f.do("GET", withSAS(hello, old), nil, nil), "Signature not valid in the specified time frame: Start [Fri, 22 Sep 2017 00:00:00 GMT] - Expiry [Sat, 23 Sep 2017 00:00:00 GMT] - Current [")
	})
	t.Run("tampered signature", func(t *testing.T) {
		bad := strings.Replace(sas, "sig=", "sig=AAAA", 1)
		authFailed(t, f.do("GET", withSAS(hello, bad), nil, nil), "Signature did not match. String to sign used was rcw\n")
		// Widening the permissions breaks the signature too.
		authFailed(t, f.do("GET", withSAS(hello, strings.Replace(sas, "sp=rcw", "sp=rcwd", 1)), nil, nil), "Signature did not match.")
	})
	t.Run("SAS of another container", func(t *testing.T) {
		other := f.arm("PUT", f.acctID+"/blobServices/default/containers/other?api-version=2023-01-01", map[string]any{"properties": map[string]any{}})
		require.Equal(t, 201, other.status, string(other.body))
		authFailed(t, put(withSAS(f.base+"other/x", sas), "x"), "Signature did not match.")
	})
	t.Run("missing permission", func(t *testing.T) {
		ro := f.sas(map[string]any{"signedPermission": "r"})
		r := put(withSAS(f.blobURL("ro"), ro), "x")
		assert.Equal(t, 403, r.status)
		assert.Equal(t, "AuthorizationPermissionMismatch", r.code())
		// c creates, but only w overwrites.
		c := f.sas(map[string]any{"signedPermission": "c"})
		assert.Equal(t, 201, put(withSAS(f.blobURL("create-only"), c), "1").status)
		assert.Equal(t, "AuthorizationPermissionMismatch", put(withSAS(f.blobURL("create-only"), c), "2").code())
		// Listing needs l; deleting needs d.
		assert.Equal(t, "AuthorizationPermissionMismatch", f.do("GET", withSAS(f.base+emulator.SeedContainer+"?restype=container&comp=list", sas), nil, nil).code())
		assert.Equal(t, "AuthorizationPermissionMismatch", f.do("DELETE", withSAS(f.blobURL("create-only"), sas), nil, nil).code())
	})
	t.Run("regenerated key", func(t *testing.T) {
		k2 := f.sas(map[string]any{"keyToSign": "key2"})
		r := f.arm("POST", f.acctID+"/regenerateKey?api-version=2023-01-01", map[string]any{"keyName": "key1"})
		require.Equal(t, 200, r.status, string(r.body))
		authFailed(t, f.do("GET", withSAS(hello, sas), nil, nil), "Signature did not match.")
		assert.Equal(t, 200, f.do("GET", withSAS(hello, k2), nil, nil).status, "a SAS signed with key2 still works")
		assert.Equal(t, 200, f.do("GET", withSAS(hello, f.sas(nil)), nil, nil).status, "a new SAS works")
	})
	t.Run("signed IP", func(t *testing.T) {
		r := f.do("GET", withSAS(hello, f.sas(map[string]any{"signedIp": "10.0.0.1-10.0.0.9"})), nil, nil)
		assert.Equal(t, 403, r.status)
		assert.Equal(t, "AuthorizationSourceIPMismatch", r.code())
		assert.Equal(t, 200, f.do("GET", withSAS(hello, f.sas(map[string]any{"signedIp": "127.0.0.1"})), nil, nil).status)
	})
	t.Run("blob SAS cannot list", func(t *testing.T) {
		b := f.sas(map[string]any{"canonicalizedResource": "/blob/" + f.acct + "/" + emulator.SeedContainer + "/" + emulator.SeedBlob, "signedResource": "b", "signedPermission": "r"})
		assert.Equal(t, 200, f.do("GET", withSAS(hello, b), nil, nil).status)
		authFailed(t, f.do("GET", withSAS(f.base+emulator.SeedContainer+"?restype=container&comp=list", b), nil, nil), "The specified signed resource is not allowed for the this resource level")
	})
	t.Run("older SAS layouts", func(t *testing.T) {
		key, err := base64.StdEncoding.DecodeString(f.key(1))
		require.NoError(t, err)
		for _, v := range []string{"2013-08-15", "2015-04-05", "2018-11-09", "2020-12-06"} {
			s := &blob.SAS{Version: v, Resource: "b", Permissions: "r", Expiry: time.Now().Add(time.Hour).UTC().Format("2006-01-02T15:04:05Z")}
			m := hmac.New(sha256.New, key)
			m.Write([]byte(s.StringToSign(s.CanonicalResource(f.acct, emulator.SeedContainer, emulator.SeedBlob))))
			s.Signature = base64.StdEncoding.EncodeToString(m.Sum(nil))
			r := f.do("GET", withSAS(hello, s.Encode()), nil, nil)
			assert.Equal(t, 200, r.status, "sv=%s: %s", v, r.body)
			assert.Equal(t, "Hello world!", string(r.body))
		}
	})
	t.Run("listServiceSas validation", func(t *testing.T) {
		for field, params := range map[string]map[string]any{
			"canonicalizedResource": {"canonicalizedResource": "/blob/someoneelse/" + emulator.SeedContainer},
			"signedResource":        {"signedResource": "b"},
			"signedPermission":      {"signedPermission": "rz"},
			"signedExpiry":          {"signedExpiry": "tomorrow"},
			"keyToSign":             {"keyToSign": "key3"},
		} {
			p := map[string]any{
				"canonicalizedResource": "/blob/" + f.acct + "/" + emulator.SeedContainer, "signedResource": "c",
				"signedPermission": "r", "signedExpiry": "2030-01-01T00:00:00Z",
			}
			for k, v := range params {
				p[k] = v
			}
			r := f.arm("POST", f.acctID+"/listServiceSas?api-version=2017-06-01", p)
			assert.Equal(t, 400, r.status, field)
			assert.Contains(t, string(r.body), `"Values for request parameters are invalid: `+field+`."`)
		}
	})
}

func TestPlainHTTP(t *testing.T) {
	f := newFixture(t, "AzureCloud")
	httpURL := "http://" + strings.TrimPrefix(f.blobURL(emulator.SeedBlob), "https://")
	sas := f.sas(nil)
	// Secure transfer is required by default: HTTP is refused outright.
	r := f.do("GET", withSAS(httpURL, sas), nil, nil)
	assert.Equal(t, 400, r.status)
	assert.Equal(t, "AccountRequiresHttps", r.xmlErr(t).Code)

	r = f.arm("PATCH", f.acctID+"?api-version=2023-01-01", map[string]any{"properties": map[string]any{"supportsHttpsTrafficOnly": false}})
	require.Equal(t, 200, r.status, string(r.body))
	assert.Contains(t, string(r.body), `"supportsHttpsTrafficOnly":false`)
	r = f.do("GET", withSAS(httpURL, sas), nil, nil)
	assert.Equal(t, 403, r.status)
	assert.Equal(t, "AuthorizationProtocolMismatch", r.xmlErr(t).Code)
	r = f.do("GET", withSAS(httpURL, f.sas(map[string]any{"signedProtocol": "https,http"})), nil, nil)
	assert.Equal(t, 200, r.status)
	assert.Equal(t, "Hello world!", string(r.body))
}

func TestSharedKeyErrors(t *testing.T) {
	f := newFixture(t, "AzureCloud")
	// A made-up signature is refused and the body names the string to sign.
	h := http.Header{
		"Authorization": {"SharedKey " + f.acct + ":" + base64.StdEncoding.EncodeToString(make([]byte, 32))},
		"x-ms-date":     {time.Now().UTC().Format(http.TimeFormat)}, "x-ms-version": {"2021-08-06"},
	}
	r := f.do("GET", f.blobURL(emulator.SeedBlob), h, nil)
	assert.Equal(t, 403, r.status)
	assert.Contains(t, r.xmlErr(t).Detail, "Server used following string to sign: 'GET\n")
	h.Set("Authorization", "SharedKey nonsense")
	assert.Equal(t, "InvalidAuthenticationInfo", f.do("GET", f.blobURL(emulator.SeedBlob), h, nil).code())
}

func TestBlobOperations(t *testing.T) {
	f := newFixture(t, "AzureUSGovernment")
	sas := f.sas(map[string]any{"signedPermission": "racwdl"})
	u := func(name string) string { return withSAS(f.blobURL(name), sas) }
	v := http.Header{"x-ms-version": {"2021-08-06"}}
	put := func(name string, body []byte, extra ...string) res {
		return f.do("PUT", u(name), hdr(append([]string{"x-ms-blob-type", "BlockBlob", "x-ms-version", "2021-08-06"}, extra...)...), body)
	}

	t.Run("bytes kept exactly", func(t *testing.T) {
		bin := make([]byte, 256)
		for i := range bin {
			bin[i] = byte(i)
		}
		for name, data := range map[string][]byte{"empty": {}, "binary": bin, "utf16": {0xff, 0xfe, 'h', 0, '\r', 0, '\n', 0}} {
			r := put(name, data)
			require.Equal(t, 201, r.status, string(r.body))
			assert.NotEmpty(t, r.header.Get("Content-MD5"))
			g := f.do("GET", u(name), v, nil)
			require.Equal(t, 200, g.status)
			assert.Equal(t, data, g.body, name)
			assert.Equal(t, r.header.Get("ETag"), g.header.Get("ETag"))
		}
	})
	t.Run("rejected writes leave the blob alone", func(t *testing.T) {
		require.Equal(t, 201, put("keep", []byte("original")).status)
		assert.Equal(t, "MissingRequiredHeader", f.do("PUT", u("keep"), v, []byte("x")).code())
		assert.Equal(t, "InvalidHeaderValue", put("keep", []byte("x"), "x-ms-blob-type", "Blockblob").code())
		assert.Equal(t, "Md5Mismatch", put("keep", []byte("changed"), "Content-MD5", base64.StdEncoding.EncodeToString(make([]byte, 16))).code())
		assert.Equal(t, "BlobAlreadyExists", put("keep", []byte("changed"), "If-None-Match", "*").code())
		assert.Equal(t, "ConditionNotMet", put("keep", []byte("changed"), "If-Match", `"0x1"`).code())
		bl := f.do("PUT", u("keep")+"&comp=blocklist", v, []byte("<BlockList><Latest>nope"))
		assert.Equal(t, "InvalidXmlDocument", bl.code())
		bl = f.do("PUT", u("keep")+"&comp=blocklist", v, []byte("<BlockList><Latest>AAAA</Latest></BlockList>"))
		assert.Equal(t, "InvalidBlockList", bl.code())
		assert.Equal(t, "InvalidQueryParameterValue", f.do("PUT", u("keep")+"&comp=block&blockid=***", v, []byte("x")).code())
		assert.Equal(t, "original", string(f.do("GET", u("keep"), v, nil).body))
	})
	t.Run("ranges", func(t *testing.T) {
		require.Equal(t, 201, put("digits", []byte("0123456789")).status)
		h := hdr("x-ms-version", "2021-08-06", "x-ms-range", "bytes=2-4")
		r := f.do("GET", u("digits"), h, nil)
		assert.Equal(t, 206, r.status)
		assert.Equal(t, "234", string(r.body))
		assert.Equal(t, "bytes 2-4/10", r.header.Get("Content-Range"))
		h.Set("x-ms-range", "bytes=7-")
		assert.Equal(t, "789", string(f.do("GET", u("digits"), h, nil).body))
		h.Set("x-ms-range", "bytes=10-")
		r = f.do("GET", u("digits"), h, nil)
		assert.Equal(t, 416, r.status)
		assert.Equal(t, "InvalidRange", r.code())
	})
	t.Run("properties, list and delete", func(t *testing.T) {
		require.Equal(t, 201, put("dir/a.txt", []byte("a"), "x-ms-blob-content-type", "text/plain").status)
		require.Equal(t, 201, put("dir/b.txt", []byte("bb")).status)
		r := f.do("HEAD", u("dir/b.txt"), v, nil)
		assert.Equal(t, 200, r.status)
		assert.Equal(t, "2", r.header.Get("Content-Length"))
		assert.Equal(t, "BlockBlob", r.header.Get("x-ms-blob-type"))
		r = f.do("GET", withSAS(f.base+emulator.SeedContainer+"?restype=container&comp=list&prefix=dir/&maxresults=1", sas), v, nil)
		require.Equal(t, 200, r.status, string(r.body))
		var list struct {
			Blobs []struct {
				Name       string `xml:"Name"`
				Properties struct {
					ContentLength int    `xml:"Content-Length"`
					ContentType   string `xml:"Content-Type"`
				} `xml:"Properties"`
			} `xml:"Blobs>Blob"`
			NextMarker string `xml:"NextMarker"`
		}
		require.NoError(t, xml.Unmarshal(r.body, &list))
		require.Len(t, list.Blobs, 1)
		assert.Equal(t, "dir/a.txt", list.Blobs[0].Name)
		assert.Equal(t, "text/plain", list.Blobs[0].Properties.ContentType)
		assert.Equal(t, "dir/b.txt", list.NextMarker)
		r = f.do("DELETE", u("dir/a.txt"), v, nil)
		assert.Equal(t, 202, r.status)
		r = f.do("GET", u("dir/a.txt"), v, nil)
		assert.Equal(t, 404, r.status)
		assert.Equal(t, "BlobNotFound", r.xmlErr(t).Code)
		r = f.do("HEAD", u("dir/a.txt"), v, nil)
		assert.Equal(t, "BlobNotFound", r.code(), "HEAD errors carry the code in the header only")
	})
	t.Run("containers through Shared Key and path style", func(t *testing.T) {
		ctx := context.Background()
		cred, err := azblob.NewSharedKeyCredential(f.acct, f.key(0))
		require.NoError(t, err)
		for _, base := range []string{f.base, "https://127.0.0.1/" + f.acct + "/"} {
			c, err := azblob.NewClientWithSharedKeyCredential(base, cred, &azblob.ClientOptions{ClientOptions: azcore.ClientOptions{Transport: f.c, Retry: policy.RetryOptions{MaxRetries: -1}}})
			require.NoError(t, err)
			_, err = c.CreateContainer(ctx, "made-here", nil)
			require.NoError(t, err, base)
			_, err = c.CreateContainer(ctx, "made-here", nil)
			assert.True(t, bloberror.HasCode(err, bloberror.ContainerAlreadyExists), "%v", err)
			_, err = c.CreateContainer(ctx, "Bad_Name", nil)
			assert.True(t, bloberror.HasCode(err, bloberror.InvalidResourceName), "%v", err)
			var names []string
			for p := c.NewListContainersPager(nil); p.More(); {
				page, err := p.NextPage(ctx)
				require.NoError(t, err)
				for _, it := range page.ContainerItems {
					names = append(names, *it.Name)
				}
			}
			assert.Contains(t, names, "made-here")
			_, err = c.DeleteContainer(ctx, "made-here", nil)
			require.NoError(t, err)
			_, err = c.ServiceClient().NewContainerClient("made-here").GetProperties(ctx, nil)
			assert.True(t, bloberror.HasCode(err, bloberror.ContainerNotFound), "%v", err)
		}
	})
}

// hdr builds a header from name, value pairs (later pairs replace earlier).
func hdr(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return h
}
