package sigpolicy

import (
	"errors"
	"fmt"
	"strconv"
)

// Why a rule refused an image; a RefusedError unwraps to one of them.
var (
	// ErrRejected: the rule is reject.
	ErrRejected = errors.New("the policy rejects every image here")
	// ErrNoSignature: the image has no sigstore signature at all.
	ErrNoSignature = errors.New("no signature")
	// ErrWrongKey: a signature does not verify with the rule's key.
	ErrWrongKey = errors.New("no signature verifies with the key")
	// ErrDigestMismatch: a signature verifies, but its payload signs
	// another manifest.
	ErrDigestMismatch = errors.New("signed manifest digest does not match the image")
	// ErrIdentityMismatch: a signature verifies and signs this manifest,
	// but for a docker-reference the rule's signedIdentity does not accept.
	ErrIdentityMismatch = errors.New("signed identity does not match")
	// ErrInvalidPolicy: the policy file cannot be read or used.
	ErrInvalidPolicy = errors.New("invalid signature policy")
)

// RefusedError is the refusal of an image by one rule of a policy file.
type RefusedError struct {
	Image string // the reference or input refused
	File  string // the policy file
	Scope string // where in it the rule is: default, transports.docker["host/repo"]
	Type  string // the requirement type: reject, sigstoreSigned
	Err   error  // why: wraps ErrRejected, ErrNoSignature, ErrWrongKey, ...
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("image %s refused by %s (%s, %s): %v; sign it or change the policy",
		e.Image, e.File, e.Scope, e.Type, e.Err)
}

func (e *RefusedError) Unwrap() error { return e.Err }

// scopeName is how an error names a scope of the policy file.
func scopeName(transport, scope string) string {
	if transport == "" {
		return "default"
	}
	return "transports." + transport + "[" + strconv.Quote(scope) + "]"
}
