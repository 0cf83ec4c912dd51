package ministatefulset

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestRevisionHoldsOnlyTheTemplate(t *testing.T) {
	set := newSet("web").Replicas(7).Claims("data").Obj()
	rev, err := newRevision(set, 3)
	require.NoError(t, err)
	assert.Equal(t, int64(3), rev.Revision)
	assert.Equal(t, "web-"+rev.Labels[LabelTemplateHash], rev.Name)
	assert.Equal(t, "web", rev.Labels["app"], "labels of the template, so the selector finds revisions")
	assert.NotContains(t, string(rev.Data.Raw), "replicas")
	assert.NotContains(t, string(rev.Data.Raw), "volumeClaimTemplates")
	assert.Contains(t, string(rev.Data.Raw), `"$patch":"replace"`)
	tmpl, err := templateOf(rev)
	require.NoError(t, err)
	assert.Equal(t, set.Spec.Template.Spec.Containers, tmpl.Spec.Containers)

	other := newSet("web").Replicas(1).Obj()
	same, err := newRevision(other, 1)
	require.NoError(t, err)
	assert.Equal(t, rev.Name, same.Name, "replicas and claims are not part of the revision")

	other.Spec.Template.Spec.Containers[0].Image = "nginx:2"
	changed, err := newRevision(other, 1)
	require.NoError(t, err)
	assert.NotEqual(t, rev.Name, changed.Name)

	other.Status.CollisionCount = ptr(int32(1))
	bumped, err := newRevision(other, 1)
	require.NoError(t, err)
	assert.NotEqual(t, changed.Name, bumped.Name, "collisionCount changes the name")
}

func TestPlanRevisions(t *testing.T) {
	set := newSet("web").Obj()
	v1, _ := newRevision(set, 1)
	set2 := newSet("web").Obj()
	set2.Spec.Template.Spec.Containers[0].Image = "nginx:2"
	v2, _ := newRevision(set2, 2)

	p, err := planRevisions(set, nil)
	require.NoError(t, err)
	assert.Equal(t, v1.Name, p.create.Name, "first template: create revision 1")
	assert.Equal(t, int64(1), p.create.Revision)
	assert.Same(t, p.update, p.current)

	p, err = planRevisions(set2, []*appsv1.ControllerRevision{v1})
	require.NoError(t, err)
	assert.Equal(t, v2.Name, p.update.Name)
	assert.Equal(t, int64(2), p.update.Revision)

	set.Status.CurrentRevision = v2.Name
	p, err = planRevisions(set, []*appsv1.ControllerRevision{v2, v1})
	require.NoError(t, err)
	assert.Nil(t, p.create, "reverting re-uses the older revision")
	require.NotNil(t, p.bump)
	assert.Equal(t, v1.Name, p.bump.Name)
	assert.Equal(t, int64(3), p.bump.Revision, "re-numbered as the newest")
	assert.Equal(t, v2.Name, p.current.Name)
	assert.Equal(t, int64(1), v1.Revision, "the listed revision is not mutated")

	p, err = planRevisions(set2, []*appsv1.ControllerRevision{v1, v2})
	require.NoError(t, err)
	assert.Nil(t, p.create)
	assert.Nil(t, p.bump, "already the newest")
}

func TestPrunableRevisions(t *testing.T) {
	set := newSet("web").Obj()
	set.Spec.RevisionHistoryLimit = ptr(int32(1))
	var revs []*appsv1.ControllerRevision
	for i := range 5 {
		revs = append(revs, &appsv1.ControllerRevision{ObjectMeta: metav1.ObjectMeta{Name: "r" + string(rune('0'+i))}, Revision: int64(i + 1)})
	}
	pods := []*corev1.Pod{{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{LabelRevision: "r0"}}}}
	got := prunableRevisions(set, revs, pods, "r4", "r3")
	var names []string
	for _, r := range got {
		names = append(names, r.Name)
	}
	assert.Equal(t, []string{"r1"}, names, "r0 is used by a pod, r3/r4 by status; of r1,r2 the newest is kept")
	set.Spec.RevisionHistoryLimit = nil
	assert.Empty(t, prunableRevisions(set, revs, pods), "default limit 10")
}

// TestRevisionNameIsTheOneAppsV1Computes holds the revision data and names that
// kube-controller-manager v1.37.2's own code (pkg/controller/history with the apps/v1
// patch codec) gives for this template, so a workload moves between the two
// controllers without a rollout. Before, FNV-32a and a binary collision count gave
// other names for every template.
func TestRevisionNameIsTheOneAppsV1Computes(t *testing.T) {
	grace := int64(30)
	set := newSet("web").Obj()
	set.Spec.Template = corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}, Annotations: map[string]string{"note": "a"}},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{{
				Name: "nginx", Image: "nginx:1.27", Ports: []corev1.ContainerPort{{Name: "web", ContainerPort: 80, Protocol: corev1.ProtocolTCP}},
				ImagePullPolicy: corev1.PullIfNotPresent, TerminationMessagePath: "/dev/termination-log", TerminationMessagePolicy: corev1.TerminationMessageReadFile,
			}},
			RestartPolicy: corev1.RestartPolicyAlways, TerminationGracePeriodSeconds: &grace, DNSPolicy: corev1.DNSClusterFirst,
			SecurityContext: &corev1.PodSecurityContext{}, SchedulerName: "default-scheduler",
		},
	}
	data, err := revisionData(&set.Spec.Template)
	require.NoError(t, err)
	assert.Equal(t, `{"spec":{"template":{"$patch":"replace","metadata":{"annotations":{"note":"a"},"labels":{"app":"web"}},"spec":{"containers":[{"image":"nginx:1.27","imagePullPolicy":"IfNotPresent","name":"nginx","ports":[{"containerPort":80,"name":"web","protocol":"TCP"}],"resources":{},"terminationMessagePath":"/dev/termination-log","terminationMessagePolicy":"File"}],"dnsPolicy":"ClusterFirst","restartPolicy":"Always","schedulerName":"default-scheduler","securityContext":{},"terminationGracePeriodSeconds":30}}}}`,
		string(data))
	for _, tc := range []struct {
		collisions *int32
		name       string
	}{{nil, "web-74cf7f4498"}, {ptr(int32(0)), "web-74cf7f4498"}, {ptr(int32(1)), "web-74cf7f4499"}, {ptr(int32(7)), "web-74cf7f448f"}} {
		set.Status.CollisionCount = tc.collisions
		name, err := RevisionName(set)
		require.NoError(t, err)
		assert.Equal(t, tc.name, name, "collisionCount %v", tc.collisions)
	}
}
