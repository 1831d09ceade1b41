// Package rootfs turns image layers into container root filesystems: a
// secure layer unpacker, a cache of unpacked layers keyed by diff ID, and
// per-container snapshots (an overlay mount, or a copy where overlay fails).
// It knows nothing of containers or registries and logs nothing.
//
// # Unpack policy
//
// Layers are untrusted. Unpack never lets an entry act outside its root:
//
//   - Names are cleaned; a name that climbs above the root ("../x",
//     "a/../../x") is refused with ErrUnsafePath. Absolute names are taken
//     relative to the root, as GNU tar does ("/etc/x" is written to etc/x).
//   - The parent directory of every entry is resolved with pathrs-lite
//     (openat2 RESOLVE_IN_ROOT, or its safe userspace emulation on kernels
//     before 5.6), so symlinks met on the way (absolute, relative, chained,
//     or in a symlinked parent) are resolved inside the root, exactly as the
//     container will see them. A parent that does not resolve to a directory
//     inside the root (a file, a dangling symlink) fails with ErrBadParent.
//     Missing parents are created with mode 0755.
//   - The last component is created with *at syscalls relative to that
//     parent handle and never followed: openat(O_CREAT|O_EXCL|O_NOFOLLOW),
//     mkdirat, symlinkat, linkat (no AT_SYMLINK_FOLLOW), mknodat,
//     fchownat(AT_SYMLINK_NOFOLLOW), utimensat(AT_SYMLINK_NOFOLLOW); modes are
//     set with fchmod on an fd we opened (or, for device nodes and fifos,
//     through an O_PATH fd via /proc/self/fd). A symlink's target is never
//     chmodded, chowned or written.
//   - Symlinks are created as given; they are only resolved at run time,
//     inside the container root.
//   - Duplicate entries: the later one wins (an existing non-directory, or a
//     directory replaced by a non-directory, is removed first); two
//     directory entries merge and the later one's attributes win.
//   - An entry for the root itself may only be a directory (its mode, owner
//     and times are applied); anything else is ErrRootType.
//   - Hardlinks must name an earlier non-directory entry of the same layer
//     (docker's rule): the target is resolved inside the root without
//     following its last component; a target in a lower layer, outside, or
//     a directory is ErrBadHardlink. A hardlink to a symlink links the
//     symlink itself.
//   - Directory modes, owners and times are applied after all entries,
//     deepest first, so mtimes are final and read-only directories do not
//     block their own contents.
//   - Supported entries: regular (also GNU sparse and contiguous) files,
//     directories, symlinks, hardlinks, char/block devices and fifos; any
//     other type is ErrUnsupportedEntry.
//
// # Privileges
//
// Three policies, chosen per process (UnpackOptions.Rootless forces the
// third):
//
//   - Root of the initial user namespace (Privileged): every entry is
//     lchown'ed to its tar uid/gid, device nodes are created (major must be
//     <= 4095 and minor <= 1048575, otherwise ErrBadDevice), setuid, setgid
//     and sticky bits are kept (chmod after chown, since chown clears
//     them), opaque directories use trusted.overlay.opaque.
//   - Root of a user namespace (a rootless session, or edgerun as root in
//     someone else's container): /proc/self/uid_map and gid_map are read
//     once per Unpack. An entry whose uid and gid the namespace maps gets
//     them, with its setuid/setgid bits, so a layer file of uid 33 shows
//     uid 33 under a session with subordinate IDs. An ID it does not map
//     (the single-ID mapping maps only 0; the subordinate ranges end
//     somewhere) becomes 0, the namespace's root, and the entry is counted
//     in Stats.Unmapped; a file (not a directory) whose uid became 0 loses
//     its setuid bit, and one whose gid became 0 its setgid bit (counted in
//     Stats.UnmappedSetID): a setuid binary of user X must not become
//     setuid-root. A directory keeps its setgid bit, which only makes new
//     entries inherit its group. Device nodes are skipped (the kernel
//     refuses mknod in a user namespace) and counted in
//     Stats.SkippedDevices, their numbers still validated; fifos are made.
//     Opaque directories use user.overlay.opaque (overlay is mounted with
//     userxattr).
//   - Not root (or Rootless): owners are not changed (every entry is the
//     process's), device nodes are skipped as above, setuid/setgid bits are
//     kept where the kernel allows, user.overlay.opaque.
//
// An ID no namespace has (negative, or 4294967295 and above) is treated
// as unmapped under every policy that changes owners. The copy fallback
// (Prepare) copies owners and modes under the same policy.
//
// Xattrs: only user.* (except user.overlay.*, which overlayfs would
// interpret) and security.capability are applied; trusted.*,
// security.selinux and all others are dropped. An allowed xattr the
// filesystem or privileges refuse is skipped; both are counted in
// Stats.SkippedXattrs. Xattrs on symlinks are not applied. In a user
// namespace the kernel stores security.capability as a v3 capability
// bound to the namespace's root, so file capabilities work inside it and
// nowhere else.
//
// # Whiteouts
//
// ".wh.NAME" becomes overlayfs's whiteout, a 0:0 character device NAME
// (unprivileged processes may create those since Linux 5.8; on older kernels
// an unprivileged unpack of a layer with whiteouts fails with a clear error).
// ".wh..wh..opq" sets trusted.overlay.opaque=y on its directory when
// privileged, user.overlay.opaque=y otherwise (such layers must be mounted
// with overlay's "userxattr" option, which Prepare does when unprivileged).
// Other ".wh..wh." names are aufs metadata and are skipped; ".wh." and
// ".wh.." are ErrUnsafePath.
//
// # Streams and limits
//
// The compression is sniffed from magic bytes (gzip, zstd, else plain tar);
// the media type is only checked to be an OCI or Docker layer type and not
// encrypted, because `docker save` archives declare gzip for plain tars.
// The decompressor runs in its own goroutine, a few chunks ahead of the tar
// reader. Limits (UnpackOptions MaxBytes, MaxEntries, ZstdWindow,
// MaxRatio): uncompressed bytes (also the sum of file sizes, which sparse
// entries could inflate), entries, the zstd window, and the expansion
// ratio (uncompressed/compressed bytes, beyond RatioFloor), which stops a
// decompression bomb early. The decompressor also keeps UnpackOptions.MinFree
// free on dst's file system (statfs before the first byte and every 4 MiB;
// ErrNoSpace), and the unpacker its inode reserve (diskspace's
// DefaultInodeReserve, probed every 512 entries), and it ends with the context (SIGINT/SIGTERM in the CLI), even
// inside one large file. The whole uncompressed
// stream, including padding after the tar end, is hashed and compared with
// the diff ID (UnpackOptions.DiffID); the gzip checksum is verified at its
// end. Corrupt or truncated input is ErrCorruptLayer.
//
// Unpack does not fsync. Cache.Ensure calls syncfs(2) once on the staging
// directory's filesystem before the rename that publishes a layer: one flush
// per layer instead of one fsync per file.
//
// # Cache
//
// Layout under the cache dir: cache.lock (shared by Ensure, exclusive by
// Prune), idmap (see below), locks/<algo>-<hex>.lock (held while a layer is unpacked; a second
// process waits on it and then finds the layer published),
// staging/<algo>-<hex>-<random>/ (removed by the next OpenCache or Ensure
// when no live process holds its layer lock), and <algo>/<hex>/rootfs plus
// <algo>/<hex>/complete (JSON Stats, the completion marker). Published
// layers are never modified. Ensure unpacks missing layers in parallel
// (CacheOptions.Parallel, default GOMAXPROCS).
//
// Owners on disk are host IDs, so layers unpacked under one ID mapping
// have wrong owners (or none) under another. The idmap file records the
// policy and the uid_map/gid_map the cache's layers were unpacked with; the
// first Ensure writes it (and takes it over when no layer is published;
// a cache from before the record is taken to match). Ensure under another
// policy or mapping fails with ErrIDMapChanged, saying what changed and the
// way out: when this mapping can remove the old layers (it maps every host
// ID the old one did, as when a user gains subordinate IDs), removing the
// root's containers and images (rm, rmi, image prune) so they are unpacked
// again; otherwise another --root, since files of IDs this mapping lacks
// can only be removed under the old mapping or by root, and Prune refuses
// to unpublish what it could not remove. One cache per mapping (keying
// layer directories by mapping) was not chosen: the containers' upper
// directories of the root would be as wrong, and a mapping rarely changes.
//
// # Snapshots
//
// Prepare takes lower dirs bottom layer first, as Ensure returns them, and
// mounts overlay with lowerdir=top:...:bottom, upperdir=dir/upper and
// workdir=dir/work on dir/rootfs. When the mount fails (no overlay, an upper
// dir on a filesystem overlay rejects, or so many layers that the options
// exceed a page) it copies the layers bottom-up into dir/rootfs, applying
// whiteouts and opaque directories, with the same fd-relative, no-follow
// operations, and reports it once through SnapshotOptions.Notice.
// Hardlinks are not preserved in a copy. Remove unmounts (checking
// mountinfo, so it works after a crash) and deletes rootfs, upper and work.
//
// # Volume copy-up
//
// CopyUp fills a new named volume with what a prepared root file system
// holds at the volume's mount point (docker's and podman's first-mount
// copy): the mount point is resolved inside the root with pathrs-lite,
// the copy is the snapshot fallback's fd-relative, no-follow merge under
// the same ownership policy, and the volume's own directory takes the
// image directory's owner and mode.
package rootfs
