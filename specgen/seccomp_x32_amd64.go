package specgen

import "golang.org/x/sys/unix"

// x32SyscallBit marks a syscall number as one of the x32 ABI.
const x32SyscallBit = 0x40000000

// KernelRunsX32 says whether this kernel executes x32 syscalls: an x32
// getpid returns the pid when it does, ENOSYS when it does not. Under a
// seccomp filter it answers true without asking (see seccomp_x32.go).
func KernelRunsX32() bool {
	if underSeccomp() {
		return true
	}
	_, _, errno := unix.RawSyscall(x32SyscallBit|unix.SYS_GETPID, 0, 0, 0)
	return errno != unix.ENOSYS
}
