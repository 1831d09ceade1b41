package logfile

import "testing"

func TestParseOptions(t *testing.T) {
	for _, c := range []struct {
		in        []string
		size      int64
		files     int
		wantError bool
	}{
		{nil, DefaultMaxSize, DefaultMaxFile, false},
		{[]string{"max-size=10m,max-file=3"}, 10 << 20, 3, false},
		{[]string{"max-size=64k", "max-file=1"}, 64 << 10, 1, false},
		{[]string{"max-size=1k"}, 0, 0, true},
		{[]string{"max-file=0"}, 0, 0, true},
		{[]string{"mode=non-blocking"}, 0, 0, true},
		{[]string{"max-size"}, 0, 0, true},
	} {
		size, files, err := ParseOptions(c.in)
		if (err != nil) != c.wantError || (err == nil && (size != c.size || files != c.files)) {
			t.Errorf("ParseOptions(%q) = %d, %d, %v; want %d, %d, error %v", c.in, size, files, err, c.size, c.files, c.wantError)
		}
	}
}
