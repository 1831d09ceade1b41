//go:build !amd64

package specgen

// KernelRunsX32 is false off amd64: only x86_64 kernels have the x32 ABI.
func KernelRunsX32() bool { return false }
