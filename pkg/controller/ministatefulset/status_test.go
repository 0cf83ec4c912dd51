package ministatefulset

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	corev1 "k8s.io/api/core/v1"

	appsv1alpha1 "github.com/ministatefulset/ministatefulset/pkg/apis/apps/v1alpha1"
)

// TestParallelWaitingNamesPodsInOrdinalOrder: a learner reads web-2, web-10, not the
// cache's order.
func TestParallelWaitingNamesPodsInOrdinalOrder(t *testing.T) {
	set := newSet("web").Replicas(11).Parallel().Obj()
	var pods []*corev1.Pod
	for _, ord := range []int{10, 2, 0} {
		pods = append(pods, newPod(set, &set.Spec.Template, "r", ord))
	}
	var st appsv1alpha1.MiniStatefulSetStatus
	waitingCondition(&st, set, plan{parallel: true}, pods, time.Now())
	assert.Equal(t, "waiting for web-0, web-2, web-10 to be Running and Ready (Parallel: others are not held back)",
		findCondition(&st, appsv1alpha1.ConditionWaiting).Message)
}
