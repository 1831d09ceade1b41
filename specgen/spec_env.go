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
// host does not have it. PATH gets a default when nobody sets it.
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
	for _, kv := range flags {
		k, _, hasValue := strings.Cut(kv, "=")
		if err := checkEnvName(k); err != nil {
			return nil, fmt.Errorf("%w: -e %q: %w", ErrInvalidOption, kv, err)
		}
		if !hasValue {
			v, ok := lookupHost(hostEnv, k)
			if !ok {
				continue
			}
			kv = k + "=" + v
		}
		set(kv)
	}
	if _, ok := index["PATH"]; !ok {
		env = append([]string{defaultPath}, env...)
	}
	return env, nil
}

func lookupHost(hostEnv func(string) (string, bool), k string) (string, bool) {
	if hostEnv == nil {
		return "", false
	}
	return hostEnv(k)
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
