// Package convert turns StatefulSet manifests into MiniStatefulSet manifests and
// back. The two kinds share every spec field name (DESIGN.md §1), so a manifest moves
// by changing apiVersion and kind only; everything else a person wrote, comments and
// key order included, stays as it was. status is dropped, because it is the
// controller's to write.
package convert

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"go.yaml.in/yaml/v3"

	"github.com/ministatefulset/ministatefulset/pkg/workload"
)

// The apiVersions of the two kinds.
const (
	StatefulSetAPIVersion     = "apps/v1"
	MiniStatefulSetAPIVersion = "apps.ministatefulset.dev/v1alpha1"
)

// Options say which way to convert and how to write the result.
type Options struct {
	// To is the kind every set becomes; "" turns each set into the other kind.
	To workload.Kind
	// JSON writes JSON (one object, or a List when there are several); otherwise
	// YAML, with the input's comments and key order.
	JSON bool
}

// Result is the converted manifest and what a person should hear about it.
type Result struct {
	Output []byte
	// Notes say what was dropped or left alone, one line each, for stderr.
	Notes []string
}

// Convert converts every set in a manifest of one or more YAML (or JSON) documents,
// each an object or a List. Other objects pass through unchanged. It writes nothing
// when any converted set would not decode as its new kind.
func Convert(src []byte, opts Options) (Result, error) {
	if opts.To != "" && opts.To != workload.StatefulSet && opts.To != workload.MiniStatefulSet {
		return Result{}, fmt.Errorf("cannot convert to %q: use statefulset or ministatefulset", opts.To)
	}
	docs, err := parse(src)
	if err != nil {
		return Result{}, err
	}
	c := &converter{opts: opts, text: newText(src)}
	for i, doc := range docs {
		c.document(i+1, doc)
	}
	if len(c.errs) > 0 {
		return Result{Notes: c.notes}, errors.Join(c.errs...)
	}
	out, err := c.output(docs)
	return Result{Output: out, Notes: c.notes}, err
}

// parse reads every document of a YAML stream.
func parse(src []byte) ([]*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(src))
	var docs []*yaml.Node
	for {
		doc := &yaml.Node{}
		err := dec.Decode(doc)
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("document %d is not valid YAML: %w", len(docs)+1, err)
		}
		docs = append(docs, doc)
	}
}

// converter carries the edits and findings of one Convert.
type converter struct {
	opts  Options
	text  *text
	notes []string
	errs  []error
}

// document converts one document: an object, or each item of a List.
func (c *converter) document(n int, doc *yaml.Node) {
	obj := root(doc)
	if obj == nil {
		return
	}
	if isList(obj) {
		items := lookup(obj, "items")
		if items == nil || items.Kind != yaml.SequenceNode {
			return
		}
		for i, item := range items.Content {
			if item.Kind == yaml.MappingNode {
				c.object(item, fmt.Sprintf("document %d, item %d", n, i+1))
			}
		}
		return
	}
	c.object(obj, fmt.Sprintf("document %d", n))
}

// object converts one object if it is a set, and checks the result.
func (c *converter) object(obj *yaml.Node, where string) {
	apiVersion, kind := scalar(lookup(obj, "apiVersion")), scalar(lookup(obj, "kind"))
	from, ok := kindOf(apiVersion, kind)
	if !ok {
		if kind == string(workload.StatefulSet) || kind == string(workload.MiniStatefulSet) {
			c.notes = append(c.notes, fmt.Sprintf("%s (%s %s, %s) left unchanged: only %s StatefulSets and %s MiniStatefulSets convert",
				where, kind, nameOf(obj), apiVersion, StatefulSetAPIVersion, MiniStatefulSetAPIVersion))
		}
		return
	}
	to := c.opts.To
	if to == "" {
		to = other(from)
	}
	if to == from {
		return
	}
	what := fmt.Sprintf("%s (%s %s)", where, from, nameOf(obj))
	c.setScalar(lookup(obj, "apiVersion"), apiVersionOf(to))
	c.setScalar(lookup(obj, "kind"), string(to))
	if c.removeKey(obj, "status") {
		c.notes = append(c.notes, what+": dropped status, which the controller writes")
	}
	c.errs = append(c.errs, check(obj, to, what)...)
}

// setScalar changes a scalar's value, in the text too when it can be found there.
func (c *converter) setScalar(n *yaml.Node, value string) {
	c.text.replaceScalar(n, value)
	n.Value = value
}

// removeKey removes a key and its value from a mapping, reporting whether it was there.
func (c *converter) removeKey(m *yaml.Node, key string) bool {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			c.text.removeEntry(m, m.Content[i], m.Content[i+1])
			m.Content = append(m.Content[:i:i], m.Content[i+2:]...)
			return true
		}
	}
	return false
}

// output writes the converted documents: the edited input text when every edit
// could be made in place (so nothing else moves), otherwise the documents encoded.
func (c *converter) output(docs []*yaml.Node) ([]byte, error) {
	if c.opts.JSON {
		return encodeJSON(docs)
	}
	if out, ok := c.text.result(); ok && allBlock(docs) && sameDocuments(out, docs) {
		return out, nil
	}
	return encodeYAML(docs)
}

// allBlock reports documents written in block style: JSON input is rewritten as YAML.
func allBlock(docs []*yaml.Node) bool {
	for _, doc := range docs {
		if len(doc.Content) > 0 && doc.Content[0].Style&yaml.FlowStyle != 0 {
			return false
		}
	}
	return true
}

// kindOf tells which kind of set an object is.
func kindOf(apiVersion, kind string) (workload.Kind, bool) {
	switch {
	case kind == string(workload.StatefulSet) && apiVersion == StatefulSetAPIVersion:
		return workload.StatefulSet, true
	case kind == string(workload.MiniStatefulSet) && apiVersion == MiniStatefulSetAPIVersion:
		return workload.MiniStatefulSet, true
	}
	return "", false
}

func other(k workload.Kind) workload.Kind {
	if k == workload.StatefulSet {
		return workload.MiniStatefulSet
	}
	return workload.StatefulSet
}

func apiVersionOf(k workload.Kind) string {
	if k == workload.StatefulSet {
		return StatefulSetAPIVersion
	}
	return MiniStatefulSetAPIVersion
}
