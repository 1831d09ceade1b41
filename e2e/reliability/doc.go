// Package reliability is edgerun's proof suite (make test-reliability, run
// by make test): it drives the built binary the way e2e does, and proves
// what docs/reliability.md promises:
//   - every fault point of internal/fault is fired once (the process is
//     SIGKILLed at that step), and after each the next command works, the
//     operation retried succeeds, nothing acknowledged is lost, nothing is
//     half-visible, and removing everything leaves nothing on the host;
//   - a few hundred kill -9 at random moments of load, run --rm, run -d,
//     rm -f and prune, with the same checks (the seed is logged);
//   - load and soak: parallel runs, parallel run -d with rm -f, hundreds of
//     run/stop/rm cycles, with mounts, veths, cgroups, leases, nft rules,
//     processes, fds, monitors and bytes under --root counted before and
//     after;
//   - the hostile-input corpus: every hostile archive and layout, loaded
//     and refused, with nothing written outside the store.
//
// The tests skip unless EDGERUN_TEST_RELIABILITY=1 (testenv), and need root
// and the test images like e2e. Figures are printed with t.Logf for
// docs/reliability.md.
package reliability
