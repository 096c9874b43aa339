package catalog

import (
	"fmt"
	"strings"
)

// Nomad's interpolation set for constraints, as Nomad v1.6.1 resolves it
// (scheduler/feasible.go, resolveTarget and resolveDeviceTarget; docs,
// "Variable Interpolation"). Anything else that starts with "${" resolves
// to nothing, and a target without "${" is compared as literal text, so a
// constraint on either can never be met: Nomad accepts the job and the
// shard waits forever for a node.
var (
	// nodeTargets are the fixed node interpolations.
	nodeTargets = []string{"${node.unique.id}", "${node.unique.name}", "${node.datacenter}", "${node.class}", "${node.pool}"}
	// nodePrefixes take a node attribute or meta key after the prefix.
	nodePrefixes = []string{"${attr.", "${meta."}
	// deviceTargets are the fixed device interpolations, valid only in a
	// device block's constraints.
	deviceTargets = []string{"${device.ids}", "${device.model}", "${device.vendor}", "${device.type}"}
	// devicePrefix takes a device attribute after the prefix.
	devicePrefix = "${device.attr."
)

const (
	nodeForms   = "${node.unique.id}, ${node.unique.name}, ${node.datacenter}, ${node.class}, ${node.pool}, ${attr.NAME} or ${meta.NAME}"
	deviceForms = "${device.attr.NAME}, ${device.model}, ${device.vendor}, ${device.type} or ${device.ids}"
)

// CheckTarget returns nil when target is a constraint attribute Nomad can
// resolve: one of the node interpolations, or with device (a constraint
// inside a device block) one of the device interpolations. Otherwise the
// error says why and, where it can guess, what was meant.
func CheckTarget(target string, device bool) error {
	forms, where := nodeForms, "A constraint"
	if device {
		forms, where = deviceForms, "A device constraint"
	}
	if !strings.HasPrefix(target, "${") {
		return fmt.Errorf("%q is literal text, not an interpolation: Nomad would compare the text itself and never a node's value. %s names one of %s.%s",
			target, where, forms, guess("${"+target+"}", device))
	}
	if validTarget(target, device) {
		return nil
	}
	if !device && validTarget(target, true) {
		return fmt.Errorf("%q names a device attribute, which Nomad resolves only in a constraint inside the device block. %s names one of %s.", target, where, forms)
	}
	if device && validTarget(target, false) {
		return fmt.Errorf("%q names a node attribute, which Nomad does not resolve inside a device block; move the constraint out of it. %s names one of %s.", target, where, forms)
	}
	return fmt.Errorf("%q is not an interpolation Nomad resolves, so no node would ever satisfy the constraint. %s names one of %s.%s",
		target, where, forms, guess(target, device))
}

// validTarget reports whether target is exactly one interpolation of the
// node (or, with device, device) set.
func validTarget(target string, device bool) bool {
	fixed, prefixes := nodeTargets, nodePrefixes
	if device {
		fixed, prefixes = deviceTargets, []string{devicePrefix}
	}
	for _, f := range fixed {
		if target == f {
			return true
		}
	}
	for _, p := range prefixes {
		if key, ok := strings.CutPrefix(target, p); ok {
			key, ok = strings.CutSuffix(key, "}")
			return ok && validKey(key)
		}
	}
	return false
}

// validKey reports whether key can be an attribute or meta key that
// Nomad looks up as written: not empty, and without blanks, braces,
// brackets, quotes or "$" (an index form such as meta["x"] is not read).
func validKey(key string) bool {
	return key != "" && !strings.ContainsAny(key, " \t\n{}[]\"'$")
}

// guess returns ` Did you mean "..."?` for a target that looks like a
// known one, else "".
func guess(target string, device bool) string {
	inner := strings.TrimSuffix(strings.TrimPrefix(target, "${"), "}")
	var g string
	switch {
	case device:
		if k := lastKey(inner); k != "" && !strings.HasPrefix(inner, "device.") {
			g = devicePrefix + k + "}"
		}
	case strings.HasPrefix(inner, "meta[") || strings.HasPrefix(inner, "attr["):
		// An index form: Nomad reads keys only after a dot.
		if k := indexKey(inner); k != "" {
			return fmt.Sprintf(" Write the key after a dot: \"$${%s.%s}\" (in a catalog file, $$ keeps HCL from reading the interpolation).", inner[:4], k)
		}
	case strings.HasPrefix(inner, "node."):
		for _, f := range nodeTargets {
			if last := f[strings.LastIndexByte(f, '.')+1 : len(f)-1]; strings.Contains(inner[len("node."):], last) {
				g = f
				break
			}
		}
	case inner == "arch":
		g = "${attr.cpu.arch}"
	case !strings.HasPrefix(inner, "attr.") && !strings.HasPrefix(inner, "meta.") && validKey(inner):
		g = "${attr." + inner + "}"
	}
	if g == "" {
		return ""
	}
	return fmt.Sprintf(" Did you mean %q?", g)
}

// lastKey returns inner's text after a known prefix ("attr.memory" ->
// "memory"), or inner itself when it is a plain key.
func lastKey(inner string) string {
	for _, p := range []string{"attr.", "meta.", "node."} {
		if k, ok := strings.CutPrefix(inner, p); ok {
			return k
		}
	}
	if validKey(inner) {
		return inner
	}
	return ""
}

// indexKey returns KEY of meta["KEY"] or attr["KEY"], or "".
func indexKey(inner string) string {
	k, ok := strings.CutPrefix(inner[4:], `["`)
	if !ok {
		return ""
	}
	k, ok = strings.CutSuffix(k, `"]`)
	if !ok || !validKey(k) {
		return ""
	}
	return k
}
