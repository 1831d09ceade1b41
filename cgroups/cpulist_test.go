package cgroups

import (
	"reflect"
	"testing"
)

func TestParseCPUList(t *testing.T) {
	tests := []struct {
		in      string
		want    CPUList
		str     string
		wantErr bool
	}{
		{"", nil, "", false},
		{"0", CPUList{0}, "0", false},
		{"0-2,4", CPUList{0, 1, 2, 4}, "0-2,4", false},
		{"4,0-2\n", CPUList{0, 1, 2, 4}, "0-2,4", false},
		{"1,1,2", CPUList{1, 2}, "1-2", false},
		{"0-1,3-5,7", CPUList{0, 1, 3, 4, 5, 7}, "0-1,3-5,7", false},
		{"2-1", nil, "", true},
		{"a", nil, "", true},
		{"-1", nil, "", true},
		{"0,", nil, "", true},
		{"+1", nil, "", true},
		{"0-99999999", nil, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseCPUList(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParseCPUList(%q) error = %v, wantErr %v", tt.in, err, tt.wantErr)
			}
			if !reflect.DeepEqual(got, tt.want) || got.String() != tt.str {
				t.Fatalf("ParseCPUList(%q) = %v (%q), want %v (%q)", tt.in, got, got.String(), tt.want, tt.str)
			}
		})
	}
}

func FuzzParseCPUList(f *testing.F) {
	for _, s := range []string{"0-2,4", "1", "", "3-1", "0,0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l, err := ParseCPUList(s)
		if err != nil {
			return
		}
		again, err := ParseCPUList(l.String())
		if err != nil || !reflect.DeepEqual(again, l) {
			t.Fatalf("round trip of %q: %v -> %q -> %v, %v", s, l, l.String(), again, err)
		}
	})
}
