package convert

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"

	"go.yaml.in/yaml/v3"
)

// encodeJSON writes the documents as JSON, keys in the order they were written: one
// object as itself, several as the items of a List, as kubectl prints them.
func encodeJSON(docs []*yaml.Node) ([]byte, error) {
	var nodes []*yaml.Node
	for _, doc := range docs {
		if len(doc.Content) > 0 {
			nodes = append(nodes, doc.Content[0])
		}
	}
	if len(nodes) == 0 {
		return nil, errors.New("the input holds no objects to write as JSON")
	}
	if len(nodes) == 1 {
		return indentJSON(toJSON(nodes[0]))
	}
	var objs [][]byte
	for _, n := range nodes {
		// several documents make one List, so the items of a List join it
		members := []*yaml.Node{n}
		if items := lookup(n, "items"); isList(n) && items != nil && items.Kind == yaml.SequenceNode {
			members = items.Content
		}
		for _, m := range members {
			raw, err := toJSON(m)
			if err != nil {
				return nil, err
			}
			objs = append(objs, raw)
		}
	}
	out := []byte(`{"apiVersion":"v1","kind":"List","items":[` + string(bytes.Join(objs, []byte(","))) + "]}")
	return indentJSON(out, nil)
}

// indentJSON indents as kubectl's -o json does.
func indentJSON(raw []byte, err error) ([]byte, error) {
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := json.Indent(&b, raw, "", "    "); err != nil {
		return nil, err
	}
	b.WriteByte('\n')
	return b.Bytes(), nil
}

// encodeYAML writes the documents with a YAML encoder: comments and key order stay,
// spacing is the encoder's. A JSON document is written in block style.
func encodeYAML(docs []*yaml.Node) ([]byte, error) {
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	for _, doc := range docs {
		if len(doc.Content) == 0 {
			continue
		}
		if doc.Content[0].Style&yaml.FlowStyle != 0 {
			blockStyle(doc)
		}
		if err := enc.Encode(doc); err != nil {
			return nil, err
		}
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// blockStyle drops flow style and quotes, so JSON reads as the YAML a person writes;
// the encoder quotes again what would otherwise read as another type.
func blockStyle(n *yaml.Node) {
	n.Style = 0
	for _, c := range n.Content {
		blockStyle(c)
	}
}

// toJSON is a node as JSON, keys in the order they were written.
func toJSON(n *yaml.Node) ([]byte, error) {
	var b bytes.Buffer
	err := writeJSON(&b, n)
	return b.Bytes(), err
}

func writeJSON(b *bytes.Buffer, n *yaml.Node) error {
	n = resolve(n)
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			b.WriteString("null")
			return nil
		}
		return writeJSON(b, n.Content[0])
	case yaml.MappingNode:
		b.WriteByte('{')
		for i := 0; i+1 < len(n.Content); i += 2 {
			if i > 0 {
				b.WriteByte(',')
			}
			k := resolve(n.Content[i])
			if k.Kind != yaml.ScalarNode {
				return fmt.Errorf("line %d: a key that is not a plain value has no JSON form", k.Line)
			}
			key, _ := json.Marshal(k.Value)
			b.Write(key)
			b.WriteByte(':')
			if err := writeJSON(b, n.Content[i+1]); err != nil {
				return err
			}
		}
		b.WriteByte('}')
	case yaml.SequenceNode:
		b.WriteByte('[')
		for i, c := range n.Content {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := writeJSON(b, c); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	case yaml.ScalarNode:
		raw, err := scalarJSON(n)
		if err != nil {
			return err
		}
		b.Write(raw)
	}
	return nil
}

// scalarJSON is a scalar as the JSON value its YAML type reads as; a timestamp stays
// the string it was written as, as Kubernetes reads it.
func scalarJSON(n *yaml.Node) ([]byte, error) {
	switch n.ShortTag() {
	case "!!null":
		return []byte("null"), nil
	case "!!bool", "!!int", "!!float":
		var v any
		if err := n.Decode(&v); err != nil {
			return nil, fmt.Errorf("line %d: %w", n.Line, err)
		}
		if f, ok := v.(float64); ok && (math.IsInf(f, 0) || math.IsNaN(f)) {
			return nil, fmt.Errorf("line %d: %s has no JSON form", n.Line, n.Value)
		}
		return json.Marshal(v)
	}
	return json.Marshal(n.Value)
}

// sameDocuments reports whether text reads as the documents: the guard that lets
// the in-place edit stand only when it says exactly what the converted nodes say.
func sameDocuments(text []byte, docs []*yaml.Node) bool {
	got, err := parse(text)
	if err != nil {
		return false
	}
	a, errA := documentsJSON(got)
	b, errB := documentsJSON(docs)
	if errA != nil || errB != nil || len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

func documentsJSON(docs []*yaml.Node) ([][]byte, error) {
	var out [][]byte
	for _, doc := range docs {
		if len(doc.Content) == 0 {
			continue
		}
		raw, err := toJSON(doc)
		if err != nil {
			return nil, err
		}
		out = append(out, raw)
	}
	return out, nil
}
