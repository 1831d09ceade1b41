//go:build !amd64

package runtime

// kernelRunsX32 is false off amd64: only x86_64 kernels have the x32 ABI.
func kernelRunsX32() bool { return false }
