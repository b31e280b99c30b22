package report

import "github.com/miconform/miconform/internal/steplog"

// The scenario's step log is package steplog's, shared with the step
// definitions (which may not import the runner); these names keep the
// reports' API as it was.

// MaxLogBytes caps a scenario's step log.
const MaxLogBytes = steplog.MaxLogBytes

// Log is a scenario's step log (steplog.Log).
type Log = steplog.Log

// NewLog returns an empty log.
func NewLog() *Log { return steplog.NewLog() }

// WithLog, LogFrom: see package steplog.
var (
	WithLog = steplog.WithLog
	LogFrom = steplog.LogFrom
)
