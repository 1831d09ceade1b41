package container

// PeekContainers lists the container records under the persistent root
// as they are on disk, for shell completion: nothing is created, locked,
// cleaned up or refreshed (their State is the bookkeeping's, which a
// crash may have left stale), and no state directory is needed. A root
// that does not exist has no containers.
func PeekContainers(root string) ([]*Record, error) {
	r := &Runtime{cfg: Config{Root: root}}
	return r.listRecords()
}
