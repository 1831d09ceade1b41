// Package specgen turns an image config and docker-style run options into
// the OCI runtime spec of a container: command, environment, user, working
// directory, mounts (volumes, tmpfs, devices), capabilities, the default
// seccomp profile with its per-architecture tables, masked paths, sysctls,
// rlimits and cgroup limits. It also checks, before anything starts, that
// the command exists in the container's view (CheckCommand), and derives
// the process of an exec. It reads the host (device nodes, bind sources,
// seccomp profile files, the image's /etc/passwd, its own capability
// sets, and with --ulimit fs.nr_open, its uid map and its own hard
// limits) but changes nothing on it. It is pure Go: it may import
// cgroups (limits), internal/containerinit (where --init lives) and
// internal/ids (the volume name rule) of this module, and nothing that reaches runc, cgo or the container lifecycle (internal/layering checks that transitively), so its
// tests run unprivileged and under qemu-user on every architecture.
package specgen
