//go:build e2e

package e2e

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	ptrace "github.com/ministatefulset/ministatefulset/pkg/trace"
)

// owned is who controls each of the namespace's pods and claims, and their UIDs.
type owned struct {
	pods, claims map[string]types.UID
	owner        map[string]string // pod -> Kind/UID of its controller
	restarts     int32
}

func (e *env) ownedNow() owned {
	e.t.Helper()
	o := owned{pods: map[string]types.UID{}, claims: map[string]types.UID{}, owner: map[string]string{}}
	for _, p := range e.pods() {
		o.pods[p.Name] = p.UID
		if ref := metav1.GetControllerOf(&p); ref != nil {
			o.owner[p.Name] = ref.Kind + "/" + string(ref.UID)
		}
		for _, cs := range p.Status.ContainerStatuses {
			o.restarts += cs.RestartCount
		}
	}
	claims, err := kube.CoreV1().PersistentVolumeClaims(e.ns).List(e.ctx, metav1.ListOptions{})
	require.NoError(e.t, err)
	for _, c := range claims.Items {
		o.claims[c.Name] = c.UID
	}
	return o
}

// TestMigrateKeepsEveryPodBothWays moves a running StatefulSet under MiniStatefulSet
// and back with `kubectl msts migrate`: no pod is restarted or replaced, no claim is
// replaced, the pods keep their revision, and afterwards a template change rolls out
// normally under each owner.
func TestMigrateKeepsEveryPodBothWays(t *testing.T) {
	// Runs beside the other tests that leave the suite's controller running.
	t.Parallel()
	requireKwok(t)
	e := newEnv(t, "migrate")
	sts := &side{env: e, set: &builtinSet{e, "web"}, deviation: new(string)}
	mini := &side{env: e, set: &miniSet{e, "web"}, deviation: new(string)}
	e.createStatefulSet("web", statefulSpec("web", 3, nil, true))
	first := sts.waitSettled(3)
	start := e.ownedNow()
	require.Len(t, start.pods, 3)
	require.Len(t, start.claims, 3)
	backups := t.TempDir()
	steps := len(e.trace.Records(""))

	out := e.mustKubectlMsts("migrate", "sts/web", "--backup-dir", backups, "--timeout", "60s")
	assert.Contains(t, out, "moved sts/web to msts/web")
	assert.Contains(t, out, "0 restarted, 0 replaced")
	st := mini.waitSettled(3)
	assert.Equal(t, first.Status.UpdateRevision, st.Status.UpdateRevision, "MiniStatefulSet names the revision of the same template as apps/v1 does")
	afterMsts := e.ownedNow()
	assert.Equal(t, start.pods, afterMsts.pods, "pod UIDs under MiniStatefulSet")
	assert.Equal(t, start.claims, afterMsts.claims, "claim UIDs under MiniStatefulSet")
	assert.Equal(t, start.restarts, afterMsts.restarts, "container restarts")
	for name, owner := range afterMsts.owner {
		assert.True(t, strings.HasPrefix(owner, "MiniStatefulSet/"+string(st.UID)), "%s is controlled by %s", name, owner)
	}

	out = e.mustKubectlMsts("migrate", "msts/web", "--to", "statefulset", "--backup-dir", backups, "--timeout", "60s")
	assert.Contains(t, out, "moved msts/web to sts/web")
	back := sts.waitSettled(3)
	assert.Equal(t, first.Status.UpdateRevision, back.Status.UpdateRevision)
	afterSts := e.ownedNow()
	assert.Equal(t, start.pods, afterSts.pods, "pod UIDs back under the StatefulSet")
	assert.Equal(t, start.claims, afterSts.claims, "claim UIDs back under the StatefulSet")
	for name, owner := range afterSts.owner {
		assert.True(t, strings.HasPrefix(owner, "StatefulSet/"+string(back.UID)), "%s is controlled by %s", name, owner)
	}
	e.syncTrace()
	for _, rec := range e.trace.Records("")[steps:] {
		assert.NotContains(t, []ptrace.Step{ptrace.Created, ptrace.Terminating, ptrace.Gone, ptrace.Restarted}, rec.Step,
			"no pod may be created, deleted or restarted by a migration: %s", rec)
	}

	// A later template change rolls out under each owner.
	e.mustKubectlMsts("migrate", "sts/web", "--backup-dir", backups, "--timeout", "60s")
	mini.waitSettled(3)
	mini.setImage("redis:7.2")
	rolled := mini.waitStatus("the image change rolled out", func(s setState) bool {
		return s.Status.UpdateRevision != first.Status.UpdateRevision && mini.settled(s, 3)
	})
	underMsts := e.ownedNow()
	for name, uid := range underMsts.pods {
		assert.NotEqual(t, start.pods[name], uid, "%s was replaced by the rolling update under MiniStatefulSet", name)
	}
	e.mustKubectlMsts("migrate", "msts/web", "--to", "sts", "--backup-dir", backups, "--timeout", "60s")
	again := sts.waitSettled(3)
	assert.Equal(t, rolled.Status.UpdateRevision, again.Status.UpdateRevision, "the StatefulSet adopts MiniStatefulSet's revision")
	assert.Equal(t, underMsts.pods, e.ownedNow().pods, "pod UIDs kept on the way back after a rollout")
	sts.setImage("redis:7.4")
	sts.waitStatus("the image change rolled out under the StatefulSet", func(s setState) bool {
		return s.Status.UpdateRevision != rolled.Status.UpdateRevision && sts.settled(s, 3)
	})
	for name, uid := range e.ownedNow().pods {
		assert.NotEqual(t, underMsts.pods[name], uid, "%s was replaced by the rolling update under the StatefulSet", name)
	}
}

// TestMigrateRefusesWhatWouldRestartPods: a MiniStatefulSet written by hand has a
// template the API server would default for a StatefulSet (imagePullPolicy,
// terminationMessagePath, ...), so apps/v1 would name another revision and replace
// every pod. migrate says so and changes nothing; a set mid-rollout is refused too.
func TestMigrateRefusesWhatWouldRestartPods(t *testing.T) {
	// Runs beside the other tests that leave the suite's controller running.
	t.Parallel()
	requireKwok(t)
	e := newEnv(t, "migrate-refuse")
	mini := &side{env: e, set: &miniSet{e, "web"}, deviation: new(string)}
	e.createSet("web", statefulSpec("web", 2, nil, false))
	mini.waitSettled(2)
	before := e.ownedNow()

	_, errOut, status := e.kubectlMsts("migrate", "msts/web", "--to", "statefulset", "--backup-dir", t.TempDir())
	assert.Equal(t, 1, status)
	assert.Contains(t, errOut, "would replace every pod")
	assert.Contains(t, errOut, "imagePullPolicy")
	assert.Contains(t, errOut, "--allow-rollout")
	_, err := kube.AppsV1().StatefulSets(e.ns).Get(e.ctx, "web", metav1.GetOptions{})
	assert.True(t, err != nil, "no StatefulSet was created")
	mini.waitSettled(2)
	assert.Equal(t, before.pods, e.ownedNow().pods)

	// Held un-Ready, web-1 keeps the rolling update from finishing.
	e.annotatePod("web-1", holdUnready, "true")
	mini.setImage("redis:7.2")
	mini.waitStatus("a rollout under way", func(s setState) bool {
		return s.Status.ObservedGeneration == s.Generation && s.Status.UpdateRevision != s.Status.CurrentRevision
	})
	_, errOut, status = e.kubectlMsts("migrate", "msts/web", "--to", "statefulset", "--allow-rollout")
	assert.Equal(t, 1, status)
	assert.Contains(t, errOut, "in the middle of a rollout")
}
