// Package compose reads the service file of `edgerun apply -f services.yaml`:
// a strict subset of the Compose file format (services, named volumes, the
// project name). It owns the file's syntax and its checks: every key
// outside the subset, every wrong type and every broken reference is
// refused with the file, line and key path, never ignored. It reads the
// file and its env_file files and nothing else on the host; what the
// caller's environment holds comes through a lookup function. It turns
// the file into typed values (Project, Service), a deterministic start
// order (Project.Order) and a digest per service (Service.Digest) that
// apply compares to tell an unchanged service from a changed one.
//
// It is pure Go: it imports go.yaml.in/yaml/v3 (only its Node tree, so
// that every value keeps its line) and internal/ids of this module, and
// nothing that creates containers (internal/layering checks that).
package compose
