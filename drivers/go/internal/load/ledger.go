package load

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
)

// LedgerVersion is the ledger format version (docs/ledger.md).
const LedgerVersion = 1

// Ledger appends records to one NDJSON file as docs/ledger.md describes: the header first, then one record per
// line in the order events happen. Lines are buffered (64 KiB) and written at least every second; a write blocks
// while the disk is busy, so the ledger never drops a record and its memory stays bounded.
type Ledger struct {
	mu      sync.Mutex
	path    string
	file    *os.File
	buf     *bufio.Writer
	opID    int64
	records int64
	err     error
	closed  bool
	stop    chan struct{}
	wg      sync.WaitGroup
}

// OpenLedger creates the file (and its folder) and writes the header. header gets type and version added.
func OpenLedger(path string, header map[string]any) (*Ledger, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("ledger folder: %w", err)
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("ledger: %w", err)
	}
	full := map[string]any{"type": "header", "version": LedgerVersion}
	for k, v := range header {
		full[k] = v
	}
	line, err := json.Marshal(full)
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("ledger header: %w", err)
	}
	l := &Ledger{path: path, file: f, buf: bufio.NewWriterSize(f, 64*1024), stop: make(chan struct{})}
	_, _ = l.buf.Write(append(line, '\n'))
	l.wg.Add(1)
	go l.flushEverySecond()
	return l, nil
}

func (l *Ledger) flushEverySecond() {
	defer l.wg.Done()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			l.mu.Lock()
			if !l.closed && l.err == nil {
				l.err = l.buf.Flush()
			}
			l.mu.Unlock()
		case <-l.stop:
			return
		}
	}
}

// NextOpID is a fresh operation id; the completion repeats it. Safe on a nil ledger (ledger off): 0.
func (l *Ledger) NextOpID() int64 {
	if l == nil {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.opID++
	return l.opID
}

// Write appends one record; a nil ledger (ledger off) ignores it. The first write error is kept and returned.
func (l *Ledger) Write(r *Record) error {
	if l == nil {
		return nil
	}
	line := r.finish()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return fmt.Errorf("ledger %s: write after close", l.path)
	}
	if l.err != nil {
		return l.err
	}
	_, l.err = l.buf.Write(line)
	l.records++
	return l.err
}

// Records counts the records written (header excluded).
func (l *Ledger) Records() int64 {
	if l == nil {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.records
}

// Close flushes and closes the file; idempotent.
func (l *Ledger) Close() error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return l.err
	}
	l.closed = true
	close(l.stop)
	if l.err == nil {
		l.err = l.buf.Flush()
	}
	if err := l.file.Close(); l.err == nil {
		l.err = err
	}
	l.mu.Unlock()
	l.wg.Wait()
	return l.err
}

// Record builds one ledger line without reflection: NewRecord("si", ts).Int("o", 1).Str("id", id)...
type Record struct {
	b []byte
}

// NewRecord starts a record of type t at wall time ts (epoch ms, fractions allowed).
func NewRecord(t string, ts float64) *Record {
	r := &Record{b: make([]byte, 0, 160)}
	r.b = append(r.b, `{"t":`...)
	r.b = appendJSONString(r.b, t)
	return r.Num("ts", ts)
}

func (r *Record) key(k string) {
	r.b = append(r.b, ',')
	r.b = appendJSONString(r.b, k)
	r.b = append(r.b, ':')
}

// Str adds a string field.
func (r *Record) Str(k, v string) *Record {
	r.key(k)
	r.b = appendJSONString(r.b, v)
	return r
}

// Int adds an integer field.
func (r *Record) Int(k string, v int64) *Record {
	r.key(k)
	r.b = strconv.AppendInt(r.b, v, 10)
	return r
}

// Num adds a number field (shortest decimal form).
func (r *Record) Num(k string, v float64) *Record {
	r.key(k)
	r.b = strconv.AppendFloat(r.b, v, 'f', -1, 64)
	return r
}

// Bool adds a boolean field.
func (r *Record) Bool(k string, v bool) *Record {
	r.key(k)
	r.b = strconv.AppendBool(r.b, v)
	return r
}

// StrMap adds an object of strings (keys in sorted order, as encoding/json writes maps).
func (r *Record) StrMap(k string, m map[string]string) *Record {
	r.key(k)
	encoded, err := json.Marshal(m)
	if err != nil {
		encoded = []byte("{}")
	}
	r.b = append(r.b, encoded...)
	return r
}

// StrIf adds a string field when v is not empty.
func (r *Record) StrIf(k, v string) *Record {
	if v == "" {
		return r
	}
	return r.Str(k, v)
}

func (r *Record) finish() []byte { return append(r.b, '}', '\n') }

// String is the line without its newline (tests).
func (r *Record) String() string { return string(append(r.b, '}')) }

const hexDigits = "0123456789abcdef"

// appendJSONString quotes s as JSON: escapes quote, backslash and control characters, replaces invalid UTF-8.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}
