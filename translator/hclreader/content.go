package hclreader

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// Reading a block's body without hcl's schema machinery.
//
// hcl's Body.Content checks a body against a schema and returns its
// arguments and blocks: for a syntax-tree body it builds four maps and a
// copy of the body on each call, which for a 10,000-task file (four bodies
// a task) was a third of decoding's time and memory. Nearly every body of
// a graph file matches its schema exactly, and then Content says nothing
// and returns the body's own arguments and blocks; so content reads such a
// body in place, and leaves any other (an argument or block the schema
// lacks, a block with the wrong number of labels, a required argument
// missing, a body not from hclsyntax) to Content, whose diagnostics are the
// reader's. TestContentSameAsBodyContent checks the two agree.

// fastDecode reads matching bodies in place and literal strings directly
// (value); tests clear it to read every body through Body.Content and
// every value through Expression.Value, for comparison.
var fastDecode = true

// content is the arguments and blocks of one body under its schema.
type content struct {
	// syn is the body's own arguments when it matched its schema; else
	// attrs holds Body.Content's.
	syn   hclsyntax.Attributes
	attrs hcl.Attributes
	// blocks are the body's blocks in source order, as Body.Content gives
	// them (every block of a matching body).
	blocks hcl.Blocks
}

// attr returns argument name's expression and the range of the whole
// argument (name, equals sign and value).
func (c content) attr(name string) (hcl.Expression, hcl.Range, bool) {
	if c.syn != nil {
		if a, ok := c.syn[name]; ok {
			return a.Expr, a.SrcRange, true
		}
		return nil, hcl.Range{}, false
	}
	if a, ok := c.attrs[name]; ok {
		return a.Expr, a.Range, true
	}
	return nil, hcl.Range{}, false
}

// ofType returns the blocks of type typ, in source order.
func (c content) ofType(typ string) hcl.Blocks {
	var out hcl.Blocks
	for _, b := range c.blocks {
		if b.Type == typ {
			out = append(out, b)
		}
	}
	return out
}

// content reads body under schema, recording Body.Content's diagnostics
// when the body does not match it exactly (see above).
func (r *reader) content(body hcl.Body, schema *hcl.BodySchema) content {
	if syn, ok := body.(*hclsyntax.Body); ok && fastDecode && matches(syn, schema) {
		return inPlace(syn)
	}
	bc, diags := body.Content(schema)
	r.diags = append(r.diags, diags...)
	return content{attrs: bc.Attributes, blocks: bc.Blocks}
}

// inPlace is the content of b, which matches its schema (matches): its own
// arguments and all its blocks.
func inPlace(b *hclsyntax.Body) content {
	c := content{syn: b.Attributes}
	if len(b.Blocks) > 0 {
		// One allocation for the lot, not one per block.
		blocks := make([]hcl.Block, len(b.Blocks))
		c.blocks = make(hcl.Blocks, len(b.Blocks))
		for i, blk := range b.Blocks {
			blocks[i] = hcl.Block{
				Type: blk.Type, Labels: blk.Labels, Body: blk.Body,
				DefRange: blk.DefRange(), TypeRange: blk.TypeRange, LabelRanges: blk.LabelRanges,
			}
			c.blocks[i] = &blocks[i]
		}
	}
	return c
}

// matches reports whether Body.Content of b under schema gives no
// diagnostic and every argument and block of b: each argument is in the
// schema, each required one is present, and each block's type is in the
// schema with as many labels as it names. (A body straight from a parse
// hides nothing; hcl hides arguments and blocks only in the remainder
// bodies of PartialContent, which the reader never reads.)
func matches(b *hclsyntax.Body, schema *hcl.BodySchema) bool {
	// Schema names are distinct: if as many of them are present as the
	// body has arguments, every argument is in the schema.
	found := 0
	for _, a := range schema.Attributes {
		if _, ok := b.Attributes[a.Name]; ok {
			found++
		} else if a.Required {
			return false
		}
	}
	if found != len(b.Attributes) {
		return false
	}
	for _, blk := range b.Blocks {
		if !hasBlock(schema, blk.Type, len(blk.Labels)) {
			return false
		}
	}
	return true
}

func hasBlock(schema *hcl.BodySchema, typ string, labels int) bool {
	for _, h := range schema.Blocks {
		if h.Type == typ {
			return len(h.LabelNames) == labels
		}
	}
	return false
}
