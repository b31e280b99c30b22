package imds

import (
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/miconform/miconform/env/cloud"
)

// serve sends a request from the VM to IMDS and records the answer.
func (f *fixture) serve(method, target string, header map[string]string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, "http://169.254.169.254"+target, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	f.srv.ServeHTTP(rec, req)
	return rec
}

// raw is serve's answer as it came, JSON or text.
func (f *fixture) raw(method, target string, header map[string]string) (code int, contentType, body string) {
	rec := f.serve(method, target, header)
	return rec.Code, rec.Header().Get("Content-Type"), rec.Body.String()
}

const (
	jsonType = "application/json; charset=utf-8"
	textType = "text/plain; charset=utf-8"
	api21    = "?api-version=2021-02-01"
)

// tagged is the fixture with two tags, so tags and tagsList have an order
// to get right.
func tagged(t *testing.T) *fixture {
	f := newFixture(t, "AzureCloud")
	f.vm.Tags = map[string]string{"env": "test", "Department": "IT"}
	return f
}

func TestInstanceSubtreeJSON(t *testing.T) {
	f := tagged(t)
	nic := `{"ipv4":{"ipAddress":[{"privateIpAddress":"10.0.0.4","publicIpAddress":""}],"subnet":[{"address":"10.0.0.0","prefix":"24"}]},"ipv6":{"ipAddress":[]},"macAddress":"000D3A000001"}`
	for _, tc := range []struct{ name, target, body string }{
		{"network", "/metadata/instance/network" + api21, `{"interface":[` + nic + `]}`},
		{"array element, the doc's /network/interface/0", "/metadata/instance/network/interface/0" + api21, nic},
		{"array", "/metadata/instance/network/interface/0/ipv4/subnet" + api21, `[{"address":"10.0.0.0","prefix":"24"}]`},
		{"empty array", "/metadata/instance/network/interface/0/ipv6/ipAddress" + api21, `[]`},
		{"tagsList is a JSON array, sorted by name", "/metadata/instance/compute/tagsList" + api21, `[{"name":"Department","value":"IT"},{"name":"env","value":"test"}]`},
		{"tagsList element", "/metadata/instance/compute/tagsList/1" + api21, `{"name":"env","value":"test"}`},
		{"object", "/metadata/instance/compute/osProfile" + api21, `{"adminUsername":"azureuser","computerName":"myVM","disablePasswordAuthentication":"true"}`},
		{"explicit format=json", "/metadata/instance/compute/osProfile" + api21 + "&format=json", `{"adminUsername":"azureuser","computerName":"myVM","disablePasswordAuthentication":"true"}`},
		{"one trailing slash", "/metadata/instance/compute/osProfile/" + api21, `{"adminUsername":"azureuser","computerName":"myVM","disablePasswordAuthentication":"true"}`},
		{"empty format is the default", "/metadata/instance/network/interface/0" + api21 + "&format=", nic},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, ctype, body := f.raw("GET", tc.target, md)
			require.Equal(t, 200, code, body)
			assert.Equal(t, jsonType, ctype)
			assert.JSONEq(t, tc.body, body)
		})
	}
	t.Run("compute is the whole document's compute", func(t *testing.T) {
		whole := f.do(t, "GET", "/metadata/instance"+api21, md)
		compute := f.do(t, "GET", "/metadata/instance/compute"+api21, md)
		require.Equal(t, 200, compute.code)
		assert.Equal(t, whole.body["compute"], compute.body)
		assert.Equal(t, "Department:IT;env:test", compute.body["tags"], "tags and tagsList list the tags in one order")
	})
}

// cloudEnvironments pairs each cloud with the azEnvironment its IMDS
// reports (the doc's "Sample 5" table).
var cloudEnvironments = []struct{ cloud, env string }{
	{"AzureCloud", "AzurePublicCloud"},
	{"AzureChinaCloud", "AzureChinaCloud"},
	{"AzureUSGovernment", "AzureUSGovernmentCloud"},
}

// assertText asserts a 200 plain-text answer with exactly body want.
func (f *fixture) assertText(t *testing.T, target, want string) {
	t.Helper()
	code, ctype, body := f.raw("GET", target, md)
	require.Equal(t, 200, code, body)
	assert.Equal(t, textType, ctype)
	assert.Equal(t, want, body)
}

func TestInstanceTextLeaves(t *testing.T) {
	for _, tc := range cloudEnvironments {
		t.Run(tc.cloud, func(t *testing.T) {
			f := newFixture(t, tc.cloud)
			f.vm.Tags = map[string]string{"env": "test", "Department": "IT"}
			for _, leaf := range []struct{ path, want string }{
				{"compute/azEnvironment", tc.env},
				{"compute/location", cloud.MustLookup(tc.cloud).DefaultLocation},
				{"compute/vmId", "5c08b38e-4d57-4c23-ac45-aca61037f084"},
				{"compute/resourceId", vmID},
				{"compute/tags", "Department:IT;env:test"},
				{"compute/tagsList/0/name", "Department"},
				{"compute/tagsList/1/value", "test"},
				// A number and booleans: IMDS holds them as strings and
				// prints them bare.
				{"network/interface/0/ipv4/subnet/0/prefix", "24"},
				{"compute/osProfile/disablePasswordAuthentication", "true"},
				{"compute/isHostCompatibilityLayerVm", "false"},
				{"network/interface/0/ipv4/ipAddress/0/privateIpAddress", "10.0.0.4"},
				// An inapplicable value is an empty string, so an empty body.
				{"network/interface/0/ipv4/ipAddress/0/publicIpAddress", ""},
				{"compute/zone", ""},
				{"compute/osProfile/computerName/", "myVM"},
			} {
				t.Run(leaf.path, func(t *testing.T) {
					f.assertText(t, "/metadata/instance/"+leaf.path+api21+"&format=text", leaf.want)
				})
			}
		})
	}
}

func TestInstanceTextListing(t *testing.T) {
	f := tagged(t)
	for _, tc := range []struct{ path, want string }{
		{"", "compute/\nnetwork/"},
		{"/", "compute/\nnetwork/"},
		{"/network", "interface/"},
		{"/network/interface", "0/"},
		{"/network/interface/0", "ipv4/\nipv6/\nmacAddress"},
		{"/network/interface/0/ipv6/ipAddress", ""},
		{"/compute/osProfile", "adminUsername\ncomputerName\ndisablePasswordAuthentication"},
		{"/compute/tagsList", "0/\n1/"},
	} {
		t.Run("instance"+tc.path, func(t *testing.T) {
			f.assertText(t, "/metadata/instance"+tc.path+api21+"&format=text", tc.want)
		})
	}
}

func TestInstanceRouteErrors(t *testing.T) {
	f := tagged(t)
	const (
		notFound   = `{"error":"Not found"}`
		leafJSON   = `{"error":"Bad request. Leaf nodes are only available in text format; specify format=text in the request. For more information refer to aka.ms/azureimds"}`
		noHeader   = `{"error":"Bad request: . Required metadata header not specified"}`
		version    = `{"error":"Bad request. api-version is invalid or was not specified in the request. For more information refer to aka.ms/azureimds","newest-versions":["2025-04-07","2024-07-17","2024-03-15"]}`
		loc        = "/metadata/instance/compute/location"
		interface0 = "/metadata/instance/network/interface/"
	)
	for _, tc := range []struct {
		name, method, target string
		header               map[string]string
		status               int
		body                 string
	}{
		{"leaf without format", "GET", loc + api21, md, 400, leafJSON},
		{"leaf with format=json", "GET", loc + api21 + "&format=json", md, 400, leafJSON},
		{"array element's leaf without format", "GET", interface0 + "0/macAddress" + api21, md, 400, leafJSON},
		{"unknown format", "GET", loc + api21 + "&format=xml", md, 400, `{"error":"Bad request. Invalid format 'xml' specified in the request. Supported formats are json and text"}`},
		{"format is case-sensitive", "GET", loc + api21 + "&format=TEXT", md, 400, `{"error":"Bad request. Invalid format 'TEXT' specified in the request. Supported formats are json and text"}`},
		{"duplicate format", "GET", loc + api21 + "&format=text&format=text", md, 400, `{"error":"invalid_request","error_description":"Duplicate query parameter 'format' in the request"}`},
		{"leaf, missing api-version", "GET", loc + "?format=text", md, 400, version},
		{"leaf, unknown api-version", "GET", loc + "?api-version=2021-02-02&format=text", md, 400, version},
		{"leaf, no Metadata header", "GET", loc + api21 + "&format=text", nil, 400, noHeader},
		{"leaf, Metadata True", "GET", loc + api21 + "&format=text", map[string]string{"Metadata": "True"}, 400, noHeader},
		{"leaf, X-Forwarded-For", "GET", loc + api21 + "&format=text", map[string]string{"Metadata": "true", "X-Forwarded-For": "1.2.3.4"}, 400, `{"error":"Bad request. X-Forwarded-For header is not allowed"}`},
		{"leaf, POST", "POST", loc + api21 + "&format=text", md, 405, `{"error":"method_not_allowed","error_description":"The HTTP method POST is not supported on this endpoint."}`},
		{"key case differs", "GET", "/metadata/instance/compute/Location" + api21 + "&format=text", md, 404, notFound},
		{"category case differs", "GET", "/metadata/instance/Compute" + api21, md, 404, notFound},
		{"unknown key", "GET", "/metadata/instance/compute/nothing" + api21 + "&format=text", md, 404, notFound},
		{"unknown top-level key", "GET", "/metadata/instance/storage" + api21, md, 404, notFound},
		{"below a leaf", "GET", loc + "/more" + api21 + "&format=text", md, 404, notFound},
		{"empty segment", "GET", "/metadata/instance/compute//location" + api21 + "&format=text", md, 404, notFound},
		{"two trailing slashes", "GET", loc + "//" + api21 + "&format=text", md, 404, notFound},
		{"empty segment after instance", "GET", "/metadata/instance//compute" + api21, md, 404, notFound},
		{"escaped slash stays in its segment", "GET", "/metadata/instance/compute%2Flocation" + api21 + "&format=text", md, 404, notFound},
		{"index past the end", "GET", interface0 + "1" + api21, md, 404, notFound},
		{"negative index", "GET", interface0 + "-1" + api21, md, 404, notFound},
		{"non-numeric index", "GET", interface0 + "first" + api21, md, 404, notFound},
		{"leading zero", "GET", interface0 + "00" + api21, md, 404, notFound},
		{"plus sign", "GET", interface0 + "+0" + api21, md, 404, notFound},
		{"space", "GET", interface0 + "%200" + api21, md, 404, notFound},
		{"huge index", "GET", interface0 + "99999999999999999999" + api21, md, 404, notFound},
		{"index into an empty array", "GET", interface0 + "0/ipv6/ipAddress/0" + api21, md, 404, notFound},
		{"key into an array", "GET", interface0 + "ipv4" + api21, md, 404, notFound},
		{"index into an object", "GET", "/metadata/instance/compute/0" + api21, md, 404, notFound},
		{"prefix of instance", "GET", "/metadata/instances/compute" + api21, md, 404, notFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, ctype, body := f.raw(tc.method, tc.target, tc.header)
			assert.Equal(t, tc.status, code)
			assert.Equal(t, jsonType, ctype)
			assert.JSONEq(t, tc.body, body)
		})
	}
	t.Run("no VM", func(t *testing.T) {
		g := tagged(t)
		g.exists = false
		code, _, body := g.raw("GET", loc+api21+"&format=text", md)
		assert.Equal(t, 404, code)
		assert.JSONEq(t, notFound, body)
	})
}

func BenchmarkInstanceLeaf(b *testing.B) {
	f := newFixture(b, "AzureCloud")
	target := "/metadata/instance/network/interface/0/ipv4/ipAddress/0/privateIpAddress" + api21 + "&format=text"
	b.ReportAllocs()
	for b.Loop() {
		if code, _, _ := f.raw("GET", target, md); code != 200 {
			b.Fatalf("status %d", code)
		}
	}
}
