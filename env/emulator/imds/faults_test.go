package imds

import (
	"encoding/json"
	"net/http/httptest"
	"testing"
	"time"
)

// A clock set back (a clock-skew fault being reset) must not drain the
// throttle's bucket until real time catches up.
func TestLimiterClockSetBack(t *testing.T) {
	l := newLimiter(20, 5)
	now := time.Date(2026, 1, 1, 0, 7, 0, 0, time.UTC)
	rel, ok := l.acquire(now)
	if !ok {
		t.Fatal("first request throttled")
	}
	rel()
	back := now.Add(-7 * time.Minute)
	for i := range 19 {
		rel, ok := l.acquire(back)
		if !ok {
			t.Fatalf("request %d after the clock went back was throttled", i+2)
		}
		rel()
	}
	if _, ok := l.acquire(back); ok {
		t.Error("the 21st request in the same instant was not throttled")
	}
	if _, ok := l.acquire(back.Add(time.Second)); !ok {
		t.Error("a second later the bucket has not refilled")
	}
}

// WriteFault answers in the identity endpoint's shape for each status.
func TestWriteFault(t *testing.T) {
	for status, want := range map[int]string{404: "not_found", 410: "unknown", 429: "too_many_requests", 500: "unknown", 503: "service_unavailable"} {
		rec := httptest.NewRecorder()
		WriteFault(rec, status)
		var b map[string]string
		if err := json.Unmarshal(rec.Body.Bytes(), &b); err != nil {
			t.Fatal(err)
		}
		if rec.Code != status || b["error"] != want || b["error_description"] == "" || rec.Header().Get("Server") == "" {
			t.Errorf("%d: %d %v", status, rec.Code, b)
		}
	}
}
