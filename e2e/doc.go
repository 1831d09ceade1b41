// Package e2e holds end-to-end tests that drive the built edgerun binary the
// way a person or firmware does: real images, real containers, as root.
//
// The tests read EDGERUN_BIN (the binary) and EDGERUN_TEST_IMAGES (the OCI
// layouts of `make images`), both exported by `make test`. Each test uses
// its own --root and --state under t.TempDir() and checks afterwards that
// it left no mount, cgroup or container state behind.
package e2e
