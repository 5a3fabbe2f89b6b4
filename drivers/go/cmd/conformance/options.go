package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
)

// options are the command-line settings of one conformance run.
type options struct {
	endpoint    string
	cases       []string
	tls         bool
	accessKey   string
	secretKey   string
	namespace   string
	topic       string
	group       string
	count       int
	caseTimeout time.Duration
	totalLimit  time.Duration
	logDir      string
	logLevel    string
}

// caseNames lists every case the program knows, in the order `-case all` runs them.
var caseNames = []string{
	"normal-simple", "normal-push", "fifo", "delay",
	"transaction-commit", "transaction-rollback", "transaction-unknown-checkback",
	"tag-filter", "sql-filter", "credentials", "tls",
}

// defaultTopics gives each case a topic name when -topic is not set; it matches the topic type the case needs.
var defaultTopics = map[string]string{
	"normal-simple": "go-normal", "normal-push": "go-normal", "fifo": "go-fifo", "delay": "go-delay",
	"transaction-commit": "go-tx", "transaction-rollback": "go-tx", "transaction-unknown-checkback": "go-tx",
	"tag-filter": "go-normal", "sql-filter": "go-normal", "credentials": "go-normal", "tls": "go-normal",
}

const usageText = `mqdrill-go-conformance: runs named cases with the official RocketMQ 5 Go client against a broker.
One JSON line per case on stdout: {"case":"...","ok":true|false,"detail":{...},"error":"..."}.
Exit 0 when every case passed, 1 when one failed, 2 on a usage error.

`

// parseOptions reads the flags; it fails on unknown cases and missing required values, naming all of them at once.
func parseOptions(args []string, stderr io.Writer) (options, error) {
	var o options
	var cases string
	fs := flag.NewFlagSet("mqdrill-go-conformance", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usageText)
		fs.PrintDefaults()
		fmt.Fprintf(stderr, "\ncases: %s\n", strings.Join(caseNames, ", "))
	}
	fs.StringVar(&o.endpoint, "endpoint", "", "broker gRPC address host:port (required)")
	fs.StringVar(&cases, "case", "", "case name, comma-separated names, or all (required)")
	fs.BoolVar(&o.tls, "tls", false, "connect with TLS (the Go client's own default is TLS; this program's is not)")
	fs.StringVar(&o.accessKey, "ak", "", "access key; without it the client sends no authorization header")
	fs.StringVar(&o.secretKey, "sk", "", "secret key")
	fs.StringVar(&o.namespace, "namespace", "", "namespace (x-mq-namespace and resource_namespace)")
	fs.StringVar(&o.topic, "topic", "", "topic (default: go-normal, go-fifo, go-delay or go-tx by case)")
	fs.StringVar(&o.group, "group", "", "consumer group (default: go-<case>)")
	fs.IntVar(&o.count, "count", 10, "messages per case (fifo: per message group)")
	fs.DurationVar(&o.caseTimeout, "timeout", 60*time.Second, "limit for one case")
	fs.DurationVar(&o.totalLimit, "total-timeout", 0, "limit for the whole process (default: cases x timeout + 10s)")
	fs.StringVar(&o.logDir, "log-dir", "", "client log folder (default: $TMPDIR/mqdrill-go-conformance)")
	fs.StringVar(&o.logLevel, "log-level", "warn", "client log level: debug, info, warn, error")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	o.cases = splitCases(cases)
	if err := o.validate(); err != nil {
		return o, err
	}
	if o.totalLimit == 0 {
		o.totalLimit = time.Duration(len(o.cases))*o.caseTimeout + 10*time.Second
	}
	return o, nil
}

func splitCases(list string) []string {
	if strings.TrimSpace(list) == "all" {
		return append([]string(nil), caseNames...)
	}
	var out []string
	for _, name := range strings.Split(list, ",") {
		if name = strings.TrimSpace(name); name != "" {
			out = append(out, name)
		}
	}
	return out
}

func (o options) validate() error {
	var problems []string
	if o.endpoint == "" {
		problems = append(problems, "-endpoint is required")
	} else if i := strings.LastIndex(o.endpoint, ":"); i <= 0 || i == len(o.endpoint)-1 {
		problems = append(problems, fmt.Sprintf("-endpoint %q is not host:port", o.endpoint))
	}
	if len(o.cases) == 0 {
		problems = append(problems, "-case is required")
	}
	if unknown := unknownCases(o.cases); len(unknown) > 0 {
		problems = append(problems, fmt.Sprintf("unknown case(s): %s (known: %s)",
			strings.Join(unknown, ", "), strings.Join(caseNames, ", ")))
	}
	if (o.accessKey == "") != (o.secretKey == "") {
		problems = append(problems, "-ak and -sk go together")
	}
	if o.count < 1 {
		problems = append(problems, "-count must be at least 1")
	}
	if o.caseTimeout <= 0 {
		problems = append(problems, "-timeout must be positive")
	}
	switch o.logLevel {
	case "debug", "info", "warn", "error":
	default:
		problems = append(problems, fmt.Sprintf("-log-level %q is not debug, info, warn or error", o.logLevel))
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

func unknownCases(cases []string) []string {
	known := map[string]bool{}
	for _, name := range caseNames {
		known[name] = true
	}
	var unknown []string
	for _, name := range cases {
		if !known[name] {
			unknown = append(unknown, name)
		}
	}
	sort.Strings(unknown)
	return unknown
}

// topicFor is -topic, or the case's default topic.
func (o options) topicFor(name string) string {
	if o.topic != "" {
		return o.topic
	}
	return defaultTopics[name]
}

// groupFor is -group, or go-<case>.
func (o options) groupFor(name string) string {
	if o.group != "" {
		return o.group
	}
	return "go-" + name
}
