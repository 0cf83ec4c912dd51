package plugin

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/types"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/klog/v2/ktesting"

	"github.com/ministatefulset/ministatefulset/pkg/workload"
)

func TestRolloutRestartAnnotatesTheTemplate(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	for _, kind := range bothKinds {
		set := newTestSet(kind, "web")
		f := newPluginFixture(t, set.Obj())
		f.clearActions()
		require.NoError(t, f.run(ctx, "rollout", "restart", set.Ref().String()))
		assert.Equal(t, qualified(set.Ref())+" restarted\n", f.out.String())
		assert.Empty(t, f.errOut.String())

		writes := f.writes()
		require.Len(t, writes, 1)
		patch, ok := writes[0].(clienttesting.PatchActionImpl)
		require.True(t, ok, "a patch, not %T", writes[0])
		assert.Equal(t, types.MergePatchType, patch.PatchType)
		assert.Equal(t, fieldManager, patch.PatchOptions.FieldManager)
		assert.JSONEq(t, `{"spec":{"template":{"metadata":{"annotations":{"kubectl.kubernetes.io/restartedAt":"2026-03-14T15:09:26Z"}}}}}`, string(patch.Patch))

		tmpl := f.template(ctx, set.Ref())
		assert.Equal(t, testNow.Format(time.RFC3339), tmpl.Annotations[restartedAtAnnotation])
		assert.Equal(t, "redis:7", tmpl.Spec.Containers[0].Image, "nothing else in the template changes")
	}
}

func TestRolloutRestartTwiceInOneSecondIsRefused(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	f := newPluginFixture(t, newTestSet(workload.MiniStatefulSet, "web").Obj())
	require.NoError(t, f.run(ctx, "rollout", "restart", "web"))
	f.clearActions()
	err := f.run(ctx, "rollout", "restart", "web")
	assert.ErrorContains(t, err, "msts/web was restarted less than a second ago")
	assert.Empty(t, f.writes())

	f.o.Now = func() time.Time { return testNow.Add(time.Second) }
	require.NoError(t, f.run(ctx, "rollout", "restart", "web"))
	assert.Len(t, f.writes(), 1)
}

// kubectl restarts an OnDelete StatefulSet too; the plugin does the same and says
// that the pods wait for a deletion.
func TestRolloutRestartOnDeleteWarns(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	for _, kind := range bothKinds {
		set := newTestSet(kind, "web").OnDelete()
		f := newPluginFixture(t, set.Obj())
		require.NoError(t, f.run(ctx, "rollout", "restart", set.Ref().String()))
		assert.Equal(t, "Warning: "+set.Ref().String()+" uses the OnDelete update strategy: its pods move to the new revision only as you delete them\n", f.errOut.String())
		assert.Equal(t, testNow.Format(time.RFC3339), f.template(ctx, set.Ref()).Annotations[restartedAtAnnotation])
	}
}

func TestRolloutRestartOfAMissingSet(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	f := newPluginFixture(t)
	assert.EqualError(t, f.run(ctx, "rollout", "restart", "web"), "msts/web not found in namespace demo")
	assert.Empty(t, f.writes())
}
