#!/bin/sh
# Install what a make target needs, only when something is missing (idempotent, fast when
# everything is there). Usage: hack/deps.sh GROUP...   GROUP: test cross vm bench deb lint sigstore oci
#   test   build + `make test`: C toolchain, static libseccomp, busybox-static (busybox test
#          image), skopeo and umoci (cross-check the test images' OCI layouts; skopeo also pushes
#          and, where it can, signs for the signature policy tests), docker-registry
#          (pull tests against a registry on loopback; skopeo pushes to it), uidmap and
#          slirp4netns (the rootless tier, make test-rootless), containerd and podman (e2e/engines:
#          edgerun-oci as their runtime; containerd's own runc v2 shim, podman with conmon), runc
#          (e2e/engines' control and the reference runtime of make test-oci)
#   cross  Debian cross compilers and libseccomp for arm64, armhf (arm/v7) and armel (arm/v6)
#   bench  hyperfine, debootstrap, umoci
#          + container start (bench/run-containers.sh): runc, podman, skopeo, jq, GNU time
#          + registry pull (bench/run-pull.sh): docker-registry, curl, python3 (a free port)
#          + OCI runtime (bench/run-oci.sh): containerd
#   vm     make test-vm and the qemu-user unit tests: qemu for x86-64 and arm64 (TCG), qemu-user,
#          kmod (depmod/modprobe on the extracted kernels), cpio, e2fsprogs (mkfs.ext4 and e2fsck
#          for the power-cut leg's disks), device-tree-compiler (fdtput: the Pi Zero leg's device
#          tree, hack/vm/kernel.sh); the kernels themselves are fetched by
#          hack/vm/kernel.sh with apt-get download (needs the cross group's arm64 lists)
#   deb    make deb and deb-test: lintian (dpkg-deb and dpkg are Debian's own)
#   lint   golangci-lint $GOLANGCI_LINT_VERSION built with the local Go into $TOOLS
#   sigstore  cosign, at the version hack/cosign/go.mod pins, built static with the local Go into
#          $TOOLS: a signer for e2e's TestSignaturePolicyInterop, since Debian bookworm's skopeo is
#          built with sigstore signing disabled; Go fetches the module through its proxy
#   oci    the OCI runtime validation suite of opencontainers/runtime-tools, at the version
#          hack/oci-conformance/go.mod pins, built static with the local Go into $OCI_BIN
#          (one program per suite, and runtimetest); Go fetches the module through its proxy
set -eu

GOLANGCI_LINT_VERSION=${GOLANGCI_LINT_VERSION:-v2.15.0}
TOOLS=${TOOLS:-$(pwd)/out/tools}
OCI_BIN=${OCI_BIN:-$(pwd)/out/oci/bin}

pkgs_test="gcc libc6-dev pkg-config libseccomp-dev busybox-static skopeo umoci file binutils docker-registry"
# the rootless tier (make test-rootless): newuidmap/newgidmap, slirp4netns, setpriv and runuser
pkgs_test="$pkgs_test uidmap slirp4netns util-linux iproute2"
# e2e/engines: the engines that drive edgerun-oci, and runc as the harness's control (and the
# reference runtime of make test-oci); podman brings conmon and containernetworking-plugins
pkgs_test="$pkgs_test containerd podman runc"
pkgs_cross="gcc-aarch64-linux-gnu libc6-dev-arm64-cross libseccomp-dev:arm64
gcc-arm-linux-gnueabihf libc6-dev-armhf-cross libseccomp-dev:armhf
gcc-arm-linux-gnueabi libc6-dev-armel-cross libseccomp-dev:armel binutils file"
pkgs_deb="lintian binutils"
pkgs_vm="qemu-system-x86 qemu-system-arm qemu-user-static kmod cpio e2fsprogs device-tree-compiler"
pkgs_bench="hyperfine debootstrap umoci tar gzip"
pkgs_bench="$pkgs_bench runc podman skopeo jq time"
pkgs_bench="$pkgs_bench docker-registry curl python3"
pkgs_bench="$pkgs_bench containerd"
# bench-rootless: rootless podman and edgerun as a throwaway user
pkgs_bench="$pkgs_bench uidmap slirp4netns util-linux"

# missing_pkgs prints the packages not installed; a name without :arch means the native
# architecture (or arch all), since multiarch systems may have other instances.
missing_pkgs() {
	native=$(dpkg --print-architecture)
	for p in "$@"; do
		case $p in
		*:*) want="ii ${p#*:}" ;;
		*) want="ii $native|ii all" ;;
		esac
		if ! dpkg-query -W -f='${db:Status-Abbrev}${Architecture}\n' "${p%%:*}" 2>/dev/null |
			grep -Eqx "$want"; then
			echo "$p"
		fi
	done
}

need_root() {
	if [ "$(id -u)" != 0 ]; then
		echo "deps: missing: $*" >&2
		echo "deps: run as root (sudo make deps), or install them yourself" >&2
		exit 1
	fi
}

apt_install() {
	missing=$(missing_pkgs "$@")
	[ -z "$missing" ] && return 0
	# shellcheck disable=SC2086 # word splitting of the package list is intended
	need_root $missing
	for p in $missing; do
		case $p in *:*)
			arch=${p#*:}
			if [ "$arch" != "$(dpkg --print-architecture)" ] &&
				! dpkg --print-foreign-architectures | grep -qx "$arch"; then
				echo "deps: dpkg --add-architecture $arch"
				dpkg --add-architecture "$arch"
			fi ;;
		esac
	done
	echo "deps: installing:" $missing
	# A mirror caught mid-sync fails one index file; the install below still fails loudly
	# if a package really cannot be found.
	apt-get update -q || echo "deps: apt-get update reported errors; trying the install anyway" >&2
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing </dev/null
}

check_go() {
	if ! command -v go >/dev/null 2>&1; then
		echo "deps: go not found: install Go 1.26 to /usr/local/go and put /usr/local/go/bin on PATH" >&2
		exit 1
	fi
}

for group in "$@"; do
	case $group in
	test) check_go; apt_install $pkgs_test ;;
	cross) check_go; apt_install $pkgs_cross ;;
	bench) apt_install $pkgs_bench ;;
	vm) apt_install $pkgs_vm ;;
	deb) apt_install $pkgs_deb ;;
	lint)
		check_go
		if [ "$("$TOOLS/golangci-lint" version --short 2>/dev/null || true)" != "${GOLANGCI_LINT_VERSION#v}" ]; then
			echo "deps: installing golangci-lint $GOLANGCI_LINT_VERSION into $TOOLS"
			GOBIN=$TOOLS go install "github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$GOLANGCI_LINT_VERSION"
		fi ;;
	sigstore)
		check_go
		mod=$(cd "$(dirname "$0")/cosign" && pwd)
		stamp="$(go version) $(cat "$mod/go.mod" "$mod/go.sum" | sha256sum | cut -c1-16)"
		if [ "$(cat "$TOOLS/.cosign-built" 2>/dev/null)" != "$stamp" ] || [ ! -x "$TOOLS/cosign" ]; then
			echo "deps: building cosign ($(sed -n 's|^\tgithub.com/sigstore/cosign/v2 \(v[^ ]*\).*|\1|p' "$mod/go.mod")) into $TOOLS (minutes, once)"
			mkdir -p "$TOOLS"
			(cd "$mod" && CGO_ENABLED=0 go build -trimpath -buildvcs=false -ldflags '-s -w' -o "$TOOLS/cosign" \
				github.com/sigstore/cosign/v2/cmd/cosign)
			echo "$stamp" >"$TOOLS/.cosign-built"
		fi ;;
	oci)
		check_go
		mod=$(cd "$(dirname "$0")/oci-conformance" && pwd)
		stamp="$(go version) $(cat "$mod/go.mod" "$mod/go.sum" | sha256sum | cut -c1-16)"
		if [ "$(cat "$OCI_BIN/.built" 2>/dev/null)" != "$stamp" ]; then
			echo "deps: building the OCI validation suite ($(sed -n 's|^\tgithub.com/opencontainers/runtime-tools \(v[^ ]*\).*|\1|p' "$mod/go.mod")) into $OCI_BIN"
			rm -rf "$OCI_BIN"
			mkdir -p "$OCI_BIN"
			(cd "$mod" && CGO_ENABLED=0 go build -trimpath -buildvcs=false -ldflags '-s -w' -o "$OCI_BIN/" tool)
			echo "$stamp" >"$OCI_BIN/.built"
		fi ;;
	*) echo "deps: unknown group $group: use test, cross, vm, bench, deb, lint, sigstore or oci" >&2; exit 2 ;;
	esac
done
