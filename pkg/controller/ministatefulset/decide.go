package ministatefulset

import (
	"fmt"
	"sort"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	appsv1alpha1 "github.com/ministatefulset/ministatefulset/pkg/apis/apps/v1alpha1"
)

// snapshot is everything one pass decides from. Nothing in it is mutated.
type snapshot struct {
	set *appsv1alpha1.MiniStatefulSet
	// pods are the set's own pods: controlled by it and named <set>-<ordinal>.
	pods []*corev1.Pod
	// claim finds an existing claim by name. It is a lookup rather than a list so a
	// pass costs what exists, not what spec.replicas asks for.
	claim claimGetter
	// current and update are the revisions below and at the update; their templates
	// are decoded once.
	current, update                 *appsv1.ControllerRevision
	currentTemplate, updateTemplate *corev1.PodTemplateSpec
	now                             time.Time
	// storageClass and refused say whether a claim may grow (see storage.go); nil
	// when unknown.
	storageClass storageClassGetter
	refused      refusalGetter
	// growsClaims raises claims to their templates' storage: false when explaining a
	// StatefulSet, whose own controller does not.
	growsClaims bool
}

// claimGetter returns the existing claim of that name in the set's namespace, or nil.
type claimGetter func(name string) *corev1.PersistentVolumeClaim

// claimsIn is a claimGetter over a fixed set of claims.
func claimsIn(claims map[string]*corev1.PersistentVolumeClaim) claimGetter {
	return func(name string) *corev1.PersistentVolumeClaim { return claims[name] }
}

// maxCreatesPerPass bounds the pods one Parallel pass creates; the next pass, queued
// behind the other sets' keys, goes on. A set of a billion replicas costs each pass
// this many writes, never a billion, and never stops the other sets being served.
const maxCreatesPerPass = 500

// nextBatch is how soon a pass that stopped at maxCreatesPerPass comes back.
const nextBatch = time.Millisecond

type actionKind int

const (
	createPod actionKind = iota
	deletePod
	updatePod
	createClaims
	updateClaim
	growClaim
)

func (k actionKind) String() string {
	return [...]string{"create", "delete", "update", "create claims of", "update claim of", "grow claim of"}[k]
}

// action is one API write the pass asks for.
type action struct {
	kind actionKind
	// pod is the pod to create, the live pod to delete, the fixed copy to update, or
	// the pod whose claims are created.
	pod *corev1.Pod
	// claims are created before the pod (createPod) or on their own (createClaims);
	// for updateClaim, claims[0] is the claim with its new ownerReferences.
	claims []*corev1.PersistentVolumeClaim
	// why says in words why, for logs.
	why string
	// barrier makes a Parallel pass finish every earlier write before this one, so
	// claims get their owners before the pods that own them go.
	barrier bool
	// done is an event to record once the write succeeds (nil: none beyond the
	// write's own).
	done *plannedEvent
}

// plannedEvent is an event the pass should record; decide only says so.
type plannedEvent struct {
	eventType, reason, message string
	// once, when set, records the event only the first time this key is seen.
	once string
}

// waitState is what the pass is waiting for, shown as the Waiting condition.
type waitState struct {
	reason, message string
}

// plan is the outcome of decide: the writes to make, in order, and what comes next.
type plan struct {
	actions []action
	// parallel writes go out in growing batches; otherwise one after another.
	parallel bool
	wait     *waitState
	// requeueAfter asks for another pass when a pod becomes available.
	requeueAfter time.Duration
	// backoff asks for the pass to be retried with backoff: it waits for something,
	// such as a claim of an earlier owner going away, whose event may map to no set.
	backoff bool
	events  []plannedEvent
	// claimStorage is the progress of growing claims (nil: none to grow).
	claimStorage *appsv1alpha1.ClaimStorageStatus
	// barrierNext marks the next action added as the start of a new phase.
	barrierNext bool
}

func (p *plan) add(a action) {
	a.barrier = p.barrierNext
	p.barrierNext = false
	p.actions = append(p.actions, a)
}

// phase starts a new phase: later writes wait for earlier ones.
func (p *plan) phase() { p.barrierNext = len(p.actions) > 0 }

func (p *plan) waitFor(reason, format string, args ...any) {
	p.wait = &waitState{reason: reason, message: fmt.Sprintf(format, args...)}
}

func (p *plan) requeueIn(d time.Duration) {
	if d > 0 && (p.requeueAfter == 0 || d < p.requeueAfter) {
		p.requeueAfter = d
	}
}

// decide is the ordering algorithm of a StatefulSet, without I/O. It walks the
// ordinals the set owns upward (the lowest replicas ordinals from start that
// spec.reserveOrdinals leaves free), then the condemned pods (the others) from the
// highest down. Under OrderedReady it stops at the first write or the first pod that
// is not yet healthy; under Parallel it asks for every write at once (at most
// maxCreatesPerPass creates) and never waits. It visits the pods that exist and the
// ordinals it creates, never every ordinal of a huge set. Then it grows the claims of
// the pods it keeps to their templates' storage (storage.go).
func decide(s *snapshot) plan {
	p, members := s.walk()
	if s.growsClaims {
		s.growClaims(&p, members)
	}
	return p
}

// walk is decide over the pods: it returns the plan and the members, the pods at the
// set's ordinals, lowest first.
func (s *snapshot) walk() (plan, []*corev1.Pod) {
	set := s.set
	p := plan{parallel: isParallel(set)}
	monotonic := !p.parallel
	// The set's ordinals are those in [start, end) that are not reserved.
	reserved := reservedOf(set)
	start := startOrdinal(set)
	end := reserved.End(start, replicaCount(set))
	minReady := set.Spec.MinReadySeconds

	// members are the pods at the set's ordinals, lowest first; condemned the others,
	// highest first.
	var members, condemned []*corev1.Pod
	// firstUnhealthy is the lowest pod that is not available (Ready for
	// minReadySeconds) or is terminating: the one pod scale-down may remove while
	// unhealthy, since nothing below it waits on it.
	var firstUnhealthy *corev1.Pod
	firstUnhealthyOrd := 0
	for _, pod := range s.pods {
		ord := ordinalOf(set, pod)
		if ord >= start && ord < end && !reserved.Has(ord) {
			members = append(members, pod)
		} else {
			condemned = append(condemned, pod)
		}
		if (!isAvailable(pod, minReady, s.now) || isTerminating(pod)) && (firstUnhealthy == nil || ord < firstUnhealthyOrd) {
			firstUnhealthy, firstUnhealthyOrd = pod, ord
		}
		// Every pod on its way to available brings a pass when it gets there, not
		// only those the walk reaches: availableReplicas must not go stale.
		if left := availableIn(pod, minReady, s.now); left > 0 {
			p.requeueIn(left)
		}
	}
	sortByOrdinal(set, members, false)
	sortByOrdinal(set, condemned, true)

	// k is the index in members of the first pod above the ordinal being visited.
	k := 0
	// holdsBack says, for a learner, what a halt at ord holds back.
	holdsBack := func(ord int) string {
		missing := reserved.Next(ord + 1)
		for _, pod := range members[k:] {
			if ordinalOf(set, pod) != missing {
				break
			}
			missing = reserved.Next(missing + 1)
		}
		if missing < end {
			return " before creating " + podName(set, missing)
		}
		if len(condemned) > 0 {
			return " before deleting " + condemned[0].Name
		}
		return ""
	}

	creates := 0
	for ord := reserved.Next(start); ord < end; ord = reserved.Next(ord + 1) {
		if k < len(members) && ordinalOf(set, members[k]) == ord {
			pod := members[k]
			k++
			if s.visitMember(&p, pod, monotonic, holdsBack) {
				return p, members
			}
			continue
		}
		if creates == maxCreatesPerPass {
			// The rest of this gap waits for the next pass; the pods above it are
			// still looked after.
			p.requeueIn(nextBatch)
			if k == len(members) {
				break
			}
			ord = ordinalOf(set, members[k]) - 1
			continue
		}
		name := podName(set, ord)
		missing, terminating := s.missingClaims(ord)
		if terminating != "" {
			p.waitFor(WaitClaim, "waiting for claim %s to finish terminating before creating %s", terminating, name)
			p.backoff = true
			if monotonic {
				return p, members
			}
			continue
		}
		if stale := s.staleClaim(ord); stale != "" {
			p.waitFor(WaitClaim, "waiting for claim %s, owned by an earlier %s, to be removed by the garbage collector before creating %s", stale, name, name)
			p.backoff = true
			if monotonic {
				return p, members
			}
			continue
		}
		template, revision := s.templateFor(ord)
		p.add(action{kind: createPod, pod: newPod(set, template, revision, ord), claims: missing, why: "missing"})
		creates++
		if monotonic {
			p.waitFor(WaitReady, "waiting for %s to be Running and Ready%s", name, holdsBack(ord))
			return p, members
		}
	}

	p.phase()
	for _, pod := range condemned {
		s.fixClaimOwners(&p, pod, true)
	}
	p.phase()

	for i, pod := range condemned {
		after := ""
		if i+1 < len(condemned) {
			after = " before deleting " + condemned[i+1].Name
		}
		if isTerminating(pod) {
			if monotonic {
				p.waitFor(WaitTermination, "waiting for %s to terminate%s", pod.Name, after)
				return p, members
			}
			continue
		}
		if monotonic && pod != firstUnhealthy {
			if !isRunningAndReady(pod) {
				what := "be Running and Ready"
				if isRunningAndReady(firstUnhealthy) && !isTerminating(firstUnhealthy) {
					what = fmt.Sprintf("be Ready for %ds (minReadySeconds)", minReady)
				}
				p.waitFor(WaitReady, "waiting for %s to %s before deleting %s", firstUnhealthy.Name, what, pod.Name)
				return p, members
			}
			if left := availableIn(pod, minReady, s.now); left > 0 {
				p.waitFor(WaitAvailable, "waiting for %s to be Ready for %ds (minReadySeconds) before deleting it", pod.Name, minReady)
				return p, members
			}
		}
		p.add(action{kind: deletePod, pod: pod, why: "scale down"})
		if monotonic {
			p.waitFor(WaitTermination, "waiting for %s to terminate%s", pod.Name, after)
			return p, members
		}
	}
	// Scaling is done; only now are pods of an older revision replaced, as apps/v1
	// gives scaling precedence over updates.
	if set.Spec.UpdateStrategy.Type != appsv1alpha1.OnDeleteStatefulSetStrategyType {
		p.phase()
		s.rollingUpdate(&p, members)
	}
	return p, members
}

// visitMember decides for a pod at one of the set's ordinals, and reports whether an
// OrderedReady walk halts at it; a Parallel walk never halts. holdsBack names what a
// halt at an ordinal holds back.
func (s *snapshot) visitMember(p *plan, pod *corev1.Pod, monotonic bool, holdsBack func(int) string) (halt bool) {
	set, ord := s.set, ordinalOf(s.set, pod)
	minReady := set.Spec.MinReadySeconds
	if (isFailed(pod) || isSucceeded(pod)) && !isTerminating(pod) {
		p.add(action{kind: deletePod, pod: pod, why: fmt.Sprintf("its phase is %s: it is recreated once gone", pod.Status.Phase)})
		if monotonic {
			p.waitFor(WaitTermination, "waiting for %s (%s) to be deleted so it can be recreated", pod.Name, pod.Status.Phase)
		}
		return monotonic
	}
	if isPending(pod) && !isTerminating(pod) {
		if missing, terminating := s.missingClaims(ord); len(missing) > 0 && terminating == "" {
			p.add(action{kind: createClaims, pod: pod, claims: missing, why: "pending pod lacks its claims"})
		}
	}
	if monotonic {
		switch {
		case isTerminating(pod):
			p.waitFor(WaitTermination, "waiting for %s to terminate before recreating it", pod.Name)
			return true
		case !isRunningAndReady(pod):
			if target := s.replacementFor(pod); target != "" {
				p.add(action{kind: deletePod, pod: pod, why: fmt.Sprintf("not Running and Ready at revision %s: replaced at %s (unhealthyPodReplacement Automatic)", pod.Labels[LabelRevision], target),
					done: &plannedEvent{eventType: corev1.EventTypeNormal, reason: ReasonReplacingUnhealthy,
						message: fmt.Sprintf("Replacing Pod %s, not Running and Ready at revision %s, with one at revision %s (unhealthyPodReplacement: Automatic)", pod.Name, pod.Labels[LabelRevision], target)}})
				p.waitFor(WaitTermination, "waiting for %s, unhealthy at an older revision, to terminate before recreating it at %s%s", pod.Name, target, holdsBack(ord))
				return true
			}
			p.waitFor(WaitReady, "waiting for %s to be Running and Ready%s", pod.Name, holdsBack(ord))
			return true
		case availableIn(pod, minReady, s.now) > 0:
			p.waitFor(WaitAvailable, "waiting for %s to be Ready for %ds (minReadySeconds)%s", pod.Name, minReady, holdsBack(ord))
			return true
		}
	}
	if !identityMatches(set, pod) {
		fixed := pod.DeepCopy()
		updateIdentity(set, fixed)
		p.add(action{kind: updatePod, pod: fixed, why: "identity labels differ"})
	}
	s.fixClaimOwners(p, pod, false)
	return false
}

// replacementFor names the revision an unhealthy pod is replaced at without waiting
// for it, or "" when it is waited for: only with unhealthyPodReplacement Automatic
// under the RollingUpdate strategy, and only a pod not at the revision its ordinal
// should run (a pod of the update revision that is not Ready is the rollout's own
// news, and is waited for).
func (s *snapshot) replacementFor(pod *corev1.Pod) string {
	st := s.set.Spec.UpdateStrategy
	if st.Type == appsv1alpha1.OnDeleteStatefulSetStrategyType || st.RollingUpdate == nil ||
		st.RollingUpdate.UnhealthyPodReplacement != appsv1alpha1.AutomaticallyReplaceUnhealthyPods {
		return ""
	}
	if _, target := s.templateFor(ordinalOf(s.set, pod)); pod.Labels[LabelRevision] != target {
		return target
	}
	return ""
}

// rollingUpdate deletes pods not at the update revision, from the highest ordinal
// down to the partition, keeping at most maxUnavailable pods unavailable; each comes
// back at the update revision through the scaling walk of a later pass. Under
// Parallel, old pods that are unavailable anyway go first and do not use up the
// budget, so a broken revision can still be rolled forward. members are the pods at
// the set's ordinals, lowest first; a missing ordinal counts as unavailable.
func (s *snapshot) rollingUpdate(p *plan, members []*corev1.Pod) {
	set := s.set
	minReady := set.Spec.MinReadySeconds
	maxU := maxUnavailable(set)
	floor := startOrdinal(set) + partition(set)
	outdated := func(pod *corev1.Pod) bool { return pod.Labels[LabelRevision] != s.update.Name }
	unavailable := func(pod *corev1.Pod) bool { return !isAvailable(pod, minReady, s.now) || isTerminating(pod) }
	down, needing, pending := replicaCount(set)-len(members), 0, 0
	for _, pod := range members {
		if unavailable(pod) {
			down++
			if p.parallel && outdated(pod) && !isTerminating(pod) {
				needing++
			}
		}
		if ordinalOf(set, pod) >= floor && outdated(pod) {
			pending++
		}
	}
	if pending == 0 {
		return
	}
	if down >= maxU && needing == 0 {
		if p.wait == nil {
			p.waitFor(WaitAvailable, "waiting: %d pod(s) unavailable, maxUnavailable is %d; %d pod(s) left to update to %s", down, maxU, pending, s.update.Name)
		}
		return
	}
	// fromTop visits the pods at or above the partition, highest first, while ok.
	fromTop := func(visit func(*corev1.Pod)) {
		for i := len(members) - 1; i >= 0 && ordinalOf(set, members[i]) >= floor; i-- {
			visit(members[i])
		}
	}
	deleteForUpdate := func(pod *corev1.Pod) {
		p.add(action{kind: deletePod, pod: pod, why: "rolling update to " + s.update.Name})
	}
	budget := maxU - down
	// A Failed or Succeeded pod is already deleted by the walk above.
	finished := func(pod *corev1.Pod) bool { return isFailed(pod) || isSucceeded(pod) }
	if p.parallel {
		fromTop(func(pod *corev1.Pod) {
			if outdated(pod) && !isAvailable(pod, minReady, s.now) && !isTerminating(pod) && !finished(pod) {
				deleteForUpdate(pod)
			}
		})
	}
	fromTop(func(pod *corev1.Pod) {
		if budget > 0 && outdated(pod) && !isTerminating(pod) && (!p.parallel || !unavailable(pod)) {
			deleteForUpdate(pod)
			budget--
		}
	})
	if len(p.actions) > 0 && p.actions[len(p.actions)-1].kind == deletePod {
		p.waitFor(WaitTermination, "updating to revision %s from the highest ordinal down: %d pod(s) left, maxUnavailable %d", s.update.Name, pending, maxU)
	}
}

// maxUnavailable is rollingUpdate.maxUnavailable scaled to the replicas, rounded
// down, at least 1; 1 when unset.
func maxUnavailable(set *appsv1alpha1.MiniStatefulSet) int {
	v := intstr.FromInt32(1)
	if ru := set.Spec.UpdateStrategy.RollingUpdate; ru != nil && ru.MaxUnavailable != nil {
		v = *ru.MaxUnavailable
	}
	n, err := intstr.GetScaledValueFromIntOrPercent(&v, replicaCount(set), false)
	if err != nil || n < 1 {
		return 1
	}
	return n
}

// fixClaimOwners asks for the ownerReferences the retention policy wants on the
// claims of an existing pod, and warns about a claim another controller owns.
func (s *snapshot) fixClaimOwners(p *plan, pod *corev1.Pod, scaledDown bool) {
	for _, name := range s.claimNamesOf(ordinalOf(s.set, pod)) {
		claim := s.claim(name)
		if claim == nil || claim.DeletionTimestamp != nil {
			continue
		}
		refs, changed, conflict := claimRefs(s.set, claim, pod, scaledDown)
		if conflict {
			p.events = append(p.events, plannedEvent{eventType: corev1.EventTypeWarning, reason: ReasonConflictingController,
				message: fmt.Sprintf("PersistentVolumeClaim %s is controlled by another owner: the retention policy is not applied to it", name)})
		}
		if changed {
			fixed := claim.DeepCopy()
			fixed.OwnerReferences = refs
			p.add(action{kind: updateClaim, pod: pod, claims: []*corev1.PersistentVolumeClaim{fixed}, why: "retention policy"})
		}
	}
}

// claimNamesOf lists an ordinal's claim names in template order.
func (s *snapshot) claimNamesOf(ordinal int) []string {
	names := make([]string, 0, len(s.set.Spec.VolumeClaimTemplates))
	for _, t := range s.set.Spec.VolumeClaimTemplates {
		names = append(names, claimName(t.Name, s.set, ordinal))
	}
	return names
}

// staleClaim names a claim of the ordinal still owned by an earlier pod of the same
// name: with whenScaled=Delete the garbage collector is about to delete it, and a
// new pod must not start on it.
func (s *snapshot) staleClaim(ordinal int) string {
	if !retention(s.set).whenScaled {
		return ""
	}
	name := podName(s.set, ordinal)
	for _, claimName := range s.claimNamesOf(ordinal) {
		if claim := s.claim(claimName); claim != nil && staleRef(claim, name, "", podKind) {
			return claimName
		}
	}
	return ""
}

// missingClaims lists the ordinal's claims that do not exist yet, and names one that
// is being deleted, which the pod must not be created on.
func (s *snapshot) missingClaims(ordinal int) (missing []*corev1.PersistentVolumeClaim, terminating string) {
	want := newClaims(s.set, ordinal)
	if retention(s.set).whenDeleted {
		for _, c := range want {
			c.OwnerReferences = []metav1.OwnerReference{*ownerRef(s.set)}
		}
	}
	names := make([]string, 0, len(want))
	for name := range want {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		have := s.claim(name)
		switch {
		case have == nil:
			missing = append(missing, want[name])
		case have.DeletionTimestamp != nil:
			return nil, name
		}
	}
	return missing, ""
}

// templateFor picks the revision a new pod at this ordinal is made from: ordinals
// below the partition stay at the current revision, as apps/v1 does. An unset
// rollingUpdate means partition 0, the API server's default for a StatefulSet.
func (s *snapshot) templateFor(ordinal int) (*corev1.PodTemplateSpec, string) {
	set := s.set
	if set.Spec.UpdateStrategy.Type != appsv1alpha1.OnDeleteStatefulSetStrategyType && ordinal < startOrdinal(set)+partition(set) {
		return s.currentTemplate, s.current.Name
	}
	return s.updateTemplate, s.update.Name
}

// partition is rollingUpdate.partition, 0 when unset.
func partition(set *appsv1alpha1.MiniStatefulSet) int {
	if ru := set.Spec.UpdateStrategy.RollingUpdate; ru != nil && ru.Partition != nil {
		return int(*ru.Partition)
	}
	return 0
}
