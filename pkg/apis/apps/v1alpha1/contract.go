package v1alpha1

import "encoding/json"

// Recode moves a value between MiniStatefulSet's types and apps/v1 StatefulSet's
// through JSON. Every field the two kinds share has the same JSON name and meaning:
// that contract lets a manifest move between them by changing only apiVersion and
// kind, and lets the controller drive StatefulSets with MiniStatefulSet's code.
// Fields the target type has not are dropped.
func Recode(from, to any) error {
	raw, err := json.Marshal(from)
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, to)
}
