package compare

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes/scheme"

	appsv1alpha1 "github.com/ministatefulset/ministatefulset/pkg/apis/apps/v1alpha1"
	"github.com/ministatefulset/ministatefulset/pkg/workload"
)

// The apiVersion and kind of each kind of set: a manifest moves between them by
// changing these two fields only.
var setTypes = map[workload.Kind][2]string{
	workload.StatefulSet:     {"apps/v1", "StatefulSet"},
	workload.MiniStatefulSet: {appsv1alpha1.SchemeGroupVersion.String(), appsv1alpha1.Kind},
}

// Manifest is what a compare run starts from: one set, read as an apps/v1
// StatefulSet whichever kind the file wrote it as, and the documents beside it
// (its headless Service, ConfigMaps, ...), created as they are in both namespaces.
type Manifest struct {
	// Kind is the kind the file wrote the set as.
	Kind   workload.Kind
	Set    *appsv1.StatefulSet
	Others []runtime.Object
}

// ParseManifest reads a YAML or JSON file of one or more documents.
func ParseManifest(data []byte) (*Manifest, error) {
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	m := &Manifest{}
	for n := 1; ; n++ {
		var doc map[string]any
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("document %d is not YAML or JSON: %w", n, err)
		}
		if len(doc) == 0 {
			continue
		}
		if kind, ok := setKind(doc); ok {
			if m.Set != nil {
				return nil, fmt.Errorf("the file holds two sets (%s and document %d): compare runs one set; put each in its own file", m.Set.Name, n)
			}
			sts, err := statefulSetOf(doc)
			if err != nil {
				return nil, fmt.Errorf("document %d: %w", n, err)
			}
			m.Kind, m.Set = kind, sts
			continue
		}
		obj, err := otherObject(doc)
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", n, err)
		}
		m.Others = append(m.Others, obj)
	}
	if m.Set == nil {
		return nil, errors.New("the file holds no StatefulSet (apps/v1) or MiniStatefulSet (apps.ministatefulset.dev/v1alpha1): compare needs one")
	}
	if m.Set.Name == "" {
		return nil, errors.New("the set in the file has no metadata.name")
	}
	return m, nil
}

// setKind reports which kind of set a document is, if it is one.
func setKind(doc map[string]any) (workload.Kind, bool) {
	for kind, t := range setTypes {
		if doc["apiVersion"] == t[0] && doc["kind"] == t[1] {
			return kind, true
		}
	}
	return "", false
}

// statefulSetOf reads a set document of either kind as a StatefulSet.
func statefulSetOf(doc map[string]any) (*appsv1.StatefulSet, error) {
	// A status is the controller's, not the manifest's, and the two kinds' differ
	// (a MiniStatefulSet's carries a selector).
	delete(doc, "status")
	sts := &appsv1.StatefulSet{}
	if err := retype(doc, workload.StatefulSet, sts); err != nil {
		return nil, err
	}
	return sts, nil
}

// ToMiniStatefulSet is the StatefulSet as a MiniStatefulSet: only apiVersion and
// kind change; the status is left behind.
func ToMiniStatefulSet(sts *appsv1.StatefulSet) (*appsv1alpha1.MiniStatefulSet, error) {
	raw, err := json.Marshal(sts)
	if err != nil {
		return nil, err
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, err
	}
	delete(doc, "status")
	m := &appsv1alpha1.MiniStatefulSet{}
	if err := retype(doc, workload.MiniStatefulSet, m); err != nil {
		return nil, err
	}
	return m, nil
}

// retype sets the document's apiVersion and kind to those of kind and decodes it
// into out, refusing fields out does not have: a field only one kind knows would be
// dropped silently on one side and the two would not run the same spec.
func retype(doc map[string]any, kind workload.Kind, out any) error {
	t := setTypes[kind]
	doc["apiVersion"], doc["kind"] = t[0], t[1]
	raw, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(out); err != nil {
		return fmt.Errorf("the set does not read as a %s (%v): compare runs the same spec under both controllers, so it takes only the fields both kinds have", t[1], err)
	}
	return nil
}

// otherObject reads a document beside the set: only the kinds the runner knows how
// to create in each namespace.
func otherObject(doc map[string]any) (runtime.Object, error) {
	raw, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	obj, gvk, err := scheme.Codecs.UniversalDeserializer().Decode(raw, nil, nil)
	if err != nil {
		return nil, fmt.Errorf("cannot read %v %v: %w", doc["apiVersion"], doc["kind"], err)
	}
	switch obj.(type) {
	case *corev1.Service, *corev1.ConfigMap, *corev1.Secret, *corev1.ServiceAccount:
		return obj, nil
	}
	return nil, fmt.Errorf("compare creates only %s beside the set, not a %s: create it in the namespaces yourself (--keep shows them) or leave it out",
		strings.Join(otherKinds, ", "), gvk.Kind)
}

// otherKinds are the kinds a manifest may hold beside the set.
var otherKinds = []string{"Service", "ConfigMap", "Secret", "ServiceAccount"}
