package faults

import (
	"errors"
	"testing"
	"time"
)

// FuzzApply: whatever JSON the control API gets, a fault is either refused
// with ErrInvalid or in force and bounded.
func FuzzApply(f *testing.F) {
	for _, s := range []struct{ kind, body string }{
		{"imds", `{"status":410,"seconds":2}`}, {"imds", `{"reset":true,"count":1}`},
		{"imds", `{"latencyMs":5,"seconds":1e308}`}, {"services", `{"status":503,"fraction":0.5,"count":3}`},
		{"rbac", `{"grantDelaySeconds":1e-9}`}, {"tokens", `{"lifetimeSeconds":1,"clockSkewSeconds":-3600}`},
		{"tokens", `{"lifetimeSeconds":NaN}`}, {"imds", `[]`},
		{"operations", `{"polls":3,"retryAfterSeconds":2}`}, {"operations", `{"minDurationSeconds":1e308}`},
	} {
		f.Add(s.kind, s.body)
	}
	fx := newFixture(f)
	var paced *Operations
	fx.in.SetOperationsTarget(func(o *Operations) { paced = o })
	f.Fuzz(func(t *testing.T, kind, body string) {
		defer func() { _ = fx.in.Reset("") }()
		err := fx.in.Apply(kind, []byte(body))
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("%s %q: error %v is not ErrInvalid", kind, body, err)
			}
			return
		}
		cur := fx.in.Current()
		if w := cur.IMDS; w != nil && (w.RemainingSeconds > MaxWindow.Seconds() || time.Duration(w.LatencyMS)*time.Millisecond > MaxLatency) {
			t.Fatalf("unbounded IMDS fault %+v", w)
		}
		if w := cur.Services; w != nil && (w.RemainingSeconds > MaxWindow.Seconds() || w.RetryAfterSeconds > MaxRetryAfter) {
			t.Fatalf("unbounded services fault %+v", w)
		}
		if o := cur.Operations; o != nil && (o != nil && paced == nil || o.Polls > MaxPolls || o.MinDurationSeconds > MaxWindow.Seconds() ||
			o.RetryAfterSeconds > MaxRetryAfter || o.RemainingSeconds > MaxWindow.Seconds()) {
			t.Fatalf("unbounded or unapplied operations fault %+v", o)
		}
		if lt := fx.iss.Lifetime(); lt != 0 && lt < MinLifetime {
			t.Fatalf("token lifetime %v", lt)
		}
		if d := time.Until(fx.iss.Now()); d > MaxClockSkew+time.Minute || d < -MaxClockSkew-time.Minute {
			t.Fatalf("clock skew %v", d)
		}
	})
}
