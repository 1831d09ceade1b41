package container

import (
	"time"

	digest "github.com/opencontainers/go-digest"

	"github.com/edgerun/edgerun/netns"
)

// InspectVersion is the version of the inspect document (Edgerun.
// InspectVersion). It changes when a field changes meaning or goes away;
// new fields do not change it. docs/cli.md describes the document.
const InspectVersion = 1

// InspectDoc is what `inspect` prints of a container: docker's document
// where edgerun has the same concept, with docker's names, and edgerun's
// own fields under Edgerun. Firmware parses it: keep it stable.
type InspectDoc struct {
	ID              string          `json:"Id"`
	Created         time.Time       `json:"Created"`
	Path            string          `json:"Path"`
	Args            []string        `json:"Args"`
	State           InspectState    `json:"State"`
	Image           string          `json:"Image"` // the image's digest
	Name            string          `json:"Name"`  // "/" + name, as docker
	RestartCount    int             `json:"RestartCount"`
	HostConfig      HostConfig      `json:"HostConfig"`
	Mounts          []InspectMount  `json:"Mounts"`
	Config          InspectConfig   `json:"Config"`
	NetworkSettings NetworkSettings `json:"NetworkSettings"`
	Edgerun         EdgerunInfo     `json:"Edgerun"`
}

// InspectState is docker's State.
type InspectState struct {
	Status     string `json:"Status"` // created, running, restarting, exited
	Running    bool   `json:"Running"`
	Paused     bool   `json:"Paused"`
	Restarting bool   `json:"Restarting"`
	OOMKilled  bool   `json:"OOMKilled"` // the init was killed (the run ended with it)
	// OOMKills counts the processes of the container the kernel's OOM
	// killer killed in its current (or last) run, children included;
	// LastOOMAt is when the last was noticed (edgerun's, not docker's).
	OOMKills   uint64         `json:"OOMKills"`
	LastOOMAt  time.Time      `json:"LastOOMAt"`
	Dead       bool           `json:"Dead"`
	Pid        int            `json:"Pid"`
	ExitCode   int            `json:"ExitCode"`
	Error      string         `json:"Error"`
	StartedAt  time.Time      `json:"StartedAt"`
	FinishedAt time.Time      `json:"FinishedAt"`
	Health     *InspectHealth `json:"Health,omitempty"` // only with a health check
}

// InspectHealth is docker's State.Health.
type InspectHealth struct {
	Status        string         `json:"Status"`
	FailingStreak int            `json:"FailingStreak"`
	Log           []HealthResult `json:"Log"`
}

// HealthResult is one probe of State.Health.Log.
type HealthResult struct {
	Start    time.Time `json:"Start"`
	End      time.Time `json:"End"`
	ExitCode int       `json:"ExitCode"`
	Output   string    `json:"Output"`
}

// HostConfig is docker's HostConfig: how the container is run.
type HostConfig struct {
	Binds          []string                 `json:"Binds"`
	NetworkMode    string                   `json:"NetworkMode"`
	PortBindings   map[string][]PortBinding `json:"PortBindings"`
	RestartPolicy  RestartPolicy            `json:"RestartPolicy"`
	AutoRemove     bool                     `json:"AutoRemove"`
	LogConfig      LogConfig                `json:"LogConfig"`
	CapAdd         []string                 `json:"CapAdd"`
	CapDrop        []string                 `json:"CapDrop"`
	Privileged     bool                     `json:"Privileged"`
	ReadonlyRootfs bool                     `json:"ReadonlyRootfs"`
	Init           bool                     `json:"Init"`
	Memory         int64                    `json:"Memory"`
	MemorySwap     int64                    `json:"MemorySwap"`
	NanoCpus       int64                    `json:"NanoCpus"`
	CpuShares      uint64                   `json:"CpuShares"` //nolint:revive // docker's name
	CpusetCpus     string                   `json:"CpusetCpus"`
	PidsLimit      int64                    `json:"PidsLimit"`
	OomScoreAdj    int                      `json:"OomScoreAdj"`
	ShmSize        int64                    `json:"ShmSize"` // bytes of /dev/shm

	MemoryReservation int64 `json:"MemoryReservation"` // bytes of --memory-reservation, 0 when unset
	OomKillDisable    bool  `json:"OomKillDisable"`
}

// PortBinding is a host side of a published port.
type PortBinding struct {
	HostIP   string `json:"HostIp"`
	HostPort string `json:"HostPort"`
}

// RestartPolicy is docker's HostConfig.RestartPolicy.
type RestartPolicy struct {
	Name              string `json:"Name"`
	MaximumRetryCount int    `json:"MaximumRetryCount"`
}

// LogConfig says where a detached container's output goes: edgerun's own
// size-capped log (Type "edgerun"), with --log-opt as Config.
type LogConfig struct {
	Type   string            `json:"Type"`
	Config map[string]string `json:"Config"`
}

// InspectMount is one user mount (-v, --mount, --tmpfs, image VOLUME).
type InspectMount struct {
	Type        string `json:"Type"` // bind, volume, tmpfs
	Name        string `json:"Name,omitempty"`
	Source      string `json:"Source"`
	Destination string `json:"Destination"`
	Mode        string `json:"Mode"`
	RW          bool   `json:"RW"`
}

// InspectConfig is docker's Config: what the container runs.
type InspectConfig struct {
	Hostname     string              `json:"Hostname"`
	User         string              `json:"User"`
	Tty          bool                `json:"Tty"`
	OpenStdin    bool                `json:"OpenStdin"`
	Env          []string            `json:"Env"`
	Cmd          []string            `json:"Cmd"`
	Healthcheck  *HealthConfig       `json:"Healthcheck,omitempty"`
	Image        string              `json:"Image"` // the name it was run with
	WorkingDir   string              `json:"WorkingDir"`
	Entrypoint   []string            `json:"Entrypoint"`
	Labels       map[string]string   `json:"Labels"`
	ExposedPorts map[string]struct{} `json:"ExposedPorts,omitempty"`
	StopSignal   string              `json:"StopSignal,omitempty"`
	StopTimeout  *int                `json:"StopTimeout,omitempty"` // seconds
}

// HealthConfig is docker's Config.Healthcheck (durations in nanoseconds).
type HealthConfig struct {
	Test          []string      `json:"Test"`
	Interval      time.Duration `json:"Interval"`
	Timeout       time.Duration `json:"Timeout"`
	StartPeriod   time.Duration `json:"StartPeriod"`
	StartInterval time.Duration `json:"StartInterval"`
	Retries       int           `json:"Retries"`
}

// NetworkSettings is docker's NetworkSettings.
type NetworkSettings struct {
	IPAddress   string `json:"IPAddress"`
	IPPrefixLen int    `json:"IPPrefixLen"`
	Gateway     string `json:"Gateway"`
	MacAddress  string `json:"MacAddress"`
	// The IPv6 fields of the default bridge, which is IPv4 only: empty.
	GlobalIPv6Address   string                      `json:"GlobalIPv6Address"`
	GlobalIPv6PrefixLen int                         `json:"GlobalIPv6PrefixLen"`
	IPv6Gateway         string                      `json:"IPv6Gateway"`
	Ports               map[string][]PortBinding    `json:"Ports"`
	Networks            map[string]*EndpointSetting `json:"Networks"`
}

// EndpointSetting is one network of NetworkSettings.Networks.
type EndpointSetting struct {
	IPAddress   string   `json:"IPAddress"`
	IPPrefixLen int      `json:"IPPrefixLen"`
	Gateway     string   `json:"Gateway"`
	MacAddress  string   `json:"MacAddress"`
	Aliases     []string `json:"Aliases"` // --network-alias, on a user-defined network
	// A dual-stack network's (--ipv6) IPv6 address and gateway.
	GlobalIPv6Address   string `json:"GlobalIPv6Address"`
	GlobalIPv6PrefixLen int    `json:"GlobalIPv6PrefixLen"`
	IPv6Gateway         string `json:"IPv6Gateway"`
}

// EdgerunInfo holds what edgerun knows of a container that docker's
// document has no place for.
type EdgerunInfo struct {
	InspectVersion int `json:"InspectVersion"`
	// Detached: a monitor owns the container (run -d, start).
	Detached   bool   `json:"Detached"`
	MonitorPid int    `json:"MonitorPid"`
	BootID     string `json:"BootID"`
	// Snapshot is how the root file system is made: overlay or copy.
	Snapshot      string          `json:"Snapshot"`
	Layers        []digest.Digest `json:"Layers"`
	RestartPolicy string          `json:"RestartPolicy"` // as given: on-failure:3
	// RestartDelay is the backoff before the next restart, in
	// nanoseconds, while restarting.
	RestartDelay       time.Duration `json:"RestartDelay"`
	StoppedByUser      bool          `json:"StoppedByUser"`
	StoppedForShutdown bool          `json:"StoppedForShutdown"`
	MonitorLost        bool          `json:"MonitorLost"`
	HostRestarted      bool          `json:"HostRestarted"`
	HealthOnFailure    string        `json:"HealthOnFailure,omitempty"`
	HealthRestart      bool          `json:"HealthRestart"`
	StopTimeout        time.Duration `json:"StopTimeout"` // nanoseconds; 0 is the default
	Volumes            []string      `json:"Volumes"`     // named volumes in use
	// Network is the bridge attachment: bridge, veth, subnet, MTU.
	Network *netns.Attachment `json:"Network,omitempty"`
	// Update is the last update of the container's service.
	Update *UpdateStatus `json:"Update,omitempty"`
}
