package rootless

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseSubIDsFindsTheUsersRangesByNameOrID(t *testing.T) {
	const file = `# comment
alice:100000:65536
bob:165536:65536
1003:231072:1000
alice:300000:10
broken:line
carol:x:5
alice:400000:0
`
	tests := []struct {
		name string
		id   int
		want []SubIDRange
	}{
		{"alice", 1001, []SubIDRange{{100000, 65536}, {300000, 10}}},
		{"bob", 1002, []SubIDRange{{165536, 65536}}},
		{"dave", 1003, []SubIDRange{{231072, 1000}}},
		{"carol", 1004, nil},
		{"nobody", 9999, nil},
	}
	for _, tt := range tests {
		got := ParseSubIDs(strings.NewReader(file), tt.name, tt.id)
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestBuildMapPutsTheUserAtZeroAndRangesAfterIt(t *testing.T) {
	got := buildMap(1000, []SubIDRange{{100000, 65536}, {300000, 10}})
	want := []IDMap{{0, 1000, 1}, {1, 100000, 65536}, {65537, 300000, 10}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	m := Mapping{UIDs: got, Helper: true}
	if m.Single() || m.String() != "0 1000 1,1 100000 65536,65537 300000 10" {
		t.Fatalf("mapping %q single %v", m.String(), m.Single())
	}
}

func TestProcStartIsZeroForMissingProcesses(t *testing.T) {
	if procStart(1<<30) != 0 {
		t.Fatal("a process that cannot exist has a start time")
	}
	if procStart(1) == 0 {
		t.Fatal("init has no start time")
	}
	if alive(1, procStart(1)+1) {
		t.Fatal("a different start time counts as the same process")
	}
}
