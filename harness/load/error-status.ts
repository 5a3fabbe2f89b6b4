/**
 * The status of a failed client call, from its error text, for grouping errors: `code 40001` (a RocketMQ status code),
 * `gRPC 14 UNAVAILABLE`, `timeout`, an error class name, or `other`. The Go driver's statusOf
 * (drivers/go/cmd/mqdrill-go-driver/status.go) does the same, so both drivers' live metrics group alike.
 */
export function statusOf(text: string): string {
  const code = /\bcode[=:\s]+(\d{3,5})\b/i.exec(text);
  if (code) return `code ${code[1]}`;
  const grpc = /\b(\d{1,2}) ([A-Z][A-Z_]{3,})\b/.exec(text);
  if (grpc) return `gRPC ${grpc[1]} ${grpc[2]}`;
  if (/time[d ]?\s?out|deadline/i.test(text)) return 'timeout';
  const name = /^([A-Za-z]*(?:Error|Exception))\b/.exec(text);
  return name?.[1] ?? 'other';
}
