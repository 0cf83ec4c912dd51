//go:build e2e

package e2e

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestKindControllerDeployment checks the controller as deploy/ installs it on kind:
// its Deployment is Available, so the image runs as non-root with its probes passing
// under the least-privilege ServiceAccount.
func TestKindControllerDeployment(t *testing.T) {
	if !onKind() {
		t.Skip("skipped: needs a kind cluster with the controller deployed from deploy/, which needs Docker (run make kind-e2e)")
	}
	e := newEnv(t, "kind")
	e.waitFor(longWait, "the controller Deployment to be Available", func() (bool, error) {
		d, err := kube.AppsV1().Deployments("ministatefulset-system").Get(e.ctx, "ministatefulset-controller", metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		return d.Status.AvailableReplicas == 1, nil
	})
	pods, err := kube.CoreV1().Pods("ministatefulset-system").List(e.ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=ministatefulset-controller"})
	require.NoError(t, err)
	require.NotEmpty(t, pods.Items)
	assert.Equal(t, "ministatefulset-controller", pods.Items[0].Spec.ServiceAccountName)
	e.createSet("web", statefulSpec("web", 2, nil, false))
	e.waitReady("web-0", "web-1")
}
