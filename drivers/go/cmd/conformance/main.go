// Command mqdrill-go-conformance runs named cases with the official RocketMQ 5 Go client
// (github.com/apache/rocketmq-clients/golang/v5) against a broker and prints one JSON line per case.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// result is one line of output.
type result struct {
	Case   string `json:"case"`
	OK     bool   `json:"ok"`
	Detail detail `json:"detail"`
	Error  string `json:"error,omitempty"`
	TookMs int64  `json:"tookMs"`
}

// output writes result lines; the process timeout and the case runner share it.
type output struct {
	mu sync.Mutex
	w  io.Writer
}

func (out *output) write(r result) {
	line, err := json.Marshal(r)
	if err != nil {
		line, _ = json.Marshal(result{Case: r.Case, Error: fmt.Sprintf("unprintable detail: %v", err)})
	}
	out.mu.Lock()
	defer out.mu.Unlock()
	fmt.Fprintln(out.w, string(line))
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	o, err := parseOptions(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "mqdrill-go-conformance: %v\n", err)
		return 2
	}
	logDir, err := setUpClientLogs(o.logDir, o.logLevel)
	if err != nil {
		fmt.Fprintf(stderr, "mqdrill-go-conformance: %v\n", err)
		return 2
	}
	setTLS(o.tls)
	out := &output{w: stdout}
	var current sync.Map
	watchdog := time.AfterFunc(o.totalLimit, func() {
		name, _ := current.Load("case")
		out.write(result{Case: fmt.Sprint(name), Error: fmt.Sprintf("process timeout %v reached (client logs: %s)",
			o.totalLimit, logDir)})
		os.Exit(1)
	})
	defer watchdog.Stop()
	failed := 0
	for _, name := range o.cases {
		current.Store("case", name)
		r := runCase(o, name)
		if !r.OK {
			failed++
			r.Error = fmt.Sprintf("%s (client logs: %s)", r.Error, logDir)
		}
		out.write(r)
	}
	if failed > 0 {
		return 1
	}
	return 0
}

// runCase runs one case within -timeout; a panic in the case is its failure.
func runCase(o options, name string) (r result) {
	started := time.Now()
	r = result{Case: name, Detail: detail{}}
	defer func() {
		if p := recover(); p != nil {
			r.OK, r.Error = false, fmt.Sprintf("panic: %v", p)
		}
		r.TookMs = time.Since(started).Milliseconds()
	}()
	ctx, cancel := context.WithTimeout(context.Background(), o.caseTimeout)
	defer cancel()
	d, err := caseFuncs[name](ctx, o, name)
	if d != nil {
		r.Detail = d
	}
	if err != nil {
		r.Error = err.Error()
		return r
	}
	r.OK = true
	return r
}
