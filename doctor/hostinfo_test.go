package doctor

import "testing"

func TestHostReadsInfoFacts(t *testing.T) {
	const osRel = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\n"
	const meminfo = "MemTotal:        3884300 kB\nMemFree:          120000 kB\n"
	tests := []struct {
		name string
		host host
		want HostInfo
	}{
		{"pi 4, cgroup v2", base().with("etc/os-release", osRel, "proc/meminfo", meminfo,
			"proc/sys/kernel/hostname", "gw-17\n", "proc/self/ns/cgroup", ""),
			HostInfo{KernelVersion: "6.6.51+rpt-rpi-v8", OperatingSystem: "Debian GNU/Linux 12 (bookworm)", OSVersion: "12",
				OSType: "linux", Architecture: "aarch64", CPUs: 4, MemTotal: 3884300 * 1024, Hostname: "gw-17",
				CgroupVersion: "2", Seccomp: true, CgroupNS: true}},
		{"v1 layout, os-release under /usr/lib, no seccomp", base().with("proc/self/mountinfo", v1Mountinfo,
			"usr/lib/os-release", "PRETTY_NAME='Raspbian GNU/Linux 10 (buster)'\nVERSION_ID=10\n",
			"proc/self/status", "Name:\tedgerun\n", "sys/devices/system/cpu/online", "0\n", "proc/sys/kernel/arch", "-"),
			HostInfo{KernelVersion: "6.6.51+rpt-rpi-v8", OperatingSystem: "Raspbian GNU/Linux 10 (buster)", OSVersion: "10",
				OSType: "linux", Architecture: "armv6l", CPUs: 1, CgroupVersion: "1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := options(tt.host.write(t))
			o.Machine = "armv6l" // uname's, when /proc/sys/kernel/arch is missing
			if got := Host(o); got != tt.want {
				t.Errorf("Host() =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}
