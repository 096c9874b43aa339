// Package hcltext writes HCL text directly, laid out byte for byte as
// hclwrite.Format (and so `nomad fmt`) lays it out: blocks indented two
// spaces a level, the "=" of consecutive one-line attributes aligned, and
// strings escaped as hclwrite escapes them. Building the same text through
// hclwrite's Body API and formatting it costs 20 to 30 times more, which
// matters for thousands of jobs and for graphs of 100,000 tasks; the
// writers that use this package keep an hclwrite oracle in their tests.
package hcltext

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// hclLine is one line of HCL output before layout.
type hclLine struct {
	// key is the name of an attribute whose value fits on this line; the
	// layout aligns the "=" of consecutive such lines. Empty otherwise.
	key string
	// text is the value of a key line, else the whole line ("" for a blank
	// line), without indentation.
	text string
	// net is the change in open brackets over the line, which drives the
	// indentation.
	net int
}

// Writer collects HCL lines and lays them out the way hclwrite.Format
// does: two spaces of indentation per line that opened brackets, and the
// "=" of consecutive one-line attributes aligned one space after the
// longest name.
type Writer struct {
	lines []hclLine
}

// Open starts a block: kind "label" ... {.
func (e *Writer) Open(kind string, labels ...string) {
	text := kind
	for _, l := range labels {
		text += " " + Quote(l)
	}
	e.lines = append(e.lines, hclLine{text: text + " {", net: 1})
}

// Close ends a block.
func (e *Writer) Close() { e.lines = append(e.lines, hclLine{text: "}", net: -1}) }

// Blank adds an empty line.
func (e *Writer) Blank() { e.lines = append(e.lines, hclLine{}) }

// Raw adds a line that is not a one-line attribute.
func (e *Writer) Raw(text string) { e.lines = append(e.lines, classify(text)) }

// Attr adds a one-line attribute whose value is already HCL text.
func (e *Writer) Attr(key, value string) {
	e.lines = append(e.lines, hclLine{key: key, text: value})
}

// Value adds an attribute holding a driver config value, written as
// hclwrite.TokensForValue writes the equivalent cty value: lists as
// one-line tuples, maps as objects with one attribute per line.
func (e *Writer) Value(key string, v any) error {
	var sb strings.Builder
	if err := writeValue(&sb, v); err != nil {
		return err
	}
	s := sb.String()
	if !strings.Contains(s, "\n") {
		e.Attr(key, s)
		return nil
	}
	for i, l := range strings.Split(s, "\n") {
		if i == 0 {
			l = key + " = " + l
		}
		e.Raw(l)
	}
	return nil
}

// writeValue writes v as an HCL expression. Strings never contain a raw
// newline (quote escapes it), so every "\n" written is a line break of an
// object constructor.
func writeValue(sb *strings.Builder, v any) error {
	switch x := v.(type) {
	case string:
		sb.WriteString(Quote(x))
	case bool:
		sb.WriteString(strconv.FormatBool(x))
	case int:
		sb.WriteString(strconv.Itoa(x))
	case int64:
		sb.WriteString(strconv.FormatInt(x, 10))
	case uint64:
		sb.WriteString(strconv.FormatUint(x, 10))
	case float64:
		sb.WriteString(strconv.FormatFloat(x, 'f', -1, 64))
	case []string:
		writeList(sb, x)
	case []int64:
		return writeTuple(sb, x)
	case []any:
		return writeTuple(sb, x)
	case map[string]string:
		return writeObject(sb, x)
	case map[string]any:
		return writeObject(sb, x)
	default:
		return fmt.Errorf("unsupported value type %T", v)
	}
	return nil
}

// List returns xs as a one-line HCL tuple of quoted strings.
func List(xs []string) string {
	var sb strings.Builder
	writeList(&sb, xs)
	return sb.String()
}

// writeList writes a tuple of strings.
func writeList(sb *strings.Builder, xs []string) {
	sb.WriteByte('[')
	for i, x := range xs {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString(Quote(x))
	}
	sb.WriteByte(']')
}

// writeTuple writes a tuple: [a, b] on one line, objects inside spanning
// lines ([{ ... }, { ... }]).
func writeTuple[T any](sb *strings.Builder, xs []T) error {
	sb.WriteByte('[')
	for i, x := range xs {
		if i > 0 {
			sb.WriteString(", ")
		}
		if err := writeValue(sb, x); err != nil {
			return fmt.Errorf("[%d]: %w", i, err)
		}
	}
	sb.WriteByte(']')
	return nil
}

// writeObject writes an object constructor, one attribute per line in key
// order ("{}" when empty); keys that are not identifiers are quoted.
func writeObject[T any](sb *strings.Builder, m map[string]T) error {
	if len(m) == 0 {
		sb.WriteString("{}")
		return nil
	}
	sb.WriteString("{\n")
	for _, k := range slices.Sorted(maps.Keys(m)) {
		sb.WriteString(ObjectKey(k))
		sb.WriteString(" = ")
		if err := writeValue(sb, m[k]); err != nil {
			return fmt.Errorf("%s: %w", k, err)
		}
		sb.WriteByte('\n')
	}
	sb.WriteByte('}')
	return nil
}

// ObjectKey returns k bare if it is an HCL identifier, else quoted.
func ObjectKey(k string) string {
	if ValidIdentifier(k) {
		return k
	}
	return Quote(k)
}

// classify splits a line as hclwrite's formatter does: it is a one-line
// attribute if it has an "=" after its first token and the brackets after
// that "=" balance. Brackets inside quoted strings do not count; quote
// escapes "${", so strings hold no template brackets.
func classify(s string) hclLine {
	net, eq, netAfter := 0, -1, 0
	inString := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if inString {
			if c == '\\' {
				i++
			} else if c == '"' {
				inString = false
			}
			continue
		}
		d := 0
		switch c {
		case '"':
			inString = true
		case '{', '[', '(':
			d = 1
		case '}', ']', ')':
			d = -1
		case '=':
			if eq < 0 {
				eq = i
			}
		}
		net += d
		if eq >= 0 {
			netAfter += d
		}
	}
	if eq > 1 && netAfter == 0 {
		return hclLine{key: strings.TrimRight(s[:eq], " "), text: strings.TrimLeft(s[eq+1:], " "), net: net}
	}
	return hclLine{text: s, net: net}
}

// Bytes returns the lines laid out (hclwrite's formatIndent and formatCells).
func (e *Writer) Bytes() []byte {
	indent := e.indents()
	pad := e.alignment(indent)
	size := 0
	for _, l := range e.lines {
		size += len(l.key) + len(l.text) + 16
	}
	out := make([]byte, 0, size)
	for i, l := range e.lines {
		if l.key == "" && l.text == "" {
			out = append(out, '\n')
			continue
		}
		out = appendSpaces(out, 2*indent[i])
		if l.key != "" {
			out = append(out, l.key...)
			out = appendSpaces(out, pad[i])
			out = append(out, "= "...)
		}
		out = append(out, l.text...)
		out = append(out, '\n')
	}
	return out
}

// indents returns each line's indentation level. A line that opens
// brackets on balance is indented at the current level and pushes one
// level; a line that closes them pops the levels they opened first.
func (e *Writer) indents() []int {
	stack := make([]int, 0, 10)
	out := make([]int, len(e.lines))
	for i, l := range e.lines {
		switch {
		case l.net > 0:
			out[i] = len(stack)
			stack = append(stack, l.net)
		case l.net < 0:
			for closed := -l.net; closed > 0 && len(stack) > 0; {
				top := &stack[len(stack)-1]
				if closed >= *top {
					closed -= *top
					stack = stack[:len(stack)-1]
				} else {
					*top -= closed
					closed = 0
				}
			}
			out[i] = len(stack)
		default:
			out[i] = len(stack)
		}
	}
	return out
}

// alignment returns, for each one-line attribute, the spaces between its
// name and "=": runs of consecutive attribute lines align their "=" one
// column after the widest.
func (e *Writer) alignment(indent []int) []int {
	pad := make([]int, len(e.lines))
	for start := 0; start < len(e.lines); {
		if e.lines[start].key == "" {
			start++
			continue
		}
		end, widest := start, 0
		for ; end < len(e.lines) && e.lines[end].key != ""; end++ {
			widest = max(widest, 2*indent[end]+width(e.lines[end].key))
		}
		for i := start; i < end; i++ {
			pad[i] = widest - 2*indent[i] - width(e.lines[i].key) + 1
		}
		start = end
	}
	return pad
}

// width is the display width of an attribute name: its length, counted in
// runes for non-ASCII names (hclwrite counts grapheme clusters; the two
// differ only for combining sequences).
func width(s string) int {
	if ascii(s) {
		return len(s)
	}
	return utf8.RuneCountInString(s)
}

func appendSpaces(b []byte, n int) []byte {
	for ; n > 0; n-- {
		b = append(b, ' ')
	}
	return b
}

// Quote returns s as an HCL quoted string literal, escaped exactly as
// hclwrite escapes it: \n \r \t \" \\, "${" and "%{" doubled to "$${" and
// "%%{" so they are not templates, and non-printable runes as \uXXXX or
// \UXXXXXXXX. Like hclwrite (through cty.StringVal), it writes non-ASCII
// text in Unicode normal form C, which is also what Nomad's parser reads
// back.
func Quote(s string) string {
	if plain(s) {
		return `"` + s + `"`
	}
	if !ascii(s) {
		s = cty.StringVal(s).AsString()
	}
	buf := make([]byte, 0, len(s)+8)
	buf = append(buf, '"')
	for i, r := range s {
		switch r {
		case '\n':
			buf = append(buf, '\\', 'n')
		case '\r':
			buf = append(buf, '\\', 'r')
		case '\t':
			buf = append(buf, '\\', 't')
		case '"':
			buf = append(buf, '\\', '"')
		case '\\':
			buf = append(buf, '\\', '\\')
		case '$', '%':
			buf = append(buf, byte(r))
			if i+1 < len(s) && s[i+1] == '{' {
				buf = append(buf, byte(r))
			}
		default:
			buf = appendPrintable(buf, r)
		}
	}
	return string(append(buf, '"'))
}

// appendPrintable appends r, or its \u escape if it is not printable.
func appendPrintable(buf []byte, r rune) []byte {
	switch {
	case unicode.IsPrint(r):
		return utf8.AppendRune(buf, r)
	case r < 65536:
		return fmt.Appendf(buf, "\\u%04x", r)
	default:
		return fmt.Appendf(buf, "\\U%08x", r)
	}
}

// ValidIdentifier is hclsyntax.ValidIdentifier with a fast path for ASCII
// ([A-Za-z_][A-Za-z0-9_-]*); hclsyntax runs its whole lexer per call.
func ValidIdentifier(s string) bool {
	if !ascii(s) {
		return hclsyntax.ValidIdentifier(s)
	}
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		letter := c == '_' || (c|0x20 >= 'a' && c|0x20 <= 'z')
		if !letter && (i == 0 || !(c == '-' || (c >= '0' && c <= '9'))) {
			return false
		}
	}
	return true
}

// ascii reports whether s is all ASCII.
func ascii(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// plain reports whether s is printable ASCII needing no escape.
func plain(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20 || c >= 0x7f, c == '"', c == '\\':
			return false
		case (c == '$' || c == '%') && i+1 < len(s) && s[i+1] == '{':
			return false
		}
	}
	return true
}
