package runtime

import "errors"

// ErrInvalidOption is wrapped by every error about a run option (flag or
// image setting) that GenerateSpec refuses. The runtime's other sentinels
// live in errors.go.
var ErrInvalidOption = errors.New("invalid run option")
