#!/bin/sh
# root-packages.sh: print the packages (folders below the module root, one a line) whose tests
# need root: those whose tests import internal/testenv, the one helper that says "needs root"
# (testenv.RequireRoot). stage.sh compiles their tests into the test VMs. The go tool answers
# from the import graph, so no source text is grepped; internal/layering's
# TestRootPackagesAreStaged holds this list to the packages whose tests call RequireRoot.
set -eu
cd "$(dirname "$0")/../.."
go=${GO:-go}
module=$("$go" list -m)
list=$("$go" list -tags 'seccomp osusergo netgo' \
	-f '{{.ImportPath}} {{join .TestImports " "}} {{join .XTestImports " "}}' ./...)
echo "$list" | awk -v testenv="$module/internal/testenv" -v prefix="$module/" '{
	for (i = 2; i <= NF; i++)
		if ($i == testenv) {
			print substr($1, length(prefix) + 1)
			break
		}
}'
