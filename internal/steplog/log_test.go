package steplog

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeJWT is shaped like a token, so redaction treats it as one.
const fakeJWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjMifQ.c2lnbmF0dXJl"

func TestLog(t *testing.T) {
	l := NewLog()
	l.Printf("Authorization: Bearer %s", fakeJWT)
	fmt.Fprintf(l, "sig=%s\n", "AbCdEfGhIjKlMn")
	assert.Equal(t, "Authorization: Bearer eyJhbGci…[redacted]\nsig=AbCd…[redacted]\n", l.String())

	ctx := WithLog(context.Background(), l)
	assert.Same(t, l, LogFrom(ctx))

	d := LogFrom(context.Background())
	require.NotNil(t, d)
	d.Printf("dropped")
	assert.Empty(t, d.String())
	assert.NotNil(t, LogFrom(nil)) //nolint:staticcheck // nil context on purpose

	var wg sync.WaitGroup
	c := NewLog()
	for i := range 50 {
		wg.Add(1)
		go func() { defer wg.Done(); c.Printf("line %d", i) }()
	}
	wg.Wait()
	assert.Equal(t, 50, strings.Count(c.String(), "\n"))
}

func TestLogTruncates(t *testing.T) {
	l := NewLog()
	chunk := strings.Repeat("x", 1000)
	for range MaxLogBytes/1000 + 10 {
		l.Printf("%s", chunk)
	}
	assert.LessOrEqual(t, len(l.String()), MaxLogBytes+100)
	assert.True(t, strings.HasSuffix(l.String(), "…[log truncated]\n"))
}

// Len marks a step's share of the log; a nil or discarding log is empty
// and takes writes without keeping them.
func TestLogLenAndNil(t *testing.T) {
	l := NewLog()
	assert.Zero(t, l.Len())
	l.Printf("abc")
	assert.Equal(t, 4, l.Len())
	var nl *Log
	assert.Zero(t, nl.Len())
	assert.Empty(t, nl.String())
	n, err := nl.Write([]byte("x"))
	assert.Equal(t, 1, n)
	assert.NoError(t, err)
	n, _ = LogFrom(context.Background()).Write([]byte("dropped"))
	assert.Equal(t, 7, n)
}
