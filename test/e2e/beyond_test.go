//go:build e2e

package e2e

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"

	appsv1alpha1 "github.com/ministatefulset/ministatefulset/pkg/apis/apps/v1alpha1"
)

// The fields beyond apps/v1 (docs/parity.md, "Beyond apps/v1"): with them unset the
// parity tests run unchanged; these tests set them, on MiniStatefulSets alone.

// beyondSide is a MiniStatefulSet side whose spec is written whole, so the fields a
// StatefulSet has no room for survive an update.
type beyondSide struct {
	*side
	mini *miniSet
}

func newBeyondSide(t *testing.T, prefix string) *beyondSide {
	e := newEnv(t, prefix)
	m := &miniSet{e, "app"}
	return &beyondSide{side: &side{env: e, set: m, deviation: new(string)}, mini: m}
}

// create makes the set from the apps/v1 spec, then lets mutate add what lies beyond.
func (b *beyondSide) create(spec appsv1.StatefulSetSpec, mutate func(*appsv1alpha1.MiniStatefulSetSpec)) {
	b.t.Helper()
	b.createService(b.name())
	set := convert(b.t, b.ns, b.name(), renamed(spec, b.name()))
	mutate(&set.Spec)
	_, err := msts.AppsV1alpha1().MiniStatefulSets(b.ns).Create(b.ctx, set, metav1.CreateOptions{})
	require.NoError(b.t, err, "creating MiniStatefulSet %s", b.name())
}

// update changes the MiniStatefulSet's own spec.
func (b *beyondSide) update(mutate func(*appsv1alpha1.MiniStatefulSetSpec)) {
	b.t.Helper()
	b.onConflict("updating MiniStatefulSet "+b.name(), func() error {
		s, err := b.mini.get()
		if err != nil {
			return err
		}
		mutate(&s.Spec)
		_, err = msts.AppsV1alpha1().MiniStatefulSets(b.ns).Update(b.ctx, s, metav1.UpdateOptions{})
		return err
	})
}

func (b *beyondSide) get() *appsv1alpha1.MiniStatefulSet {
	b.t.Helper()
	s, err := b.mini.get()
	require.NoError(b.t, err)
	return s
}

// events are the messages of the set's events of one reason, sorted.
func (b *beyondSide) events(reason string) []string {
	b.t.Helper()
	var out []string
	for _, ev := range b.setEvents(b.name()) {
		// setEvents gives "Type Reason message".
		if f := strings.SplitN(ev, " ", 3); len(f) == 3 && f[1] == reason {
			out = append(out, f[2])
		}
	}
	slices.Sort(out)
	return out
}

// TestBeyondUnhealthyPodReplacement: with unhealthyPodReplacement Automatic, an
// OrderedReady rollout of a template whose pods never get Ready stalls as apps/v1's
// does, and once the template is reverted it recovers by itself: the broken pod is
// replaced without anyone deleting it. (With the default, Never, it stays stuck
// exactly as the built-in StatefulSet does: TestParityForcedRollback.)
func TestBeyondUnhealthyPodReplacement(t *testing.T) {
	t.Parallel()
	requireKwok(t)
	b := newBeyondSide(t, "bupr")
	b.create(statefulSpec("app", 3, map[string]string{deleteDelay: "1s"}, false), func(s *appsv1alpha1.MiniStatefulSetSpec) {
		s.UpdateStrategy.RollingUpdate = &appsv1alpha1.RollingUpdateStatefulSetStrategy{UnhealthyPodReplacement: appsv1alpha1.AutomaticallyReplaceUnhealthyPods}
	})
	r1 := b.waitSettled(3).Status.UpdateRevision
	was := b.uids()
	b.update(func(s *appsv1alpha1.MiniStatefulSetSpec) {
		s.Template.Spec.Containers[0].Image = "redis:broken"
		s.Template.Annotations[holdUnready] = "true"
	})
	b.waitSaw(longWait, "the new pod 2 Running but never Ready", func() (bool, string) {
		p, ok := b.pod(b.podName(2))
		return ok && p.UID != was[2] && p.Status.Phase == corev1.PodRunning && !isReady(p), b.describePods()
	})
	broken := b.uids()[2]
	b.holdsFor(3*time.Second, "a pod replaced while the broken pod 2 is at the update revision", func() bool {
		return b.disturbed(map[int]types.UID{0: was[0], 1: was[1], 2: broken}, 0, 1, 2)
	})
	w := findWaiting(b.get().Status)
	require.NotNil(t, w)
	assert.Contains(t, w.Message, "waiting for app-2 to be Running and Ready", "a pod of the update revision is waited for, as in apps/v1")

	b.markTrace()
	reverted := time.Now()
	b.update(func(s *appsv1alpha1.MiniStatefulSetSpec) {
		s.Template.Spec.Containers[0].Image = "redis:7"
		delete(s.Template.Annotations, holdUnready)
	})
	final := b.waitSettled(3)
	t.Logf("recovered %v after the revert, with no pod deleted by hand", time.Since(reverted).Round(time.Millisecond))
	assert.Equal(t, r1, final.Status.UpdateRevision, "back at the first revision")
	assert.False(t, b.disturbed(was, 0, 1), "pods 0 and 1 were replaced")
	assert.Equal(t, []string{"terminating 2", "gone 2", "created 2", "ready 2"}, b.order(), "only the broken pod is replaced")
	replaced := b.events("ReplacingUnhealthyPod")
	require.Len(t, replaced, 1)
	assert.Contains(t, replaced[0], "Replacing Pod app-2, not Running and Ready at revision")
}

// TestBeyondReserveOrdinals: reserved ordinals get no pod; replicas counts the pods
// that run, on the lowest free ordinals, created in order over them; reserving the
// ordinal of a running pod removes it as a scale-down does (after the new ordinal's
// pod is up) and keeps its claim.
func TestBeyondReserveOrdinals(t *testing.T) {
	t.Parallel()
	requireKwok(t)
	b := newBeyondSide(t, "bres")
	b.create(statefulSpec("app", 3, map[string]string{deleteDelay: "1s"}, true), func(s *appsv1alpha1.MiniStatefulSetSpec) {
		s.ReserveOrdinals = []intstr.IntOrString{intstr.FromInt32(1)}
	})
	b.waitSettled(3)
	assert.Equal(t, []string{"app-0", "app-2", "app-3"}, b.ownNames())
	assert.Equal(t, []string{"created 0", "ready 0", "created 2", "ready 2", "created 3", "ready 3"}, b.order(),
		"one at a time over the ordinals in use, each after the one below is Ready")

	b.markTrace()
	b.update(func(s *appsv1alpha1.MiniStatefulSetSpec) {
		s.ReserveOrdinals = []intstr.IntOrString{intstr.FromInt32(1), intstr.FromString("2-3")}
	})
	b.waitStatus("pods 0, 4 and 5 only", func(st setState) bool {
		return b.settled(st, 3) && slices.Equal(b.ownNames(), []string{"app-0", "app-4", "app-5"})
	})
	order := b.order()
	assert.Equal(t, []string{"created 4", "ready 4", "created 5", "ready 5", "terminating 3", "gone 3", "terminating 2", "gone 2"}, order,
		"the new ordinals first, in order; then the reserved ones from the highest down")
	for _, ord := range []int{2, 3} {
		_, err := kube.CoreV1().PersistentVolumeClaims(b.ns).Get(b.ctx, fmt.Sprintf("app-data-app-%d", ord), metav1.GetOptions{})
		assert.NoError(t, err, "the claim of reserved ordinal %d is kept (whenScaled Retain)", ord)
	}
}

// ownNames lists the set's pods that are not terminating, by ordinal.
func (s *side) ownNames() []string {
	var out []string
	for _, p := range s.own() {
		if p.DeletionTimestamp == nil {
			out = append(out, p.Name)
		}
	}
	slices.SortFunc(out, func(a, b string) int { return s.ordinal(a) - s.ordinal(b) })
	return out
}

// TestBeyondClaimStorageGrowth: raising a claim template's storage request raises
// each existing claim's, lowest ordinal first, where the claim's StorageClass allows
// expansion (the API server's resize admission checks it for real); status and the
// Waiting condition show the progress until the volumes have grown; a claim whose
// class does not allow it is left as it is, with a Warning event; new pods get
// claims of the new size.
func TestBeyondClaimStorageGrowth(t *testing.T) {
	t.Parallel()
	requireKwok(t)
	for _, class := range []string{"msts-expandable", "msts-fixed"} {
		t.Run(class, func(t *testing.T) {
			t.Parallel()
			b := newBeyondSide(t, "bgrow")
			pool := b.ns
			b.volumes(pool, class, 4, "1Gi")
			b.volumes(pool, class, 1, "2Gi")
			spec := statefulSpec("app", 3, map[string]string{deleteDelay: "1s"}, true)
			spec.VolumeClaimTemplates[0].Spec.StorageClassName = ptr(class)
			spec.VolumeClaimTemplates[0].Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"msts.e2e/pool": pool}}
			b.create(spec, func(*appsv1alpha1.MiniStatefulSetSpec) {})
			b.waitSettled(3)
			claims := []string{"app-data-app-0", "app-data-app-1", "app-data-app-2"}
			b.waitSaw(longWait, "the claims bound", func() (bool, string) {
				return b.claimsAre(claims, func(c *corev1.PersistentVolumeClaim) bool { return c.Status.Phase == corev1.ClaimBound })
			})

			b.update(func(s *appsv1alpha1.MiniStatefulSetSpec) {
				s.VolumeClaimTemplates[0].Spec.Resources.Requests[corev1.ResourceStorage] = resource.MustParse("2Gi")
			})
			if class == "msts-fixed" {
				b.waitSaw(longWait, "a Warning for each claim", func() (bool, string) {
					w := b.events("ClaimNotExpandable")
					return len(w) == 3, fmt.Sprint(w)
				})
				assert.Contains(t, b.events("ClaimNotExpandable")[0], "Claim app-data-app-0 stays at 1Gi while its template asks for 2Gi: its StorageClass msts-fixed does not allow volume expansion")
				st := b.get().Status
				require.NotNil(t, st.ClaimStorage)
				assert.Equal(t, appsv1alpha1.ClaimStorageStatus{Claims: 3, NotExpandable: 3}, *st.ClaimStorage)
				for _, name := range claims {
					assert.Equal(t, "1Gi", b.request(name), "%s left as it is", name)
				}
				return
			}
			b.waitSaw(longWait, "every claim asking for 2Gi, and the status saying so", func() (bool, string) {
				ok, desc := b.claimsAre(claims, func(c *corev1.PersistentVolumeClaim) bool {
					q := c.Spec.Resources.Requests[corev1.ResourceStorage]
					return q.String() == "2Gi"
				})
				st := b.get().Status
				return ok && st.ClaimStorage != nil && st.ClaimStorage.Requested == 3, fmt.Sprintf("%s; claimStorage %+v", desc, st.ClaimStorage)
			})
			assert.Equal(t, []string{
				"grow Claim app-data-app-0 Pod app-0 in MiniStatefulSet app to 2Gi success",
				"grow Claim app-data-app-1 Pod app-1 in MiniStatefulSet app to 2Gi success",
				"grow Claim app-data-app-2 Pod app-2 in MiniStatefulSet app to 2Gi success",
			}, b.growEvents())
			st := b.get().Status
			assert.Equal(t, appsv1alpha1.ClaimStorageStatus{Claims: 3, Requested: 3, Resized: 0}, *st.ClaimStorage)
			w := findWaiting(st)
			require.NotNil(t, w)
			assert.Equal(t, "waiting for claims to grow to their templates' storage: 0 of 3 have grown, 3 ask for it", w.Message)

			// Nothing resizes hostPath volumes: the test plays the resizer.
			for _, name := range claims {
				b.resize(name, "2Gi")
			}
			b.waitStatus("claimStorage gone once the volumes have grown", func(st setState) bool {
				return b.get().Status.ClaimStorage == nil
			})
			b.mini.Scale(4)
			b.waitSettled(4)
			assert.Equal(t, "2Gi", b.request("app-data-app-3"), "a new pod's claim asks for the new size")
		})
	}
}

// volumes makes n static volumes of the class, labelled for this test's claims.
func (e *env) volumes(pool, class string, n int, size string) {
	e.t.Helper()
	for i := range n {
		name := fmt.Sprintf("%s-%s-%s-%d", pool, class, strings.ToLower(size), i)
		pv := staticVolume(name, class, size, map[string]string{"msts.e2e/pool": pool})
		_, err := kube.CoreV1().PersistentVolumes().Create(e.ctx, pv, metav1.CreateOptions{})
		require.NoError(e.t, err, "creating volume %s", name)
		e.t.Cleanup(func() { _ = kube.CoreV1().PersistentVolumes().Delete(e.ctx, name, metav1.DeleteOptions{}) })
	}
}

// staticVolume is a hostPath volume of the class and size, ReadWriteOnce, kept
// (Retain) when its claim goes, as test/cluster/install.sh makes them.
func staticVolume(name, class, size string, labels map[string]string) *corev1.PersistentVolume {
	return &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Spec: corev1.PersistentVolumeSpec{
			StorageClassName:              class,
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(size)},
			AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
			PersistentVolumeSource:        corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/tmp/" + name}},
		},
	}
}

func (e *env) claimsAre(names []string, ok func(*corev1.PersistentVolumeClaim) bool) (bool, string) {
	var desc []string
	all := true
	for _, n := range names {
		c, err := kube.CoreV1().PersistentVolumeClaims(e.ns).Get(e.ctx, n, metav1.GetOptions{})
		if err != nil {
			desc = append(desc, n+": "+err.Error())
			all = false
			continue
		}
		q := c.Spec.Resources.Requests[corev1.ResourceStorage]
		desc = append(desc, fmt.Sprintf("%s %s %s", n, c.Status.Phase, q.String()))
		all = all && ok(c)
	}
	return all, strings.Join(desc, ", ")
}

func (e *env) request(claim string) string {
	e.t.Helper()
	c, err := kube.CoreV1().PersistentVolumeClaims(e.ns).Get(e.ctx, claim, metav1.GetOptions{})
	require.NoError(e.t, err)
	q := c.Spec.Resources.Requests[corev1.ResourceStorage]
	return q.String()
}

// resize does what a volume resizer does once a volume has grown: the volume's
// capacity, then the claim's status.
func (e *env) resize(claim, size string) {
	e.t.Helper()
	c, err := kube.CoreV1().PersistentVolumeClaims(e.ns).Get(e.ctx, claim, metav1.GetOptions{})
	require.NoError(e.t, err)
	patch := fmt.Sprintf(`{"spec":{"capacity":{"storage":%q}}}`, size)
	_, err = kube.CoreV1().PersistentVolumes().Patch(e.ctx, c.Spec.VolumeName, types.MergePatchType, []byte(patch), metav1.PatchOptions{})
	require.NoError(e.t, err, "growing volume %s", c.Spec.VolumeName)
	patch = fmt.Sprintf(`{"status":{"capacity":{"storage":%q}}}`, size)
	_, err = kube.CoreV1().PersistentVolumeClaims(e.ns).Patch(e.ctx, claim, types.MergePatchType, []byte(patch), metav1.PatchOptions{}, "status")
	require.NoError(e.t, err, "the claim's new capacity")
}

func (b *beyondSide) growEvents() []string {
	var out []string
	for _, m := range b.events("SuccessfulUpdate") {
		if strings.HasPrefix(m, "grow Claim") {
			out = append(out, m)
		}
	}
	return out
}

func findWaiting(st appsv1alpha1.MiniStatefulSetStatus) *appsv1alpha1.MiniStatefulSetCondition {
	for i := range st.Conditions {
		if st.Conditions[i].Type == appsv1alpha1.ConditionWaiting {
			return &st.Conditions[i]
		}
	}
	return nil
}

// TestBeyondClaimGrowthConfinedToANamespace: a controller confined to a namespace
// (deploy/namespaced's Role: no StorageClasses to read) asks to grow each claim, and
// the API server's resize admission answers for a class that does not allow
// expansion. Each claim is left as it is, with one Warning that quotes the refusal
// (the failed pass brings the next one at once, which says so), and the status
// counts them.
func TestBeyondClaimGrowthConfinedToANamespace(t *testing.T) {
	requireKwok(t)
	b := newBeyondSide(t, "bgrowns")
	kubeconfig := b.applyNamespacedRoles()
	p := newControllerProcess("grow-scoped", "", append(leaderArgs(b.ns), "--namespace="+b.ns)...)
	p.kubeconfig = kubeconfig
	b.standInForSuite(p)
	require.NoError(t, p.start())

	pool := b.ns
	b.volumes(pool, "msts-fixed", 2, "1Gi")
	spec := statefulSpec("app", 2, map[string]string{deleteDelay: "1s"}, true)
	spec.VolumeClaimTemplates[0].Spec.StorageClassName = ptr("msts-fixed")
	spec.VolumeClaimTemplates[0].Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"msts.e2e/pool": pool}}
	b.create(spec, func(*appsv1alpha1.MiniStatefulSetSpec) {})
	b.waitSettled(2)
	claims := []string{"app-data-app-0", "app-data-app-1"}
	b.waitSaw(longWait, "the claims bound", func() (bool, string) {
		return b.claimsAre(claims, func(c *corev1.PersistentVolumeClaim) bool { return c.Status.Phase == corev1.ClaimBound })
	})
	b.update(func(s *appsv1alpha1.MiniStatefulSetSpec) {
		s.VolumeClaimTemplates[0].Spec.Resources.Requests[corev1.ResourceStorage] = resource.MustParse("2Gi")
	})
	b.waitSaw(longWait, "a Warning for each claim, and the status counting them", func() (bool, string) {
		w := b.events("ClaimNotExpandable")
		st := b.get().Status
		return len(w) == 2 && st.ClaimStorage != nil && st.ClaimStorage.NotExpandable == 2, fmt.Sprintf("warnings %v, claimStorage %+v", w, st.ClaimStorage)
	})
	w := b.events("ClaimNotExpandable")
	assert.Contains(t, w[0], "Claim app-data-app-0 stays at 1Gi while its template asks for 2Gi: the API server refused")
	assert.Contains(t, w[0], "only dynamically provisioned pvc can be resized", "the resize admission's own words")
	for _, name := range claims {
		assert.Equal(t, "1Gi", b.request(name), "%s left as it is", name)
	}
	b.holdsFor(3*time.Second, "a third Warning: a refusal is asked again only after 10 minutes", func() bool {
		return len(b.events("ClaimNotExpandable")) != 2
	})
}
