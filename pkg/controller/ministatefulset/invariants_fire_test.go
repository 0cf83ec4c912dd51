package ministatefulset

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestInvariantsCanFire shows each invariant check catches what it is there to
// catch: a real pass is recorded, then broken the way a faulty controller would
// break it, and the check must say so.
func TestInvariantsCanFire(t *testing.T) {
	// settled records a pass over web with web-0..2 Running and Ready.
	settled := func(t *testing.T) (*fixture, *passRecord) {
		f := newFixture(t, newSet("web").Replicas(3).Claims("data").Obj())
		f.bringUp("web", 3)
		r := f.recordPass("web")
		require.Empty(t, checkPass(r), "the unbroken pass is clean")
		return f, r
	}
	ours := func(f *fixture, ord int, revision string) corev1.Pod {
		set := f.set("web")
		return *newPod(set, &set.Spec.Template, revision, ord)
	}
	cases := []struct {
		name  string
		broke func(f *fixture, r *passRecord)
		want  string
	}{{
		name: "a pod created above an unready one under OrderedReady",
		broke: func(f *fixture, r *passRecord) {
			r.view.Spec.Replicas = ptr(int32(4))
			r.viewPods[0].Status.Conditions[0].Status = corev1.ConditionFalse
			r.after["web-3"] = ours(f, 3, r.status.UpdateRevision)
		},
		want: "OrderedReady created web-3 while web-",
	}, {
		name: "a pod created at a revision that is not the template's",
		broke: func(f *fixture, r *passRecord) {
			r.view.Spec.Replicas = ptr(int32(4))
			r.after["web-3"] = ours(f, 3, "web-bogus")
		},
		want: "created web-3 at revision web-bogus",
	}, {
		name: "a pod created without its claim",
		broke: func(f *fixture, r *passRecord) {
			r.view.Spec.Replicas = ptr(int32(4))
			r.after["web-3"] = ours(f, 3, r.status.UpdateRevision)
		},
		want: "created web-3 without its claim data-web-3",
	}, {
		name:  "a claim deleted",
		broke: func(f *fixture, r *passRecord) { delete(r.claimsAfter, "data-web-1") },
		want:  "claim data-web-1 disappeared",
	}, {
		name: "a claim created outside the set's ordinals",
		broke: func(f *fixture, r *passRecord) {
			r.writes = append(r.writes, "create persistentvolumeclaims data-web-7")
		},
		want: "created claim data-web-7 outside [0, 3)",
	}, {
		name: "a claim owned by the set though the policy is Retain",
		broke: func(f *fixture, r *passRecord) {
			c := r.claimsAfter["data-web-0"]
			c.OwnerReferences = []metav1.OwnerReference{*metav1.NewControllerRef(r.view, miniStatefulSetKind)}
			r.claimsAfter["data-web-0"] = c
		},
		want: "claim data-web-0 owned by the set without whenDeleted=Delete",
	}, {
		name: "a foreign pod deleted",
		broke: func(f *fixture, r *passRecord) {
			p := ours(f, 5, "x")
			p.OwnerReferences[0] = metav1.OwnerReference{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "rs", UID: "uid-rs", Controller: ptr(true)}
			r.before["web-5"] = p
		},
		want: "the pass removed web-5, which ReplicaSet rs owns",
	}, {
		name: "a scale-down below a higher pod",
		broke: func(f *fixture, r *passRecord) {
			r.view.Spec.Replicas = ptr(int32(1))
			r.writes = append(r.writes, "delete pods web-1")
			delete(r.after, "web-1")
		},
		want: "OrderedReady deleted web-1 while a higher condemned ordinal existed",
	}, {
		name: "a Failed pod deleted above an unhealthy one",
		broke: func(f *fixture, r *passRecord) {
			for _, p := range r.viewPods {
				switch p.Name {
				case "web-0":
					p.Status.Conditions[0].Status = corev1.ConditionFalse
				case "web-1":
					p.Status.Phase = corev1.PodFailed
				}
			}
			r.writes = append(r.writes, "delete pods web-1")
			delete(r.after, "web-1")
		},
		want: "OrderedReady deleted the Failed web-1 while web-0 below was not healthy",
	}, {
		name: "an updated pod deleted for an update",
		broke: func(f *fixture, r *passRecord) {
			r.writes = append(r.writes, "delete pods web-2")
			delete(r.after, "web-2")
		},
		want: "deleted web-2 for an update though it holds the set's template",
	}, {
		name:  "a status miscounted",
		broke: func(f *fixture, r *passRecord) { r.status.ReadyReplicas-- },
		want:  "status replicas=3 ready=2",
	}, {
		name: "an identity label wrong",
		broke: func(f *fixture, r *passRecord) {
			p := r.after["web-0"]
			p.Labels = map[string]string{LabelPodName: "web-0", LabelPodIndex: "7", LabelRevision: "r"}
			r.after["web-0"] = p
		},
		want: "pod web-0 has identity labels",
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, r := settled(t)
			tc.broke(f, r)
			assert.Contains(t, strings.Join(checkPass(r), "\n"), tc.want)
		})
	}

	// Two pods for one ordinal cannot exist by name: a broken plan makes web-1 a
	// second time under another name, and the check must see it.
	t.Run("two pods for one ordinal, from a broken plan", func(t *testing.T) {
		f, _ := settled(t)
		set := f.set("web")
		copyOf := ours(f, 1, set.Status.UpdateRevision)
		copyOf.Name = "web-1-copy"
		p := plan{actions: []action{{kind: createPod, pod: &copyOf}}}
		require.NoError(t, execute(f.ctx, p, func(ctx context.Context, a action) error { return f.c.control.do(ctx, set, a) }))
		assert.Contains(t, strings.Join(checkUniqueOrdinals(set, podMap(f.pods())), "\n"), "share ordinal 1")
	})
}
