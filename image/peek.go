package image

import "path/filepath"

// PeekNames lists the image names in the index of the store under root as
// it is on disk, for shell completion: nothing is created, locked or
// repaired (a damaged index is an error here, recovered by the next real
// command). A root without an index has no names.
func PeekNames(root string) ([]string, error) {
	ix, err := readIndexFile(filepath.Join(root, "images.json"))
	if err != nil {
		return nil, err
	}
	var names []string
	for _, rec := range ix.Images {
		names = append(names, rec.Names...)
	}
	return names, nil
}
