package hclreader

import (
	"bytes"
	"sync/atomic"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/shardwise/shardwise/internal/parallel"
	"github.com/shardwise/shardwise/planner/graph"
)

// Parsing a large graph file in pieces.
//
// hclsyntax.ParseConfig of a whole 10,000-task file builds one token slice
// of about a million tokens (96 bytes each), grown by copying, and parses
// on one core. parseConfig instead cuts the graph block's body at lines
// between its items, parses each piece with hclsyntax.ParseConfig at the
// piece's own start position (so every range is the one a whole-file parse
// gives) on all cores, and joins the pieces into the bodies a whole-file
// parse returns. The cuts come from a light scan of the source (strings,
// templates, heredocs, comments and brackets); the pieces' parses check
// them: a piece cut anywhere but between items ends inside a string,
// heredoc, comment, bracket or block, which is a syntax error in that
// piece. Any diagnostic in any piece, or a file whose shape the scan does
// not handle, falls back to one whole-file parse, so diagnostics are
// always hclsyntax's own for the whole file.

// piecesMin is the smallest file parsed in pieces, and pieceBytes the
// least size of a piece; tests lower them to cut small files.
var (
	piecesMin  = 256 << 10
	pieceBytes = 2 << 10
)

// parseConfig parses src as hclsyntax.ParseConfig does from line 1,
// column 1, in pieces when it is large (see above). Only UTF-8 is cut:
// hclsyntax counts lines by grapheme cluster, and after an invalid byte a
// newline can join a cluster and go uncounted.
func parseConfig(filename string, src []byte) (*hcl.File, hcl.Diagnostics) {
	if len(src) >= piecesMin && utf8.Valid(src) {
		if cuts, ok := findCuts(src, pieceBytes); ok {
			if f := parsePieces(filename, src, cuts); f != nil {
				return f, nil
			}
		}
	}
	return hclsyntax.ParseConfig(src, filename, hcl.InitialPos)
}

// cuts is where findCuts cut a file: pieces[0] is the start of the line
// after the graph block's opening brace, each next piece starts where the
// one before ends, and the last ends at end, the start of the line of the
// closing brace, which is at close.
type cuts struct {
	open   int
	pieces []hcl.Pos
	end    int
	close  hcl.Pos
}

// frame is one open construct of the scan: a bracket ('{', '[', '('), a
// quoted template ('"'), a heredoc ('h', with its end marker) or a
// template interpolation or directive ('$').
type frame struct {
	kind   byte
	marker []byte
}

// findCuts scans src for the first top-level graph block and returns where
// to cut its body: at the start of lines between its items, pieces of at
// least size bytes. It returns false for anything it does not handle
// (the opening brace followed by more than spaces on its line, the closing
// brace with more than spaces around it on its line, a malformed heredoc
// header, a newline in a quoted string, an unclosed construct); then the
// file is parsed whole.
func findCuts(src []byte, size int) (cuts, bool) {
	var (
		c         = cuts{open: -1}
		stack     []frame
		line      = 1
		lineStart = 0  // offset of the current line's first byte
		itemStart = -1 // offset of the current top-level item
		atLine    = true
	)
	inGraph := func() bool { return c.open >= 0 && len(stack) == 1 }
	for i := 0; i < len(src); {
		b := src[i]
		top := byte(0)
		if len(stack) > 0 {
			top = stack[len(stack)-1].kind
		}
		switch top {
		case '"':
			switch {
			case b == '\n':
				return cuts{}, false
			case b == '\\':
				if i+1 < len(src) && src[i+1] == '\n' {
					return cuts{}, false
				}
				i += 2
			case b == '"':
				stack = stack[:len(stack)-1]
				i++
			case b == '$' || b == '%':
				i += templateByte(src, i, &stack)
			default:
				i = plainText(src, i+1)
			}
			continue
		case 'h':
			if atLine {
				atLine = false
				e := bytes.IndexByte(src[i:], '\n')
				if e < 0 {
					e = len(src) - i
				}
				if bytes.Equal(bytes.TrimSpace(src[i:i+e]), stack[len(stack)-1].marker) {
					stack = stack[:len(stack)-1]
					i += e
					continue
				}
			}
			if b == '\n' {
				line, lineStart, atLine = line+1, i+1, true
				i++
				continue
			}
			i += templateByte(src, i, &stack)
			continue
		}
		// Outside templates: expressions, brackets, comments.
		switch {
		case b == '\n':
			line, lineStart, atLine = line+1, i+1, true
			if len(stack) == 0 {
				itemStart = -1
			}
			i++
			if inGraph() {
				at := hcl.Pos{Line: line, Column: 1, Byte: i}
				if len(c.pieces) == 0 || i-c.pieces[len(c.pieces)-1].Byte >= size {
					c.pieces = append(c.pieces, at)
				}
			}
			continue
		case b == ' ' || b == '\t' || b == '\r':
			for i++; i < len(src) && src[i] == ' '; i++ { // indentation
			}
			continue
		case b == '#' || (b == '/' && i+1 < len(src) && src[i+1] == '/'):
			e := bytes.IndexByte(src[i:], '\n')
			if e < 0 {
				return cuts{}, false
			}
			i += e
			continue
		case b == '/' && i+1 < len(src) && src[i+1] == '*':
			e := bytes.Index(src[i+2:], []byte("*/"))
			if e < 0 {
				return cuts{}, false
			}
			comment := src[i : i+2+e+2]
			if n := bytes.Count(comment, []byte{'\n'}); n > 0 {
				line, lineStart = line+n, i+bytes.LastIndexByte(comment, '\n')+1
			}
			i += len(comment)
			atLine = false
			continue
		}
		atLine = false
		switch b {
		case '"':
			stack = append(stack, frame{kind: '"'})
			i++
		case '<':
			if i+1 >= len(src) || src[i+1] != '<' {
				i++ // a comparison
				break
			}
			n, marker, ok := heredocHeader(src[i:])
			if !ok {
				return cuts{}, false
			}
			stack = append(stack, frame{kind: 'h', marker: marker})
			i += n
			line, lineStart, atLine = line+1, i, true
		case '{', '[', '(':
			if b == '{' && len(stack) == 0 && c.open < 0 && isGraphHeader(src, itemStart) {
				if !blankUntilNewline(src[i+1:]) {
					return cuts{}, false
				}
				c.open = i
			}
			stack = append(stack, frame{kind: b})
			i++
		case '}', ']', ')':
			want := openerOf(b)
			if top != want && !(b == '}' && top == '$') {
				return cuts{}, false
			}
			if b == '}' && inGraph() {
				return closeCuts(src, c, i, line, lineStart)
			}
			stack = stack[:len(stack)-1]
			i++
		default:
			if len(stack) == 0 && itemStart < 0 {
				itemStart = i
			}
			for i++; i < len(src) && isIdentByte(src[i]); i++ { // the rest of a name or number
			}
		}
	}
	return cuts{}, false
}

// plainText returns the offset of the first byte from i on that can end or
// change a quoted string's text (a quote, a backslash, a newline, '$' or
// '%'), or len(src): the bytes before it are literal text.
func plainText(src []byte, i int) int {
	for i < len(src) {
		switch src[i] {
		case '"', '\\', '\n', '$', '%':
			return i
		}
		i++
	}
	return i
}

// openerOf is the opening bracket of closing bracket b.
func openerOf(b byte) byte {
	switch b {
	case '}':
		return '{'
	case ']':
		return '['
	}
	return '('
}

// closeCuts completes c with the graph block's closing brace at offset i
// on line (which starts at lineStart): it must have only spaces and tabs
// before it and only spaces after it on its line, so that its column is
// its byte offset in the line and nothing else follows it.
func closeCuts(src []byte, c cuts, i, line, lineStart int) (cuts, bool) {
	if len(bytes.Trim(src[lineStart:i], " \t")) != 0 || !blankUntilNewline(src[i+1:]) || len(c.pieces) == 0 {
		return cuts{}, false
	}
	c.end = lineStart
	if last := c.pieces[len(c.pieces)-1]; last.Byte == c.end && len(c.pieces) > 1 {
		c.pieces = c.pieces[:len(c.pieces)-1]
	}
	c.close = hcl.Pos{Line: line, Column: i - lineStart + 1, Byte: i}
	return c, true
}

// templateByte steps over the template text at src[i] (in a quoted string
// or a heredoc) and returns how many bytes: an escaped $${ or %%{ is
// literal text; ${ and %{ open an interpolation or directive.
func templateByte(src []byte, i int, stack *[]frame) int {
	b := src[i]
	if b != '$' && b != '%' {
		return 1
	}
	switch {
	case i+2 < len(src) && src[i+1] == b && src[i+2] == '{':
		return 3
	case i+1 < len(src) && src[i+1] == '{':
		*stack = append(*stack, frame{kind: '$'})
		return 2
	}
	return 1
}

// heredocHeader reads a heredoc's opening <<MARKER or <<-MARKER and its
// newline at the start of src, returning its length and the marker.
func heredocHeader(src []byte) (int, []byte, bool) {
	i := 2
	if i < len(src) && src[i] == '-' {
		i++
	}
	start := i
	for i < len(src) && isIdentByte(src[i]) {
		i++
	}
	if i == start {
		return 0, nil, false
	}
	marker := src[start:i]
	if i < len(src) && src[i] == '\r' {
		i++
	}
	if i >= len(src) || src[i] != '\n' {
		return 0, nil, false
	}
	return i + 1, marker, true
}

// isGraphHeader reports whether the top-level item starting at offset
// start is a graph block.
func isGraphHeader(src []byte, start int) bool {
	return start >= 0 && bytes.HasPrefix(src[start:], []byte("graph")) &&
		(len(src) == start+5 || !isIdentByte(src[start+5]))
}

func isIdentByte(b byte) bool {
	return b == '_' || b == '-' || b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= 0x80
}

// blankUntilNewline reports whether src holds only spaces, tabs and
// carriage returns up to its first newline or its end.
func blankUntilNewline(src []byte) bool {
	for _, b := range src {
		switch b {
		case '\n':
			return true
		case ' ', '\t', '\r':
		default:
			return false
		}
	}
	return true
}

// parsePieces parses src cut at c: the head (everything up to the graph
// block's body, with a closing brace added), the pieces of the body, and
// the tail after the graph block; and joins them into the file a
// whole-file parse gives. It returns nil if any part has a diagnostic or
// does not have the shape the cuts promised.
func parsePieces(filename string, src []byte, c cuts) *hcl.File {
	head, graph := parseFrame(filename, src, c)
	if head == nil {
		return nil
	}
	bodies := parseBodies(filename, src, c)
	if bodies == nil {
		return nil
	}
	body := graph.Body
	for _, b := range bodies {
		if !addAttributes(body.Attributes, b.Attributes) {
			return nil
		}
		body.Blocks = append(body.Blocks, b.Blocks...)
	}
	return head
}

// parseFrame parses src cut at c but for the pieces of the graph block's
// body: the head and the tail, joined into the file a whole-file parse
// gives less the graph body's items, and the graph block. It returns nil
// if either has a diagnostic or not the shape the cuts promised.
func parseFrame(filename string, src []byte, c cuts) (*hcl.File, *hclsyntax.Block) {
	headSrc := append(bytes.Clone(src[:c.pieces[0].Byte]), '}')
	head, diags := hclsyntax.ParseConfig(headSrc, filename, hcl.InitialPos)
	if len(diags) > 0 {
		return nil, nil
	}
	top := head.Body.(*hclsyntax.Body)
	if len(top.Blocks) == 0 {
		return nil, nil
	}
	graph := top.Blocks[len(top.Blocks)-1]
	if graph.Type != "graph" || graph.OpenBraceRange.Start.Byte != c.open ||
		len(graph.Body.Attributes) > 0 || len(graph.Body.Blocks) > 0 {
		return nil, nil
	}
	afterClose := hcl.Pos{Line: c.close.Line, Column: c.close.Column + 1, Byte: c.close.Byte + 1}
	tailFile, diags := hclsyntax.ParseConfig(src[afterClose.Byte:], filename, afterClose)
	if len(diags) > 0 {
		return nil, nil
	}
	tail := tailFile.Body.(*hclsyntax.Body)

	body := graph.Body
	graph.CloseBraceRange = hcl.Range{Filename: filename, Start: c.close, End: afterClose}
	body.SrcRange = hcl.RangeBetween(graph.OpenBraceRange, graph.CloseBraceRange)
	body.EndRange = hcl.Range{Filename: filename, Start: afterClose, End: afterClose}

	// top is also head's navigation root, so it is changed in place.
	if !addAttributes(top.Attributes, tail.Attributes) {
		return nil, nil
	}
	top.Blocks = append(top.Blocks, tail.Blocks...)
	top.SrcRange = hcl.RangeBetween(top.SrcRange, tail.SrcRange)
	top.EndRange = tail.EndRange
	head.Bytes = src
	return head, graph
}

// parseBodies parses the graph body's pieces on all cores, returning nil
// if any has a diagnostic.
func parseBodies(filename string, src []byte, c cuts) []*hclsyntax.Body {
	bodies := make([]*hclsyntax.Body, len(c.pieces))
	var failed atomic.Bool
	parallel.Chunks(len(c.pieces), 1, func(lo, hi int) {
		for k := lo; k < hi && !failed.Load(); k++ { // after a failure the file is parsed whole
			if bodies[k] = parsePiece(filename, src, c, k); bodies[k] == nil {
				failed.Store(true)
			}
		}
	})
	if failed.Load() {
		return nil
	}
	return bodies
}

// parsePiece parses piece k of the graph body (fastParseBody, else
// hclsyntax), returning nil if it has a diagnostic.
func parsePiece(filename string, src []byte, c cuts, k int) *hclsyntax.Body {
	end := c.end
	if k+1 < len(c.pieces) {
		end = c.pieces[k+1].Byte
	}
	piece := src[c.pieces[k].Byte:end]
	if attrs, blocks, ok := fastParseBody(piece, filename, c.pieces[k]); ok {
		return &hclsyntax.Body{Attributes: attrs, Blocks: blocks}
	}
	f, diags := hclsyntax.ParseConfig(piece, filename, c.pieces[k])
	if len(diags) > 0 {
		return nil
	}
	return f.Body.(*hclsyntax.Body)
}

// Decoding a large graph file as its pieces are parsed.
//
// parsePieces joins the pieces into one syntax tree, which decoding then
// reads: the whole tree, about 25 times the file's size, is in memory at
// once. decodeStreaming instead decodes each piece's tasks as soon as the
// piece is parsed, on the same core, so that a piece's tree is garbage
// once its tasks are read, and keeps only what the graph needs. It gives
// exactly what parsing the file whole and decoding it gives: the
// variables and the graph block come from the head and the tail, parsed
// and decoded first; each piece's tasks are decoded by decodeTaskBlock and
// added in block order by buildGraph, as decodeGraph does. A file it
// cannot read so (not cut, a piece with a diagnostic, an item in the graph
// block other than its arguments and labelled task blocks, an argument
// given twice) is left to Parse's usual path, which reports the errors.

// decodeStreaming reads src as Parse does, decoding the graph block's
// pieces as they are parsed (see above). It returns false, having
// reported nothing, when the file is to be read the usual way.
func decodeStreaming(filename string, src []byte, opts Options) (*graph.Graph, hcl.Diagnostics, bool) {
	if !fastDecode || len(src) < piecesMin || !utf8.Valid(src) {
		return nil, nil, false
	}
	c, ok := findCuts(src, pieceBytes)
	if !ok {
		return nil, nil, false
	}
	file, graphBlock := parseFrame(filename, src, c)
	if file == nil {
		return nil, nil, false
	}
	r := &reader{opts: opts}
	b := r.decodeRoot(file)
	if b == nil || b.Body != hcl.Body(graphBlock.Body) {
		return nil, nil, false
	}
	type piece struct {
		attrs hclsyntax.Attributes
		tasks []decodedTask
	}
	pieces := make([]piece, len(c.pieces))
	var failed atomic.Bool
	// Chunks hands a range of pieces to each call: all of them at once
	// when it runs on one core (GOMAXPROCS 1).
	parallel.Chunks(len(c.pieces), 1, func(lo, hi int) {
		for k := lo; k < hi && !failed.Load(); k++ {
			body := parsePiece(filename, src, c, k)
			if body == nil || !matches(body, graphSchema) {
				failed.Store(true)
				return
			}
			blocks := inPlace(body).blocks
			pieces[k] = piece{attrs: body.Attributes, tasks: make([]decodedTask, len(blocks))}
			for i, tb := range blocks {
				pieces[k].tasks[i] = r.decodeTaskBlock(tb)
			}
		}
	})
	if failed.Load() {
		return nil, nil, false
	}
	attrs := hclsyntax.Attributes{}
	n := 0
	for _, p := range pieces {
		if !addAttributes(attrs, p.attrs) {
			return nil, nil, false
		}
		n += len(p.tasks)
	}
	tasks := make([]decodedTask, 0, n)
	for _, p := range pieces {
		tasks = append(tasks, p.tasks...)
	}
	g := r.buildGraph(b, content{syn: attrs}, tasks)
	if r.diags.HasErrors() {
		return nil, r.diags, true
	}
	return g, r.diags, true
}

// addAttributes adds from's attributes to to, reporting false if one is
// already there (a whole-file parse reports that as an error).
func addAttributes(to, from hclsyntax.Attributes) bool {
	for name, a := range from {
		if _, dup := to[name]; dup {
			return false
		}
		to[name] = a
	}
	return true
}
