package ministatefulset

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	clienttesting "k8s.io/client-go/testing"

	appsv1alpha1 "github.com/ministatefulset/ministatefulset/pkg/apis/apps/v1alpha1"
)

// randomSequences per policy; each runs randomSteps steps with a pass after each.
const (
	randomSequences = 200
	randomSteps     = 40
)

// TestRandomizedInvariants drives a set through random scaling, kubelet and user
// actions and injected API errors, checking after every pass what a StatefulSet
// promises: ordinal identity and storage, OrderedReady creation only above healthy
// pods, deletion only of condemned pods from the top (or of Failed pods), no claim
// ever deleted; and, at the end, that the set settles at the desired replicas.
func TestRandomizedInvariants(t *testing.T) {
	for _, parallel := range []bool{false, true} {
		policy := "OrderedReady"
		if parallel {
			policy = "Parallel"
		}
		t.Run(policy, func(t *testing.T) {
			for seed := range randomSequences {
				t.Run(strconv.Itoa(seed), func(t *testing.T) {
					t.Parallel()
					runRandomSequence(t, parallel, uint64(seed))
				})
			}
		})
	}
}

func runRandomSequence(t *testing.T, parallel bool, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	b := newSet("web").Replicas(int32(rng.IntN(4))).Claims("data")
	if parallel {
		b.Parallel()
	}
	set := b.Obj()
	set.Spec.UpdateStrategy.RollingUpdate = &appsv1alpha1.RollingUpdateStatefulSetStrategy{
		MaxUnavailable: ptr(intstr.FromInt(1 + rng.IntN(2))), Partition: ptr(int32(rng.IntN(3)))}
	// Clean sequences keep their partition, never roll back, and have no user
	// deletions, failures or API errors: there the revisions must stay sorted, old
	// below new. (Moving the partition can legitimately unsort them: a pod recreated
	// at the update revision under partition 0 stays there when a raised partition
	// makes the next new pod above it start at the current revision, as apps/v1 does.)
	clean := seed%2 == 0
	f := newFixture(t, set)
	f.graceful = true
	failNext := ""
	f.kube.PrependReactor("*", "*", func(a clienttesting.Action) (bool, runtime.Object, error) {
		if failNext != "" && a.GetResource().Resource == "pods" && a.GetVerb() == failNext {
			failNext = ""
			return failOn(a.GetVerb(), "pods", 1, anyName)(a)
		}
		return false, nil, nil
	})

	var log []string
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("seed %d: %s\nsteps:\n  %s\npods: %s", seed, fmt.Sprintf(format, args...), strings.Join(log, "\n  "), describePods(f.pods()))
	}
	live := func() []corev1.Pod {
		var out []corev1.Pod
		for _, p := range f.pods() {
			if p.DeletionTimestamp == nil {
				out = append(out, p)
			}
		}
		return out
	}
	pick := func() *corev1.Pod {
		pods := live()
		if len(pods) == 0 {
			return nil
		}
		return &pods[rng.IntN(len(pods))]
	}

	for step := range randomSteps {
		r := rng.IntN(100)
		if clean && ((r >= 20 && r < 26) || (r >= 52 && r < 88 && !(r >= 63 && r < 78))) {
			r = 99
		}
		switch {
		case r < 12:
			n := int32(rng.IntN(6))
			f.scale("web", n)
			log = append(log, fmt.Sprintf("%d: scale to %d", step, n))
		case r < 20:
			// Three images, so sequences roll back to earlier revisions; clean ones
			// only move forward, since a rollback can turn a pod between two
			// revisions back into an updated one below older pods.
			image := []string{"a", "b", "c"}[rng.IntN(3)]
			if clean {
				image = fmt.Sprintf("v%d", step)
			}
			f.setImage("web", image)
			log = append(log, fmt.Sprintf("%d: image %s", step, image))
		case r < 26:
			n := int32(rng.IntN(5))
			f.updateSet("web", func(s *appsv1alpha1.MiniStatefulSet) { s.Spec.UpdateStrategy.RollingUpdate.Partition = &n })
			log = append(log, fmt.Sprintf("%d: partition %d", step, n))
		case r < 45:
			if p := pick(); p != nil {
				f.ready(p.Name)
				log = append(log, fmt.Sprintf("%d: %s Ready", step, p.Name))
			}
		case r < 52:
			if p := pick(); p != nil {
				f.unready(p.Name)
				log = append(log, fmt.Sprintf("%d: %s unready", step, p.Name))
			}
		case r < 57:
			if p := pick(); p != nil {
				f.setPodStatus(p.Name, corev1.PodFailed, false)
				log = append(log, fmt.Sprintf("%d: %s Failed", step, p.Name))
			}
		case r < 63:
			if p := pick(); p != nil && !clean {
				f.userDeletePod(p.Name)
				log = append(log, fmt.Sprintf("%d: user deletes %s", step, p.Name))
			}
		case r < 78:
			f.finishTerminations()
			log = append(log, fmt.Sprintf("%d: terminations finish", step))
		case r < 82:
			if names := f.claimNames(); len(names) > 0 {
				name := names[rng.IntN(len(names))]
				require.NoError(t, f.kube.Tracker().Delete(corev1.SchemeGroupVersion.WithResource("persistentvolumeclaims"), ns, name))
				log = append(log, fmt.Sprintf("%d: user deletes claim %s", step, name))
			}
		case r < 88:
			failNext = []string{"create", "delete"}[rng.IntN(2)]
			log = append(log, fmt.Sprintf("%d: next pod %s fails", step, failNext))
		default:
			log = append(log, fmt.Sprintf("%d: nothing", step))
		}
		pre := f.set("web")
		before := f.pods()
		f.writes()
		err := f.sync("web")
		writes := f.writes()
		log = append(log, fmt.Sprintf("   pass: %v err=%v", podWrites(writes), err))
		checkPass(f, fail, pre, before, f.pods(), writes, err)
		if clean && !parallel {
			// Parallel replaces old pods that are unavailable wherever they are
			// (v1.37's two-phase update), so sorted revisions are an OrderedReady
			// property; Parallel's budget is checked by checkUpdateDeletes.
			checkSortedRevisions(f, fail)
		}
	}

	// Liveness: with a cooperative kubelet the set settles at the desired size.
	f.graceful = true
	failNext = ""
	want := replicaCount(f.set("web"))
	for range 4*want + 10 {
		f.finishTerminations()
		for _, p := range live() {
			if !isRunningAndReady(&p) {
				f.ready(p.Name)
			}
		}
		pre := f.set("web")
		before := f.pods()
		f.writes()
		err := f.sync("web")
		writes := f.writes()
		checkPass(f, fail, pre, before, f.pods(), writes, err)
	}
	f.finishTerminations()
	f.mustSync("web")
	st := f.set("web").Status
	if got := len(f.pods()); got != want || int(st.ReadyReplicas) != want || int(st.Replicas) != want {
		fail("did not settle: want %d pods, have %d, status %+v", want, got, st)
	}
	for i := range want {
		pod := f.pod(podName(f.set("web"), i))
		if i >= partition(f.set("web")) && pod.Labels[LabelRevision] != st.UpdateRevision {
			fail("settled, yet %s at or above the partition is at %s, not the update revision %s", pod.Name, pod.Labels[LabelRevision], st.UpdateRevision)
		}
	}
	if partition(f.set("web")) == 0 && st.CurrentRevision != st.UpdateRevision {
		fail("settled with partition 0, yet currentRevision %s != updateRevision %s", st.CurrentRevision, st.UpdateRevision)
	}
}

// checkSortedRevisions: the lowest currentReplicas pods are at the current revision
// and the highest updatedReplicas at the update revision; no updated pod sits below
// a pod still at the current revision.
func checkSortedRevisions(f *fixture, fail func(string, ...any)) {
	st := f.set("web").Status
	if st.CurrentRevision == st.UpdateRevision {
		return
	}
	highestCurrent, lowestUpdated := -1, 1<<30
	for _, p := range f.pods() {
		if p.DeletionTimestamp != nil {
			continue
		}
		o := ordinalOf(f.set("web"), &p)
		switch p.Labels[LabelRevision] {
		case st.CurrentRevision:
			highestCurrent = max(highestCurrent, o)
		case st.UpdateRevision:
			lowestUpdated = min(lowestUpdated, o)
		}
	}
	if lowestUpdated < highestCurrent {
		fail("revisions out of order: ordinal %d is at the update revision below ordinal %d at the current revision", lowestUpdated, highestCurrent)
	}
}

// checkPass asserts what one pass may have done, from the pods before and after it
// and the writes it made.
func checkPass(f *fixture, fail func(string, ...any), preSet *appsv1alpha1.MiniStatefulSet, before, after []corev1.Pod, writes []string, err error) {
	set := f.set("web")
	start, n := startOrdinal(set), replicaCount(set)
	inRange := func(name string) bool {
		o, ok := parseOrdinal(set.Name, name)
		return ok && o >= start && o < start+n
	}
	pre := map[string]corev1.Pod{}
	for _, p := range before {
		pre[p.Name] = p
	}
	post := map[string]corev1.Pod{}
	for _, p := range after {
		post[p.Name] = p
	}
	var created, deleted []string
	for name, p := range post {
		old, existed := pre[name]
		if !existed {
			created = append(created, name)
		} else if p.DeletionTimestamp != nil && old.DeletionTimestamp == nil && old.Status.Phase != corev1.PodFailed && old.Status.Phase != corev1.PodSucceeded {
			deleted = append(deleted, name)
		}
	}
	// highest counts terminating pods too: a deletion waits for the one above to be gone.
	highest := -1
	for _, p := range before {
		highest = max(highest, ordinalOf(set, &p))
	}

	for _, w := range writes {
		if strings.HasPrefix(w, "delete persistentvolumeclaims") || strings.HasPrefix(w, "update persistentvolumeclaims") || strings.HasPrefix(w, "patch persistentvolumeclaims") {
			fail("a claim was touched: %s", w)
		}
	}
	for _, name := range created {
		if !inRange(name) {
			fail("created %s outside [%d, %d)", name, start, start+n)
		}
		ord := ordinalOf(set, ptr(post[name]))
		for _, claim := range []string{claimName("data", set, ord)} {
			if !f.claimExists(claim) {
				fail("created %s without its claim %s", name, claim)
			}
			if !claimFirst(writes, claim, name) {
				fail("claim %s was not in place before %s was created: %v", claim, name, writes)
			}
		}
		if !isParallel(set) {
			if len(created) > 1 {
				fail("OrderedReady created %v in one pass", created)
			}
			for o := start; o < ord; o++ {
				lower, ok := pre[podName(set, o)]
				if !ok || !isHealthy(&lower) {
					fail("OrderedReady created %s while %s was not Running and Ready", name, podName(set, o))
				}
			}
		}
	}
	var forUpdate []string
	for _, name := range deleted {
		if inRange(name) {
			forUpdate = append(forUpdate, name)
			continue
		}
		if !isParallel(set) {
			if len(deleted) > 1 || len(created) > 0 {
				fail("OrderedReady deleted %v and created %v in one pass", deleted, created)
			}
			if ordinalOf(set, ptr(pre[name])) != highest {
				fail("OrderedReady deleted %s while a higher ordinal existed or was still terminating", name)
			}
			for o := start; o < start+n; o++ {
				if p, ok := pre[podName(set, o)]; !ok || !isHealthy(&p) {
					fail("OrderedReady deleted %s while %s was not healthy", name, podName(set, o))
				}
			}
		}
	}
	checkUpdateDeletes(f, fail, preSet, set, pre, forUpdate, created)
	for _, name := range created {
		ord := ordinalOf(set, ptr(post[name]))
		want := set.Status.UpdateRevision
		if ord < start+partition(set) && preSet.Status.CurrentRevision != "" {
			want = preSet.Status.CurrentRevision
		}
		if got := post[name].Labels[LabelRevision]; got != want {
			fail("created %s at revision %s, want %s (partition %d)", name, got, want, partition(set))
		}
	}
	if isParallel(set) && err == nil {
		for o := start; o < start+n; o++ {
			if _, ok := post[podName(set, o)]; !ok && !f.claimTerminating(claimName("data", set, o)) {
				fail("Parallel left %s uncreated after a clean pass", podName(set, o))
			}
		}
	}
	seen := map[string]string{}
	for _, p := range after {
		checkIdentity(f, fail, set, &p)
		if other, dup := seen[p.Labels[LabelPodIndex]]; dup {
			fail("pods %s and %s share ordinal %s", other, p.Name, p.Labels[LabelPodIndex])
		}
		seen[p.Labels[LabelPodIndex]] = p.Name
	}
}

// checkUpdateDeletes checks the pods a pass deleted to replace them: each was at
// another revision than the update, at or above the partition, within the
// maxUnavailable budget; under OrderedReady none was skipped above it.
func checkUpdateDeletes(f *fixture, fail func(string, ...any), preSet, set *appsv1alpha1.MiniStatefulSet, pre map[string]corev1.Pod, deleted, created []string) {
	if len(deleted) == 0 {
		return
	}
	if set.Spec.UpdateStrategy.Type == appsv1alpha1.OnDeleteStatefulSetStrategyType {
		fail("OnDelete deleted %v", deleted)
	}
	start, n := startOrdinal(set), replicaCount(set)
	update := set.Status.UpdateRevision
	unavailable, availableDeleted := 0, 0
	for o := start; o < start+n; o++ {
		p, ok := pre[podName(set, o)]
		if !ok || !isAvailable(&p, set.Spec.MinReadySeconds, f.clock.Now()) || p.DeletionTimestamp != nil {
			unavailable++
		}
	}
	isDeleted := map[string]bool{}
	for _, name := range deleted {
		isDeleted[name] = true
		p := pre[name]
		if p.Labels[LabelRevision] == update {
			fail("deleted %s for an update though it is at the update revision %s", name, update)
		}
		if ordinalOf(set, &p) < start+partition(set) {
			fail("deleted %s for an update below the partition %d", name, partition(set))
		}
		if isAvailable(&p, set.Spec.MinReadySeconds, f.clock.Now()) {
			availableDeleted++
		}
	}
	budget := maxUnavailable(set) - unavailable
	if availableDeleted > max(budget, 0) {
		fail("deleted %d available pods for the update with %d already unavailable and maxUnavailable %d", availableDeleted, unavailable, maxUnavailable(set))
	}
	if !isParallel(set) {
		if len(created) > 0 {
			fail("OrderedReady created %v and updated %v in one pass", created, deleted)
		}
		lowest := start + n
		for _, name := range deleted {
			lowest = min(lowest, ordinalOf(set, ptr(pre[name])))
		}
		for o := lowest; o < start+n; o++ {
			if p, ok := pre[podName(set, o)]; ok && !isDeleted[p.Name] && p.DeletionTimestamp == nil && p.Labels[LabelRevision] != update {
				fail("OrderedReady skipped outdated %s above the updated %v", p.Name, deleted)
			}
		}
	}
}

// claimFirst reports that a claim created in this pass was created before the pod;
// a claim the pass did not create existed already.
func claimFirst(writes []string, claim, pod string) bool {
	ci, pi := -1, -1
	for i, w := range writes {
		if w == "create persistentvolumeclaims "+claim && ci < 0 {
			ci = i
		}
		if w == "create pods "+pod {
			pi = i
		}
	}
	return ci < pi
}

func checkIdentity(f *fixture, fail func(string, ...any), set *appsv1alpha1.MiniStatefulSet, pod *corev1.Pod) {
	ord, ok := parseOrdinal(set.Name, pod.Name)
	if !ok {
		fail("pod %s does not parse as an ordinal of %s", pod.Name, set.Name)
	}
	if pod.Labels[LabelPodName] != pod.Name || pod.Labels[LabelPodIndex] != strconv.Itoa(ord) || pod.Labels[LabelRevision] == "" {
		fail("pod %s has identity labels %v", pod.Name, pod.Labels)
	}
	if pod.Spec.Hostname != pod.Name || pod.Spec.Subdomain != set.Spec.ServiceName {
		fail("pod %s has hostname %q subdomain %q", pod.Name, pod.Spec.Hostname, pod.Spec.Subdomain)
	}
	ref := metav1.GetControllerOf(pod)
	if ref == nil || ref.UID != set.UID || ref.BlockOwnerDeletion == nil || !*ref.BlockOwnerDeletion {
		fail("pod %s has controllerRef %+v", pod.Name, ref)
	}
	if len(pod.Spec.Volumes) == 0 || pod.Spec.Volumes[0].PersistentVolumeClaim == nil || pod.Spec.Volumes[0].PersistentVolumeClaim.ClaimName != claimName("data", set, ord) {
		fail("pod %s does not mount %s: %+v", pod.Name, claimName("data", set, ord), pod.Spec.Volumes)
	}
}

func (f *fixture) claimExists(name string) bool {
	_, err := f.kube.Tracker().Get(corev1.SchemeGroupVersion.WithResource("persistentvolumeclaims"), ns, name)
	return err == nil
}

func (f *fixture) claimTerminating(name string) bool {
	obj, err := f.kube.Tracker().Get(corev1.SchemeGroupVersion.WithResource("persistentvolumeclaims"), ns, name)
	return err == nil && obj.(*corev1.PersistentVolumeClaim).DeletionTimestamp != nil
}

func describePods(pods []corev1.Pod) string {
	var parts []string
	for _, p := range pods {
		state := string(p.Status.Phase)
		if isRunningAndReady(&p) {
			state += "+Ready"
		}
		if p.DeletionTimestamp != nil {
			state += "+Terminating"
		}
		parts = append(parts, p.Name+"("+state+")")
	}
	return strings.Join(parts, " ")
}
