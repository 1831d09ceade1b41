package e2e

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestListingCommandsRefuseUnknownFormatAndPrintJSON(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	for _, args := range [][]string{{"ps", "-a"}, {"images"}} {
		r := e.run(append(args, "--format", "yaml")...)
		if r.code == 0 || !strings.Contains(r.stderr, "use table or json") {
			t.Errorf("%s --format yaml: want a refusal naming the formats, got %s", args[0], r)
		}
		var v []map[string]any
		out := e.must(append(args, "--format", "json")...)
		if err := json.Unmarshal([]byte(out), &v); err != nil {
			t.Errorf("%s --format json printed %q: %v", args[0], out, err)
		}
	}
}
