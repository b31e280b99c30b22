// Package steplog is a scenario's step log: what steps record (HTTP
// exchanges, evidence) and the reports show, redacted as it is written.
// Steps and the runner both use it, so it is neither's.
package steplog

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/miconform/miconform/internal/redact"
)

// MaxLogBytes caps a scenario's step log; later writes are dropped and a
// truncation notice is appended once.
const MaxLogBytes = 1 << 20

// Log is a scenario's step log: steps record their HTTP exchanges and other
// evidence in it, and the reports show it (JUnit system-out, summary
// details). Everything is redacted as it is written. A Log is safe for
// concurrent use; the zero value is ready to use.
type Log struct {
	mu        sync.Mutex
	b         strings.Builder
	discard   bool
	truncated bool
}

// NewLog returns an empty log.
func NewLog() *Log { return &Log{} }

// discardLog swallows everything; LogFrom returns it when a context carries
// no log.
var discardLog = &Log{discard: true}

// Printf appends a formatted line (a newline is added unless the text ends
// with one), redacted.
func (l *Log) Printf(format string, args ...any) {
	if l == nil || l.discard {
		return
	}
	s := fmt.Sprintf(format, args...)
	if !strings.HasSuffix(s, "\n") {
		s += "\n"
	}
	l.append(s)
}

// Write appends p, redacted, so a Log can be an io.Writer (for example for
// httputil.DumpRequest output). Each call is redacted as a whole, so write
// whole messages.
func (l *Log) Write(p []byte) (int, error) {
	if l == nil || l.discard {
		return len(p), nil
	}
	l.append(string(p))
	return len(p), nil
}

func (l *Log) append(s string) {
	s = redact.String(s)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.truncated {
		return
	}
	if l.b.Len()+len(s) > MaxLogBytes {
		l.truncated = true
		l.b.WriteString("…[log truncated]\n")
		return
	}
	l.b.WriteString(s)
}

// Len is the log's length so far, in bytes: a mark a step's share of the
// log starts or ends at (Slice).
func (l *Log) Len() int {
	if l == nil {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Len()
}

// String returns the log so far.
func (l *Log) String() string {
	if l == nil {
		return ""
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

type logKey struct{}

// WithLog returns a context carrying l.
func WithLog(ctx context.Context, l *Log) context.Context {
	return context.WithValue(ctx, logKey{}, l)
}

// LogFrom returns the log carried by ctx, or a log that discards everything;
// never nil.
func LogFrom(ctx context.Context) *Log {
	if ctx != nil {
		if l, ok := ctx.Value(logKey{}).(*Log); ok && l != nil {
			return l
		}
	}
	return discardLog
}
