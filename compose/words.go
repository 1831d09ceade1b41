package compose

import (
	"errors"
	"strings"
)

// splitWords splits a command line into words the way a POSIX shell does
// (and Compose, with go-shellwords), without expanding anything: blanks
// separate words, '...' is literal, "..." keeps blanks and takes \ before
// " \ $ and `, and \ outside quotes escapes the next character.
func splitWords(s string) ([]string, error) {
	var words []string
	var w strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case ' ', '\t', '\n', '\r':
			if inWord {
				words = append(words, w.String())
				w.Reset()
				inWord = false
			}
			continue
		case '\\':
			if i+1 < len(s) {
				i++
				w.WriteByte(s[i])
			}
		case '\'':
			end := strings.IndexByte(s[i+1:], '\'')
			if end < 0 {
				return nil, errors.New("unclosed ' in the command")
			}
			w.WriteString(s[i+1 : i+1+end])
			i += 1 + end
		case '"':
			n, err := doubleQuoted(s[i+1:], &w)
			if err != nil {
				return nil, err
			}
			i += n
		default:
			w.WriteByte(c)
		}
		inWord = true
	}
	if inWord {
		words = append(words, w.String())
	}
	return words, nil
}

// doubleQuoted writes the text of a "..." word part whose opening quote
// came just before s, and returns how many bytes of s it used.
func doubleQuoted(s string, w *strings.Builder) (int, error) {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			return i + 1, nil
		case c == '\\' && i+1 < len(s) && strings.IndexByte("\"\\$`", s[i+1]) >= 0:
			i++
			w.WriteByte(s[i])
		default:
			w.WriteByte(c)
		}
	}
	return 0, errors.New(`unclosed " in the command`)
}
