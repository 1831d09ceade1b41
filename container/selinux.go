package container

import (
	"strings"

	"github.com/opencontainers/selinux/go-selinux"
	"github.com/opencontainers/selinux/go-selinux/label"
)

// selinuxLabels chooses a new container's SELinux labels on hosts where
// SELinux is enabled and its policy has container contexts (Fedora IoT's
// lxc_contexts): the policy's container process type (container_t) and
// file type, with MCS categories of the container's own, changed by
// --security-opt label=user:|role:|type:|level:|filetype: as docker's
// are; label=disable (and --privileged) leaves the processes unlabelled.
// Elsewhere both are "" and the label options are accepted and unused, as
// docker does.
//
// Categories are kept unique by go-selinux within one process only, and
// edgerun has no daemon that remembers them: the existing containers'
// labels are reserved first, from their records. Two creates at the same
// instant may still draw the same random pair (1 in about 500,000).
//
// No machine of this project runs SELinux: this path is not tested on a
// real policy (docs/security.md).
func (r *Runtime) selinuxLabels(secOpts []string, privileged bool) (process, mount string, err error) {
	if !selinux.GetEnabled() {
		return "", "", nil
	}
	var opts []string
	for _, o := range secOpts {
		k, v, ok := strings.Cut(o, "=")
		if !ok {
			k, v, ok = strings.Cut(o, ":")
		}
		if ok && k == "label" {
			opts = append(opts, v)
		}
	}
	if privileged {
		opts = append(opts, "disable")
	}
	recs, _ := r.listRecords()
	for _, rec := range recs {
		if rec.ProcessLabel != "" {
			selinux.ReserveLabel(rec.ProcessLabel)
		}
	}
	return label.InitLabels(opts)
}
