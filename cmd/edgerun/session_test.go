package main

import "testing"

func TestNeedsSessionSkipsCommandsThatNeedNoNamespaces(t *testing.T) {
	tests := []struct {
		args []string
		want bool
	}{
		{[]string{"run", "--rm", "busybox"}, true},
		{[]string{"--root", "/r", "ps"}, true},
		{[]string{"--root", "version", "ps"}, true}, // "version" is --root's value
		{[]string{"--root=/r", "images"}, true},
		{[]string{"version"}, false},
		{[]string{"doctor"}, false},
		{[]string{"--state", "/s", "doctor"}, false},
		{[]string{"help", "run"}, false},
		{[]string{"--help"}, false},
		{[]string{"-h", "run"}, false},
		// Completion reads the user's root without entering the session.
		{[]string{"__complete", "logs", ""}, false},
		{[]string{"--root", "/r", "__completeNoDesc", "rmi", ""}, false},
		{[]string{"completion", "bash"}, false},
		{nil, false},
	}
	for _, tt := range tests {
		if got := needsSession(tt.args); got != tt.want {
			t.Errorf("needsSession(%q) = %v, want %v", tt.args, got, tt.want)
		}
	}
}
