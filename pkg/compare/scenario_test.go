package compare

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// testPlans are sets of the shapes a manifest may have.
func testPlans() map[string]Plan {
	tmpl := corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "redis", Image: "redis:7"}}}}
	return map[string]Plan{
		"ordered-3":  {Set: "web", Replicas: 3, Template: tmpl, Image: "redis:8", ClaimTemplates: []string{"data"}},
		"parallel-3": {Set: "web", Replicas: 3, Parallel: true, Template: tmpl, Image: "redis:8"},
		"ordered-1":  {Set: "web", Replicas: 1, Template: tmpl, Image: "redis:8"},
		"start-5":    {Set: "web", Replicas: 2, Start: 5, Template: tmpl, Image: "redis:8"},
	}
}

func TestEveryScenarioIsValidAndNamedOnce(t *testing.T) {
	seen := map[string]bool{}
	for _, sc := range Scenarios() {
		assert.False(t, seen[sc.Name], "two scenarios are named %s", sc.Name)
		seen[sc.Name] = true
		for name, p := range testPlans() {
			assert.NoError(t, sc.Validate(p), "%s on %s", sc.Name, name)
		}
	}
	for _, want := range []string{"create", "scale-up", "scale-down", "unhealthy-pod", "failed-pod", "rolling-update",
		"partition-canary", "rollback", "ondelete", "retention-scale-down", "retention-delete", "min-ready-seconds", "start-ordinal"} {
		assert.True(t, seen[want], "no scenario %s", want)
	}
}

func TestValidateRefusesABrokenScenario(t *testing.T) {
	p := testPlans()["ordered-3"]
	noop := Action{What: "nothing", Do: func(context.Context, *Side) error { return nil }}
	cond := settled(p, 3)
	for name, sc := range map[string]Scenario{
		"a bad name":      {Name: "Bad_Name", Summary: "s", Steps: func(Plan) []Step { return []Step{{Name: "a", Action: noop, Until: cond}} }},
		"a name too long": {Name: "a-scenario-name-so-long-that-namespaces-overflow-it", Summary: "s", Steps: func(Plan) []Step { return []Step{{Name: "a", Action: noop, Until: cond}} }},
		"no steps":        {Name: "empty", Summary: "s", Steps: func(Plan) []Step { return nil }},
		"two steps named a": {Name: "twice", Summary: "s", Steps: func(Plan) []Step {
			return []Step{{Name: "a", Action: noop, Until: cond}, {Name: "a", Action: noop, Until: cond}}
		}},
		"a step without a condition": {Name: "nowait", Summary: "s", Steps: func(Plan) []Step { return []Step{{Name: "a", Action: noop}} }},
		"a step without an action":   {Name: "noact", Summary: "s", Steps: func(Plan) []Step { return []Step{{Name: "a", Until: cond}} }},
	} {
		assert.Error(t, sc.Validate(p), name)
	}
}

func TestSelectPicksScenariosByName(t *testing.T) {
	all, err := Select([]string{"all"})
	require.NoError(t, err)
	assert.Len(t, all, len(Scenarios()))
	got, err := Select([]string{"rollback", "create", "rollback"})
	require.NoError(t, err)
	require.Len(t, got, 2)
	assert.Equal(t, "rollback", got[0].Name)
	assert.Equal(t, "create", got[1].Name)
	_, err = Select([]string{"create", "nope"})
	assert.ErrorContains(t, err, `no scenario "nope": use all or any of create, scale-up`)
}

func TestScenariosOverrideTheSpecTheyAreAbout(t *testing.T) {
	byName := map[string]Scenario{}
	for _, sc := range Scenarios() {
		byName[sc.Name] = sc
	}
	prepared := func(name string) appsv1.StatefulSetSpec {
		var spec appsv1.StatefulSetSpec
		byName[name].Prepare(&spec)
		return spec
	}
	assert.Equal(t, appsv1.OnDeleteStatefulSetStrategyType, prepared("ondelete").UpdateStrategy.Type)
	assert.Equal(t, int32(2), prepared("min-ready-seconds").MinReadySeconds)
	assert.Equal(t, int32(5), prepared("start-ordinal").Ordinals.Start)
	scaled := prepared("retention-scale-down")
	assert.Equal(t, appsv1.DeletePersistentVolumeClaimRetentionPolicyType, scaled.PersistentVolumeClaimRetentionPolicy.WhenScaled)
	assert.Equal(t, appsv1.RetainPersistentVolumeClaimRetentionPolicyType, scaled.PersistentVolumeClaimRetentionPolicy.WhenDeleted)
	deleted := prepared("retention-delete")
	assert.Equal(t, appsv1.DeletePersistentVolumeClaimRetentionPolicyType, deleted.PersistentVolumeClaimRetentionPolicy.WhenDeleted)
	// A set without claims gets one to retain: 1Gi, storageClassName "".
	require.Len(t, deleted.VolumeClaimTemplates, 1)
	claim := deleted.VolumeClaimTemplates[0]
	assert.Equal(t, "data", claim.Name)
	assert.Equal(t, "", *claim.Spec.StorageClassName)
	assert.Equal(t, "1Gi", claim.Spec.Resources.Requests.Storage().String())
	// A set that has claims keeps its own.
	own := appsv1.StatefulSetSpec{VolumeClaimTemplates: []corev1.PersistentVolumeClaim{{}}}
	own.VolumeClaimTemplates[0].Name = "mine"
	byName["retention-delete"].Prepare(&own)
	require.Len(t, own.VolumeClaimTemplates, 1)
	assert.Equal(t, "mine", own.VolumeClaimTemplates[0].Name)
}

func TestUnhealthyPodWaitsForAHaltUnderOrderedReadyAndNotUnderParallel(t *testing.T) {
	plans := testPlans()
	steps := unhealthyPod(plans["ordered-3"])
	require.Len(t, steps, 4)
	assert.Equal(t, "hold web-1 un-Ready", steps[1].Action.What)
	assert.Equal(t, haltWindow, steps[2].Until.Window, "OrderedReady: web-3 must stay uncreated for a window")
	steps = unhealthyPod(plans["parallel-3"])
	assert.Zero(t, steps[2].Until.Window, "Parallel: web-3 comes up at once")
	assert.Contains(t, steps[2].Until.What, "web-0..web-3 Ready while web-1 is un-Ready")
}

func TestPlanNamesPodsFromTheStartOrdinal(t *testing.T) {
	p := testPlans()["start-5"]
	p.ClaimTemplates = []string{"data", "logs"}
	assert.Equal(t, []string{"web-5", "web-6"}, p.Pods(2))
	assert.Equal(t, []string{"data-web-5", "data-web-6", "logs-web-5", "logs-web-6"}, p.Claims(2))
}

func TestPlanForReadsTheSet(t *testing.T) {
	three, start := int32(3), appsv1.StatefulSetOrdinals{Start: 5}
	sts := &appsv1.StatefulSet{Spec: appsv1.StatefulSetSpec{Replicas: &three, Ordinals: &start, MinReadySeconds: 2,
		PodManagementPolicy:  appsv1.ParallelPodManagement,
		VolumeClaimTemplates: []corev1.PersistentVolumeClaim{{}},
	}}
	sts.Name, sts.Spec.VolumeClaimTemplates[0].Name = "web", "data"
	p := planFor(sts, "redis:8")
	assert.Equal(t, Plan{Set: "web", Replicas: 3, Start: 5, Parallel: true, Image: "redis:8", ClaimTemplates: []string{"data"}, MinReadySeconds: 2}, p)
}

func TestNextImageIsTheSameRepositoryAtAnotherTag(t *testing.T) {
	for in, want := range map[string]string{
		"redis:7":                        "redis:7-compare",
		"redis":                          "redis:compare",
		"localhost:5000/team/app":        "localhost:5000/team/app:compare",
		"localhost:5000/team/app:v1":     "localhost:5000/team/app:v1-compare",
		"redis@sha256:" + fmt.Sprint(42): "redis:compare",
	} {
		assert.Equal(t, want, nextImage(in), in)
	}
}
