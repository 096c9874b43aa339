package hclwriter

import (
	"strconv"
	"strings"
)

// OriginalNameEnv is the env key Write adds to a task whose name it had to
// sanitise, holding the name as it was in the graph.
const OriginalNameEnv = "SHARDWISE_ORIGINAL_NAME"

// IsIdentifier reports whether s is a name Write keeps as it is: an ASCII
// letter or underscore followed by ASCII letters, digits, underscores and
// hyphens. Such names are valid HCL identifiers and so can be used in
// traversals (task.NAME.output.OUT).
func IsIdentifier(s string) bool {
	if s == "" || !isStart(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !isContinue(s[i]) {
			return false
		}
	}
	return true
}

func isStart(c byte) bool {
	return c == '_' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
}

func isContinue(c byte) bool {
	return isStart(c) || ('0' <= c && c <= '9') || c == '-'
}

// Sanitize maps s to an identifier (see IsIdentifier) without regard to other
// names: every rune outside [A-Za-z0-9_-] becomes one "_", and "t_" is
// prefixed when the result would start with a digit or a hyphen
// or be empty. Identifiers are returned unchanged.
func Sanitize(s string) string {
	if IsIdentifier(s) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if r < 0x80 && isContinue(byte(r)) {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	out := b.String()
	if out == "" || !isStart(out[0]) {
		out = "t_" + out
	}
	return out
}

// Identifiers maps names to distinct identifiers, position by position.
//
// The mapping is deterministic: names that are already identifiers keep
// themselves; every other name becomes Sanitize(name), and if that is taken
// (by an identifier in names or an earlier sanitised name) it gets the first
// free suffix "_2", "_3", ... Names must be distinct; a repeated name maps to
// the same identifier as its first occurrence.
func Identifiers(names []string) []string {
	out := make([]string, len(names))
	taken := make(map[string]bool, len(names))
	for i, n := range names {
		if IsIdentifier(n) {
			out[i] = n
			taken[n] = true
		}
	}
	assigned := map[string]string{}
	for i, n := range names {
		if out[i] != "" {
			continue
		}
		if id, ok := assigned[n]; ok {
			out[i] = id
			continue
		}
		id := freeName(Sanitize(n), taken)
		taken[id] = true
		assigned[n] = id
		out[i] = id
	}
	return out
}

// freeName returns base if it is not taken, else base_K for the smallest
// K >= 2 that is free.
func freeName(base string, taken map[string]bool) string {
	if !taken[base] {
		return base
	}
	for k := 2; ; k++ {
		if c := base + "_" + strconv.Itoa(k); !taken[c] {
			return c
		}
	}
}
