package specgen

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"
)

const defaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// mergeEnv builds the container environment like docker: HOSTNAME (and
// TERM with a tty), then the image's variables, then the -e/--env-file
// ones, each replacing an earlier variable of the same name in place. A
// flag without "=" takes the value from the host, or is dropped when the
// host does not have it. PATH gets a default when nobody sets it. A NUL
// byte, which no environment variable can hold, is refused in a flag, in
// a host value, and in an image variable that no flag replaces.
func mergeEnv(image, flags []string, hostEnv func(string) (string, bool), hostname string, tty bool) ([]string, error) {
	env := []string{"HOSTNAME=" + hostname}
	if tty {
		env = append(env, "TERM=xterm")
	}
	index := map[string]int{"HOSTNAME": 0}
	if tty {
		index["TERM"] = 1
	}
	set := func(kv string) {
		k, _, _ := strings.Cut(kv, "=")
		if i, ok := index[k]; ok {
			env[i] = kv
			return
		}
		index[k] = len(env)
		env = append(env, kv)
	}
	for _, kv := range image {
		if k, _, ok := strings.Cut(kv, "="); ok && k != "" {
			set(kv)
		}
	}
	for _, flag := range flags {
		kv, ok, err := flagEnv(flag, hostEnv)
		if err != nil {
			return nil, err
		}
		if ok {
			set(kv)
		}
	}
	if err := checkImageEnv(env); err != nil {
		return nil, err
	}
	if _, ok := index["PATH"]; !ok {
		env = append([]string{defaultPath}, env...)
	}
	return env, nil
}

// flagEnv checks one -e (or --env-file) entry and returns it as NAME=VALUE,
// taking a bare NAME's value from the host; ok is false when the host
// does not have it.
func flagEnv(kv string, hostEnv func(string) (string, bool)) (string, bool, error) {
	if strings.ContainsRune(kv, 0) {
		return "", false, fmt.Errorf("%w: -e %q contains a NUL byte, which no environment variable can hold: remove it", ErrInvalidOption, kv)
	}
	k, _, hasValue := strings.Cut(kv, "=")
	if err := checkEnvName(k); err != nil {
		return "", false, fmt.Errorf("%w: -e %q: %w", ErrInvalidOption, kv, err)
	}
	if hasValue {
		return kv, true, nil
	}
	if hostEnv == nil {
		return "", false, nil
	}
	v, ok := hostEnv(k)
	if ok && strings.ContainsRune(v, 0) {
		return "", false, fmt.Errorf("%w: -e %s: the host's value contains a NUL byte, which no environment variable can hold: give one with -e %s=VALUE", ErrInvalidOption, k, k)
	}
	return k + "=" + v, ok, nil
}

// checkImageEnv refuses a NUL byte left in the merged environment: -e
// entries and host values are checked as they come, so what is left is
// an image's variable that no flag replaced.
func checkImageEnv(env []string) error {
	for _, kv := range env {
		if !strings.ContainsRune(kv, 0) {
			continue
		}
		k, _, _ := strings.Cut(kv, "=")
		if strings.ContainsRune(k, 0) {
			return fmt.Errorf("%w: the image's environment has a variable name with a NUL byte (%q), which no environment variable can hold: rebuild the image without it", ErrInvalidOption, k)
		}
		return fmt.Errorf("%w: the image sets %s to a value with a NUL byte: override it with -e %s=VALUE", ErrInvalidOption, k, k)
	}
	return nil
}

func checkEnvName(k string) error {
	if k == "" {
		return fmt.Errorf("empty variable name")
	}
	if strings.ContainsFunc(k, func(r rune) bool { return unicode.IsSpace(r) || r == 0 }) {
		return fmt.Errorf("variable name %q contains whitespace", k)
	}
	return nil
}

// ParseEnvFile reads a docker --env-file: one KEY=VALUE or KEY per line,
// lines starting with # and blank lines ignored. Values are taken verbatim
// (no quotes are removed); leading whitespace before the name is dropped.
// The result is in -e form, so a bare KEY still takes the host's value
// when passed on to SpecOptions.Env.
func ParseEnvFile(r io.Reader) ([]string, error) {
	var env []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if n == 1 {
			line = strings.TrimPrefix(line, "\uFEFF")
		}
		if !utf8.ValidString(line) {
			return nil, fmt.Errorf("%w: env file line %d is not valid UTF-8", ErrInvalidOption, n)
		}
		line = strings.TrimLeftFunc(line, unicode.IsSpace)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.ContainsRune(line, 0) {
			return nil, fmt.Errorf("%w: env file line %d contains a NUL byte, which no environment variable can hold: remove it", ErrInvalidOption, n)
		}
		k, _, _ := strings.Cut(line, "=")
		if err := checkEnvName(k); err != nil {
			return nil, fmt.Errorf("%w: env file line %d: %w", ErrInvalidOption, n, err)
		}
		env = append(env, line)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read env file: %w", err)
	}
	return env, nil
}
