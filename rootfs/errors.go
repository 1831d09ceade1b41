package rootfs

import "errors"

// Sentinel errors. Callers test them with errors.Is; the wrapping error says
// which entry or layer was at fault.
var (
	// ErrUnsafePath is returned for a tar entry (or hardlink target) whose
	// name climbs out of the layer root with "..", contains a NUL byte or
	// is an invalid whiteout name (".wh.", ".wh..").
	ErrUnsafePath = errors.New("unsafe path in layer")
	// ErrBadParent is returned when the parent of an entry cannot be
	// resolved to a directory inside the layer: it is a file, or a symlink
	// whose target (taken inside the layer root) does not exist.
	ErrBadParent = errors.New("parent of entry is not a directory inside the layer")
	// ErrRootType is returned when an entry tries to turn the layer root
	// into something other than a directory.
	ErrRootType = errors.New("layer tries to replace its root directory with a non-directory")
	// ErrBadDevice is returned for a device node whose major or minor number
	// cannot exist on Linux.
	ErrBadDevice = errors.New("device node number out of range")
	// ErrBadHardlink is returned for a hardlink whose target is not an
	// earlier non-directory entry of the same layer.
	ErrBadHardlink = errors.New("hardlink target is not a file in this layer")
	// ErrTooLarge is returned when a layer exceeds the configured limits on
	// uncompressed bytes or entries (a decompression bomb, or a layer that
	// needs a larger limit).
	ErrTooLarge = errors.New("layer exceeds unpack limits")
	// ErrNoSpace is returned when the layer's file system has no more
	// free space than its reserve (UnpackOptions.MinFree), or no more
	// free inodes than theirs. Nothing of the layer is published.
	ErrNoSpace = errors.New("not enough disk space")
	// ErrCorruptLayer is returned for a truncated or corrupt compressed or
	// tar stream.
	ErrCorruptLayer = errors.New("layer is corrupt or truncated")
	// ErrDiffIDMismatch is returned when the uncompressed stream does not
	// hash to the diff ID of the image config. Nothing is published.
	ErrDiffIDMismatch = errors.New("layer content does not match its diff ID")
	// ErrMediaType is returned for a layer media type edgerun cannot unpack
	// (for example an encrypted layer).
	ErrMediaType = errors.New("unsupported layer media type")
	// ErrIDMapChanged is returned when the layer cache was unpacked under
	// another ownership policy or user-namespace ID mapping than this
	// process's (see # Cache in the package documentation).
	ErrIDMapChanged = errors.New("layer cache belongs to another ID mapping")
	// ErrUnsupportedEntry is returned for a tar entry type that has no
	// meaning in a container root filesystem.
	ErrUnsupportedEntry = errors.New("unsupported tar entry type")
)
