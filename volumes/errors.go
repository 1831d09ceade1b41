package volumes

import "errors"

// ErrNotFound is wrapped by every error about a volume that does not exist.
var ErrNotFound = errors.New("no such volume")
