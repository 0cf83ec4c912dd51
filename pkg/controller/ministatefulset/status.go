package ministatefulset

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/util/retry"

	appsv1alpha1 "github.com/ministatefulset/ministatefulset/pkg/apis/apps/v1alpha1"
)

// computeStatus counts the set's pods as apps/v1 does. Conditions are carried over
// from the old status; the caller sets its own.
func computeStatus(set *appsv1alpha1.MiniStatefulSet, selector labels.Selector, pods []*corev1.Pod, current, update string, now time.Time) appsv1alpha1.MiniStatefulSetStatus {
	st := appsv1alpha1.MiniStatefulSetStatus{
		ObservedGeneration: set.Generation,
		CurrentRevision:    current,
		UpdateRevision:     update,
		CollisionCount:     set.Status.CollisionCount,
		Conditions:         append([]appsv1alpha1.MiniStatefulSetCondition(nil), set.Status.Conditions...),
	}
	if selector != nil {
		st.Selector = selector.String()
	}
	for _, pod := range pods {
		st.Replicas++
		if isRunningAndReady(pod) {
			st.ReadyReplicas++
			if isAvailable(pod, set.Spec.MinReadySeconds, now) {
				st.AvailableReplicas++
			}
		}
		if isTerminating(pod) {
			continue
		}
		if pod.Labels[LabelRevision] == current {
			st.CurrentReplicas++
		}
		if pod.Labels[LabelRevision] == update {
			st.UpdatedReplicas++
		}
	}
	// A finished update makes the update revision the current one: every desired
	// replica exists, is Ready and is at the update revision. As in v1.37 this holds
	// for OnDelete too, not only RollingUpdate.
	if want := int32(replicaCount(set)); st.UpdatedReplicas == want && st.ReadyReplicas == want && st.Replicas == want {
		st.CurrentRevision = update
		st.CurrentReplicas = st.UpdatedReplicas
	}
	return st
}

// setCondition sets a condition, keeping its transition time while its status holds.
func setCondition(st *appsv1alpha1.MiniStatefulSetStatus, t appsv1alpha1.MiniStatefulSetConditionType, status corev1.ConditionStatus, reason, message string, now time.Time) {
	c := appsv1alpha1.MiniStatefulSetCondition{Type: t, Status: status, Reason: reason, Message: message, LastTransitionTime: metav1.NewTime(now)}
	for i := range st.Conditions {
		if st.Conditions[i].Type == t {
			if st.Conditions[i].Status == status {
				c.LastTransitionTime = st.Conditions[i].LastTransitionTime
			}
			st.Conditions[i] = c
			return
		}
	}
	st.Conditions = append(st.Conditions, c)
}

func removeCondition(st *appsv1alpha1.MiniStatefulSetStatus, t appsv1alpha1.MiniStatefulSetConditionType) {
	kept := st.Conditions[:0]
	for _, c := range st.Conditions {
		if c.Type != t {
			kept = append(kept, c)
		}
	}
	st.Conditions = kept
	if len(kept) == 0 {
		st.Conditions = nil
	}
}

func findCondition(st *appsv1alpha1.MiniStatefulSetStatus, t appsv1alpha1.MiniStatefulSetConditionType) *appsv1alpha1.MiniStatefulSetCondition {
	for i := range st.Conditions {
		if st.Conditions[i].Type == t {
			return &st.Conditions[i]
		}
	}
	return nil
}

// waitingCondition tells a learner what the controller waits for: the halt of an
// OrderedReady pass, or for Parallel the pods that are not Ready yet.
func waitingCondition(st *appsv1alpha1.MiniStatefulSetStatus, set *appsv1alpha1.MiniStatefulSet, p plan, pods []*corev1.Pod, now time.Time) {
	if p.wait != nil {
		setCondition(st, appsv1alpha1.ConditionWaiting, corev1.ConditionTrue, p.wait.reason, p.wait.message, now)
		return
	}
	var unhealthy []*corev1.Pod
	for _, pod := range pods {
		if !isHealthy(pod) {
			unhealthy = append(unhealthy, pod)
		}
	}
	sortByOrdinal(set, unhealthy, false)
	notReady := make([]string, len(unhealthy))
	for i, pod := range unhealthy {
		notReady[i] = pod.Name
	}
	want := replicaCount(set)
	switch {
	case len(p.actions) > 0:
		setCondition(st, appsv1alpha1.ConditionWaiting, corev1.ConditionTrue, WaitProgressing, describeActions(p.actions), now)
	case len(notReady) > 0:
		setCondition(st, appsv1alpha1.ConditionWaiting, corev1.ConditionTrue, WaitReady,
			fmt.Sprintf("waiting for %s to be Running and Ready (Parallel: others are not held back)", listNames(notReady)), now)
	case len(pods) != want:
		setCondition(st, appsv1alpha1.ConditionWaiting, corev1.ConditionTrue, WaitProgressing, fmt.Sprintf("%d of %d pods exist", len(pods), want), now)
	default:
		setCondition(st, appsv1alpha1.ConditionWaiting, corev1.ConditionFalse, WaitSettled, fmt.Sprintf("all %d pods are Running and Ready", want), now)
	}
}

func describeActions(actions []action) string {
	parts := make([]string, 0, len(actions))
	for _, a := range actions {
		parts = append(parts, a.kind.String()+" "+a.pod.Name)
	}
	return listNames(parts)
}

func listNames(names []string) string {
	if len(names) > 4 {
		return strings.Join(names[:4], ", ") + fmt.Sprintf(" and %d more", len(names)-4)
	}
	return strings.Join(names, ", ")
}

// statusUpdater writes a set's status and returns the set as written.
type statusUpdater interface {
	UpdateStatus(ctx context.Context, set *appsv1alpha1.MiniStatefulSet, status *appsv1alpha1.MiniStatefulSetStatus) (*appsv1alpha1.MiniStatefulSet, error)
}

type realStatusUpdater struct{ api setAPI }

// UpdateStatus writes through the status subresource, re-reading the set on a
// conflict; a set replaced under the same name is left alone.
func (u realStatusUpdater) UpdateStatus(ctx context.Context, set *appsv1alpha1.MiniStatefulSet, status *appsv1alpha1.MiniStatefulSetStatus) (*appsv1alpha1.MiniStatefulSet, error) {
	toWrite := set.DeepCopy()
	var written *appsv1alpha1.MiniStatefulSet
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		toWrite.Status = *status
		out, err := u.api.updateStatus(ctx, toWrite)
		if err == nil {
			written = out
		}
		if !apierrors.IsConflict(err) {
			return err
		}
		fresh, getErr := u.api.get(ctx, set)
		if getErr != nil {
			return err
		}
		if fresh.UID != set.UID {
			return nil
		}
		toWrite = fresh
		return err
	})
	return written, err
}
