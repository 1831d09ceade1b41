package container

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/edgerun/edgerun/internal/ids"
	"github.com/edgerun/edgerun/internal/lockfile"
)

// findUpdateInterrupted: an update was killed midway; its journal waits
// for edgerun boot or the next update of the service.
const findUpdateInterrupted = "update-interrupted"

// checkUpdates finds the updates that were killed midway: a journal that
// no live update holds (its lock). Until boot or the next update of the
// service finishes it, the replacement may run beside the old container,
// or serve under NAME.next. The repair is theirs: finish it from step
// switch on, else roll it back.
func (r *Runtime) checkUpdates(ctx context.Context) []*finding {
	ents, _ := os.ReadDir(r.updatesDir())
	var found []*finding
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || ids.CheckName(name) != nil || lockfile.Held(r.updateLockPath(name)) {
			continue
		}
		p := r.journalPath(name)
		problem := fmt.Sprintf("the update journal of %s is damaged", name)
		if b, err := os.ReadFile(p); err == nil {
			var j journal
			if json.Unmarshal(b, &j) == nil && j.Name == name {
				problem = fmt.Sprintf("an update of %s to %s was interrupted at step %s: edgerun boot or the next update of %s finishes it",
					name, j.Image, j.Step, name)
			}
		}
		found = append(found, &finding{Finding: Finding{Kind: findUpdateInterrupted, Where: p, Problem: problem,
			Repair: "finish it (from step switch on) or roll it back, as edgerun boot does"},
			fix: func() error { return r.recoverLocked(ctx, name) }})
	}
	return found
}
