package graph

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzFilter: any $filter parses to a filter or to one of Graph's 400s,
// and a parsed filter evaluates on every kind of principal, without a
// panic.
func FuzzFilter(f *testing.F) {
	for _, s := range []string{
		"appId eq '5a512f68-af7f-4e8b-b7d4-19f3ea7372db'",
		"servicePrincipalNames/any(c:c eq 'api://x')",
		"servicePrincipalNames/any(c:c eq '')",
		"displayName eq 'it''s'",
		"startswith(displayName,'azure-cli')",
		"not (servicePrincipalType eq 'ManagedIdentity') or accountEnabled eq false",
		"alternativeNames/any(n:startswith(n,'/subscriptions/'))",
		"((appId eq 'a') and (id ne null))",
		"appId eq 'a' and",
		"tags/all(t:t eq 'x')",
		"'",
		"((((((((((((((((((((((((((((((((((((",
	} {
		f.Add(s)
	}
	fx := newFixture(f, "AzureCloud")
	var objects []map[string]any
	for _, o := range fx.g.objects("servicePrincipals") {
		objects = append(objects, view(o))
	}
	objects = append(objects, map[string]any{})
	f.Fuzz(func(t *testing.T, src string) {
		for _, typ := range []entityType{spType, appType} {
			flt, e := parseFilter(src, typ)
			if e != nil {
				if e.Status != http.StatusBadRequest || e.Code == "" || e.Message == "" {
					t.Fatalf("%q: error %+v is not a Graph 400", src, e)
				}
				continue
			}
			for _, o := range objects {
				_ = flt.match(o)
			}
		}
	})
}

// FuzzQuery: whatever the query string of a list or get, Graph answers
// 200 or an error body of its own, never a panic.
func FuzzQuery(f *testing.F) {
	for _, s := range []string{"$top=2", "$select=id,appId", "$skiptoken=Mg", "$filter=appId%20eq%20'x'", "$orderby=id", "%%%", "$top=99999999999999999999"} {
		f.Add("servicePrincipals", s)
	}
	f.Add("servicePrincipals(appId='x')", "$select=id")
	f.Add("applications", "$filter=identifierUris/any(u:u%20eq%20'api://x')")
	fx := newFixture(f, "AzureCloud")
	tok := fx.operatorToken()
	f.Fuzz(func(t *testing.T, path, query string) {
		if strings.ContainsAny(path, "?#\x00 \r\n\t") || strings.ContainsAny(query, "#\x00 \r\n\t") {
			return
		}
		r, err := http.NewRequest(http.MethodGet, "https://graph.microsoft.com/v1.0/"+path+"?"+query, nil)
		if err != nil {
			return
		}
		r.Header.Set("Authorization", "Bearer "+tok)
		w := httptest.NewRecorder()
		fx.g.ServeHTTP(w, r)
		if w.Code != 200 && !strings.Contains(w.Body.String(), `"error":{"code":"`) {
			t.Fatalf("%s?%s: %d without a Graph error body: %s", path, query, w.Code, w.Body.String())
		}
	})
}
