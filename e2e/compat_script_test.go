package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// dockerScript is a script written for docker, with its ps --format,
// inspect -f, port, cp, exec, stop, wait and rm: only the docker function
// at its top names edgerun (and this test's bridge).
const dockerScript = `set -eu
docker() { "$EDGERUN" --root "$ROOT" --state "$STATE" --bridge "$BRIDGE" --subnet "$SUBNET" "$@"; }

docker run -d --name web --network bridge -p 127.0.0.1::8080 sensor serve >/dev/null
[ "$(docker ps --filter name=web --format '{{.Names}}|{{.Image}}|{{.State}}')" = "web|sensor|running" ]
[ "$(docker inspect -f '{{.State.Running}} {{.State.Status}}' web)" = "true running" ]
hp=$(docker port web 8080/tcp)
# The server may take a moment to listen (rootless: and slirp4netns to forward).
i=0; until busybox wget -q -O - "http://$hp/reading" 2>/dev/null | grep -q '"sensor"'; do
	i=$((i+1)); [ $i -lt 100 ] || { echo "no reading from $hp"; docker ps -a; docker logs web; exit 1; }; sleep 0.1
done
echo "web answered on $hp"

docker run -d --name box --network none busybox sleep 300 >/dev/null
printf 'hello\n' > "$WORK/in.txt"
docker cp "$WORK/in.txt" box:/tmp/in.txt
docker cp box:/tmp/in.txt "$WORK/out.txt"
cmp "$WORK/in.txt" "$WORK/out.txt"
docker cp box:/tmp - | tar -tf - | grep -q '^tmp/in.txt$'
echo "cp both ways"
if docker exec box sh -c 'exit 3'; then echo "exec: want 3"; exit 1; else echo "exec exited $?"; fi

docker stop -t 1 box >/dev/null
echo "wait says $(docker wait box)"
echo "inspect says $(docker inspect -f '{{.State.ExitCode}}' box)"
docker rm -f web box >/dev/null
[ -z "$(docker ps -aq)" ]
echo done
`

// TestDockerScriptRunsWithEdgerunInPlaceOfDocker: issue 16's done-when, a
// script using docker ps --format, inspect -f, wait, cp and port runs
// unchanged with docker replaced by edgerun.
func TestDockerScriptRunsWithEdgerunInPlaceOfDocker(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("busybox"); err != nil {
		t.Skip("the script fetches with busybox wget, and busybox is not installed (make deps installs busybox-static)")
	}
	n := newNetEnv(t)
	n.loadBusybox()
	n.must("load", "-i", imagePath(t, "sensor"))
	work := t.TempDir()
	cmd := exec.Command("/bin/sh", "-c", dockerScript)
	cmd.Env = append(os.Environ(), "EDGERUN="+n.bin, "ROOT="+n.root, "STATE="+n.state, "BRIDGE="+n.bridge,
		"SUBNET="+n.subnet, "WORK="+work, "EDGERUN_ROOT=", "EDGERUN_STATE=", "EDGERUN_NETWORK=none")
	cmd.Env = append(cmd.Env, n.extraEnv...)
	out, err := cmd.CombinedOutput()
	lines := strings.Split(strings.TrimSpace(withoutNotes(string(out))), "\n")
	want := []string{"web answered on 127.0.0.1:", "cp both ways", "exec exited 3", "wait says 137", "inspect says 137", "done"}
	if err != nil || len(lines) != len(want) {
		t.Fatalf("the docker script: %v\n%s", err, out)
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i], w) {
			t.Errorf("line %d: %q, want %q", i+1, lines[i], w)
		}
	}
	if _, err := os.Stat(filepath.Join(work, "out.txt")); err != nil {
		t.Error(err)
	}
}
