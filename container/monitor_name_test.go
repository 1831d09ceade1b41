package container

import (
	"strings"
	"testing"
)

func TestMonitorArgv0NamesTheContainer(t *testing.T) {
	id := strings.Repeat("0123456789ab", 5) + "cdef"
	tests := []struct {
		name string
		want string
	}{
		{"web", "edgerun-mon web"},
		{strings.Repeat("n", 32), "edgerun-mon " + strings.Repeat("n", 32)},
		{strings.Repeat("n", 33), "edgerun-mon 0123456789ab"},
		{"", "edgerun-mon 0123456789ab"},
	}
	for _, tt := range tests {
		if got := monitorArgv0(&Record{ID: id, Name: tt.name}); got != tt.want {
			t.Errorf("monitorArgv0(name %q) = %q, want %q", tt.name, got, tt.want)
		}
	}
}
