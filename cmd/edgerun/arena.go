package main

// arena.c's constructor limits glibc's malloc to one arena in every
// edgerun process, before the Go runtime starts. By default each thread
// that calls malloc (cgo: libseccomp, libcontainer's C code) reserves an
// arena of its own, 64 MiB of address space apiece: half a gigabyte of
// virtual memory in an OCI runtime's container init, which then cannot
// allocate under a container's RLIMIT_AS (runtime-tools' process_rlimits
// sets 1 GiB) and fails to load its seccomp filter with ENOMEM. edgerun's
// C code allocates little, and one arena costs it nothing.

import "C"
