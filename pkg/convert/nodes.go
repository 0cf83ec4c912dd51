package convert

import "go.yaml.in/yaml/v3"

// root is a document's top-level mapping, nil for an empty document or one that
// holds something else (a list of strings is not ours to convert).
func root(doc *yaml.Node) *yaml.Node {
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil
	}
	if n := doc.Content[0]; n.Kind == yaml.MappingNode {
		return n
	}
	return nil
}

// isList reports kubectl's List: a v1 object whose items are whole objects.
func isList(obj *yaml.Node) bool {
	return scalar(lookup(obj, "kind")) == "List"
}

// lookup is the value of a mapping's key, nil when absent.
func lookup(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if k := m.Content[i]; k.Kind == yaml.ScalarNode && k.Value == key {
			return resolve(m.Content[i+1])
		}
	}
	return nil
}

// scalar is a scalar node's value, "" for anything else.
func scalar(n *yaml.Node) string {
	if n == nil || n.Kind != yaml.ScalarNode {
		return ""
	}
	return n.Value
}

// resolve follows an alias to the node it names.
func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// nameOf is metadata.name, for messages.
func nameOf(obj *yaml.Node) string {
	if name := scalar(lookup(lookup(obj, "metadata"), "name")); name != "" {
		return name
	}
	return "<no name>"
}
