// Package volumes is the store of named volumes under the persistent root:
// <root>/volumes/NAME/_data is what containers mount, and
// <root>/volumes/NAME/volume.json (written atomically) says when the volume
// was made and whether the image's content still has to be copied into it
// on its first mount. A volume appears whole (made in a hidden staging
// directory, published by rename) and disappears whole (renamed aside
// before its files are removed), so a crash leaves either the volume or a
// hidden leftover that the next change removes.
//
// Changes (Create, Remove, CopiedUp) are made under the store's file lock
// (Lock), which the container package also holds while it resolves a new
// container's volumes and records them, so that no volume is removed
// under a container being created. The store knows nothing of containers:
// which volumes are in use is the caller's answer. It is pure Go file
// operations: it may import internal/atomicfile, internal/lockfile and
// internal/ids of this module, and nothing of containers, images, runc or
// cobra.
package volumes
