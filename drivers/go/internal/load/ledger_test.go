package load

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

func TestRecordEncoding(t *testing.T) {
	r := NewRecord("si", 1735732800012.4).Int("o", 1).Str("id", "p1-1").Str("tp", "orders").Str("g", "order-17").
		Int("q", 1).Str("tg", "paid").Num("it", 1735732800012).StrIf("bid", "")
	want := `{"t":"si","ts":1735732800012.4,"o":1,"id":"p1-1","tp":"orders","g":"order-17","q":1,"tg":"paid",` +
		`"it":1735732800012}`
	if r.String() != want {
		t.Fatalf("\n got %s\nwant %s", r.String(), want)
	}
	end := NewRecord("ph", 5).Str("n", "dlq-scan").Str("s", "end").Bool("ok", false).
		StrMap("pr", map[string]string{"b": "2", "a": "1"})
	if end.String() != `{"t":"ph","ts":5,"n":"dlq-scan","s":"end","ok":false,"pr":{"a":"1","b":"2"}}` {
		t.Fatal(end.String())
	}
}

func TestRecordStringsAreValidJSON(t *testing.T) {
	tricky := "quote \" backslash \\ newline \n tab \t bell \a unicode é 😀 invalid \xff end"
	var decoded map[string]any
	if err := json.Unmarshal([]byte(NewRecord("sc", 1).Str("e", tricky).String()), &decoded); err != nil {
		t.Fatal(err)
	}
	if want := "quote \" backslash \\ newline \n tab \t bell \a unicode é 😀 invalid \ufffd end"; decoded["e"] != want {
		t.Fatalf("%q", decoded["e"])
	}
}

func TestLedgerFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "ledger-x-0.ndjson")
	l, err := OpenLedger(path, map[string]any{"process": "x-0", "startedMs": 1.5, "role": "producer"})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		o := l.NextOpID()
		if o != int64(i+1) {
			t.Fatalf("op id %d", o)
		}
		if err := l.Write(NewRecord("si", 2).Int("o", o)); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil || l.Records() != 3 {
		t.Fatalf("close %v, records %d", err, l.Records())
	}
	if l.Write(NewRecord("si", 3)) == nil {
		t.Fatal("write after close must fail")
	}
	f, _ := os.Open(path)
	defer f.Close()
	scanner := bufio.NewScanner(f)
	var lines []map[string]any
	for scanner.Scan() {
		var m map[string]any
		if err := json.Unmarshal(scanner.Bytes(), &m); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, m)
	}
	if len(lines) != 4 || lines[0]["type"] != "header" || lines[0]["version"] != 1.0 || lines[0]["process"] != "x-0" {
		t.Fatalf("%v", lines)
	}
	var off *Ledger
	if off.NextOpID() != 0 || off.Write(NewRecord("si", 1)) != nil || off.Close() != nil {
		t.Fatal("a nil ledger (ledger off) ignores everything")
	}
}
