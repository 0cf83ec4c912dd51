package plugin

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/klog/v2/ktesting"

	"github.com/ministatefulset/ministatefulset/pkg/workload"
)

// undoFixture is a set at redis:7 (revision 2) that was at redis:6 (revision 1).
func undoFixture(t *testing.T, kind workload.Kind, objs ...runtime.Object) (*pluginFixture, *testSet) {
	set := newTestSet(kind, "web").Image("redis:7")
	f := newPluginFixture(t, append([]runtime.Object{set.Obj(), set.Revision(1, "redis:6"), set.Revision(2, "redis:7")}, objs...)...)
	f.clearActions()
	return f, set
}

// onlyUpdate is the one write a rollback makes: an update of the set's own kind.
func (f *pluginFixture) onlyUpdate(kind workload.Kind) clienttesting.UpdateActionImpl {
	f.t.Helper()
	writes := f.writes()
	require.Len(f.t, writes, 1, "one write: %v", writes)
	update, ok := writes[0].(clienttesting.UpdateActionImpl)
	require.True(f.t, ok, "an update, not %T", writes[0])
	resource := "ministatefulsets"
	if kind == workload.StatefulSet {
		resource = "statefulsets"
	}
	assert.Equal(f.t, resource, update.GetResource().Resource)
	assert.Equal(f.t, fieldManager, update.UpdateOptions.FieldManager)
	return update
}

func TestRolloutUndoToThePreviousRevision(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	for _, kind := range bothKinds {
		f, set := undoFixture(t, kind)
		require.NoError(t, f.run(ctx, "rollout", "undo", set.Ref().String()))
		assert.Equal(t, qualified(set.Ref())+" rolled back\n", f.out.String())
		f.onlyUpdate(kind)
		assert.Equal(t, testTemplate("web", "redis:6"), f.template(ctx, set.Ref()))
	}
}

func TestRolloutUndoSkipsWhenTheTemplateMatches(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	for _, kind := range bothKinds {
		f, set := undoFixture(t, kind)
		require.NoError(t, f.run(ctx, "rollout", "undo", set.Ref().String(), "--to-revision", "2"))
		assert.Equal(t, qualified(set.Ref())+" skipped rollback (current template already matches revision 2)\n", f.out.String())
		assert.Empty(t, f.writes())
	}
}

func TestRolloutUndoDryRun(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	for _, kind := range bothKinds {
		f, set := undoFixture(t, kind)
		require.NoError(t, f.run(ctx, "rollout", "undo", set.Ref().String(), "--dry-run=client"))
		assert.Contains(t, f.out.String(), qualified(set.Ref())+" will roll back to revision 1 (dry run)\n")
		assert.Contains(t, f.out.String(), "image: redis:6")
		assert.Empty(t, f.writes(), "a client dry run sends nothing")

		f.out.Reset()
		require.NoError(t, f.run(ctx, "rollout", "undo", set.Ref().String(), "--dry-run=server"))
		assert.Equal(t, qualified(set.Ref())+" rolled back (server dry run)\n", f.out.String())
		assert.Equal(t, []string{metav1.DryRunAll}, f.onlyUpdate(kind).UpdateOptions.DryRun)

		assert.ErrorContains(t, f.run(ctx, "rollout", "undo", set.Ref().String(), "--dry-run=maybe"), "use none, client or server")
	}
}

func TestRolloutUndoRetriesOnConflict(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	for _, kind := range bothKinds {
		f, set := undoFixture(t, kind)
		conflicts := 1
		react := func(action clienttesting.Action) (bool, runtime.Object, error) {
			if conflicts > 0 {
				conflicts--
				return true, nil, apierrors.NewConflict(schema.GroupResource{Resource: action.GetResource().Resource}, "web", nil)
			}
			return false, nil, nil
		}
		f.kube.PrependReactor("update", "statefulsets", react)
		f.sets.PrependReactor("update", "ministatefulsets", react)
		require.NoError(t, f.run(ctx, "rollout", "undo", set.Ref().String(), "--to-revision", "1"))
		assert.Equal(t, 2, len(f.writes()), "the conflicting update, then the one that lands")
		assert.Equal(t, testTemplate("web", "redis:6"), f.template(ctx, set.Ref()))
	}
}

func TestRolloutUndoErrors(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	f, _ := undoFixture(t, workload.MiniStatefulSet)
	assert.EqualError(t, f.run(ctx, "rollout", "undo", "web", "--to-revision", "9"),
		"unable to find revision 9 of msts/web: its revisions are 1, 2 (kubectl msts rollout history msts/web lists them)")
	assert.ErrorContains(t, f.run(ctx, "rollout", "undo", "web", "--to-revision", "-1"), "--to-revision must be 0")

	set := newTestSet(workload.StatefulSet, "db")
	one := newPluginFixture(t, set.Obj(), set.Revision(1, "redis:7"))
	assert.EqualError(t, one.run(ctx, "rollout", "undo", "sts/db"), "no last revision to roll back to: sts/db has only one revision")
	assert.Empty(t, f.writes())
}

func TestRolloutUndoWarnsAboutApply(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	set := newTestSet(workload.StatefulSet, "web").Image("redis:7").Annotate(lastAppliedAnnotation, "{}")
	f := newPluginFixture(t, set.Obj(), set.Revision(1, "redis:6"), set.Revision(2, "redis:7"))
	require.NoError(t, f.run(ctx, "rollout", "undo", "sts/web"))
	assert.Contains(t, f.errOut.String(), "Warning: sts/web was written by kubectl apply")
	assert.Equal(t, "statefulset.apps/web rolled back\n", f.out.String())
}
