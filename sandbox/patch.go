package sandbox

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// patchOp is one JSON Patch operation; Value stays raw so "absent" and "null"
// can be told apart.
type patchOp struct {
	Op    string          `json:"op"`
	Path  string          `json:"path"`
	Value json.RawMessage `json:"value"`
	From  string          `json:"from"`
}

var patchXMLFields = map[string]docKind{
	"applicationXml":       docApplication,
	"correlationConfigXml": docCorrelation,
	"sourceConfigXml":      docSourceConfig,
}

const patchableText = "connectorMetadata, applicationXml, correlationConfigXml and sourceConfigXml"

// applyPatch applies ops in order to r (a copy the caller discards on error).
func (s *store) applyPatch(r *record, ops []patchOp) error {
	for i, op := range ops {
		if err := s.applyOne(r, op); err != nil {
			return fmt.Errorf("operation %d (%s %s): %w", i, op.Op, op.Path, err)
		}
	}
	return nil
}

func (s *store) applyOne(r *record, op patchOp) error {
	switch op.Op {
	case "add", "replace", "remove":
	case "move", "copy", "test":
		return fmt.Errorf("op %q is not supported here; use add, replace or remove", op.Op)
	default:
		return fmt.Errorf("unknown op %q; use add, replace or remove", op.Op)
	}
	toks, err := splitPointer(op.Path)
	if err != nil {
		return err
	}
	if len(toks) == 0 {
		return fmt.Errorf("the whole document cannot be patched; only %s can", patchableText)
	}
	needValue := op.Op != "remove"
	if needValue && len(op.Value) == 0 {
		return fmt.Errorf("%s needs a value", op.Op)
	}
	if k, ok := patchXMLFields[toks[0]]; ok {
		if len(toks) > 1 {
			return fmt.Errorf("%s is a string; it has no members to patch", toks[0])
		}
		if op.Op == "remove" {
			r.docs[k] = nil
			r.written[k] = true
			return nil
		}
		var v string
		if err := json.Unmarshal(op.Value, &v); err != nil {
			return fmt.Errorf("the value for %s must be a string of XML", toks[0])
		}
		if err := checkWellFormed([]byte(v)); err != nil {
			return fmt.Errorf("the value for %s is not well-formed XML: %w", toks[0], err)
		}
		r.docs[k] = []byte(v)
		r.written[k] = true
		return nil
	}
	if toks[0] != "connectorMetadata" {
		return fmt.Errorf("%s cannot be patched; only %s can", toks[0], patchableText)
	}
	var val any
	if needValue {
		d := json.NewDecoder(bytes.NewReader(op.Value))
		d.UseNumber()
		if err := d.Decode(&val); err != nil {
			return fmt.Errorf("bad value: %w", err)
		}
	}
	meta := cloneJSON(r.metadata)
	if len(toks) == 1 {
		if op.Op == "remove" {
			r.metadata = nil
			return nil
		}
		m, ok := val.(map[string]any)
		if !ok {
			return fmt.Errorf("connectorMetadata must be an object")
		}
		r.metadata = m
		return nil
	}
	var root any = meta
	if meta == nil {
		if op.Op != "add" || len(toks) != 2 {
			return fmt.Errorf("connectorMetadata is empty; nothing at %s", op.Path)
		}
		root = map[string]any{}
	}
	out, err := pointerApply(root, toks[1:], op.Op, val)
	if err != nil {
		return err
	}
	r.metadata = out.(map[string]any)
	return nil
}

func splitPointer(p string) ([]string, error) {
	if p == "" {
		return nil, nil
	}
	if !strings.HasPrefix(p, "/") {
		return nil, fmt.Errorf("path %q is not a JSON pointer (it must start with /)", p)
	}
	parts := strings.Split(p[1:], "/")
	for i, s := range parts {
		parts[i] = strings.ReplaceAll(strings.ReplaceAll(s, "~1", "/"), "~0", "~")
	}
	return parts, nil
}

// pointerApply applies one add/replace/remove at path inside doc (RFC 6902)
// and returns the new doc; containers along the path are modified in place,
// so doc must be a private copy.
func pointerApply(doc any, path []string, op string, val any) (any, error) {
	key := path[0]
	last := len(path) == 1
	switch c := doc.(type) {
	case map[string]any:
		cur, exists := c[key]
		if !last {
			if !exists {
				return nil, fmt.Errorf("no member %q", key)
			}
			child, err := pointerApply(cur, path[1:], op, val)
			if err != nil {
				return nil, err
			}
			c[key] = child
			return c, nil
		}
		switch op {
		case "add":
			c[key] = val
		case "replace":
			if !exists {
				return nil, fmt.Errorf("no member %q to replace; use add", key)
			}
			c[key] = val
		case "remove":
			if !exists {
				return nil, fmt.Errorf("no member %q to remove", key)
			}
			delete(c, key)
		}
		return c, nil
	case []any:
		if last && op == "add" && key == "-" {
			return append(c, val), nil
		}
		idx, err := strconv.Atoi(key)
		if err != nil || idx < 0 || key != strconv.Itoa(idx) {
			return nil, fmt.Errorf("%q is not an array index", key)
		}
		limit := len(c)
		if last && op == "add" {
			limit++
		}
		if idx >= limit {
			return nil, fmt.Errorf("array index %d out of range", idx)
		}
		if !last {
			child, err := pointerApply(c[idx], path[1:], op, val)
			if err != nil {
				return nil, err
			}
			c[idx] = child
			return c, nil
		}
		switch op {
		case "add":
			c = append(c, nil)
			copy(c[idx+1:], c[idx:])
			c[idx] = val
		case "replace":
			c[idx] = val
		case "remove":
			c = append(c[:idx], c[idx+1:]...)
		}
		return c, nil
	default:
		return nil, fmt.Errorf("cannot descend into a scalar at %q", key)
	}
}

// cloneJSON deep-copies a decoded JSON value.
func cloneJSON[T any](v T) T {
	var out any
	switch x := any(v).(type) {
	case map[string]any:
		if x == nil {
			return v
		}
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = cloneJSON(e)
		}
		out = m
	case []any:
		s := make([]any, len(x))
		for i, e := range x {
			s[i] = cloneJSON(e)
		}
		out = s
	default:
		return v
	}
	return out.(T)
}
