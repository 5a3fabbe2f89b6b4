package main

import "testing"

func TestStatusOfMatchesTheNodeDriver(t *testing.T) {
	cases := map[string]string{
		"CODE: 40001 bad request":                             "code 40001",
		"rpc error: code = Unavailable desc = 14 UNAVAILABLE": "gRPC 14 UNAVAILABLE",
		"send timeout after 3s: context deadline exceeded":    "timeout",
		"TypeError something":                                 "TypeError",
		"weird":                                               "other",
	}
	for text, want := range cases {
		if got := statusOf(text); got != want {
			t.Errorf("statusOf(%q) = %q, want %q", text, got, want)
		}
	}
}
