// Package textfile tells a user's text file from binary data before an HCL
// parser sees it. Given a binary file (an image, an archive, a compiled
// program passed by mistake), hclsyntax reports an error for nearly every
// byte: a 300 KB file gave 50,000 diagnostics and 75 MB of output. Check
// turns that into one diagnostic.
package textfile

import (
	"bytes"
	"fmt"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
)

// Check returns nil if src is UTF-8 text, else one error diagnostic, at the
// first offending byte (file:line:col), saying what the file holds: binary
// data (a NUL byte, which no text file has) or text in another encoding
// (invalid UTF-8). what names the file's role ("graph file", "executor
// catalog") in the message.
func Check(filename, what string, src []byte) *hcl.Diagnostic {
	if i := bytes.IndexByte(src, 0); i >= 0 {
		return &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Binary file",
			Detail: fmt.Sprintf("%s holds binary data (a NUL byte at offset %d), not HCL text: is it the %s?",
				filename, i, what),
			Subject: subject(filename, src, i),
		}
	}
	if utf8.Valid(src) {
		return nil
	}
	i := invalidAt(src)
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Not UTF-8 text",
		Detail: fmt.Sprintf("Byte 0x%02x at offset %d is not valid UTF-8. A %s is UTF-8 text: convert it (iconv -t UTF-8) or check that it is the right file.",
			src[i], i, what),
		Subject: subject(filename, src, i),
	}
}

// invalidAt returns the offset of the first byte of src that does not
// start a valid UTF-8 sequence.
func invalidAt(src []byte) int {
	for i := 0; i < len(src); {
		r, n := utf8.DecodeRune(src[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return len(src)
}

// subject is the range of the one byte at offset off.
func subject(filename string, src []byte, off int) *hcl.Range {
	line := 1 + bytes.Count(src[:off], []byte("\n"))
	col := 1 + off - (bytes.LastIndexByte(src[:off], '\n') + 1)
	start := hcl.Pos{Line: line, Column: col, Byte: off}
	end := hcl.Pos{Line: line, Column: col + 1, Byte: off + 1}
	return &hcl.Range{Filename: filename, Start: start, End: end}
}
