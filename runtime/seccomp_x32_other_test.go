//go:build !amd64 && linux && cgo && seccomp

package runtime

// x32SyscallBit exists on amd64 only; the kernel test calls x32Getpid only
// there, but it must compile everywhere (the arm64 VM runs it).
const x32SyscallBit = 0
