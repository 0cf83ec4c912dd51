package migrate

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"

	appsv1 "k8s.io/api/apps/v1"

	controller "github.com/ministatefulset/ministatefulset/pkg/controller/ministatefulset"
	"github.com/ministatefulset/ministatefulset/pkg/workload"
)

// checkRevision makes sure the new owner will find the revision its pods carry:
// the revision data of the template as the API server stores it for the new kind
// must be the data of that revision, byte for byte, as both controllers compare it.
// It returns the revision's name.
func checkRevision(ctx context.Context, c workload.Clients, set, created *workload.Set, before state, opts Options) (string, error) {
	labels := map[string]bool{}
	for _, p := range before.pods {
		labels[p.Labels[appsv1.ControllerRevisionHashLabelKey]] = true
	}
	if len(labels) > 1 && !opts.AllowRollout {
		return "", fmt.Errorf("%s's pods carry %d revisions (%s): finish the rollout first", set.Ref(), len(labels), strings.Join(sortedKeys(labels), ", "))
	}
	revs, err := c.Revisions(ctx, set)
	if err != nil {
		return "", err
	}
	want := set.Status.UpdateRevision
	var rev *appsv1.ControllerRevision
	for i := range revs {
		if revs[i].Name == want {
			rev = &revs[i]
		}
	}
	data, err := controller.RevisionData(&created.Spec.Template)
	if err != nil {
		return "", err
	}
	switch {
	case rev == nil && opts.AllowRollout:
		return want, nil
	case rev == nil:
		return "", fmt.Errorf("%s has no ControllerRevision %s (its update revision): nothing to hand its pods over with", set.Ref(), want)
	case string(rev.Data.Raw) == string(data):
		return want, nil
	case opts.AllowRollout:
		return want, nil
	}
	return "", fmt.Errorf("the API server stores %s's template with fields its pods' revision %s does not have, so %s would replace every pod; differs in: %s. "+
		"Write these fields into the template first (it rolls the pods once), or pass --allow-rollout",
		created.Ref(), want, created.Ref(), strings.Join(templateDiff(rev.Data.Raw, data), ", "))
}

// templateDiff lists the paths where two revisions' templates differ.
func templateDiff(a, b []byte) []string {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return []string{"(unreadable revision data)"}
	}
	var out []string
	diffPaths("", x, y, &out)
	sort.Strings(out)
	if len(out) > 8 {
		out = append(out[:8], fmt.Sprintf("and %d more", len(out)-8))
	}
	return out
}

func diffPaths(path string, x, y any, out *[]string) {
	xm, xok := x.(map[string]any)
	ym, yok := y.(map[string]any)
	if xok && yok {
		keys := map[string]bool{}
		for k := range xm {
			keys[k] = true
		}
		for k := range ym {
			keys[k] = true
		}
		for k := range keys {
			diffPaths(path+"."+k, xm[k], ym[k], out)
		}
		return
	}
	xl, xok := x.([]any)
	yl, yok := y.([]any)
	if xok && yok && len(xl) == len(yl) {
		for i := range xl {
			diffPaths(fmt.Sprintf("%s[%d]", path, i), xl[i], yl[i], out)
		}
		return
	}
	if !reflect.DeepEqual(x, y) {
		*out = append(*out, strings.TrimPrefix(strings.TrimPrefix(path, ".spec.template"), "."))
	}
}
