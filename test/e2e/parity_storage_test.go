//go:build e2e

package e2e

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Parity of persistentVolumeClaimRetentionPolicy: which ownerReferences the claims
// carry, and which claims the garbage collector removes. Helpers are in parity_test.go.

// claims maps ordinal to the set's claims (template "<set>-data") that exist.
func (s *side) claims() map[int]corev1.PersistentVolumeClaim {
	s.t.Helper()
	list, err := kube.CoreV1().PersistentVolumeClaims(s.ns).List(s.ctx, metav1.ListOptions{})
	if err != nil {
		s.t.Fatalf("listing claims: %v", err)
	}
	prefix := s.name() + "-data-"
	out := map[int]corev1.PersistentVolumeClaim{}
	for _, c := range list.Items {
		if strings.HasPrefix(c.Name, prefix) {
			out[s.ordinal(strings.TrimPrefix(c.Name, prefix))] = c
		}
	}
	return out
}

// claimOrdinals lists the ordinals whose claims exist.
func (s *side) claimOrdinals() []int {
	out := []int{}
	for o := range s.claims() {
		out = append(out, o)
	}
	sort.Ints(out)
	return out
}

// claimOwners describes each claim's ownerReferences without the set's name: "set" for
// this set (when uid matches), "pod" for its own pod, else the kind; "!" marks the
// controller reference.
func (s *side) claimOwners(setUID string) []string {
	cs := s.claims()
	var out []string
	for _, o := range s.claimOrdinals() {
		var refs []string
		for _, r := range cs[o].OwnerReferences {
			what := r.Kind
			switch {
			case r.Kind == s.set.Kind() && r.Name == s.name() && string(r.UID) == setUID:
				what = "set"
			case r.Kind == "Pod" && r.Name == s.podName(o):
				what = "pod"
			}
			if r.Controller != nil && *r.Controller {
				what += "!"
			}
			refs = append(refs, what)
		}
		out = append(out, fmt.Sprintf("%d:%v", o, refs))
	}
	return out
}

// waitClaimsBound waits for the claims of ordinals 0..n-1 to be Bound.
func (s *side) waitClaimsBound(n int) {
	s.t.Helper()
	s.waitSaw(longWait, fmt.Sprintf("%d claims of %s Bound", n, s.name()), func() (bool, string) {
		cs := s.claims()
		var saw []string
		bound := 0
		for o := range n {
			c, ok := cs[o]
			if ok && c.Status.Phase == corev1.ClaimBound {
				bound++
			}
			saw = append(saw, fmt.Sprintf("%d:%v/%s", o, ok, c.Status.Phase))
		}
		return bound == n, strings.Join(saw, " ")
	})
}

func (s *side) waitClaimOrdinals(what string, want ...int) {
	s.t.Helper()
	s.waitSaw(longWait, what, func() (bool, string) {
		got := s.claimOrdinals()
		return fmt.Sprint(got) == fmt.Sprint(want), fmt.Sprintf("claims of ordinals %v", got)
	})
}

func retentionPolicy(whenDeleted, whenScaled appsv1.PersistentVolumeClaimRetentionPolicyType) *appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy {
	return &appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{WhenDeleted: whenDeleted, WhenScaled: whenScaled}
}

// TestParityRetentionPolicy checks the three policies that differ in what they leave
// to the garbage collector.
func TestParityRetentionPolicy(t *testing.T) {
	// Runs beside the other tests that leave the suite's controller running.
	t.Parallel()
	requireKwok(t)
	type result struct {
		Owners []string
		Left   []int
		// the pod events of the scale-down or deletion: in order, or per pod when the
		// garbage collector deletes them all at once
		Order  []string
		PerPod map[int][]string
	}
	// whenDeleted Delete: the claims are owned by the set and go with it, after the pods.
	t.Run("DeleteRetain", func(t *testing.T) {
		spec := statefulSpec("app", 2, nil, true)
		spec.PersistentVolumeClaimRetentionPolicy = retentionPolicy(appsv1.DeletePersistentVolumeClaimRetentionPolicyType, appsv1.RetainPersistentVolumeClaimRetentionPolicyType)
		runParity(t, "pret-d", func(s *side) result {
			s.create(spec)
			s.waitSettled(2)
			s.waitClaimsBound(2)
			res := result{Owners: s.claimOwners(string(s.set.Get().UID))}
			assert.Equal(s.t, []string{"0:[set!]", "1:[set!]"}, res.Owners, "claims' ownerReferences")
			s.markTrace()
			s.set.Delete()
			s.waitSaw(longWait, "the garbage collector to remove the pods", func() (bool, string) {
				return len(s.own()) == 0, s.describePods()
			})
			s.waitSaw(shortWait, "the trace to see both pods gone", func() (bool, string) {
				return len(s.ords("gone")) == 2, eventLines(s.since())
			})
			res.PerPod = s.perPod()
			s.waitClaimOrdinals("the garbage collector to remove the claims")
			res.Left = s.claimOrdinals()
			return res
		})
	})
	// whenScaled Delete: claims of pods removed by a scale-down go; the rest stay unowned.
	t.Run("RetainDelete", func(t *testing.T) {
		spec := statefulSpec("app", 3, map[string]string{deleteDelay: "1s"}, true)
		spec.PersistentVolumeClaimRetentionPolicy = retentionPolicy(appsv1.RetainPersistentVolumeClaimRetentionPolicyType, appsv1.DeletePersistentVolumeClaimRetentionPolicyType)
		runParity(t, "pret-s", func(s *side) result {
			s.create(spec)
			s.waitSettled(3)
			s.waitClaimsBound(3)
			assert.Equal(s.t, []string{"0:[]", "1:[]", "2:[]"}, s.claimOwners(string(s.set.Get().UID)), "claims' ownerReferences before the scale-down")
			s.markTrace()
			s.set.Scale(1)
			s.waitSettled(1)
			s.waitClaimOrdinals("the garbage collector to remove the claims of ordinals 1 and 2", 0)
			res := result{Owners: s.claimOwners(string(s.set.Get().UID)), Left: s.claimOrdinals(), Order: s.order()}
			assert.Equal(s.t, []string{"terminating 2", "gone 2", "terminating 1", "gone 1"}, res.Order, "scale-down order")
			assert.Equal(s.t, []string{"0:[]"}, res.Owners, "claims' ownerReferences after the scale-down")
			return res
		})
	})
	// Delete/Delete: the set owns the claims; a scale-down hands the condemned pod's
	// claim to that pod, so it goes with the pod; the rest go with the set.
	t.Run("DeleteDelete", func(t *testing.T) {
		spec := statefulSpec("app", 2, map[string]string{deleteDelay: "1s"}, true)
		spec.PersistentVolumeClaimRetentionPolicy = retentionPolicy(appsv1.DeletePersistentVolumeClaimRetentionPolicyType, appsv1.DeletePersistentVolumeClaimRetentionPolicyType)
		type both struct {
			Before, AfterScale []string
			Left               []int
			ScaleOrder         []string
			DeletePerPod       map[int][]string
		}
		runParity(t, "pret-dd", func(s *side) both {
			s.create(spec)
			s.waitSettled(2)
			s.waitClaimsBound(2)
			uid := string(s.set.Get().UID)
			res := both{Before: s.claimOwners(uid)}
			assert.Equal(s.t, []string{"0:[set!]", "1:[set!]"}, res.Before, "claims' ownerReferences")
			s.markTrace()
			s.set.Scale(1)
			s.waitSettled(1)
			s.waitClaimOrdinals("the garbage collector to remove the claim of ordinal 1", 0)
			res.AfterScale, res.ScaleOrder = s.claimOwners(uid), s.order()
			assert.Equal(s.t, []string{"0:[set!]"}, res.AfterScale, "claims' ownerReferences after the scale-down")
			assert.Equal(s.t, []string{"terminating 1", "gone 1"}, res.ScaleOrder, "scale-down order")
			s.markTrace()
			s.set.Delete()
			s.waitClaimOrdinals("the garbage collector to remove the claim of ordinal 0")
			s.waitSaw(shortWait, "the trace to see pod 0 gone", func() (bool, string) {
				return len(s.ords("gone")) == 1, eventLines(s.since())
			})
			res.DeletePerPod = s.perPod()
			res.Left = s.claimOrdinals()
			return res
		})
	})
	// Retain/Retain: no ownerReferences, and a scale-down keeps every claim.
	t.Run("RetainRetain", func(t *testing.T) {
		spec := statefulSpec("app", 2, map[string]string{deleteDelay: "1s"}, true)
		spec.PersistentVolumeClaimRetentionPolicy = retentionPolicy(appsv1.RetainPersistentVolumeClaimRetentionPolicyType, appsv1.RetainPersistentVolumeClaimRetentionPolicyType)
		runParity(t, "pret-r", func(s *side) result {
			s.create(spec)
			s.waitSettled(2)
			s.waitClaimsBound(2)
			s.markTrace()
			s.set.Scale(1)
			s.waitSettled(1)
			s.waitSaw(shortWait, "the trace to see pod 1 gone", func() (bool, string) {
				return len(s.ords("gone")) == 1, eventLines(s.since())
			})
			s.holdsFor(2*time.Second, "a claim removed after the scale-down", func() bool { return len(s.claims()) != 2 })
			res := result{Owners: s.claimOwners(string(s.set.Get().UID)), Left: s.claimOrdinals(), Order: s.order()}
			assert.Equal(s.t, []string{"0:[]", "1:[]"}, res.Owners, "claims' ownerReferences")
			return res
		})
	})
}
