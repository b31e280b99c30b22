package entra

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// fuzzIssuer is shared by the fuzz targets: building one costs an RSA key.
func fuzzIssuer(f *testing.F) (*Issuer, string) {
	fx := newFixture(f, "AzureCloud")
	tok, err := fx.iss.ManagedIdentityToken(fx.user, "https://management.azure.com/", vmID)
	if err != nil {
		f.Fatal(err)
	}
	return fx.iss, tok.Raw
}

func seedTokens(f *testing.F, good string) {
	parts := strings.Split(good, ".")
	for _, s := range []string{
		good,
		"",
		".",
		"..",
		"...",
		"a.b.c",
		parts[0] + "." + parts[1] + ".",
		parts[0] + "." + parts[1],
		b64.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + ".",
		b64.EncodeToString([]byte(`{"alg":"RS256","kid":null}`)) + "." + b64.EncodeToString([]byte(`{}`)) + ".",
		b64.EncodeToString([]byte(`null`)) + "." + b64.EncodeToString([]byte(`null`)) + ".",
		b64.EncodeToString([]byte(`{"alg":"RS256"}`)) + "." + b64.EncodeToString([]byte(`{"exp":1e400}`)) + ".AA",
		b64.EncodeToString([]byte(`{"alg":"RS256"}`)) + "." + b64.EncodeToString([]byte(`{"exp":-9223372036854775808,"nbf":9223372036854775807}`)) + ".AA",
		"eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJ9.sig",
		strings.Repeat("A", 100) + "." + strings.Repeat("B", 100) + "." + strings.Repeat("C", 100),
		"Bearer " + good,
		good + " ",
		"\x00.\xff.\xfe",
	} {
		f.Add(s)
	}
}

// FuzzParse: the parser never panics, and either fails with ErrMalformed or
// returns claims together with a signature and signing input that
// reassemble the token.
func FuzzParse(f *testing.F) {
	_, good := fuzzIssuer(f)
	seedTokens(f, good)
	f.Fuzz(func(t *testing.T, raw string) {
		h, c, sig, signing, err := parse(raw)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("parse error %v is not ErrMalformed", err)
			}
			if c != nil {
				t.Fatalf("claims returned with error %v", err)
			}
			return
		}
		_ = h
		if c == nil {
			t.Fatal("nil claims without error")
		}
		if !strings.HasPrefix(raw, signing+".") || len(sig) > len(raw) {
			t.Fatalf("signing input %q does not prefix %q", signing, raw)
		}
		if _, err := ParseUnverified(raw); err != nil {
			t.Fatalf("ParseUnverified disagrees with parse: %v", err)
		}
	})
}

// FuzzVerify: Verify never panics and never accepts anything but the
// issuer's own unmodified token; every failure is one of the package's
// sentinel errors.
func FuzzVerify(f *testing.F) {
	iss, good := fuzzIssuer(f)
	iss.SetClock(func() time.Time { return fixedNow })
	seedTokens(f, good)
	sentinels := []error{ErrMalformed, ErrAlgorithm, ErrUnknownKey, ErrSignature, ErrExpired, ErrNotYetValid}
	f.Fuzz(func(t *testing.T, raw string) {
		c, err := iss.Verify(raw)
		if err == nil {
			if raw != good {
				t.Fatalf("Verify accepted a token the issuer did not sign: %q", raw)
			}
			if c == nil {
				t.Fatal("nil claims without error")
			}
			return
		}
		for _, s := range sentinels {
			if errors.Is(err, s) {
				return
			}
		}
		t.Fatalf("Verify error %v is none of the sentinels", err)
	})
}
