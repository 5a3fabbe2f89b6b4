package main

import "regexp"

// The status of a failed client call from its error text, as harness/load/error-status.ts reads it: a RocketMQ
// status code, a gRPC status, a timeout, an error type name, or "other". Both drivers group live errors alike.
var (
	statusCode    = regexp.MustCompile(`(?i)\bcode[=:\s]+(\d{3,5})\b`)
	statusGRPC    = regexp.MustCompile(`\b(\d{1,2}) ([A-Z][A-Z_]{3,})\b`)
	statusTimeout = regexp.MustCompile(`(?i)time[d ]?\s?out|deadline`)
	statusName    = regexp.MustCompile(`^([A-Za-z]*(?:Error|Exception))\b`)
)

func statusOf(text string) string {
	if m := statusCode.FindStringSubmatch(text); m != nil {
		return "code " + m[1]
	}
	if m := statusGRPC.FindStringSubmatch(text); m != nil {
		return "gRPC " + m[1] + " " + m[2]
	}
	if statusTimeout.MatchString(text) {
		return "timeout"
	}
	if m := statusName.FindStringSubmatch(text); m != nil {
		return m[1]
	}
	return "other"
}
