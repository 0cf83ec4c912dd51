package ministatefulset

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	appsv1alpha1 "github.com/ministatefulset/ministatefulset/pkg/apis/apps/v1alpha1"
)

// The invariants of a StatefulSet pass, stated from the spec rather than from the
// controller's own output: the revision a pod must carry is found from the set's
// template, status counters are recounted from the pods. Ordering is judged on what
// the pass saw (its listers, which may lag the API: a cache-based controller can act
// only on what it has seen), effects on what the API holds. Each check returns its
// violations, so TestInvariantsCanFire can show each one fires.

// passRecord is what one pass of one set saw and did.
type passRecord struct {
	// view is the set as the pass read it from its lister, viewPods the namespace's
	// pods as the pass read them.
	view     *appsv1alpha1.MiniStatefulSet
	viewPods []*corev1.Pod
	// viewClaims are the names of the claims the pass's lister held.
	viewClaims map[string]bool
	// before and after are the API's pods and claims around the pass, by name.
	before, after             map[string]corev1.Pod
	claimsBefore, claimsAfter map[string]corev1.PersistentVolumeClaim
	// revisions are the API's revisions after the pass; status is the status the
	// pass left: the one it wrote, or, when it wrote none, the one it saw and found
	// right.
	revisions []appsv1.ControllerRevision
	status    appsv1alpha1.MiniStatefulSetStatus
	writes    []string
	err       error
	now       time.Time
}

func (r *passRecord) start() int { return startOrdinal(r.view) }

// end is one past the highest ordinal in use; the ordinals in use are those in
// [start, end) that spec.reserveOrdinals leaves free.
func (r *passRecord) end() int { return reservedOf(r.view).End(r.start(), replicaCount(r.view)) }
func (r *passRecord) inRange(ord int) bool {
	return ord >= r.start() && ord < r.end() && !reservedOf(r.view).Has(ord)
}

// free lists the ordinals from start below the bound that spec.reserveOrdinals
// leaves free: those the set's ordering runs over.
func (r *passRecord) free(below int) []int {
	reserved := reservedOf(r.view)
	var out []int
	for o := reserved.Next(r.start()); o < below; o = reserved.Next(o + 1) {
		out = append(out, o)
	}
	return out
}

// replacesUnhealthy reports unhealthyPodReplacement Automatic under OrderedReady,
// where the walk replaces an un-Ready pod of another revision without waiting.
func (r *passRecord) replacesUnhealthy() bool {
	ru := r.view.Spec.UpdateStrategy.RollingUpdate
	return !isParallel(r.view) && r.view.Spec.UpdateStrategy.Type != appsv1alpha1.OnDeleteStatefulSetStrategyType &&
		ru != nil && ru.UnhealthyPodReplacement == appsv1alpha1.AutomaticallyReplaceUnhealthyPods
}

// ours reports whether the set controls the pod.
func (r *passRecord) ours(pod *corev1.Pod) bool {
	ref := metav1.GetControllerOf(pod)
	return ref != nil && ref.UID == r.view.UID && isMemberOf(r.view, pod)
}

// members are the set's pods in the view, by ordinal.
func (r *passRecord) members() map[int]*corev1.Pod {
	out := map[int]*corev1.Pod{}
	for _, p := range r.viewPods {
		if r.ours(p) {
			out[ordinalOf(r.view, p)] = p
		}
	}
	return out
}

// revisionHolding names the set's revision (in the API) that holds template.
func (r *passRecord) revisionHolding(template *corev1.PodTemplateSpec) string {
	for i := range r.revisions {
		rev := &r.revisions[i]
		if ref := metav1.GetControllerOf(rev); ref == nil || ref.UID != r.view.UID {
			continue
		}
		if t, err := templateOf(rev); err == nil && apiequality.Semantic.DeepEqual(normalTemplate(t), normalTemplate(template)) {
			return rev.Name
		}
	}
	return ""
}

// normalTemplate drops what a JSON round trip may change (nil and empty maps).
func normalTemplate(t *corev1.PodTemplateSpec) *corev1.PodTemplateSpec {
	out := t.DeepCopy()
	if len(out.Labels) == 0 {
		out.Labels = nil
	}
	if len(out.Annotations) == 0 {
		out.Annotations = nil
	}
	return out
}

// templateOfRevision decodes the named revision's template.
func (r *passRecord) templateOfRevision(name string) *corev1.PodTemplateSpec {
	for i := range r.revisions {
		if r.revisions[i].Name == name {
			t, err := templateOf(&r.revisions[i])
			if err == nil {
				return t
			}
		}
	}
	return nil
}

// writesOf returns the names the pass wrote with this verb and resource.
func (r *passRecord) writesOf(verb, resource string) []string {
	var out []string
	for _, w := range r.writes {
		if name, ok := strings.CutPrefix(w, verb+" "+resource+" "); ok {
			out = append(out, name)
		}
	}
	return out
}

// created are the set's pods the pass created; deleted the pods it set terminating
// or removed, each as the pass saw it.
func (r *passRecord) createdAndDeleted() (created []corev1.Pod, deleted []*corev1.Pod) {
	for name, p := range r.after {
		if _, existed := r.before[name]; !existed && r.ours(&p) {
			created = append(created, p)
		}
	}
	view := map[string]*corev1.Pod{}
	for _, p := range r.viewPods {
		view[p.Name] = p
	}
	for _, name := range r.writesOf("delete", "pods") {
		old, existed := r.before[name]
		now, still := r.after[name]
		if !existed || old.DeletionTimestamp != nil || (still && now.UID == old.UID && now.DeletionTimestamp == nil) {
			continue // refused, or not a change the pass made
		}
		if seen, ok := view[name]; ok && seen.UID == old.UID {
			deleted = append(deleted, seen)
		}
	}
	return created, deleted
}

// checkPass runs every check of one pass.
func checkPass(r *passRecord) []string {
	var v []string
	v = append(v, checkClaimsKept(r)...)
	v = append(v, checkCreations(r)...)
	v = append(v, checkDeletions(r)...)
	v = append(v, checkForeignPodsUntouched(r)...)
	v = append(v, checkUniqueOrdinals(r.view, r.after)...)
	for _, p := range r.after {
		if r.ours(&p) {
			v = append(v, checkIdentity(r.view, &p)...)
		}
	}
	if r.err == nil {
		v = append(v, checkStatus(r)...)
	}
	return v
}

// checkClaimsKept: no claim is deleted or patched; an update changes only the
// ownerReferences, as the set's retention policy asks; no claim is created outside
// the set's ordinals.
func checkClaimsKept(r *passRecord) []string {
	var v []string
	for _, w := range r.writes {
		if strings.HasPrefix(w, "delete persistentvolumeclaims") || strings.HasPrefix(w, "patch persistentvolumeclaims") {
			v = append(v, "a claim was touched: "+w)
		}
	}
	for name, before := range r.claimsBefore {
		if _, ok := r.claimsAfter[name]; !ok {
			v = append(v, "claim "+name+" disappeared in a pass")
		}
		after, ok := r.claimsAfter[name]
		if !ok {
			continue
		}
		a, b := after.DeepCopy(), before.DeepCopy()
		if grown, ok := a.Spec.Resources.Requests[corev1.ResourceStorage]; ok && !grown.Equal(b.Spec.Resources.Requests[corev1.ResourceStorage]) {
			// A claim may only grow, and only to what its template asks.
			if !claimMayGrowTo(r.view, name, grown) || grown.Cmp(b.Spec.Resources.Requests[corev1.ResourceStorage]) < 0 {
				v = append(v, fmt.Sprintf("claim %s's storage request went to %s, not up to its template's", name, grown.String()))
			}
			a.Spec.Resources.Requests[corev1.ResourceStorage] = b.Spec.Resources.Requests[corev1.ResourceStorage]
		}
		a.OwnerReferences, b.OwnerReferences = nil, nil
		a.ResourceVersion, b.ResourceVersion = "", ""
		a.ManagedFields, b.ManagedFields = nil, nil
		if !apiequality.Semantic.DeepEqual(a, b) {
			v = append(v, "claim "+name+" was changed beyond its ownerReferences")
		}
		if !sameRefs(after.OwnerReferences, before.OwnerReferences) {
			v = append(v, checkRetentionRefs(r, &after)...)
		}
	}
	for _, name := range r.writesOf("create", "persistentvolumeclaims") {
		prefix, ord, ok := splitOrdinal(name)
		if !ok || !strings.HasSuffix(prefix, "-"+r.view.Name) || !r.inRange(ord) {
			v = append(v, fmt.Sprintf("created claim %s outside [%d, %d)", name, r.start(), r.end()))
		}
	}
	return v
}

// checkRetentionRefs: the references the pass put on a claim are those its policy
// asks for: the set's only with whenDeleted=Delete, a pod's only with
// whenScaled=Delete and only on a condemned pod's claim.
func checkRetentionRefs(r *passRecord, claim *corev1.PersistentVolumeClaim) []string {
	var v []string
	policy := retention(r.view)
	_, ord, _ := splitOrdinal(claim.Name)
	for _, ref := range claim.OwnerReferences {
		switch {
		case ref.UID == r.view.UID && !policy.whenDeleted:
			v = append(v, "claim "+claim.Name+" owned by the set without whenDeleted=Delete")
		case ref.Kind == "Pod" && !(policy.whenScaled && !r.inRange(ord)):
			v = append(v, "claim "+claim.Name+" owned by its pod, which is not scaled away under whenScaled=Delete")
		}
	}
	return v
}

// checkCreations: a created pod is at one of the set's ordinals, its claims were in
// place first, it carries the revision of the set's template (the current one below
// the partition), and under OrderedReady it is the only creation and every pod below
// it was Running, Ready and available.
func checkCreations(r *passRecord) []string {
	var v []string
	created, _ := r.createdAndDeleted()
	members := r.members()
	update := r.revisionHolding(&r.view.Spec.Template)
	for _, p := range created {
		ord := ordinalOf(r.view, &p)
		if !r.inRange(ord) {
			v = append(v, fmt.Sprintf("created %s outside [%d, %d)", p.Name, r.start(), r.end()))
		}
		for _, t := range r.view.Spec.VolumeClaimTemplates {
			claim := claimName(t.Name, r.view, ord)
			if _, ok := r.claimsAfter[claim]; !ok && !r.viewClaims[claim] {
				// A claim deleted since the lister saw it is the cache's race; the
				// pod stays Pending and gets its claim from the next pass.
				v = append(v, fmt.Sprintf("created %s without its claim %s", p.Name, claim))
			} else if !claimFirst(r.writes, claim, p.Name) {
				v = append(v, fmt.Sprintf("claim %s was not in place before %s was created", claim, p.Name))
			}
		}
		want := update
		if r.view.Spec.UpdateStrategy.Type != appsv1alpha1.OnDeleteStatefulSetStrategyType && ord < r.start()+partition(r.view) {
			if t := r.templateOfRevision(r.view.Status.CurrentRevision); t != nil {
				want = r.revisionHolding(t)
			}
		}
		if got := p.Labels[LabelRevision]; got != want || want == "" {
			v = append(v, fmt.Sprintf("created %s at revision %s; the set's template is revision %q (partition %d)", p.Name, got, want, partition(r.view)))
		}
		if isParallel(r.view) {
			continue
		}
		if len(created) > 1 {
			v = append(v, fmt.Sprintf("OrderedReady created %d pods in one pass", len(created)))
		}
		for _, o := range r.free(ord) {
			if lower := members[o]; lower == nil || !isHealthy(lower) || !isAvailable(lower, r.view.Spec.MinReadySeconds, r.now) {
				v = append(v, fmt.Sprintf("OrderedReady created %s while %s was not Running, Ready and available", p.Name, podName(r.view, o)))
			}
		}
	}
	return v
}

// checkDeletions: a deleted pod is condemned, Failed or Succeeded, or replaced for
// an update. Under OrderedReady a scale-down deletes one pod, the highest, only when
// nothing else is written and every pod at the set's ordinals is healthy.
func checkDeletions(r *passRecord) []string {
	var v []string
	created, deleted := r.createdAndDeleted()
	members := r.members()
	// highest is the highest condemned ordinal: a reserved one may lie below pods
	// the set keeps, and is still removed highest first among the condemned.
	highest := -1
	for _, p := range r.viewPods {
		if r.ours(p) && !r.inRange(ordinalOf(r.view, p)) {
			highest = max(highest, ordinalOf(r.view, p))
		}
	}
	var forUpdate []*corev1.Pod
	for _, p := range deleted {
		if !r.ours(p) {
			v = append(v, "deleted "+p.Name+", which is not the set's")
			continue
		}
		ord := ordinalOf(r.view, p)
		switch {
		case isFailed(p) || isSucceeded(p):
			if !isParallel(r.view) {
				for _, o := range r.free(min(ord, r.end())) {
					if lower := members[o]; lower == nil || !isHealthy(lower) {
						v = append(v, fmt.Sprintf("OrderedReady deleted the %s %s while %s below was not healthy", p.Status.Phase, p.Name, podName(r.view, o)))
					}
				}
			}
		case r.inRange(ord):
			forUpdate = append(forUpdate, p)
		case !isParallel(r.view):
			if len(deleted) > 1 || len(created) > 0 {
				v = append(v, fmt.Sprintf("OrderedReady deleted %d and created %d pods in one pass", len(deleted), len(created)))
			}
			if ord != highest {
				v = append(v, fmt.Sprintf("OrderedReady deleted %s while a higher condemned ordinal existed or was still terminating", p.Name))
			}
			for _, o := range r.free(r.end()) {
				if m := members[o]; m == nil || !isHealthy(m) {
					v = append(v, fmt.Sprintf("OrderedReady deleted %s while %s was not healthy", p.Name, podName(r.view, o)))
				}
			}
		}
	}
	return append(v, checkUpdateDeletes(r, members, forUpdate, created)...)
}

// checkUpdateDeletes: a pod deleted to be replaced was at another revision than the
// set's template, at or above the partition, within the maxUnavailable budget, and
// under OrderedReady no outdated pod above it was skipped.
func checkUpdateDeletes(r *passRecord, members map[int]*corev1.Pod, deleted []*corev1.Pod, created []corev1.Pod) []string {
	if len(deleted) == 0 {
		return nil
	}
	var v []string
	if r.view.Spec.UpdateStrategy.Type == appsv1alpha1.OnDeleteStatefulSetStrategyType {
		v = append(v, fmt.Sprintf("OnDelete deleted %d pods", len(deleted)))
	}
	update := r.revisionHolding(&r.view.Spec.Template)
	minReady := r.view.Spec.MinReadySeconds
	unavailable := 0
	for _, o := range r.free(r.end()) {
		if p := members[o]; p == nil || !isAvailable(p, minReady, r.now) || isTerminating(p) {
			unavailable++
		}
	}
	isDeleted, availableDeleted, lowest := map[string]bool{}, 0, r.end()
	for _, p := range deleted {
		isDeleted[p.Name] = true
		ord := ordinalOf(r.view, p)
		if r.replacesUnhealthy() && !isRunningAndReady(p) {
			// Replaced without waiting: it must not be at the revision its ordinal runs.
			target := update
			if ord < r.start()+partition(r.view) {
				if t := r.templateOfRevision(r.view.Status.CurrentRevision); t != nil {
					target = r.revisionHolding(t)
				}
			}
			if p.Labels[LabelRevision] == target {
				v = append(v, fmt.Sprintf("replaced the un-Ready %s though it is at the revision its ordinal runs (%s)", p.Name, target))
			}
			continue
		}
		lowest = min(lowest, ord)
		if p.Labels[LabelRevision] == update {
			v = append(v, fmt.Sprintf("deleted %s for an update though it holds the set's template (%s)", p.Name, update))
		}
		if ord < r.start()+partition(r.view) {
			v = append(v, fmt.Sprintf("deleted %s for an update below the partition %d", p.Name, partition(r.view)))
		}
		if isAvailable(p, minReady, r.now) {
			availableDeleted++
		}
	}
	if budget := maxUnavailable(r.view) - unavailable; availableDeleted > max(budget, 0) {
		v = append(v, fmt.Sprintf("deleted %d available pods for the update with %d already unavailable and maxUnavailable %d", availableDeleted, unavailable, maxUnavailable(r.view)))
	}
	if !isParallel(r.view) {
		if len(created) > 0 {
			v = append(v, "OrderedReady created and updated in one pass")
		}
		for o := lowest; o < r.end(); o++ {
			if p := members[o]; p != nil && !isDeleted[p.Name] && !isTerminating(p) && p.Labels[LabelRevision] != update {
				v = append(v, fmt.Sprintf("OrderedReady skipped outdated %s above an updated pod", p.Name))
			}
		}
	}
	return v
}

// checkForeignPodsUntouched: a pod another controller owns is never deleted,
// updated, adopted or released.
func checkForeignPodsUntouched(r *passRecord) []string {
	var v []string
	for name, before := range r.before {
		ref := metav1.GetControllerOf(&before)
		if ref == nil || ref.UID == r.view.UID {
			continue
		}
		after, ok := r.after[name]
		switch {
		case !ok || after.UID != before.UID:
			v = append(v, "the pass removed "+name+", which "+ref.Kind+" "+ref.Name+" owns")
		case after.DeletionTimestamp != nil && before.DeletionTimestamp == nil:
			v = append(v, "the pass deleted "+name+", which "+ref.Kind+" "+ref.Name+" owns")
		case !apiequality.Semantic.DeepEqual(after.OwnerReferences, before.OwnerReferences) || !apiequality.Semantic.DeepEqual(after.Labels, before.Labels):
			v = append(v, "the pass changed "+name+", which "+ref.Kind+" "+ref.Name+" owns")
		}
	}
	return v
}

// checkUniqueOrdinals: never two of the set's pods for one ordinal.
func checkUniqueOrdinals(set *appsv1alpha1.MiniStatefulSet, pods map[string]corev1.Pod) []string {
	var v []string
	seen := map[string]string{}
	for _, p := range pods {
		if ref := metav1.GetControllerOf(&p); ref == nil || ref.UID != set.UID {
			continue
		}
		idx := p.Labels[LabelPodIndex]
		if other, dup := seen[idx]; dup {
			v = append(v, fmt.Sprintf("pods %s and %s share ordinal %s", other, p.Name, idx))
		}
		seen[idx] = p.Name
	}
	return v
}

// checkIdentity: the pod's name, labels, hostname, subdomain, owner and claim volumes
// are those of its ordinal.
func checkIdentity(set *appsv1alpha1.MiniStatefulSet, pod *corev1.Pod) []string {
	var v []string
	ord, ok := parseOrdinal(set.Name, pod.Name)
	if !ok {
		return []string{fmt.Sprintf("pod %s does not parse as an ordinal of %s", pod.Name, set.Name)}
	}
	if pod.Labels[LabelPodName] != pod.Name || pod.Labels[LabelPodIndex] != strconv.Itoa(ord) || pod.Labels[LabelRevision] == "" {
		v = append(v, fmt.Sprintf("pod %s has identity labels %v", pod.Name, pod.Labels))
	}
	if pod.Spec.Hostname != pod.Name || pod.Spec.Subdomain != set.Spec.ServiceName {
		v = append(v, fmt.Sprintf("pod %s has hostname %q subdomain %q", pod.Name, pod.Spec.Hostname, pod.Spec.Subdomain))
	}
	if ref := metav1.GetControllerOf(pod); ref == nil || ref.BlockOwnerDeletion == nil || !*ref.BlockOwnerDeletion {
		v = append(v, fmt.Sprintf("pod %s has controllerRef %+v", pod.Name, ref))
	}
	mounted := map[string]string{}
	for _, vol := range pod.Spec.Volumes {
		if vol.PersistentVolumeClaim != nil {
			mounted[vol.Name] = vol.PersistentVolumeClaim.ClaimName
		}
	}
	for _, t := range set.Spec.VolumeClaimTemplates {
		if want := claimName(t.Name, set, ord); mounted[t.Name] != want {
			v = append(v, fmt.Sprintf("pod %s mounts %q as %s, not %s", pod.Name, mounted[t.Name], t.Name, want))
		}
	}
	return v
}

// checkStatus recounts the status from the pods the pass saw.
func checkStatus(r *passRecord) []string {
	var v []string
	st, minReady := r.status, r.view.Spec.MinReadySeconds
	if st.ObservedGeneration != r.view.Generation {
		v = append(v, fmt.Sprintf("observedGeneration %d, generation %d", st.ObservedGeneration, r.view.Generation))
	}
	if update := r.revisionHolding(&r.view.Spec.Template); st.UpdateRevision != update {
		v = append(v, fmt.Sprintf("updateRevision %s, but the template is revision %q", st.UpdateRevision, update))
	}
	if st.CurrentRevision != st.UpdateRevision && st.CurrentRevision != r.view.Status.CurrentRevision {
		v = append(v, fmt.Sprintf("currentRevision moved from %s to %s, which is not the updateRevision", r.view.Status.CurrentRevision, st.CurrentRevision))
	}
	var want appsv1alpha1.MiniStatefulSetStatus
	for _, p := range r.members() {
		want.Replicas++
		if isRunningAndReady(p) {
			want.ReadyReplicas++
			if isAvailable(p, minReady, r.now) {
				want.AvailableReplicas++
			}
		}
		if !isTerminating(p) && p.Labels[LabelRevision] == st.UpdateRevision {
			want.UpdatedReplicas++
		}
		if !isTerminating(p) && p.Labels[LabelRevision] == st.CurrentRevision {
			want.CurrentReplicas++
		}
	}
	if n := int32(replicaCount(r.view)); want.UpdatedReplicas == n && want.ReadyReplicas == n && want.Replicas == n {
		if st.CurrentRevision != st.UpdateRevision {
			v = append(v, "every replica is updated and Ready, yet currentRevision is not the updateRevision")
		}
	}
	got := fmt.Sprintf("replicas=%d ready=%d available=%d updated=%d current=%d", st.Replicas, st.ReadyReplicas, st.AvailableReplicas, st.UpdatedReplicas, st.CurrentReplicas)
	exp := fmt.Sprintf("replicas=%d ready=%d available=%d updated=%d current=%d", want.Replicas, want.ReadyReplicas, want.AvailableReplicas, want.UpdatedReplicas, want.CurrentReplicas)
	if got != exp {
		v = append(v, fmt.Sprintf("status %s, recounted from the pods %s", got, exp))
	}
	return v
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

// claimMayGrowTo reports that the named claim is one of the set's, from a template
// that asks for at least size.
func claimMayGrowTo(set *appsv1alpha1.MiniStatefulSet, claim string, size resource.Quantity) bool {
	for _, t := range set.Spec.VolumeClaimTemplates {
		if strings.HasPrefix(claim, t.Name+"-"+set.Name+"-") {
			want := t.Spec.Resources.Requests[corev1.ResourceStorage]
			return want.Cmp(size) >= 0
		}
	}
	return false
}
