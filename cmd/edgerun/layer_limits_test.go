package main

import (
	"testing"

	"github.com/spf13/pflag"
)

func TestLayerLimitFlags(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		ratio   int
		minFree int64
		bad     bool
	}{
		{nil, 100, 0, false}, // the library's defaults
		{[]string{"--max-layer-ratio", "500"}, 500, 0, false},
		{[]string{"--max-layer-ratio", "0"}, -1, 0, false}, // no limit
		{[]string{"--max-layer-ratio", "-3"}, 0, 0, true},
		{[]string{"--min-free", "500m"}, 100, 500 << 20, false},
		{[]string{"--min-free", "2g"}, 100, 2 << 30, false},
		{[]string{"--min-free", "0"}, 100, -1, false}, // no check
		{[]string{"--min-free", "lots"}, 0, 0, true},
	} {
		f := pflag.NewFlagSet("load", pflag.ContinueOnError)
		var lf layerLimitFlags
		addLayerLimitFlags(f, &lf)
		if err := f.Parse(tc.args); err != nil {
			t.Fatal(err)
		}
		ratio, minFree, err := lf.values()
		if tc.bad != (err != nil) || ratio != tc.ratio || minFree != tc.minFree {
			t.Errorf("%v: ratio %d, min free %d, err %v; want %d, %d, error %v", tc.args, ratio, minFree, err, tc.ratio, tc.minFree, tc.bad)
		}
	}
}
