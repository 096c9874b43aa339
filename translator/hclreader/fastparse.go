package hclreader

import (
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// A fast path for the plain pieces of a large graph file.
//
// hclsyntax spends most of a large file's parse in its lexer (every token
// is scanned for grapheme clusters to count columns, and kept in a token
// slice) before its parser builds the syntax tree. Graph files written by
// `shardwise import` and hclwriter use a small part of the language: blocks
// with quoted labels, one argument per line, and values that are plain
// strings, numbers, true/false/null, references such as
// task.NAME.output.OUT, and lists and objects of those. fastParseBody reads
// exactly that subset, in ASCII with spaces and newlines only, straight into
// the syntax tree hclsyntax builds for it (the same nodes, values and
// ranges: TestFastParseSameAsHCLSyntax and FuzzFastParse check it deep-equal
// to hclsyntax.ParseConfig). Anything else (a comment, a tab, a heredoc, an
// escape other than \" \\ \n \r \t, a template sequence, an operator, a
// function call, a single-line block, a byte outside ASCII, a syntax
// error) makes it give up on the piece, which hclsyntax then parses: so
// every diagnostic is still hclsyntax's own, and any piece is parsed as
// hclsyntax parses it.

// fastParser reads src[i:end] at file position pos (line and column of
// byte i); pos.Byte is i plus the offset of src in the file.
type fastParser struct {
	src       []byte
	i, end    int
	line      int
	lineStart int // index in src of column 1 of line
	base      int // file offset of src[0]
	filename  string
}

// fastParseBody parses src, which starts at file position start, as the
// items of a body (a file or a piece of a graph block's body), returning
// its attributes and blocks as hclsyntax.ParseConfig does, or false when
// src is outside the subset described above.
func fastParseBody(src []byte, filename string, start hcl.Pos) (hclsyntax.Attributes, hclsyntax.Blocks, bool) {
	if start.Column != 1 {
		return nil, nil, false
	}
	p := &fastParser{src: src, end: len(src), line: start.Line, base: start.Byte, filename: filename}
	attrs, blocks, ok := p.body(false)
	if !ok || p.i != p.end {
		return nil, nil, false
	}
	return attrs, blocks, true
}

func (p *fastParser) pos() hcl.Pos {
	return hcl.Pos{Line: p.line, Column: p.i - p.lineStart + 1, Byte: p.base + p.i}
}

// rng is the range from a to the current position.
func (p *fastParser) rng(a hcl.Pos) hcl.Range {
	return hcl.Range{Filename: p.filename, Start: a, End: p.pos()}
}

func (p *fastParser) peek() byte {
	if p.i < p.end {
		return p.src[p.i]
	}
	return 0
}

func (p *fastParser) spaces() {
	for p.i < p.end && p.src[p.i] == ' ' {
		p.i++
	}
}

// newline consumes one newline.
func (p *fastParser) newline() {
	p.i++
	p.line++
	p.lineStart = p.i
}

// blanks skips spaces and newlines (inside brackets, where newlines do not
// count).
func (p *fastParser) blanks() {
	for p.i < p.end {
		switch p.src[p.i] {
		case ' ':
			p.i++
		case '\n':
			p.newline()
		default:
			return
		}
	}
}

// body reads items up to the end of src or, in a block, up to its closing
// brace (left unread).
func (p *fastParser) body(inBlock bool) (hclsyntax.Attributes, hclsyntax.Blocks, bool) {
	attrs, blocks := hclsyntax.Attributes{}, hclsyntax.Blocks{}
	for {
		p.spaces()
		switch b := p.peek(); {
		case p.i >= p.end:
			return attrs, blocks, !inBlock
		case b == '\n':
			p.newline()
			continue
		case b == '}':
			return attrs, blocks, inBlock
		}
		name, nameRange, ok := p.ident()
		if !ok {
			return nil, nil, false
		}
		p.spaces()
		if p.peek() == '=' {
			a, ok := p.attribute(name, nameRange)
			if _, dup := attrs[name]; !ok || dup {
				return nil, nil, false
			}
			attrs[name] = a
			continue
		}
		b, ok := p.block(name, nameRange)
		if !ok {
			return nil, nil, false
		}
		blocks = append(blocks, b)
	}
}

// endOfItem consumes what ends a body item: spaces, then a newline or the
// end of src.
func (p *fastParser) endOfItem() bool {
	p.spaces()
	if p.i >= p.end {
		return true
	}
	if p.src[p.i] != '\n' {
		return false
	}
	p.newline()
	return true
}

func (p *fastParser) attribute(name string, nameRange hcl.Range) (*hclsyntax.Attribute, bool) {
	eq := p.pos()
	p.i++
	if p.peek() == '=' {
		return nil, false // "==" is an operator
	}
	eqRange := p.rng(eq)
	p.spaces()
	expr, ok := p.expr()
	if !ok || !p.endOfItem() {
		return nil, false
	}
	return &hclsyntax.Attribute{
		Name: name, Expr: expr,
		SrcRange:    hcl.RangeBetween(nameRange, expr.Range()),
		NameRange:   nameRange,
		EqualsRange: eqRange,
	}, true
}

// block reads a block's labels and body after its type: quoted labels, an
// opening brace at the end of its line (or directly closed) and a closing
// brace alone on its line.
func (p *fastParser) block(typ string, typeRange hcl.Range) (*hclsyntax.Block, bool) {
	var labels []string
	var labelRanges []hcl.Range
	for p.peek() == '"' {
		s, _, r, ok := p.quoted()
		if !ok {
			return nil, false
		}
		labels, labelRanges = append(labels, s), append(labelRanges, r)
		p.spaces()
	}
	if p.peek() != '{' {
		return nil, false
	}
	open := p.pos()
	p.i++
	openRange := p.rng(open)
	p.spaces()
	if b := p.peek(); b != '\n' && b != '}' {
		return nil, false // a single-line block
	}
	attrs, blocks, ok := p.body(true)
	if !ok {
		return nil, false
	}
	cl := p.pos()
	p.i++
	closeRange := p.rng(cl)
	if !p.endOfItem() {
		return nil, false
	}
	return &hclsyntax.Block{
		Type: typ, Labels: labels,
		Body: &hclsyntax.Body{
			Attributes: attrs, Blocks: blocks,
			SrcRange: hcl.RangeBetween(openRange, closeRange),
			EndRange: hcl.Range{Filename: p.filename, Start: closeRange.End, End: closeRange.End},
		},
		TypeRange: typeRange, LabelRanges: labelRanges,
		OpenBraceRange: openRange, CloseBraceRange: closeRange,
	}, true
}

// ident reads an identifier: a letter or underscore, then letters, digits,
// underscores and dashes.
func (p *fastParser) ident() (string, hcl.Range, bool) {
	start := p.pos()
	j := p.i
	if j >= p.end || !(isLetter(p.src[j]) || p.src[j] == '_') {
		return "", hcl.Range{}, false
	}
	for j++; j < p.end && isNameByte(p.src[j]); j++ {
	}
	name, known := knownNames[string(p.src[p.i:j])]
	if !known {
		name = string(p.src[p.i:j])
	}
	p.i = j
	return name, p.rng(start), true
}

// knownNames holds the language's own names (argument names, block types,
// the roots and steps of references), so that reading one of them, most
// identifiers in a file, does not allocate a string.
var knownNames = func() map[string]string {
	m := map[string]string{}
	for _, s := range []*hcl.BodySchema{rootSchema, variableSchema, graphSchema, taskSchema,
		artifactSchema, outputSchema, inputSchema, hintsSchema, splitSchema} {
		for _, a := range s.Attributes {
			m[a.Name] = a.Name
		}
		for _, b := range s.Blocks {
			m[b.Type] = b.Type
		}
	}
	for _, n := range []string{"task", "var", "output", "true", "false", "null"} {
		m[n] = n
	}
	return m
}()

func isLetter(b byte) bool { return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' }
func isDigit(b byte) bool  { return b >= '0' && b <= '9' }

// isNameByte reports whether b may follow an identifier's first byte, in
// ASCII.
func isNameByte(b byte) bool { return isLetter(b) || isDigit(b) || b == '_' || b == '-' }

// expr reads one value: a term not followed by an operator, a traversal
// step the subset lacks, or anything else but what may end a value
// (spaces, then a newline, a comma or a closing bracket or brace).
func (p *fastParser) expr() (hclsyntax.Expression, bool) {
	e, ok := p.term()
	if !ok {
		return nil, false
	}
	j := p.i
	for j < p.end && p.src[j] == ' ' {
		j++
	}
	if j < p.end {
		switch p.src[j] {
		case '\n', ',', ']', '}':
		default:
			return nil, false
		}
	}
	return e, true
}

func (p *fastParser) term() (hclsyntax.Expression, bool) {
	switch b := p.peek(); {
	case b == '"':
		return p.template()
	case isDigit(b):
		return p.number()
	case b == '[':
		return p.tuple()
	case b == '{':
		return p.object()
	case isLetter(b) || b == '_':
		return p.traversal()
	}
	return nil, false
}

// template reads a quoted string without template sequences, as the
// TemplateExpr of one literal part that hclsyntax makes of it.
func (p *fastParser) template() (hclsyntax.Expression, bool) {
	s, lit, r, ok := p.quoted()
	if !ok || lit.Start.Byte == lit.End.Byte {
		return nil, false // "" has no parts: left to hclsyntax
	}
	return &hclsyntax.TemplateExpr{
		Parts:    []hclsyntax.Expression{&hclsyntax.LiteralValueExpr{Val: cty.StringVal(s), SrcRange: lit}},
		SrcRange: r,
	}, true
}

// quoted reads a quoted string: its value, the range of its text and the
// range of the whole with its quotes. It gives up on a template sequence
// (${, %{ and their escapes $${, %%{), an escape other than \" \\ \n \r
// \t, and a control or non-ASCII byte.
func (p *fastParser) quoted() (string, hcl.Range, hcl.Range, bool) {
	open := p.pos()
	p.i++
	litStart := p.pos()
	j, escaped := p.i, false
	for ; j < p.end && p.src[j] != '"'; j++ {
		switch c := p.src[j]; {
		case c < 0x20 || c >= 0x7f:
			return "", hcl.Range{}, hcl.Range{}, false
		case c == '\\':
			if j+1 >= p.end || strings.IndexByte(`"\nrt`, p.src[j+1]) < 0 {
				return "", hcl.Range{}, hcl.Range{}, false
			}
			escaped = true
			j++
		case c == '$' || c == '%':
			if j+1 < p.end && (p.src[j+1] == '{' || p.src[j+1] == c) {
				return "", hcl.Range{}, hcl.Range{}, false
			}
		}
	}
	if j >= p.end {
		return "", hcl.Range{}, hcl.Range{}, false
	}
	text := p.src[p.i:j]
	p.i = j
	lit := p.rng(litStart)
	p.i++
	s := string(text)
	if escaped {
		s = unescape(text)
	}
	return s, lit, p.rng(open), true
}

// unescape resolves the escapes quoted allows.
func unescape(text []byte) string {
	var b strings.Builder
	for k := 0; k < len(text); k++ {
		if text[k] != '\\' {
			b.WriteByte(text[k])
			continue
		}
		k++
		switch text[k] {
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		default:
			b.WriteByte(text[k])
		}
	}
	return b.String()
}

// number reads a decimal number: digits, an optional fraction and an
// optional exponent.
func (p *fastParser) number() (hclsyntax.Expression, bool) {
	start, j := p.pos(), p.i
	digits := func() bool {
		k := j
		for j < p.end && isDigit(p.src[j]) {
			j++
		}
		return j > k
	}
	digits()
	if j+1 < p.end && p.src[j] == '.' && isDigit(p.src[j+1]) {
		j++
		digits()
	}
	if j < p.end && (p.src[j] == 'e' || p.src[j] == 'E') {
		j++
		if j < p.end && (p.src[j] == '+' || p.src[j] == '-') {
			j++
		}
		if !digits() {
			return nil, false
		}
	}
	if j < p.end && (isLetter(p.src[j]) || p.src[j] == '_' || p.src[j] == '.') {
		return nil, false
	}
	v, err := cty.ParseNumberVal(string(p.src[p.i:j]))
	if err != nil {
		return nil, false
	}
	p.i = j
	return &hclsyntax.LiteralValueExpr{Val: v, SrcRange: p.rng(start)}, true
}

// traversal reads true, false, null or a reference NAME(.NAME)*.
func (p *fastParser) traversal() (hclsyntax.Expression, bool) {
	name, r, ok := p.ident()
	if !ok {
		return nil, false
	}
	switch name {
	case "true":
		return &hclsyntax.LiteralValueExpr{Val: cty.True, SrcRange: r}, true
	case "false":
		return &hclsyntax.LiteralValueExpr{Val: cty.False, SrcRange: r}, true
	case "null":
		return &hclsyntax.LiteralValueExpr{Val: cty.NullVal(cty.DynamicPseudoType), SrcRange: r}, true
	}
	t := make(hcl.Traversal, 1, p.steps())
	t[0] = hcl.TraverseRoot{Name: name, SrcRange: r}
	whole := r
	for p.peek() == '.' {
		dot := p.pos()
		p.i++
		attr, ar, ok := p.ident()
		if !ok {
			return nil, false
		}
		step := hcl.Range{Filename: p.filename, Start: dot, End: ar.End}
		t = append(t, hcl.TraverseAttr{Name: attr, SrcRange: step})
		whole = hcl.RangeBetween(whole, step)
	}
	if b := p.peek(); b == '(' || b == ':' || b == '[' {
		return nil, false
	}
	return &hclsyntax.ScopeTraversalExpr{Traversal: t, SrcRange: whole}, true
}

// steps counts the steps of the reference whose root was just read: one,
// and one more for each '.' followed by a name, to size its traversal.
func (p *fastParser) steps() int {
	n := 1
	for j := p.i; j+1 < p.end && p.src[j] == '.' && (isLetter(p.src[j+1]) || p.src[j+1] == '_'); {
		n++
		for j += 2; j < p.end && isNameByte(p.src[j]); j++ {
		}
	}
	return n
}

// tuple reads [v, v, ...], newlines allowed anywhere inside.
func (p *fastParser) tuple() (hclsyntax.Expression, bool) {
	open := p.pos()
	p.i++
	openRange := p.rng(open)
	var exprs []hclsyntax.Expression
	for {
		p.blanks()
		if p.peek() == ']' {
			break
		}
		if p.isFor() {
			return nil, false
		}
		e, ok := p.expr()
		if !ok {
			return nil, false
		}
		exprs = append(exprs, e)
		p.blanks()
		if p.peek() == ']' {
			break
		}
		if p.peek() != ',' {
			return nil, false
		}
		p.i++
	}
	cl := p.pos()
	p.i++
	return &hclsyntax.TupleConsExpr{Exprs: exprs, SrcRange: hcl.RangeBetween(openRange, p.rng(cl)), OpenRange: openRange}, true
}

// object reads { KEY = v ... } with names or quoted strings as keys,
// items ended by newlines or commas.
func (p *fastParser) object() (hclsyntax.Expression, bool) {
	open := p.pos()
	p.i++
	openRange := p.rng(open)
	var items []hclsyntax.ObjectConsItem
	for {
		p.blanks()
		if p.peek() == '}' {
			break
		}
		if p.isFor() {
			return nil, false
		}
		var key hclsyntax.Expression
		var ok bool
		switch b := p.peek(); {
		case b == '"':
			key, ok = p.template()
		case isLetter(b) || b == '_':
			key, ok = p.traversal()
		}
		if !ok {
			return nil, false
		}
		p.spaces()
		if b := p.peek(); b != '=' && b != ':' {
			return nil, false
		}
		p.i++
		if p.peek() == '=' {
			return nil, false
		}
		p.spaces()
		v, ok := p.expr()
		if !ok {
			return nil, false
		}
		items = append(items, hclsyntax.ObjectConsItem{KeyExpr: &hclsyntax.ObjectConsKeyExpr{Wrapped: key}, ValueExpr: v})
		p.spaces()
		switch p.peek() {
		case '}':
		case ',':
			p.i++
		case '\n':
			p.newline()
		default:
			return nil, false
		}
	}
	cl := p.pos()
	p.i++
	return &hclsyntax.ObjectConsExpr{Items: items, SrcRange: hcl.RangeBetween(openRange, p.rng(cl)), OpenRange: openRange}, true
}

// isFor reports whether a for expression starts here (left to hclsyntax).
func (p *fastParser) isFor() bool {
	rest := p.src[p.i:p.end]
	return len(rest) >= 4 && string(rest[:3]) == "for" && (rest[3] == ' ' || rest[3] == '\n')
}
