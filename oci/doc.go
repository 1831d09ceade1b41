// Package oci holds the pure parts of edgerun's OCI runtime face (the
// runc-compatible command line of `edgerun oci` and `edgerun-oci`): the
// bundle and its config.json read strictly and checked before anything is
// created, container IDs, the state document engines read back, the
// process and resources documents of exec and update, and the log lines
// containerd and conmon read from --log. It imports no runc and no cgo;
// package container does the work with libcontainer.
package oci
