// Package engines holds end-to-end tests that drive edgerun-oci, edgerun's
// runc-compatible OCI runtime face, from real container engines: Debian's
// containerd through its own io.containerd.runc.v2 shim, and Debian's
// podman through conmon. Every test runs once per runtime, runc first, so
// a harness bug shows up as a runc failure and not as an edgerun one.
//
// Each engine lives in a sandbox of its own: a private mount namespace
// with empty tmpfs over /run, /var/lib, /var/cache and /var/tmp (where the
// engines keep state they cannot be told to keep elsewhere: containerd's
// shim sockets, podman's netns files and blob cache, the CNI cache), and
// a private network namespace (podman's bridge, veths and iptables rules),
// with roots, state, sockets and configuration under the test's temporary
// directory. The host's own containerd and podman state is never read or
// written. After each test the sandbox is checked for what the engine and
// the runtime should have removed (runtime state, cgroups, netns files,
// veths, rules), then torn down, and the host is checked for processes,
// mounts and cgroups left.
//
// The tests read EDGERUN_BIN (the binary; edgerun-oci is a symlink to it
// made in a temporary directory) and EDGERUN_TEST_IMAGES (the busybox OCI
// layout of make images), both exported by make test. They need root, and
// skip with the reason when containerd, podman or runc is not installed
// (make deps installs them).
package engines
