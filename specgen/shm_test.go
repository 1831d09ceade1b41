package specgen

import (
	"slices"
	"testing"
)

func TestShmSizeSizesDevShm(t *testing.T) {
	tests := []struct {
		in, want string // want: the tmpfs size option; "" for an error
	}{
		{"", "size=65536k"},
		{"0", "size=65536k"},
		{"128m", "size=131072k"},
		{"1g", "size=1048576k"},
		{"1000", "size=1000"},
		{"-1", ""},
		{"lots", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			o := baseOptions()
			o.ShmSize = tt.in
			s, err := GenerateSpec(testImage(), o)
			if tt.want == "" {
				checkErr(t, err, "--shm-size")
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range s.Mounts {
				if m.Destination == "/dev/shm" {
					if !slices.Contains(m.Options, tt.want) || len(m.Options) != 5 {
						t.Fatalf("/dev/shm options %v, want one %s", m.Options, tt.want)
					}
					return
				}
			}
			t.Fatal("no /dev/shm mount")
		})
	}
}
