package events

import "errors"

// ErrInvalidFilter: a --filter is not KEY=VALUE with a key and value
// events know.
var ErrInvalidFilter = errors.New("invalid filter")
