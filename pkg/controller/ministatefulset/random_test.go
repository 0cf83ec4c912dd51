package ministatefulset

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"

	appsv1alpha1 "github.com/ministatefulset/ministatefulset/pkg/apis/apps/v1alpha1"
)

// randomSequences per policy; each runs randomSteps steps with a pass per set after
// each. Under the race detector (make unit's -race run) a tenth of them run: the
// passes are sequential, so the race detector finds nothing more in the rest, which
// make unit runs without it.
const (
	randomSequences = 120
	randomSteps     = 45
)

func sequencesToRun() int {
	if raceDetector {
		return randomSequences / 10
	}
	return randomSequences
}

// TestRandomizedInvariants drives one or two sets through random scaling, template,
// partition and policy changes, kubelet and user actions, foreign pods taking names,
// a set deleted and re-applied, a moving clock, listers that lag the API, and API
// faults on every kind of write. After every pass the invariants of
// invariants_test.go must hold; at the end, with a cooperative kubelet and no more
// faults, every set settles at its spec. A failure names the seed and the steps.
func TestRandomizedInvariants(t *testing.T) {
	for _, parallel := range []bool{false, true} {
		policy := "OrderedReady"
		if parallel {
			policy = "Parallel"
		}
		t.Run(policy, func(t *testing.T) {
			for seed := range sequencesToRun() {
				t.Run(strconv.Itoa(seed), func(t *testing.T) {
					t.Parallel()
					newSequence(t, parallel, uint64(seed)).run()
				})
			}
		})
	}
}

// sequence is one random run.
type sequence struct {
	t   *testing.T
	f   *fixture
	rng *rand.Rand
	// beyond draws the fields beyond apps/v1 (reserved ordinals, unhealthy pod
	// replacement) from a stream of its own, so the draws of rng, and with them every
	// sequence that ran before these fields, stay as they were.
	beyond *rand.Rand
	seed   uint64
	sets   []string
	// clean sequences have no faults, lag, user deletions, failures, foreign pods or
	// rollbacks, and keep their partition: there revisions must stay sorted.
	clean  bool
	faults *faults
	log    []string
}

func newSequence(t *testing.T, parallel bool, seed uint64) *sequence {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	sq := &sequence{t: t, rng: rng, beyond: rand.New(rand.NewPCG(seed, 0xbe70d)), seed: seed, clean: seed%3 == 0, sets: []string{"web"}}
	if rng.IntN(2) == 0 {
		sq.sets = append(sq.sets, "web-a")
	}
	sq.f = newFixture(t, sq.randomSet("web", parallel))
	for _, name := range sq.sets[1:] {
		require.NoError(t, sq.f.msts.Tracker().Add(sq.randomSet(name, parallel)))
	}
	sq.f.graceful = true
	if !sq.clean {
		sq.faults = sq.f.injectFaults(seed)
		sq.f.lagBy(rng.IntN(3))
	}
	return sq
}

// randomSet draws a spec: up to 8 replicas, a start ordinal, minReadySeconds, the
// update strategy with partition and maxUnavailable (a number or a percentage), the
// retention policy and the history limit.
func (sq *sequence) randomSet(name string, parallel bool) *appsv1alpha1.MiniStatefulSet {
	rng := sq.rng
	b := newSet(name).Replicas(int32(rng.IntN(9))).Claims("data")
	if parallel {
		b.Parallel()
	}
	if rng.IntN(3) == 0 {
		b.Start(int32(rng.IntN(4)))
	}
	if rng.IntN(3) == 0 {
		b.MinReady(int32(1 + rng.IntN(5)))
	}
	set := b.Obj()
	if rng.IntN(5) == 0 && !sq.clean {
		set.Spec.UpdateStrategy = appsv1alpha1.StatefulSetUpdateStrategy{Type: appsv1alpha1.OnDeleteStatefulSetStrategyType}
	} else {
		maxU := intstr.FromInt32(int32(1 + rng.IntN(3)))
		if rng.IntN(2) == 0 {
			maxU = intstr.FromString([]string{"25%", "50%", "100%"}[rng.IntN(3)])
		}
		set.Spec.UpdateStrategy.RollingUpdate = &appsv1alpha1.RollingUpdateStatefulSetStrategy{MaxUnavailable: &maxU, Partition: ptr(int32(rng.IntN(3)))}
		if sq.beyond.IntN(4) == 0 && !sq.clean {
			set.Spec.UpdateStrategy.RollingUpdate.UnhealthyPodReplacement = appsv1alpha1.AutomaticallyReplaceUnhealthyPods
		}
	}
	if sq.beyond.IntN(4) == 0 && !sq.clean {
		set.Spec.ReserveOrdinals = sq.randomReservation()
	}
	policies := []appsv1alpha1.PersistentVolumeClaimRetentionPolicyType{retain, del}
	withRetention(policies[rng.IntN(2)], policies[rng.IntN(2)])(set)
	if rng.IntN(3) == 0 {
		set.Spec.RevisionHistoryLimit = ptr(int32(rng.IntN(3)))
	}
	return set
}

// randomReservation is a spec.reserveOrdinals of up to two items among the low
// ordinals: none, an ordinal, or a range.
func (sq *sequence) randomReservation() []intstr.IntOrString {
	var out []intstr.IntOrString
	for range sq.beyond.IntN(3) {
		lo := sq.beyond.IntN(6)
		if sq.beyond.IntN(2) == 0 {
			out = append(out, intstr.FromInt32(int32(lo)))
		} else {
			out = append(out, intstr.FromString(fmt.Sprintf("%d-%d", lo, lo+sq.beyond.IntN(3))))
		}
	}
	return out
}

func (sq *sequence) logf(format string, args ...any) {
	sq.log = append(sq.log, fmt.Sprintf(format, args...))
}

func (sq *sequence) fail(format string, args ...any) {
	sq.t.Helper()
	injected := ""
	if sq.faults != nil {
		injected = fmt.Sprintf("\ninjected faults: %v", sq.faults.injected)
	}
	sq.t.Fatalf("seed %d: %s\nsteps:\n  %s\npods: %s%s", sq.seed, fmt.Sprintf(format, args...), strings.Join(sq.log, "\n  "), describePods(sq.f.pods()), injected)
}

func (sq *sequence) run() {
	for step := range randomSteps {
		sq.act(step)
		for _, name := range sq.sets {
			sq.pass(name)
		}
		if sq.clean && !isParallel(sq.f.set("web")) {
			// Parallel replaces old pods that are unavailable wherever they are (v1.37's
			// two-phase update), so sorted revisions are an OrderedReady property.
			sq.checkSortedRevisions("web")
		}
	}
	sq.settle()
}

// act takes one random action. Clean sequences skip the harsh ones.
func (sq *sequence) act(step int) {
	f, rng := sq.f, sq.rng
	if sq.faults != nil {
		sq.faults.set(step)
	}
	name := sq.sets[rng.IntN(len(sq.sets))]
	harsh := !sq.clean
	switch r := rng.IntN(100); {
	case r < 10:
		n := int32(rng.IntN(9))
		f.scale(name, n)
		sq.logf("%d: scale %s to %d", step, name, n)
	case r < 17:
		// Three images, so sequences roll back to earlier revisions; clean ones only
		// move forward, since a rollback can turn a pod between two revisions back
		// into an updated one below older pods.
		image := []string{"a", "b", "c"}[rng.IntN(3)]
		if sq.clean {
			image = fmt.Sprintf("v%d", step)
		}
		f.setImage(name, image)
		sq.logf("%d: %s image %s", step, name, image)
	case r < 21 && harsh:
		if f.set(name).Spec.UpdateStrategy.RollingUpdate != nil {
			n := int32(rng.IntN(5))
			f.updateSet(name, func(s *appsv1alpha1.MiniStatefulSet) { s.Spec.UpdateStrategy.RollingUpdate.Partition = &n })
			sq.logf("%d: %s partition %d", step, name, n)
		}
	case r < 35:
		if p := sq.pick(); p != nil {
			f.ready(p.Name)
			sq.logf("%d: %s Ready", step, p.Name)
		}
	case r < 41:
		if p := sq.pick(); p != nil {
			f.unready(p.Name)
			sq.logf("%d: %s unready", step, p.Name)
		}
	case r < 45 && harsh:
		if p := sq.pick(); p != nil {
			f.setPodStatus(p.Name, []corev1.PodPhase{corev1.PodFailed, corev1.PodSucceeded}[rng.IntN(2)], false)
			sq.logf("%d: %s %s", step, p.Name, f.pod(p.Name).Status.Phase)
		}
	case r < 50 && harsh:
		if p := sq.pick(); p != nil {
			f.userDeletePod(p.Name)
			sq.logf("%d: user deletes %s", step, p.Name)
		}
	case r < 62:
		f.finishTerminations()
		sq.collectGarbage()
		sq.logf("%d: terminations finish, garbage collected", step)
	case r < 66 && harsh:
		if names := f.claimNames(); len(names) > 0 {
			claim := names[rng.IntN(len(names))]
			require.NoError(sq.t, f.kube.Tracker().Delete(corev1.SchemeGroupVersion.WithResource("persistentvolumeclaims"), ns, claim))
			sq.logf("%d: user deletes claim %s", step, claim)
		}
	case r < 72 && harsh:
		sq.injectFaults(step)
	case r < 76:
		d := time.Duration(1+rng.IntN(6)) * time.Second
		f.clock.Step(d)
		sq.logf("%d: clock +%v", step, d)
	case r < 79 && harsh:
		sq.foreignPodTakesAName(step, name)
	case r < 81 && harsh:
		sq.foreignPodsLeave()
		sq.logf("%d: foreign pods leave", step)
	case r < 83 && harsh:
		sq.reapply(step, name)
	default:
		if harsh && sq.beyond.IntN(6) == 0 {
			res := sq.randomReservation()
			f.updateSet(name, func(s *appsv1alpha1.MiniStatefulSet) { s.Spec.ReserveOrdinals = res })
			sq.logf("%d: %s reserves %v", step, name, res)
			break
		}
		sq.logf("%d: nothing", step)
	}
}

// injectFaults fails a share of this step's writes of a few kinds.
func (sq *sequence) injectFaults(step int) {
	kinds := []faultRule{
		{verb: "create", resource: "pods"}, {verb: "delete", resource: "pods"}, {verb: "update", resource: "pods"},
		{verb: "patch", resource: "pods"}, {verb: "create", resource: "persistentvolumeclaims"},
		{verb: "update", resource: "persistentvolumeclaims"}, {verb: "create", resource: "controllerrevisions"},
		{verb: "update", resource: "controllerrevisions"}, {verb: "delete", resource: "controllerrevisions"},
		{verb: "patch", resource: "controllerrevisions"},
		{verb: "update", resource: "ministatefulsets", subresource: "status"},
		{verb: "update", resource: "ministatefulsets", subresource: "status", conflict: true},
		{verb: "update", resource: "pods", conflict: true},
	}
	var rules []faultRule
	var names []string
	for range 1 + sq.rng.IntN(3) {
		r := kinds[sq.rng.IntN(len(kinds))]
		r.percent = 30 + sq.rng.IntN(50)
		rules = append(rules, r)
		names = append(names, fmt.Sprintf("%s %s/%s %d%% conflict=%v", r.verb, r.resource, r.subresource, r.percent, r.conflict))
	}
	sq.faults.set(step, rules...)
	sq.logf("%d: faults %v", step, names)
}

// pick returns a random pod that is not terminating.
func (sq *sequence) pick() *corev1.Pod {
	var live []corev1.Pod
	for _, p := range sq.f.pods() {
		if p.DeletionTimestamp == nil {
			live = append(live, p)
		}
	}
	if len(live) == 0 {
		return nil
	}
	return &live[sq.rng.IntN(len(live))]
}

// foreignPodTakesAName makes a pod another controller owns, with the set's labels,
// under a name of the set's that is free.
func (sq *sequence) foreignPodTakesAName(step int, name string) {
	set := sq.f.set(name)
	ord := startOrdinal(set) + sq.rng.IntN(replicaCount(set)+2)
	pod := newPod(set, &set.Spec.Template, "foreign", ord)
	if _, err := sq.f.kube.Tracker().Get(corev1.SchemeGroupVersion.WithResource("pods"), ns, pod.Name); err == nil {
		return
	}
	pod.UID = types.UID(fmt.Sprintf("uid-foreign-%s-%d", pod.Name, step))
	pod.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "intruder", UID: "uid-intruder", Controller: ptr(true)}}
	require.NoError(sq.t, sq.f.kube.Tracker().Add(pod))
	sq.logf("%d: a ReplicaSet's pod takes the name %s", step, pod.Name)
}

func (sq *sequence) foreignPodsLeave() {
	for _, p := range sq.f.pods() {
		if ref := metav1.GetControllerOf(&p); ref != nil && ref.Kind == "ReplicaSet" {
			require.NoError(sq.t, sq.f.kube.Tracker().Delete(corev1.SchemeGroupVersion.WithResource("pods"), ns, p.Name))
		}
	}
}

// reapply is `kubectl delete msts NAME && kubectl apply`: the set comes back with a new
// UID while the garbage collector deletes the old one's pods.
func (sq *sequence) reapply(step int, name string) {
	old := sq.f.set(name)
	require.NoError(sq.t, sq.f.msts.Tracker().Delete(appsv1alpha1.SchemeGroupVersion.WithResource("ministatefulsets"), ns, name))
	sq.collectGarbage()
	fresh := old.DeepCopy()
	fresh.UID = types.UID(fmt.Sprintf("uid-%s-%d", name, step))
	fresh.Generation = 1
	fresh.Status = appsv1alpha1.MiniStatefulSetStatus{}
	require.NoError(sq.t, sq.f.msts.Tracker().Add(fresh))
	sq.logf("%d: %s deleted and re-applied while its pods terminate", step, name)
}

// collectGarbage plays the garbage collector: a pod whose controlling set is gone is
// deleted (gracefully), a claim all of whose owners are gone is deleted.
func (sq *sequence) collectGarbage() {
	f := sq.f
	live := map[types.UID]bool{"uid-intruder": true}
	list, err := f.msts.AppsV1alpha1().MiniStatefulSets(ns).List(f.ctx, metav1.ListOptions{})
	require.NoError(sq.t, err)
	for _, s := range list.Items {
		live[s.UID] = true
	}
	for _, p := range f.pods() {
		live[p.UID] = true
	}
	for _, p := range f.pods() {
		if ref := metav1.GetControllerOf(&p); ref != nil && !live[ref.UID] {
			f.userDeletePod(p.Name)
		}
	}
	claims, err := f.kube.CoreV1().PersistentVolumeClaims(ns).List(f.ctx, metav1.ListOptions{})
	require.NoError(sq.t, err)
	for _, c := range claims.Items {
		gone := len(c.OwnerReferences) > 0
		for _, ref := range c.OwnerReferences {
			gone = gone && !live[ref.UID]
		}
		if gone {
			require.NoError(sq.t, f.kube.Tracker().Delete(corev1.SchemeGroupVersion.WithResource("persistentvolumeclaims"), ns, c.Name))
		}
	}
}

// pass runs one pass of a set and checks it.
func (sq *sequence) pass(name string) {
	sq.t.Helper()
	r := sq.f.recordPass(name)
	sq.logf("   %s: %v err=%v", name, podWrites(r.writes), r.err)
	if r.view == nil {
		return
	}
	if v := checkPass(r); len(v) > 0 {
		sq.fail("pass of %s broke invariants:\n  %s", name, strings.Join(v, "\n  "))
	}
}

// recordPass runs one pass of the set and returns what it saw and did; view is nil
// when the set's lister did not hold it.
func (f *fixture) recordPass(name string) *passRecord {
	f.t.Helper()
	r := &passRecord{before: podMap(f.pods()), claimsBefore: f.claimMap()}
	f.writes()
	f.refresh()
	obj, exists, err := f.stores["sets"].GetByKey(ns + "/" + name)
	require.NoError(f.t, err)
	_, r.err = f.c.sync(f.ctx, objectKey(name))
	r.writes = f.writes()
	if !exists {
		return r
	}
	r.view = obj.(*appsv1alpha1.MiniStatefulSet)
	for _, o := range f.stores["pods"].List() {
		r.viewPods = append(r.viewPods, o.(*corev1.Pod))
	}
	r.viewClaims = map[string]bool{}
	for _, key := range f.stores["claims"].ListKeys() {
		r.viewClaims[strings.TrimPrefix(key, ns+"/")] = true
	}
	r.after, r.claimsAfter, r.revisions, r.now = podMap(f.pods()), f.claimMap(), f.revisions(), f.clock.Now()
	r.status = r.view.Status
	// The status to judge is the stored one: a pass that wrote none found the one an
	// earlier pass wrote still right, even if the lister has not delivered it yet.
	if current, err := f.msts.AppsV1alpha1().MiniStatefulSets(ns).Get(f.ctx, name, metav1.GetOptions{}); err == nil && current.UID == r.view.UID &&
		!slices.Contains(r.writes, "update ministatefulsets/status "+name) {
		r.status = current.Status
	}
	if slices.Contains(r.writes, "update ministatefulsets/status "+name) {
		current, err := f.msts.AppsV1alpha1().MiniStatefulSets(ns).Get(f.ctx, name, metav1.GetOptions{})
		if err != nil || current.UID != r.view.UID {
			r.err = fmt.Errorf("the set was replaced since the lister saw it: its status is not this pass's")
		} else {
			r.status = current.Status
		}
	}
	return r
}

func podMap(pods []corev1.Pod) map[string]corev1.Pod {
	out := make(map[string]corev1.Pod, len(pods))
	for _, p := range pods {
		out[p.Name] = p
	}
	return out
}

func (f *fixture) claimMap() map[string]corev1.PersistentVolumeClaim {
	list, err := f.kube.CoreV1().PersistentVolumeClaims(ns).List(f.ctx, metav1.ListOptions{})
	require.NoError(f.t, err)
	out := make(map[string]corev1.PersistentVolumeClaim, len(list.Items))
	for _, c := range list.Items {
		out[c.Name] = c
	}
	return out
}

// settle checks liveness: with no faults, caught-up listers, no foreign pods and a
// cooperative kubelet, every set settles at its spec within a bound of passes.
func (sq *sequence) settle() {
	f := sq.f
	if sq.faults != nil {
		sq.faults.set(randomSteps)
	}
	if f.lagging != nil {
		f.lag = 0
	}
	sq.foreignPodsLeave()
	sq.logf("settle: no faults, no lag, no foreign pods, a cooperative kubelet")
	for range 60 {
		f.finishTerminations()
		sq.collectGarbage()
		for _, p := range f.pods() {
			if p.DeletionTimestamp == nil && !isRunningAndReady(&p) {
				f.ready(p.Name)
			}
		}
		f.clock.Step(6 * time.Second)
		for _, name := range sq.sets {
			sq.pass(name)
		}
		if sq.settled() == "" {
			return
		}
	}
	sq.fail("did not settle: %s", sq.settled())
}

// settled says what keeps the sets from their spec, or "".
func (sq *sequence) settled() string {
	f := sq.f
	pods := podMap(f.pods())
	for _, name := range sq.sets {
		set := f.set(name)
		st := set.Status
		want := replicaCount(set)
		r := &passRecord{view: set, revisions: f.revisions()}
		update := r.revisionHolding(&set.Spec.Template)
		n := 0
		for _, p := range pods {
			if !r.ours(&p) {
				continue
			}
			n++
			ord := ordinalOf(set, &p)
			if !r.inRange(ord) || !isHealthy(&p) {
				return fmt.Sprintf("%s is condemned or not healthy", p.Name)
			}
			if rev := r.templateOfRevision(p.Labels[LabelRevision]); rev == nil {
				return fmt.Sprintf("%s carries %s, which is no revision of the set", p.Name, p.Labels[LabelRevision])
			}
			if (set.Spec.UpdateStrategy.Type != appsv1alpha1.OnDeleteStatefulSetStrategyType && ord >= startOrdinal(set)+partition(set)) && p.Labels[LabelRevision] != update {
				return fmt.Sprintf("%s at or above the partition is at %s, not the template's %s", p.Name, p.Labels[LabelRevision], update)
			}
		}
		switch {
		case n != want || int(st.ReadyReplicas) != want || int(st.Replicas) != want:
			return fmt.Sprintf("%s: want %d pods, have %d, status %+v", name, want, n, st)
		case st.ObservedGeneration != set.Generation:
			return fmt.Sprintf("%s: observedGeneration %d of %d", name, st.ObservedGeneration, set.Generation)
		case partition(set) == 0 && set.Spec.UpdateStrategy.Type != appsv1alpha1.OnDeleteStatefulSetStrategyType && st.CurrentRevision != st.UpdateRevision:
			return fmt.Sprintf("%s: partition 0, yet currentRevision %s != updateRevision %s", name, st.CurrentRevision, st.UpdateRevision)
		}
	}
	return ""
}

// checkSortedRevisions: the lowest currentReplicas pods are at the current revision
// and the highest updatedReplicas at the update revision; no updated pod sits below
// a pod still at the current revision.
func (sq *sequence) checkSortedRevisions(name string) {
	set := sq.f.set(name)
	st := set.Status
	if st.CurrentRevision == st.UpdateRevision {
		return
	}
	highestCurrent, lowestUpdated := -1, 1<<31
	for _, p := range sq.f.pods() {
		if p.DeletionTimestamp != nil || !isMemberOf(set, &p) {
			continue
		}
		o := ordinalOf(set, &p)
		switch p.Labels[LabelRevision] {
		case st.CurrentRevision:
			highestCurrent = max(highestCurrent, o)
		case st.UpdateRevision:
			lowestUpdated = min(lowestUpdated, o)
		}
	}
	if lowestUpdated < highestCurrent {
		sq.fail("revisions out of order: ordinal %d is at the update revision below ordinal %d at the current revision", lowestUpdated, highestCurrent)
	}
}

func describePods(pods []corev1.Pod) string {
	sort.Slice(pods, func(i, j int) bool { return pods[i].Name < pods[j].Name })
	var parts []string
	for _, p := range pods {
		state := string(p.Status.Phase)
		if isRunningAndReady(&p) {
			state += "+Ready"
		}
		if p.DeletionTimestamp != nil {
			state += "+Terminating"
		}
		parts = append(parts, p.Name+"("+state+","+p.Labels[LabelRevision]+")")
	}
	return strings.Join(parts, " ")
}
