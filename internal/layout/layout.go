// Package layout holds the repository's dependency rule, as a test:
// dependencies point down, from the runner to the steps to the
// environments, never up. Nothing under env/ or internal/ imports runner/
// or steps/, and steps/ does not import runner/; what both sides need
// (redaction, the HTTP exchange helpers, the step log) lives in internal/.
package layout
