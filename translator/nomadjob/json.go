package nomadjob

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"github.com/hashicorp/nomad/api"
)

// registerRequest is the body of PUT /v1/jobs.
type registerRequest struct {
	Job *api.Job
}

// WriteJSON writes job as the body of a Nomad /v1/jobs register request,
// {"Job": {...}}, indented by two spaces (as json.MarshalIndent would) and
// ending in a newline. Unset fields are null, durations integer
// nanoseconds, as the API client sends them; "<", ">" and "&" are not
// escaped. It returns an error for a nil job, a config value JSON cannot
// hold, or from w.
func WriteJSON(w io.Writer, job *api.Job) error {
	if job == nil {
		return fmt.Errorf("write json: nil job")
	}
	var compact bytes.Buffer
	enc := json.NewEncoder(&compact)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(registerRequest{Job: job}); err != nil {
		return fmt.Errorf("write json: job %s: %w", deref(job.ID), err)
	}
	src := bytes.TrimSuffix(compact.Bytes(), []byte("\n"))
	out := indentJSON(make([]byte, 0, 2*len(src)), src)
	if _, err := w.Write(append(out, '\n')); err != nil {
		return fmt.Errorf("write json: job %s: %w", deref(job.ID), err)
	}
	return nil
}

// indentJSON appends src, compact JSON as encoding/json writes it, to dst
// laid out as json.Indent(dst, src, "", "  ") would, several times faster:
// it copies strings and literals in runs instead of stepping a state
// machine per byte. src must be valid compact JSON.
func indentJSON(dst, src []byte) []byte {
	depth := 0
	for i := 0; i < len(src); i++ {
		switch c := src[i]; c {
		case '"':
			end := stringEnd(src, i)
			dst = append(dst, src[i:end]...)
			i = end - 1
		case '{', '[':
			dst = append(dst, c)
			if i+1 < len(src) && (src[i+1] == '}' || src[i+1] == ']') {
				dst = append(dst, src[i+1])
				i++
				continue
			}
			depth++
			dst = newline(dst, depth)
		case '}', ']':
			depth--
			dst = newline(dst, depth)
			dst = append(dst, c)
		case ',':
			dst = newline(append(dst, ','), depth)
		case ':':
			dst = append(dst, ':', ' ')
		default:
			end := i + 1
			for end < len(src) && !structural(src[end]) {
				end++
			}
			dst = append(dst, src[i:end]...)
			i = end - 1
		}
	}
	return dst
}

// stringEnd returns the index just past the string starting at src[i].
func stringEnd(src []byte, i int) int {
	for j := i + 1; j < len(src); j++ {
		switch src[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return len(src)
}

// structural reports whether c ends a literal (number, true, false, null).
func structural(c byte) bool {
	switch c {
	case '"', '{', '}', '[', ']', ',', ':':
		return true
	}
	return false
}

// newline appends a line break and depth levels of two-space indentation.
func newline(dst []byte, depth int) []byte {
	dst = append(dst, '\n')
	for ; depth > 0; depth-- {
		dst = append(dst, ' ', ' ')
	}
	return dst
}
