package redact

import (
	"bytes"
	"io"
	"sync"
)

// maxLine bounds how much of an unterminated line Writer buffers; a longer
// line is redacted and written in pieces of this size.
const maxLine = 1 << 20

// Writer returns a writer that redacts everything written to it, line by
// line, before passing it on to w. A trailing partial line is held back until
// its newline arrives or Close is called; Close flushes it but does not close
// w. The returned writer is safe for concurrent use.
func Writer(w io.Writer) io.WriteCloser {
	return &lineWriter{w: w}
}

type lineWriter struct {
	mu  sync.Mutex
	w   io.Writer
	buf []byte
	err error
}

func (l *lineWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err != nil {
		return 0, l.err
	}
	l.buf = append(l.buf, p...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			break
		}
		if err := l.emit(l.buf[:i+1]); err != nil {
			return 0, err
		}
		l.buf = l.buf[i+1:]
	}
	for len(l.buf) > maxLine {
		if err := l.emit(l.buf[:maxLine]); err != nil {
			return 0, err
		}
		l.buf = l.buf[maxLine:]
	}
	if len(l.buf) == 0 {
		l.buf = nil
	}
	return len(p), nil
}

func (l *lineWriter) emit(line []byte) error {
	if _, err := io.WriteString(l.w, String(string(line))); err != nil {
		l.err = err
		return err
	}
	return nil
}

// Close writes any buffered partial line. It does not close the underlying
// writer. Writing after Close is allowed and starts a new line buffer.
func (l *lineWriter) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err != nil {
		return l.err
	}
	if len(l.buf) > 0 {
		if err := l.emit(l.buf); err != nil {
			return err
		}
		l.buf = nil
	}
	return nil
}
