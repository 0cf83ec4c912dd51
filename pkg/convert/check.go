package convert

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	kjson "sigs.k8s.io/json"

	"go.yaml.in/yaml/v3"

	appsv1alpha1 "github.com/ministatefulset/ministatefulset/pkg/apis/apps/v1alpha1"
	"github.com/ministatefulset/ministatefulset/pkg/workload"
)

// check decodes a converted object strictly into its new kind's Go type, so a field
// the other kind does not have is reported here, with its path, rather than dropped
// silently by the API server or refused at apply time.
func check(obj *yaml.Node, to workload.Kind, what string) []error {
	raw, err := toJSON(obj)
	if err != nil {
		return []error{fmt.Errorf("%s: %w", what, err)}
	}
	var target any = &appsv1alpha1.MiniStatefulSet{}
	typeName := "apps.ministatefulset.dev/v1alpha1 MiniStatefulSet"
	if to == workload.StatefulSet {
		target, typeName = &appsv1.StatefulSet{}, "apps/v1 StatefulSet"
	}
	strict, err := kjson.UnmarshalStrict(raw, target, kjson.DisallowUnknownFields)
	if err != nil {
		return []error{fmt.Errorf("%s does not read as an %s: %w", what, typeName, err)}
	}
	var errs []error
	for _, e := range strict {
		field := e.Error()
		if fe, ok := e.(kjson.FieldError); ok {
			field = "unknown field " + fe.FieldPath()
		}
		errs = append(errs, fmt.Errorf("%s: %s: an %s has no such field; remove it, or leave this document out of the conversion", what, field, typeName))
	}
	return errs
}
