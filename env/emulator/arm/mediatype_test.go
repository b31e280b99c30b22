package arm

import "testing"

func TestJSONMediaType(t *testing.T) {
	t.Parallel()
	for header, want := range map[string]string{
		"application/json":                  "",
		"application/json; charset=utf-8":   "",
		"Application/JSON":                  "",
		"":                                  "The content media type '<null>' is not supported. Only 'application/json' is supported.",
		"application/x-www-form-urlencoded": "The content media type 'application/x-www-form-urlencoded' is not supported. Only 'application/json' is supported.",
		"text/plain":                        "The content media type 'text/plain' is not supported. Only 'application/json' is supported.",
	} {
		e := jsonMediaType(header)
		switch {
		case want == "" && e != nil:
			t.Errorf("%q refused: %v", header, e.Message)
		case want != "" && (e == nil || e.Status != 415 || e.Code != "UnsupportedMediaType" || e.Message != want):
			t.Errorf("%q: got %+v, want 415 UnsupportedMediaType %q", header, e, want)
		}
	}
}
