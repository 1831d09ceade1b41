# edgerun's build. Targets are the interface (see docs): deps build test demo bench cross lint.
#
# Environment the tests read (exported below):
#   EDGERUN_TEST_IMAGES  directory with the OCI layouts built by `make images`:
#                        sensor   multi-arch index (linux/amd64, arm64, arm/v7, arm/v6), ref.name sensor:latest
#                        busybox  linux/$(GOARCH) from Debian's busybox-static, ref.name busybox:latest
#   EDGERUN_BIN          the binary built by `make build`
#   EDGERUN_TEST_COSIGN  cosign built by `make sigstore-deps` (signer of e2e's signature policy tests)
#   EDGERUN_TEST_RELIABILITY=1 runs the proof suite e2e/reliability (set by make test-reliability)
# Tests that need them skip with a reason when they are unset.
#
# Static linking: cgo is required (libcontainer's nsenter) and seccomp needs libseccomp, linked
# statically from Debian's libseccomp-dev. The osusergo and netgo tags keep os/user and net on
# their pure Go implementations, so glibc's NSS functions (getpwnam_r, getaddrinfo, ...) are not
# linked and the static binary never needs glibc's shared NSS modules at run time (without them
# the linker warns exactly about that).

SHELL := /bin/sh
export PATH := /usr/local/go/bin:$(PATH)

GO       ?= go
TAGS     := seccomp osusergo netgo
VERSION  ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
COMMIT_TIME ?= $(shell git log -1 --format=%ct 2>/dev/null)
LDFLAGS  := -s -w -extldflags=-static -X main.version=$(VERSION) -X main.commitTime=$(COMMIT_TIME)
GOBUILD  := CGO_ENABLED=1 $(GO) build -tags '$(TAGS)' -trimpath -buildvcs=false -ldflags '$(LDFLAGS)'

BIN      := bin/edgerun
BUILD    := out/build
MKIMAGE  := $(BUILD)/mkimage
IMAGES   := $(CURDIR)/out/images
DEMO     := $(CURDIR)/out/demo
BUSYBOX  ?= /bin/busybox
DEMO_PORT   ?= 18080
DEMO_BRIDGE ?= erdemo0
DEMO_SUBNET ?= 10.91.0.0/24
SENSOR_PLATFORMS := linux/amd64 linux/arm64 linux/arm/v7 linux/arm/v6

export EDGERUN_TEST_IMAGES := $(IMAGES)
export EDGERUN_BIN := $(CURDIR)/$(BIN)
export EDGERUN_TEST_COSIGN := $(CURDIR)/out/tools/cosign

SYSTEMDUNITDIR     ?= $(PREFIX)/lib/systemd/system
SYSTEMDUSERUNITDIR ?= $(PREFIX)/lib/systemd/user
INITDIR            ?= /etc/init.d

.PHONY: all deps cross-deps bench-deps lint-deps vm-deps sigstore-deps oci-deps build images test test-vm demo bench cross lint clean

all: build

## deps: install what build and test need (Debian packages; as root; no-op when present)
deps:
	@hack/deps.sh test
cross-deps:
	@hack/deps.sh cross
bench-deps:
	@hack/deps.sh bench
lint-deps:
	@hack/deps.sh test lint
vm-deps:
	@hack/deps.sh test cross vm
## sigstore-deps: cosign (hack/cosign/go.mod) into out/tools, the signer of e2e's signature tests
sigstore-deps:
	@hack/deps.sh sigstore
oci-deps:
	@OCI_BIN=$(OCI)/bin hack/deps.sh test oci

## build: the static edgerun binary for this machine
build: deps
	$(GOBUILD) -o $(BIN) ./cmd/edgerun
	@ln -sfn edgerun $(BIN)-oci
	@$(GO) version -m $(BIN) > $(BIN).deps
	@echo "$(BIN): $$(stat -c %s $(BIN)) bytes ($$(du -h $(BIN) | cut -f1)), dependencies in $(BIN).deps"

## install: edgerun into $(DESTDIR)$(PREFIX)/bin, with edgerun-oci (the OCI runtime's name for
## containerd, k3s and podman; docs/oci.md) as a symlink to it; the man pages (make man) into
## share/man/man1; bash, zsh and fish completion; contrib's systemd units (SYSTEMDUNITDIR,
## SYSTEMDUSERUNITDIR) and init script (INITDIR, default /etc/init.d) naming this PREFIX; the
## docs into share/doc/edgerun (hack/install.sh). DESTDIR stages the whole tree.
PREFIX ?= /usr/local
.PHONY: install man
install: build man
	BIN=$(BIN) MANDIR=$(MAN) DESTDIR=$(DESTDIR) PREFIX=$(PREFIX) SYSTEMDUNITDIR=$(SYSTEMDUNITDIR) \
		SYSTEMDUSERUNITDIR=$(SYSTEMDUSERUNITDIR) INITDIR=$(INITDIR) hack/install.sh

## man: a man page per command (section 1), generated from the command tree into out/man by
## cmd/edgerun's TestManPages with cobra/doc, which is linked into that test binary only, never
## into bin/edgerun (a main package under hack/ cannot import the tree: it is package main)
MAN := $(CURDIR)/out/man
man:
	rm -rf $(MAN)
	$(GO) test -tags '$(TAGS)' -count=1 -run '^TestManPages$$' ./cmd/edgerun -args -man $(MAN)
	@echo "man: $$(ls $(MAN) | wc -l) pages in $(MAN)"

## deb: Debian packages of the static binaries under out/deb (hack/deb.sh, docs/platforms.md,
## "Packages"): amd64 (bin/edgerun), arm64 (bin/edgerun-linux-arm64), and armhf and armel, both
## with the ARMv6 binary (bin/edgerun-linux-arm-v6), since Raspberry Pi OS's armhf is ARMv6 with
## VFP; then lintian on each (debian/lintian-overrides explains what it is told to ignore).
## DEB_ARCHES=amd64 builds only that one (no cross compilers needed).
DEB      := $(CURDIR)/out/deb
DEB_ARCHES ?= amd64 arm64 armhf armel
.PHONY: deb deb-deps deb-test
deb-deps:
	@hack/deps.sh deb
deb: deb-deps build man
	@set -e; for a in $(DEB_ARCHES); do \
		case $$a in amd64) b=$(BIN);; arm64) b=bin/edgerun-linux-arm64;; armhf|armel) b=bin/edgerun-linux-arm-v6;; \
		*) echo "deb: unknown architecture $$a: use amd64, arm64, armhf or armel" >&2; exit 2;; esac; \
		if [ $$b != $(BIN) ]; then $(MAKE) --no-print-directory cross-deps $$b; fi; \
		HOSTBIN=$(BIN) MANDIR=$(MAN) OUT=$(DEB) VERSION=$(VERSION) COMMIT_TIME=$(COMMIT_TIME) hack/deb.sh $$a $$b; \
	done

## deb-test: the amd64 package: its contents (dpkg -x, then the extracted edgerun's version and
## doctor), then a real dpkg -i, edgerun version and doctor from /usr/bin, and dpkg -P, checking
## that nothing of it is left (hack/deb-test.sh). Run by make test.
deb-test: deb-deps build man
	@$(MAKE) --no-print-directory deb DEB_ARCHES=amd64
	hack/deb-test.sh $(DEB)/edgerun_*_amd64.deb

$(MKIMAGE): FORCE
	$(GO) build -o $@ ./hack/mkimage

## images: the demo and test images (offline, reproducible) under out/images
images: $(MKIMAGE)
	@set -e; bins=; for p in $(SENSOR_PLATFORMS); do \
		arch=$$(echo $$p | cut -d/ -f2); variant=$$(echo $$p | cut -s -d/ -f3); \
		out=$(BUILD)/sensor-$$(echo $$p | tr / -); \
		CGO_ENABLED=0 GOOS=linux GOARCH=$$arch GOARM=$${variant#v} \
			$(GO) build -trimpath -buildvcs=false -ldflags '-s -w' -o $$out ./testdata/sensor; \
		bins="$$bins -bin $$p=$$out"; \
	done; \
	$(MKIMAGE) sensor -o $(IMAGES)/sensor $$bins; \
	$(MKIMAGE) sensor -o $(IMAGES)/sensor-unhealthy -ref sensor:unhealthy -env SENSOR_HEALTHZ=fail $$bins; \
	$(MKIMAGE) sensor -o $(IMAGES)/sensor-v2 -ref sensor:v2 -env SENSOR_VERSION=2 $$bins
	$(MKIMAGE) busybox -o $(IMAGES)/busybox -bin $(BUSYBOX)
	@echo "images: $(IMAGES)/sensor $(IMAGES)/sensor-unhealthy $(IMAGES)/sensor-v2 $(IMAGES)/busybox"

## test: unit, integration (root) and end-to-end tests; go test -v output is what CI reads;
## then the amd64 .deb (deb-test: seconds; the arm packages are built by make deb only, since
## the cross builds are not part of make test), and then, side by side, the VM matrix (test-vm)
## and the host's other tiers one after another: the rootless tier (test-rootless), the OCI
## conformance comparison (test-oci), the proof suite (test-reliability), the fuzzers for a
## bounded time (fuzz) and the pure-Go unit tests for arm64/armv7 under qemu-user (cross-test).
## The VM matrix keeps the CPUs busy for 25 minutes; the host tiers, which wait on processes and
## sleeps as much as they compute, fill its gaps instead of adding their 15 minutes after it.
## Its output goes to out/test-vm.log and is printed after them, so go test's lines never mix.
## Every tier runs even when one fails; make test fails if any did.
# What the tiers share is made before they run side by side (-o: not made again by each).
TIERS_MADE := -o deps -o build -o images -o vm-deps -o oci-deps
test: deps sigstore-deps vm-deps oci-deps build images
	$(GO) test -tags '$(TAGS)' -v -count=1 ./... ./testdata/sensor
	@$(MAKE) --no-print-directory deb-test
	@mkdir -p out; \
	$(MAKE) --no-print-directory $(TIERS_MADE) test-vm >out/test-vm.log 2>&1 </dev/null & vm=$$!; \
	rc=0; \
	for tier in test-rootless test-oci test-reliability fuzz cross-test; do \
		$(MAKE) --no-print-directory $(TIERS_MADE) $$tier || { echo "make test: $$tier failed"; rc=1; }; \
	done; \
	echo "make test: the host tiers are done; the VM matrix:"; \
	wait $$vm || { rc=1; vmfail=1; }; \
	cat out/test-vm.log; \
	[ -z "$${vmfail:-}" ] || echo "make test: test-vm failed"; \
	exit $$rc

## test-rootless: the rootless tier: the e2e suite as two throwaway ordinary users (with and
## without subordinate IDs) through setpriv, then checks nothing of them is left
## (hack/rootless-test.sh, docs/rootless.md)
.PHONY: test-rootless
test-rootless: deps build images
	GO=$(GO) TAGS='$(TAGS)' hack/rootless-test.sh $(BIN) $(IMAGES)

## test-oci: the OCI runtime conformance comparison (docs/oci.md, "Conformance"): every program of
## the runtime-tools validation suite (pinned in hack/oci-conformance/go.mod, built by oci-deps into
## out/oci/bin) against Debian's runc and bin/edgerun-oci on this host, suite by suite; fails when
## edgerun-oci does not pass a suite runc passes (hack/oci-conformance.sh). The table and the
## per-suite TAP go to out/oci/results (results.md, results.tsv, <runtime>/<suite>.tap).
OCI  := $(CURDIR)/out/oci
RUNC ?= /usr/sbin/runc
.PHONY: test-oci
test-oci: oci-deps build
	hack/oci-conformance.sh $(OCI)/bin $(BUSYBOX) $(OCI)/results runc=$(RUNC) edgerun=$(CURDIR)/bin/edgerun-oci

## test-reliability: the proof suite of docs/reliability.md (e2e/reliability): every fault point of
## internal/fault fired with the checks after it, random kill -9 (EDGERUN_RELIABILITY_SEED,
## EDGERUN_RELIABILITY_KILLS), load and soak with resource accounting, the hostile-input corpus.
## go test ./... skips it (EDGERUN_TEST_RELIABILITY unset); its t.Logf lines are the figures.
.PHONY: test-reliability
test-reliability: deps build images
	EDGERUN_TEST_RELIABILITY=1 $(GO) test -tags '$(TAGS)' -v -count=1 -timeout 30m ./e2e/reliability

## fuzz: every fuzz target of the module for FUZZTIME each (hack/fuzz.sh finds them with go test -list)
FUZZTIME ?= 10s
.PHONY: fuzz
fuzz: deps
	FUZZTIME=$(FUZZTIME) TAGS='$(TAGS)' GO=$(GO) hack/fuzz.sh

## test-vm: the VM matrix (hack/vm, docs/platforms.md): Debian's own x86-64 and arm64 kernels under
## qemu (TCG) with a busybox initramfs carrying edgerun, the test images and the root tests as static
## test binaries: x86-64 cgroup v2, x86-64 with cgroup_disable=memory, arm64 cgroup v2, armv7
## (armhf kernel on virt, Cortex-A15) and armv6 (armel rpi kernel on raspi0, ARM1176; booted
## once more with cgroup_disable=memory) with make cross's arm/v7 and arm/v6 binaries, the
## power-cut leg (x86-64, --root on a virtio disk, 20 cuts), the rootless leg (x86-64, the e2e
## suite as an ordinary user in a delegated cgroup) and the oci leg (x86-64 cgroup v2, test-oci's
## comparison, the table in out/vm/results/oci/oci-results.md), in parallel
VM := $(CURDIR)/out/vm
test-vm: vm-deps oci-deps build images
	@$(MAKE) --no-print-directory bin/edgerun-linux-arm64 bin/edgerun-linux-arm-v7 bin/edgerun-linux-arm-v6
	BIN=$(CURDIR)/$(BIN) BIN_ARM64=$(CURDIR)/bin/edgerun-linux-arm64 BIN_ARMV7=$(CURDIR)/bin/edgerun-linux-arm-v7 \
		BIN_ARMV6=$(CURDIR)/bin/edgerun-linux-arm-v6 IMAGES=$(IMAGES) BUSYBOX=$(BUSYBOX) \
		MKIMAGE=$(CURDIR)/$(MKIMAGE) VM=$(VM) OCI_BIN=$(OCI)/bin hack/vm/test.sh

## test-powercut: the power-cut leg alone, for the long run: CUTS power cuts (default 200; SEED=N
## repeats a run's cut schedule); console, disks and figures in out/powercut (figures.txt)
CUTS ?= 200
.PHONY: test-powercut
test-powercut: vm-deps build images
	VM_ONLY=powercut POWERCUT_CUTS=$(CUTS) POWERCUT_SEED=$(SEED) POWERCUT_RESULTS=$(CURDIR)/out/powercut \
		BIN=$(CURDIR)/$(BIN) BIN_ARM64=- IMAGES=$(IMAGES) BUSYBOX=$(BUSYBOX) \
		MKIMAGE=$(CURDIR)/$(MKIMAGE) VM=$(VM) hack/vm/test.sh

## demo: load the sensor image into a throwaway root under out/demo, list it, run the sensor
# The demo's containers use a bridge and subnet of their own (not a developer's edgerun0).
demo: export EDGERUN_BRIDGE := $(DEMO_BRIDGE)
demo: export EDGERUN_SUBNET := $(DEMO_SUBNET)
demo: build images
	@if [ -d $(DEMO)/root ]; then $(BIN) --root $(DEMO)/root --state $(DEMO)/state rm -f $$($(BIN) --root $(DEMO)/root --state $(DEMO)/state ps -aq) >/dev/null 2>&1 || true; fi
	rm -rf $(DEMO)
	$(BIN) --root $(DEMO)/root --state $(DEMO)/state load -i $(IMAGES)/sensor
	$(BIN) --root $(DEMO)/root --state $(DEMO)/state images
	@echo "--- one reading from the sensor container:"
	$(BIN) --root $(DEMO)/root --state $(DEMO)/state run --rm --name sensor-demo sensor
	@echo "--- five readings, one every 200ms, with a 32 MiB memory limit:"
	$(BIN) --root $(DEMO)/root --state $(DEMO)/state run --rm --memory 32m sensor watch -every 200ms -n 5
	@echo "--- the sensor's HTTP server, detached, on its own bridge; port 8080 published on host port $(DEMO_PORT):"
	@set -e; er="$(BIN) --root $(DEMO)/root --state $(DEMO)/state"; \
	$$er run -d --name sensor-http --restart unless-stopped -p $(DEMO_PORT):8080 sensor serve; \
	echo "--- ps:"; $$er ps; \
	ok=; for i in $$(seq 50); do \
		if out=$$($(BUSYBOX) wget -qO- http://127.0.0.1:$(DEMO_PORT)/reading 2>/dev/null); then ok=1; break; fi; sleep 0.1; \
	done; \
	echo "--- a reading through host port $(DEMO_PORT):"; echo "$$out"; \
	echo "--- logs:"; $$er logs -t sensor-http; \
	echo "--- stop, rm:"; $$er stop sensor-http; $$er ps -a; $$er rm sensor-http; \
	[ -n "$$ok" ] || { echo "demo: no reading through host port $(DEMO_PORT)" >&2; exit 1; }
	@echo "--- a user-defined network: a second container asks the first for its health, by name:"
	@set -e; er="$(BIN) --root $(DEMO)/root --state $(DEMO)/state"; \
	$$er network create plant; $$er run -d --name sensor-a --network plant sensor serve >/dev/null; \
	ok=; for i in $$(seq 25); do \
		if $$er run --rm --network plant sensor health sensor-a:8080; then ok=1; break; fi; sleep 0.2; \
	done; \
	$$er network ls; $$er rm -f sensor-a >/dev/null; $$er network rm plant >/dev/null; \
	[ -n "$$ok" ] || { echo "demo: sensor-a did not answer by name on network plant" >&2; exit 1; }
	@echo "--- apply testdata/demo/services.yaml: the sensor as a service, health-checked:"
	@set -e; er="$(BIN) --root $(DEMO)/root --state $(DEMO)/state"; \
	DEMO_PORT=$(DEMO_PORT) $$er apply -f testdata/demo/services.yaml; $$er ps; \
	echo "--- the same file again:"; DEMO_PORT=$(DEMO_PORT) $$er apply -f testdata/demo/services.yaml; \
	echo "--- update to sensor:v2: it must be healthy before the port and the name move to it:"; \
	$$er load -i $(IMAGES)/sensor-v2 >/dev/null; $$er update --image sensor:v2 sensor; $$er ps; \
	echo "--- update to sensor:unhealthy: its health check fails, so it is rolled back:"; \
	$$er load -i $(IMAGES)/sensor-unhealthy >/dev/null; \
	if $$er update --image sensor:unhealthy sensor; then echo "demo: the unhealthy update was not rolled back" >&2; exit 1; fi; \
	$$er ps; echo "--- still answering:"; $(BUSYBOX) wget -qO- http://127.0.0.1:$(DEMO_PORT)/reading; \
	$$er rm -f sensor >/dev/null; $$er network prune >/dev/null

## bench: every benchmark below, then each issue 19 target with its ratio and met / NOT MET
## (bench/targets-report.sh); first, edgerun vs tar vs umoci unpacking a Debian minbase layer
## and the peak RSS of edgerun load of it (see bench/run.sh)
bench: bench-deps build
	rm -f out/bench/targets.txt
	$(GO) build -o $(BUILD)/bench-unpack ./bench/cmd/unpack
	$(GO) build -o $(MKIMAGE) ./hack/mkimage
	bench/run.sh $(MKIMAGE) $(BUILD)/bench-unpack $(BIN)
	@$(MAKE) --no-print-directory bench-run
	@$(MAKE) --no-print-directory bench-rootless
	@$(MAKE) --no-print-directory bench-net
	@$(MAKE) --no-print-directory bench-pull
	@$(MAKE) --no-print-directory bench-monitor
	@$(MAKE) --no-print-directory bench-health
	@$(MAKE) --no-print-directory bench-oci
	@$(MAKE) --no-print-directory bench-update
	@$(MAKE) --no-print-directory bench-scale
	@$(MAKE) --no-print-directory bench-arm64
	@$(MAKE) --no-print-directory bench-armv7
	bench/targets-report.sh

## bench-run: container start, edgerun vs runc vs podman, one hyperfine run (see bench/run-containers.sh);
## BASELINE=/path/to/an/older/edgerun adds it to the same run (before/after of a change)
.PHONY: bench-run
bench-run: bench-deps build images
	bench/run-containers.sh $(BIN) $(IMAGES)

## bench-rootless: rootless start, edgerun vs rootless podman as a throwaway user, --network none
## and each one's default network, one hyperfine run, plus peak RSS (see bench/run-rootless.sh)
.PHONY: bench-rootless
bench-rootless: bench-deps build images
	bench/run-rootless.sh $(BIN) $(IMAGES)

## bench-monitor: memory of the per-container monitor, edgerun vs conmon (see bench/monitor-memory.sh)
.PHONY: bench-monitor
bench-monitor: bench-deps build images
	bench/monitor-memory.sh $(BIN) $(IMAGES)

## bench-health: what one health-check probe costs in CPU, wall time and peak RSS, as the monitor
## runs it and as `healthcheck run` does (see bench/health-probe.sh)
.PHONY: bench-health
bench-health: build images
	$(GO) build -o $(BUILD)/proctime ./bench/cmd/proctime
	bench/health-probe.sh $(BIN) $(BUILD)/proctime $(IMAGES)

## bench-oci: edgerun-oci vs runc as containerd's runtime (ctr run --rm true through the runc v2
## shim) and on one bundle (create + start + delete), each pair interleaved in one hyperfine run,
## plus the runtimes' peak RSS per verb (see bench/run-oci.sh)
.PHONY: bench-oci
bench-oci: bench-deps build images
	bench/run-oci.sh $(BIN) $(IMAGES)

## bench-update: what the clients of a published port see during edgerun update: start-first,
## stop-first and a rollback (see bench/run-update.sh)
.PHONY: bench-update
bench-update: bench-deps build images
	$(GO) build -o $(BUILD)/updategap ./bench/cmd/updategap
	bench/run-update.sh $(BIN) $(IMAGES) $(BUILD)/updategap

## bench-scale: start time against the number of running containers (COUNT, default 250),
## edgerun and podman, and ps/run/rm with 1 and COUNT running; the curves in docs/scale.svg
## (see bench/run-scale.sh)
.PHONY: bench-scale
bench-scale: bench-deps build images
	$(GO) build -o $(BUILD)/scalesvg ./bench/cmd/scalesvg
	bench/run-scale.sh $(BIN) $(IMAGES) $(BUILD)/scalesvg

## bench-arm64, bench-armv7: start and unpack ratios inside the arm64 VM, or the armv7 one
## (armhf kernel, Cortex-A15), under TCG: edgerun vs Debian's runc of that architecture, and vs
## busybox tar on the minbase layer bench/run.sh builds (see hack/vm/bench.sh)
.PHONY: bench-arm64 bench-armv7
bench-arm64: vm-deps build images
	@$(MAKE) --no-print-directory bin/edgerun-linux-arm64
	@blob=$$(cat $${EDGERUN_BENCH_CACHE:-/var/cache/edgerun-bench}/oci-bookworm-minbase-full.blob 2>/dev/null) || \
		{ echo "bench-arm64: no minbase layer yet: make bench builds it first (bench/run.sh)" >&2; exit 1; }; \
	BIN_ARM64=$(CURDIR)/bin/edgerun-linux-arm64 IMAGES=$(IMAGES) MKIMAGE=$(CURDIR)/$(MKIMAGE) VM=$(VM) BLOB=$$blob \
		hack/vm/bench.sh arm64
bench-armv7: vm-deps build images
	@$(MAKE) --no-print-directory bin/edgerun-linux-arm-v7
	@blob=$$(cat $${EDGERUN_BENCH_CACHE:-/var/cache/edgerun-bench}/oci-bookworm-minbase-full.blob 2>/dev/null) || \
		{ echo "bench-armv7: no minbase layer yet: make bench builds it first (bench/run.sh)" >&2; exit 1; }; \
	BIN_ARMV7=$(CURDIR)/bin/edgerun-linux-arm-v7 IMAGES=$(IMAGES) MKIMAGE=$(CURDIR)/$(MKIMAGE) VM=$(VM) BLOB=$$blob \
		hack/vm/bench.sh armv7

## bench-net: container start with bridge networking, edgerun vs podman (see bench/run-network.sh)
.PHONY: bench-net
bench-net: bench-deps build images
	bench/run-network.sh $(BIN) $(IMAGES)

## bench-pull: registry pull, edgerun vs skopeo vs podman, and interrupted pulls (see bench/run-pull.sh)
.PHONY: bench-pull
bench-pull: bench-deps build
	$(GO) build -o $(BUILD)/mklayers ./bench/cmd/mklayers
	$(GO) build -o $(BUILD)/pullresume ./bench/cmd/pullresume
	$(GO) build -o $(BUILD)/pulltime ./bench/cmd/pulltime
	bench/run-pull.sh $(BIN) $(BUILD)/mklayers $(BUILD)/pullresume $(BUILD)/pulltime

## cross: static builds for linux/arm64, linux/arm/v7, linux/arm/v6 with Debian's cross compilers
#
# arm64 and arm/v7 link Debian's arm64 and armhf glibc and libseccomp. armhf is built for ARMv7
# (Thumb-2, VFPv3-D16), so it cannot serve ARMv6. arm/v6 therefore links Debian's armel port
# instead (ARMv5TE baseline, soft-float ABI, runs on every ARMv6 and later core), compiles our own
# cgo code with -march=armv6 -marm, and Go code with GOARM=6 (VFPv2, which the Raspberry Pi 1 and
# Zero have). The result is checked to carry Tag_CPU_arch <= v6: nothing in it is v7-only.
# Being static, the binaries do not care whether the device's own userland is armel or armhf.
CROSS_arm64  := GOARCH=arm64 CC=aarch64-linux-gnu-gcc PKG_CONFIG_LIBDIR=/usr/lib/aarch64-linux-gnu/pkgconfig
CROSS_arm-v7 := GOARCH=arm GOARM=7 CC=arm-linux-gnueabihf-gcc PKG_CONFIG_LIBDIR=/usr/lib/arm-linux-gnueabihf/pkgconfig
CROSS_arm-v6 := GOARCH=arm GOARM=6 CC=arm-linux-gnueabi-gcc PKG_CONFIG_LIBDIR=/usr/lib/arm-linux-gnueabi/pkgconfig \
	CGO_CFLAGS='-O2 -g -march=armv6 -marm'

cross: cross-deps
	@$(MAKE) --no-print-directory bin/edgerun-linux-arm64 bin/edgerun-linux-arm-v7 bin/edgerun-linux-arm-v6
	@$(MAKE) --no-print-directory cross-test

## cross-test: unit tests of the pure-Go packages for linux/arm64 and linux/arm/v7 under qemu-user
.PHONY: cross-test
cross-test: vm-deps
	hack/cross-test.sh arm64 arm-v7

bin/edgerun-linux-%: FORCE
	env GOOS=linux $(CROSS_$*) $(GOBUILD) -o $@ ./cmd/edgerun
	hack/check-elf.sh $@ $*
	@echo "$@: $$(stat -c %s $@) bytes"

## lint: go vet, a tidy go.mod, and golangci-lint (.golangci.yml, incl. depguard layering rules);
## .ci/run runs it before make test
lint: lint-deps
	$(GO) vet -tags '$(TAGS)' ./...
	$(GO) mod tidy -diff
	out/tools/golangci-lint run --allow-serial-runners ./...

clean:
	rm -rf bin out/build out/images out/demo out/bench out/oci out/man out/deb

FORCE:
