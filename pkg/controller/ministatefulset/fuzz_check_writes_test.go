package ministatefulset

import (
	"fmt"
	"reflect"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	appsv1alpha1 "github.com/ministatefulset/ministatefulset/pkg/apis/apps/v1alpha1"
)

// The rules for each kind of write in a plan, for checkPlan (fuzz_check_test.go).

// checkCreate: a pod is created only at a free ordinal of the set, once, above
// healthy pods under OrderedReady, with its identity, revision, template and claims.
func (c *fzChecker) checkCreate(a action) {
	c.creates++
	name := a.pod.Name
	ord := c.ordinal(name)
	switch {
	case ord < 0:
		c.bad("creates %s, which is not named <%s>-<ordinal>", name, c.set.Name)
		return
	case !c.inRange(ord):
		c.bad("creates %s, outside the set's ordinals [%d, %d)", name, c.start, c.end)
	case c.created[ord]:
		c.bad("creates %s twice", name)
	case c.byName[name] != nil:
		c.bad("creates %s, which exists in the snapshot", name)
	}
	c.created[ord] = true
	if got, ok := parseOrdinal(c.set.Name, name); !ok || got != ord || podName(c.set, ord) != name {
		c.bad("created %s does not parse back to ordinal %d: (%d, %v)", name, ord, got, ok)
	}
	if c.ordered && c.inRange(ord) {
		if c.healthyBelowCount(ord) != ord-c.start {
			c.bad("OrderedReady creates %s while a lower ordinal is missing, not Running and Ready, not available or terminating: %s", name, c.unhealthyBelow(ord))
		}
	}

	// Identity, revision and storage of the new pod.
	pod := a.pod
	want, template := c.s.update.Name, c.s.updateTemplate
	if !c.onDelete && ord < c.floor {
		want, template = c.s.current.Name, c.s.currentTemplate
	}
	if pod.Namespace != c.set.Namespace || pod.Labels[LabelPodName] != name || pod.Labels[LabelPodIndex] != strconv.Itoa(ord) {
		c.bad("created %s has namespace %q and identity labels %v", name, pod.Namespace, pod.Labels)
	}
	if pod.Labels[LabelRevision] != want {
		c.bad("created %s at revision %q, want %q (partition floor %d)", name, pod.Labels[LabelRevision], want, c.floor)
	}
	if !apiequality.Semantic.DeepEqual(pod.Spec.Containers, template.Spec.Containers) {
		c.bad("created %s is not made from the template of its revision %s", name, want)
	}
	if c.selector != nil && !c.selector.Matches(labels.Set(pod.Labels)) {
		c.bad("created %s has labels %v that the set's selector does not match", name, pod.Labels)
	}
	if pod.Spec.Hostname != name || pod.Spec.Subdomain != c.set.Spec.ServiceName {
		c.bad("created %s has hostname %q and subdomain %q", name, pod.Spec.Hostname, pod.Spec.Subdomain)
	}
	if ref := metav1.GetControllerOf(pod); ref == nil || ref.UID != c.set.UID || ref.BlockOwnerDeletion == nil || !*ref.BlockOwnerDeletion {
		c.bad("created %s has controllerRef %+v", name, ref)
	}
	for i, t := range c.set.Spec.VolumeClaimTemplates {
		claim, found := c.claimNames(ord)[i], 0
		for _, v := range pod.Spec.Volumes {
			if v.Name == t.Name {
				found++
				if v.PersistentVolumeClaim == nil || v.PersistentVolumeClaim.ClaimName != claim {
					c.bad("created %s has volume %s that is not claim %s: %+v", name, t.Name, claim, v.VolumeSource)
				}
			}
		}
		if found != 1 {
			c.bad("created %s has %d volumes named %s, want one for claim %s", name, found, t.Name, claim)
		}
	}

	// Its claims: exactly the missing ones, never on a claim that is going away.
	missing, blocked := c.missingClaims(ord, false)
	if blocked != "" {
		c.bad("creates %s on claim %s, which is terminating or owned by an earlier %s", name, blocked, name)
	}
	c.checkNewClaims(a, missing)
}

// checkNewClaims checks claims created for a pod: exactly the missing ones, made from
// their templates, carrying the selector's labels and the owner whenDeleted asks for.
func (c *fzChecker) checkNewClaims(a action, missing map[string]bool) {
	got := map[string]bool{}
	for _, claim := range a.claims {
		if got[claim.Name] {
			c.bad("creates claim %s twice for %s", claim.Name, a.pod.Name)
		}
		got[claim.Name] = true
		if !missing[claim.Name] {
			c.bad("creates claim %s for %s, which exists or is not one of its claims", claim.Name, a.pod.Name)
			continue
		}
		var template *corev1.PersistentVolumeClaim
		for i := range c.set.Spec.VolumeClaimTemplates {
			if t := &c.set.Spec.VolumeClaimTemplates[i]; claim.Name == fmt.Sprintf("%s-%s", t.Name, a.pod.Name) {
				template = t
			}
		}
		if template == nil || !apiequality.Semantic.DeepEqual(claim.Spec, template.Spec) || claim.Namespace != c.set.Namespace {
			c.bad("created claim %s is not made from its template", claim.Name)
		}
		for k, v := range c.set.Spec.Selector.MatchLabels {
			if claim.Labels[k] != v {
				c.bad("created claim %s lacks the selector's label %s=%s", claim.Name, k, v)
			}
		}
		whenDeleted := c.set.Spec.PersistentVolumeClaimRetentionPolicy != nil &&
			c.set.Spec.PersistentVolumeClaimRetentionPolicy.WhenDeleted == appsv1alpha1.DeletePersistentVolumeClaimRetentionPolicyType
		ref := metav1.GetControllerOf(claim)
		switch {
		case whenDeleted && (len(claim.OwnerReferences) != 1 || ref == nil || ref.UID != c.set.UID):
			c.bad("created claim %s has owners %v, want the set alone (whenDeleted=Delete)", claim.Name, claim.OwnerReferences)
		case !whenDeleted && len(claim.OwnerReferences) > 0:
			c.bad("created claim %s has owners %v under whenDeleted=Retain", claim.Name, claim.OwnerReferences)
		}
	}
	for name := range missing {
		if !got[name] {
			c.bad("creates %s without its missing claim %s", a.pod.Name, name)
		}
	}
}

// checkDelete: only a live pod of the snapshot, not already terminating, once; a
// condemned one (under OrderedReady the highest, with every ordinal healthy), a
// Failed or Succeeded one, or one outdated at or above the partition under
// RollingUpdate.
func (c *fzChecker) checkDelete(a action) {
	name := a.pod.Name
	if c.deleted[name] {
		c.bad("deletes %s twice", name)
	}
	c.deleted[name] = true
	pod := c.live(a)
	if pod == nil {
		return
	}
	if pod.DeletionTimestamp != nil {
		c.bad("deletes %s, which is already terminating", name)
	}
	ord := c.ordinal(name)
	if !c.inRange(ord) {
		c.scaleDowns++
		if !c.ordered {
			return
		}
		if pod != c.highestCondemned {
			c.bad("OrderedReady scales down %s before the higher %s", name, c.highestCondemned.Name)
		}
		if c.healthyMembers != c.end-c.start {
			c.bad("OrderedReady scales down %s while %d of the %d ordinals are healthy", name, c.healthyMembers, c.end-c.start)
		}
		if !c.healthy(pod) && pod != c.lowestUnhealthy {
			c.bad("OrderedReady scales down the unhealthy %s while the lower %s is unhealthy too", name, c.lowestUnhealthy.Name)
		}
		return
	}
	if phase := pod.Status.Phase; phase == corev1.PodFailed || phase == corev1.PodSucceeded {
		c.phaseDeletes++
		if c.ordered && c.healthyBelowCount(ord) != ord-c.start {
			c.bad("OrderedReady deletes the %s %s while a lower ordinal is unhealthy: %s", phase, name, c.unhealthyBelow(ord))
		}
		return
	}
	c.updateDeletes++
	switch {
	case c.onDelete:
		c.bad("deletes the %s %s under OnDelete", pod.Status.Phase, name)
	case pod.Labels[LabelRevision] == c.s.update.Name:
		c.bad("deletes %s for an update though it is at the update revision %s", name, c.s.update.Name)
	case ord < c.floor:
		c.bad("deletes %s for an update below the partition (ordinal %d)", name, c.floor)
	}
	if c.available(pod) {
		c.availableUpdateDeletes++
	}
	if c.ordered && (c.highestCondemned != nil || c.healthyMembers != c.end-c.start) {
		c.bad("OrderedReady deletes %s for an update before scaling is done and every pod is healthy", name)
	}
}

// checkUpdatePod: a pod of the set's ordinals whose identity labels are wrong gets
// them right, and nothing else changes.
func (c *fzChecker) checkUpdatePod(a action) {
	pod := c.live(a)
	if pod == nil {
		return
	}
	ord := c.ordinal(pod.Name)
	if !c.inRange(ord) {
		c.bad("updates %s, outside the set's ordinals [%d, %d)", pod.Name, c.start, c.end)
	}
	if a.pod == pod {
		c.bad("updates %s by changing the snapshot's own object", pod.Name)
	}
	identity := func(p *corev1.Pod) bool {
		return p.Labels[LabelPodName] == p.Name && p.Labels[LabelPodIndex] == strconv.Itoa(ord)
	}
	if identity(pod) {
		c.bad("updates %s, whose identity labels are right", pod.Name)
	}
	if !identity(a.pod) {
		c.bad("updates %s to identity labels %v", pod.Name, a.pod.Labels)
	}
	was, now := pod.DeepCopy(), a.pod.DeepCopy()
	for _, p := range []*corev1.Pod{was, now} {
		delete(p.Labels, LabelPodName)
		delete(p.Labels, LabelPodIndex)
	}
	if !apiequality.Semantic.DeepEqual(was, now) {
		c.bad("updates %s beyond its identity labels", pod.Name)
	}
}

// checkCreateClaims: the missing claims of a Pending pod of the set's ordinals.
func (c *fzChecker) checkCreateClaims(a action) {
	pod := c.live(a)
	if pod == nil {
		return
	}
	ord := c.ordinal(pod.Name)
	if !c.inRange(ord) || pod.Status.Phase != corev1.PodPending || pod.DeletionTimestamp != nil {
		c.bad("creates claims for %s, which is not a Pending pod of the set's ordinals", fzDescribePod(pod))
	}
	missing, blocked := c.missingClaims(ord, true)
	if blocked != "" && c.s.claim(blocked).DeletionTimestamp != nil {
		c.bad("creates claims for %s while its claim %s is terminating", pod.Name, blocked)
	}
	if len(a.claims) == 0 {
		c.bad("creates no claims for %s", pod.Name)
	}
	c.checkNewClaims(a, missing)
}

// checkUpdateClaim: an existing claim of the pod's ordinal changes in its
// ownerReferences alone, and gains only the owners its retention policy asks for.
func (c *fzChecker) checkUpdateClaim(a action) {
	pod := c.live(a)
	if pod == nil {
		return
	}
	if len(a.claims) != 1 || a.claims[0] == nil {
		c.bad("updates %d claims of %s in one action, want one", len(a.claims), pod.Name)
		return
	}
	fixed := a.claims[0]
	ord := c.ordinal(pod.Name)
	ours := false
	for _, name := range c.claimNames(ord) {
		ours = ours || name == fixed.Name
	}
	live := c.s.claim(fixed.Name)
	switch {
	case !ours:
		c.bad("updates claim %s, which is not a claim of %s", fixed.Name, pod.Name)
		return
	case live == nil:
		c.bad("updates claim %s, which does not exist", fixed.Name)
		return
	case live.DeletionTimestamp != nil:
		c.bad("updates claim %s, which is terminating", fixed.Name)
	case live == fixed:
		c.bad("updates claim %s by changing the snapshot's own object", fixed.Name)
	}
	if c.updatedClaims[fixed.Name] {
		c.bad("updates claim %s twice", fixed.Name)
	}
	c.updatedClaims[fixed.Name] = true
	was, now := live.DeepCopy(), fixed.DeepCopy()
	was.OwnerReferences, now.OwnerReferences = nil, nil
	if !apiequality.Semantic.DeepEqual(was, now) {
		c.bad("updates claim %s in more than its ownerReferences", fixed.Name)
	}
	if reflect.DeepEqual(live.OwnerReferences, fixed.OwnerReferences) {
		c.bad("updates claim %s without changing it", fixed.Name)
	}
	policy := c.set.Spec.PersistentVolumeClaimRetentionPolicy
	del := appsv1alpha1.DeletePersistentVolumeClaimRetentionPolicyType
	had := map[string]bool{}
	for _, ref := range live.OwnerReferences {
		had[fzRefKey(ref)] = true
	}
	for _, ref := range fixed.OwnerReferences {
		if had[fzRefKey(ref)] {
			continue
		}
		switch {
		case ref.UID == c.set.UID && ref.Kind == appsv1alpha1.Kind && policy != nil && policy.WhenDeleted == del:
		case ref.UID == pod.UID && ref.Kind == "Pod" && policy != nil && policy.WhenScaled == del && !c.inRange(ord):
		default:
			c.bad("gives claim %s the owner %s %s (uid %s), which its retention policy %+v does not ask for", fixed.Name, ref.Kind, ref.Name, ref.UID, policy)
		}
	}
}

// fzRefKey compares references by what the garbage collector reads.
func fzRefKey(ref metav1.OwnerReference) string {
	return fmt.Sprintf("%s/%s/%s/%s/%v", ref.APIVersion, ref.Kind, ref.Name, ref.UID, ref.Controller != nil && *ref.Controller)
}
