// Command mqdrill-go-driver is the Go load driver of mqdrill: it speaks the plan protocol of docs/load.md
// (NDJSON on stdin and stdout, logs on stderr) and does the messaging with the official RocketMQ 5 Go client
// (github.com/apache/rocketmq-clients/golang/v5). The engine starts it as `mqdrill-go-driver --driver-id <id>`.
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/mqdrill/mqdrill/drivers/go/internal/load"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// output writes driver messages, one line each, flushed at once (the engine reads them as they come).
type output struct {
	mu sync.Mutex
	w  *bufio.Writer
}

func (o *output) send(message any) {
	line, err := load.EncodeLine(message)
	if err != nil {
		line, _ = load.EncodeLine(load.Log{Type: "log", Level: "error", Message: "unencodable message: " + err.Error()})
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	_, _ = o.w.Write(line)
	_ = o.w.Flush()
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("mqdrill-go-driver", flag.ContinueOnError)
	flags.SetOutput(stderr)
	driverID := flags.String("driver-id", "driver", "this driver's id in the run (names the ledger, prefixes ids)")
	logDir := flags.String("log-dir", "", "the RocketMQ client's log folder (default <tmp>/mqdrill-go-driver/<id>)")
	if err := flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *logDir == "" {
		*logDir = filepath.Join(os.TempDir(), "mqdrill-go-driver", *driverID)
	}
	out := &output{w: bufio.NewWriter(stdout)}
	d := newDriver(*driverID, out, *logDir)
	lines := readLines(stdin, stderr, d.onClockReply)
	for {
		select {
		case line, open := <-lines:
			if !open {
				// The engine is gone: stop as if told to, so the ledger is complete, then exit.
				go d.stop("stdin closed")
				waitFor(d.finished, time.Minute)
				return 0
			}
			if code, exit := d.dispatch(line); exit {
				return code
			}
		case <-d.finished:
			return 0
		}
	}
}

// dispatch handles one engine line; exit is true when the driver must end with code (a fatal error).
func (d *driver) dispatch(line []byte) (code int, exit bool) {
	m, err := load.DecodeEngineLine(line)
	if err != nil {
		d.out.send(load.Log{Type: "log", DriverID: d.id, Level: "warn", Message: err.Error()})
		return 0, false
	}
	if err := d.handle(m); err != nil {
		d.out.send(load.ErrorMessage{Type: "error", DriverID: d.id, Message: errorText(err), Fatal: true})
		_ = d.ledger.Close()
		return 1, true
	}
	return 0, false
}

// readLines reads the engine's lines. Clock replies are handled here, at once: the main loop may be busy in
// prepare (connecting the producer takes seconds), and a reply read after that would put the connect time into the
// first `ck` record's round trip (its offset skewed by half of it). The node driver reads replies during its connect
// (its event loop is free while it awaits), the Java driver prepares on its own thread; the rest go to the channel in
// order.
func readLines(r io.Reader, stderr io.Writer, onClock func(load.EngineMessage)) <-chan []byte {
	lines := make(chan []byte, 16)
	go func() {
		defer close(lines)
		scanner := bufio.NewScanner(r)
		scanner.Buffer(make([]byte, 64*1024), 16*1024*1024)
		for scanner.Scan() {
			if len(scanner.Bytes()) == 0 {
				continue
			}
			if m, ok := clockReply(scanner.Bytes()); ok {
				onClock(m)
				continue
			}
			lines <- append([]byte(nil), scanner.Bytes()...)
		}
		if err := scanner.Err(); err != nil {
			fmt.Fprintf(stderr, "mqdrill-go-driver: reading stdin: %v\n", err)
		}
	}()
	return lines
}

// clockReply is the engine's clock reply on line, if it is one.
func clockReply(line []byte) (load.EngineMessage, bool) {
	if !bytes.Contains(line, []byte(`"clock"`)) {
		return load.EngineMessage{}, false
	}
	m, err := load.DecodeEngineLine(line)
	return m, err == nil && m.Type == "clock"
}

func waitFor(ch <-chan struct{}, limit time.Duration) {
	select {
	case <-ch:
	case <-time.After(limit):
	}
}
