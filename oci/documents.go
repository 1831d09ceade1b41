package oci

import (
	"fmt"
	"io"
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// ReadProcess reads exec --process: a runtime-spec process document, read
// strictly and checked like config.json's process.
func ReadProcess(path string) (*specs.Process, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: process document: %w", ErrInvalidDocument, unwrapPath(err))
	}
	defer f.Close()
	var p specs.Process
	if err := DecodeStrict(f, &p); err != nil {
		return nil, fmt.Errorf("%w: process document %s: %w", ErrInvalidDocument, path, err)
	}
	if err := CheckProcess(&p); err != nil {
		return nil, fmt.Errorf("%w: process document %s: %w", ErrInvalidDocument, path, err)
	}
	return &p, nil
}

// ReadResources reads update --resources: a runtime-spec linux.resources
// document, from r (a file, or standard input for "-").
func ReadResources(r io.Reader, name string) (*specs.LinuxResources, error) {
	var res specs.LinuxResources
	if err := DecodeStrict(r, &res); err != nil {
		return nil, fmt.Errorf("%w: resources document %s: %w", ErrInvalidDocument, name, err)
	}
	return &res, nil
}
