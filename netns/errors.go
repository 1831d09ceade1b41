package netns

import "errors"

// Sentinel errors of container networking; messages wrap them with what to do.
var (
	// ErrInvalid: a network option (-p, --ip, --subnet, --bridge) is malformed.
	ErrInvalid = errors.New("invalid network option")
	// ErrAddressInUse: --ip names an address another container holds.
	ErrAddressInUse = errors.New("address in use")
	// ErrSubnetFull: every address of the subnet is leased.
	ErrSubnetFull = errors.New("no free address in the subnet")
	// ErrPortInUse: a host port to publish is taken.
	ErrPortInUse = errors.New("host port in use")
	// ErrBridgeTaken: the bridge name is used by an interface edgerun does not own.
	ErrBridgeTaken = errors.New("bridge name taken")
	// ErrOverlap: a subnet overlaps another network's or a host route.
	ErrOverlap = errors.New("subnet overlaps")
	// ErrNoSuchNetwork: no user-defined network has that name or ID.
	ErrNoSuchNetwork = errors.New("no such network")
	// ErrNetworkExists: network create with a name that is taken.
	ErrNetworkExists = errors.New("network exists")
	// ErrNetworkInUse: a network containers are on cannot be removed.
	ErrNetworkInUse = errors.New("network is in use")
	// ErrUnsupported: the kernel lacks a feature bridge networking needs.
	ErrUnsupported = errors.New("kernel feature missing")
)
