package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestParseOptionsDefaults(t *testing.T) {
	o, err := parseOptions([]string{"-endpoint", "127.0.0.1:8081", "-case", "fifo"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if o.tls || o.count != 10 || o.caseTimeout != time.Minute || o.logLevel != "warn" {
		t.Fatalf("unexpected defaults: %+v", o)
	}
	if o.totalLimit != time.Minute+10*time.Second {
		t.Fatalf("total limit %v", o.totalLimit)
	}
	if o.topicFor("fifo") != "go-fifo" || o.groupFor("fifo") != "go-fifo" {
		t.Fatalf("topic %q group %q", o.topicFor("fifo"), o.groupFor("fifo"))
	}
}

func TestParseOptionsExplicitValues(t *testing.T) {
	args := []string{"-endpoint", "h:1", "-case", "tls, credentials", "-tls=true", "-ak", "a", "-sk", "s",
		"-topic", "T", "-group", "G", "-count", "3", "-timeout", "5s", "-total-timeout", "7s"}
	o, err := parseOptions(args, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(o.cases, ",") != "tls,credentials" || !o.tls || o.accessKey != "a" || o.secretKey != "s" {
		t.Fatalf("parsed %+v", o)
	}
	if o.topicFor("delay") != "T" || o.groupFor("delay") != "G" || o.count != 3 || o.totalLimit != 7*time.Second {
		t.Fatalf("parsed %+v", o)
	}
}

func TestParseOptionsAllCases(t *testing.T) {
	o, err := parseOptions([]string{"-endpoint", "h:1", "-case", "all"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if len(o.cases) != len(caseNames) {
		t.Fatalf("got %v", o.cases)
	}
	for _, name := range caseNames {
		if caseFuncs[name] == nil {
			t.Errorf("case %s has no function", name)
		}
		if defaultTopics[name] == "" {
			t.Errorf("case %s has no default topic", name)
		}
	}
}

func TestParseOptionsReportsEveryProblemAtOnce(t *testing.T) {
	_, err := parseOptions([]string{"-endpoint", "nohost", "-case", "zeta,fifo,alpha", "-ak", "x", "-count", "0",
		"-log-level", "loud"}, &bytes.Buffer{})
	if err == nil {
		t.Fatal("want an error")
	}
	for _, want := range []string{`"nohost" is not host:port`, "unknown case(s): alpha, zeta",
		"-ak and -sk go together",
		"-count must be at least 1", `-log-level "loud"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

func TestParseOptionsRequiresEndpointAndCase(t *testing.T) {
	_, err := parseOptions(nil, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "-endpoint is required") ||
		!strings.Contains(err.Error(), "-case is required") {
		t.Fatalf("got %v", err)
	}
	if _, err := parseOptions([]string{"-endpoint", "h:1", "-case", "fifo", "extra"}, &bytes.Buffer{}); err == nil {
		t.Fatal("stray argument accepted")
	}
}

func TestOrderViolations(t *testing.T) {
	got := orderViolations(map[string][]int{"a": {0, 1, 1, 2}, "b": {5, 7, 6}})
	if len(got) != 2 || !strings.Contains(strings.Join(got, ";"), "b: 7 after 5") {
		t.Fatalf("got %v", got)
	}
}

func TestRunExitsTwoOnUsageError(t *testing.T) {
	var stderr bytes.Buffer
	if code := run([]string{"-case", "nope"}, &bytes.Buffer{}, &stderr); code != 2 {
		t.Fatalf("exit %d", code)
	}
	if !strings.Contains(stderr.String(), "unknown case(s): nope") {
		t.Fatalf("stderr %q", stderr.String())
	}
}
