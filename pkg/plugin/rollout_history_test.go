package plugin

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/klog/v2/ktesting"
	"sigs.k8s.io/yaml"

	"github.com/ministatefulset/ministatefulset/pkg/workload"
)

func TestRolloutHistoryListsRevisions(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	for _, kind := range bothKinds {
		set := newTestSet(kind, "web")
		second := set.Revision(2, "redis:7")
		second.Annotations = map[string]string{changeCauseAnnotation: "kubectl set image sts/web redis=redis:7"}
		strange := newTestSet(kind, "other").Revision(3, "nginx") // another set's
		f := newPluginFixture(t, set.Obj(), second, set.Revision(1, "redis:6"), strange)
		require.NoError(t, f.run(ctx, "rollout", "history", set.Ref().String()))
		assert.Equal(t, qualified(set.Ref())+`
REVISION  CHANGE-CAUSE
1         <none>
2         kubectl set image sts/web redis=redis:7
`, f.out.String())
	}
}

func TestRolloutHistoryShowsOneRevisionsTemplate(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	for _, kind := range bothKinds {
		set := newTestSet(kind, "web")
		f := newPluginFixture(t, set.Obj(), set.Revision(1, "redis:6"), set.Revision(2, "redis:7"))
		require.NoError(t, f.run(ctx, "rollout", "history", set.Ref().String(), "--revision", "1"))
		want, err := yaml.Marshal(testTemplate("web", "redis:6"))
		require.NoError(t, err)
		assert.Equal(t, qualified(set.Ref())+" with revision #1\n"+string(want), f.out.String())
		assert.Contains(t, f.out.String(), "image: redis:6")
	}
}

func TestRolloutHistoryStructured(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	set := newTestSet(workload.MiniStatefulSet, "web")
	f := newPluginFixture(t, set.Obj(), set.Revision(1, "redis:6"), set.Revision(2, "redis:7"))
	require.NoError(t, f.run(ctx, "rollout", "history", "web", "-o", "json"))
	var entries []historyEntry
	require.NoError(t, json.Unmarshal(f.out.Bytes(), &entries))
	require.Len(t, entries, 2)
	assert.Equal(t, int64(1), entries[0].Revision)
	assert.Equal(t, "web-rev1", entries[0].Name)
	assert.Equal(t, "redis:7", entries[1].Template.Spec.Containers[0].Image)

	f.out.Reset()
	require.NoError(t, f.run(ctx, "rollout", "history", "web", "--revision", "2", "-o", "yaml"))
	var one historyEntry
	require.NoError(t, yaml.Unmarshal(f.out.Bytes(), &one))
	assert.Equal(t, int64(2), one.Revision)
	assert.Equal(t, "redis:7", one.Template.Spec.Containers[0].Image)
}

func TestRolloutHistoryErrors(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	set := newTestSet(workload.StatefulSet, "web")
	f := newPluginFixture(t, set.Obj(), set.Revision(1, "redis:6"), set.Revision(2, "redis:7"))
	assert.EqualError(t, f.run(ctx, "rollout", "history", "sts/web", "--revision", "5"),
		"sts/web has no revision 5: its revisions are 1, 2 (kubectl msts rollout history sts/web lists them)")
	assert.ErrorContains(t, f.run(ctx, "rollout", "history", "sts/web", "--revision", "-1"), "--revision must be a revision number")
	assert.ErrorContains(t, f.run(ctx, "rollout", "history", "sts/web", "-o", "wide"), `unknown output format "wide"`)

	empty := newPluginFixture(t, newTestSet(workload.MiniStatefulSet, "web").Obj())
	require.NoError(t, empty.run(ctx, "rollout", "history", "web"))
	assert.Equal(t, "ministatefulset.apps.ministatefulset.dev/web\nNo rollout history found.\n", empty.out.String())
}
