package compose

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"sort"
	"strings"
)

// Digest is a stable hash of the service's definition, "sha256:" and 64
// hex digits: the same for two files that define the service alike, in
// whatever order they list what Compose takes as a set (environment,
// labels, ports, volumes, devices, tmpfs, capabilities, depends_on), and
// different when a value changes. The line of the service does not count.
func (s *Service) Digest() string {
	c := *s
	c.Line = 0
	if len(c.Labels) == 0 {
		c.Labels = nil
	}
	c.Environment = sortedCopy(s.Environment)
	c.Devices = sortedCopy(s.Devices)
	c.Tmpfs = sortedCopy(s.Tmpfs)
	c.CapAdd = sortedCopy(s.CapAdd)
	c.CapDrop = sortedCopy(s.CapDrop)
	c.Ports = slices.Clone(s.Ports)
	sort.Slice(c.Ports, func(i, j int) bool { return c.Ports[i].String() < c.Ports[j].String() })
	c.Volumes = slices.Clone(s.Volumes)
	sort.Slice(c.Volumes, func(i, j int) bool {
		a, b := c.Volumes[i], c.Volumes[j]
		return cmp.Or(strings.Compare(a.Target, b.Target), strings.Compare(a.Source, b.Source)) < 0
	})
	c.DependsOn = slices.Clone(s.DependsOn)
	sort.Slice(c.DependsOn, func(i, j int) bool { return c.DependsOn[i].Service < c.DependsOn[j].Service })
	// json.Marshal writes map keys sorted and leaves unexported fields
	// (lines) out; a Service holds nothing it cannot encode.
	data, err := json.Marshal(&c)
	if err != nil {
		panic("compose: encode service: " + err.Error())
	}
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func sortedCopy(s []string) []string {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}
