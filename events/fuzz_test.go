package events

import (
	"context"
	"os"
	"testing"
	"time"
)

// FuzzReadDamagedJournal holds the reader to any content a crash or a
// damaged disk can leave: it never fails or panics, passes on only
// events, and an event appended after the damage is read back whole.
func FuzzReadDamagedJournal(f *testing.F) {
	line, _ := encode(New(Container, "start", "abc", map[string]string{"name": "web"}))
	f.Add(line, []byte(nil))
	f.Add(append(line, line[:20]...), line)
	f.Add([]byte("\x00\x00\x00\n{}\n{\"Type\":1}\n"), []byte("{\"Type\":\"container\""))
	f.Add([]byte(`{"Type":"container","Action":"x","Actor":{"Attributes":null}}`+"\n"), []byte("\n\n\r\n"))
	f.Fuzz(func(t *testing.T, cur, prev []byte) {
		j := Open(t.TempDir(), Options{})
		if err := os.MkdirAll(j.dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(j.previous(), prev, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(j.current(), cur, 0o600); err != nil {
			t.Fatal(err)
		}
		j.Append(New(Volume, "create", "fuzz-marker", nil))
		var last Message
		err := j.Read(context.Background(), Query{Until: time.Now()}, func(m Message) error {
			if m.Type == "" || m.Action == "" || m.Actor.Attributes == nil {
				t.Fatalf("passed on a line that is no event: %+v", m)
			}
			last = m
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if last.Actor.ID != "fuzz-marker" || last.Type != Volume {
			t.Fatalf("the event appended after the damage was not read last: %+v", last)
		}
	})
}
