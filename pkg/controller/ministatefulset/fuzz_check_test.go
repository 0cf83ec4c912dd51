package ministatefulset

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"

	appsv1alpha1 "github.com/ministatefulset/ministatefulset/pkg/apis/apps/v1alpha1"
)

// checkPlan returns the ways plan p, decided for snapshot s, breaks what §2 of the
// design promises, and nothing when it keeps every promise. It is the oracle of
// FuzzDecide, so it re-derives each rule from the snapshot in its own words instead
// of asking the helpers decide uses.
func checkPlan(s *snapshot, p plan) []string {
	c := newFzChecker(s)
	for i, a := range p.actions {
		if a.pod == nil {
			c.bad("action %d (kind %d) names no pod", i, int(a.kind))
			continue
		}
		switch a.kind {
		case createPod:
			c.checkCreate(a)
		case deletePod:
			c.checkDelete(a)
		case updatePod:
			c.checkUpdatePod(a)
		case createClaims:
			c.checkCreateClaims(a)
		case updateClaim:
			c.checkUpdateClaim(a)
		default:
			c.bad("action %d has kind %d: a plan only creates, deletes and updates pods, creates claims and updates their owners", i, a.kind)
		}
	}
	c.checkTotals()
	return c.violations
}

// fzChecker holds what checkPlan derives from the snapshot once, and what it counts
// across the plan's actions.
type fzChecker struct {
	s                 *snapshot
	set               *appsv1alpha1.MiniStatefulSet
	start, end, floor int
	ordered, onDelete bool
	byName            map[string]*corev1.Pod
	// members are the pods at the set's ordinals, healthyMembers those of them that
	// are Running, Ready, available and not terminating.
	members, healthyMembers int
	highestCondemned        *corev1.Pod
	// lowestUnhealthy is the lowest-ordinal pod that is not available or terminating.
	lowestUnhealthy *corev1.Pod
	selector        labels.Selector

	created                            map[int]bool
	deleted, updatedClaims             map[string]bool
	creates, scaleDowns, updateDeletes int
	availableUpdateDeletes             int
	phaseDeletes                       int
	violations                         []string
}

func newFzChecker(s *snapshot) *fzChecker {
	set := s.set
	c := &fzChecker{s: s, set: set, byName: map[string]*corev1.Pod{},
		created: map[int]bool{}, deleted: map[string]bool{}, updatedClaims: map[string]bool{}}
	if set.Spec.Ordinals != nil {
		c.start = int(set.Spec.Ordinals.Start)
	}
	c.end = c.start + 1
	if set.Spec.Replicas != nil {
		c.end = c.start + int(*set.Spec.Replicas)
	}
	c.onDelete = set.Spec.UpdateStrategy.Type == appsv1alpha1.OnDeleteStatefulSetStrategyType
	c.floor = c.start
	if ru := set.Spec.UpdateStrategy.RollingUpdate; ru != nil && ru.Partition != nil {
		c.floor += int(*ru.Partition)
	}
	c.ordered = set.Spec.PodManagementPolicy != appsv1alpha1.ParallelPodManagement
	c.selector, _ = metav1.LabelSelectorAsSelector(set.Spec.Selector)
	for _, pod := range s.pods {
		c.byName[pod.Name] = pod
		ord := c.ordinal(pod.Name)
		if c.inRange(ord) {
			c.members++
			if c.healthy(pod) {
				c.healthyMembers++
			}
		} else if c.highestCondemned == nil || ord > c.ordinal(c.highestCondemned.Name) {
			c.highestCondemned = pod
		}
		if !c.healthy(pod) && (c.lowestUnhealthy == nil || ord < c.ordinal(c.lowestUnhealthy.Name)) {
			c.lowestUnhealthy = pod
		}
	}
	return c
}

func (c *fzChecker) bad(format string, args ...any) {
	c.violations = append(c.violations, fmt.Sprintf(format, args...))
}

func (c *fzChecker) inRange(ord int) bool { return ord >= c.start && ord < c.end }

// ordinal reads <set>-<n> with n in canonical decimal form; -1 for any other name.
func (c *fzChecker) ordinal(name string) int {
	digits, ok := strings.CutPrefix(name, c.set.Name+"-")
	if !ok {
		return -1
	}
	n, err := strconv.Atoi(digits)
	if err != nil || n < 0 || n > maxOrdinal || strconv.Itoa(n) != digits {
		return -1
	}
	return n
}

// fzReady is Running with a Ready condition that is True.
func fzReady(pod *corev1.Pod) bool {
	if pod.Status.Phase != corev1.PodRunning {
		return false
	}
	for _, cond := range pod.Status.Conditions {
		if cond.Type == corev1.PodReady {
			return cond.Status == corev1.ConditionTrue
		}
	}
	return false
}

// available is fzReady for minReadySeconds by the snapshot's clock.
func (c *fzChecker) available(pod *corev1.Pod) bool {
	if !fzReady(pod) {
		return false
	}
	for _, cond := range pod.Status.Conditions {
		if cond.Type == corev1.PodReady {
			readyAt := cond.LastTransitionTime.Add(time.Duration(c.set.Spec.MinReadySeconds) * time.Second)
			return c.set.Spec.MinReadySeconds <= 0 || !readyAt.After(c.s.now)
		}
	}
	return false
}

// healthy is what OrderedReady waits for below a pod it creates: Running, Ready,
// available and not terminating.
func (c *fzChecker) healthy(pod *corev1.Pod) bool {
	return c.available(pod) && pod.DeletionTimestamp == nil
}

// live finds the snapshot's pod an action names, by name and UID.
func (c *fzChecker) live(a action) *corev1.Pod {
	pod := c.byName[a.pod.Name]
	if pod == nil || pod.UID != a.pod.UID {
		c.bad("%s of pod %s (uid %q), which is not in the snapshot", a.kind, a.pod.Name, a.pod.UID)
		return nil
	}
	return pod
}

// claimNames are the names of an ordinal's claims, in template order.
func (c *fzChecker) claimNames(ord int) []string {
	var names []string
	for _, t := range c.set.Spec.VolumeClaimTemplates {
		names = append(names, fmt.Sprintf("%s-%s-%d", t.Name, c.set.Name, ord))
	}
	return names
}

// missingClaims are the names of an ordinal's claims that do not exist; blocked
// names a claim a pod must not be created on: terminating, or (whenScaled=Delete)
// owned by an earlier pod of the same name that the garbage collector follows.
func (c *fzChecker) missingClaims(ord int, podExists bool) (missing map[string]bool, blocked string) {
	missing = map[string]bool{}
	whenScaled := c.set.Spec.PersistentVolumeClaimRetentionPolicy != nil &&
		c.set.Spec.PersistentVolumeClaimRetentionPolicy.WhenScaled == appsv1alpha1.DeletePersistentVolumeClaimRetentionPolicyType
	for _, name := range c.claimNames(ord) {
		claim := c.s.claim(name)
		switch {
		case claim == nil:
			missing[name] = true
		case claim.DeletionTimestamp != nil:
			blocked = name
		case whenScaled && !podExists:
			for _, ref := range claim.OwnerReferences {
				if ref.APIVersion == "v1" && ref.Kind == "Pod" && ref.Name == fmt.Sprintf("%s-%d", c.set.Name, ord) {
					blocked = name
				}
			}
		}
	}
	return missing, blocked
}

// healthyBelowCount counts the healthy in-range pods below ordinal ord.
func (c *fzChecker) healthyBelowCount(ord int) int {
	n := 0
	for _, pod := range c.s.pods {
		if o := c.ordinal(pod.Name); o >= c.start && o < ord && c.healthy(pod) {
			n++
		}
	}
	return n
}

// unhealthyBelow names, for a message, a lower ordinal that is missing or unhealthy.
func (c *fzChecker) unhealthyBelow(ord int) string {
	for o := c.start; o < ord; o++ {
		pod := c.byName[fmt.Sprintf("%s-%d", c.set.Name, o)]
		if pod == nil {
			return fmt.Sprintf("%s-%d is missing", c.set.Name, o)
		}
		if !c.healthy(pod) {
			return fzDescribePod(pod)
		}
	}
	return "none"
}

// checkTotals checks what the plan does as a whole.
func (c *fzChecker) checkTotals() {
	if c.creates > maxCreatesPerPass {
		c.bad("creates %d pods in one pass, more than %d", c.creates, maxCreatesPerPass)
	}
	if !c.ordered {
		c.checkParallelCreatesAll()
		return
	}
	if c.creates > 1 {
		c.bad("OrderedReady creates %d pods in one pass", c.creates)
	}
	if c.creates > 0 && len(c.deleted) > 0 {
		c.bad("OrderedReady deletes %d pod(s) while a create is pending in the same plan", len(c.deleted))
	}
	if c.scaleDowns > 1 {
		c.bad("OrderedReady scales down %d pods in one pass", c.scaleDowns)
	}
	if c.phaseDeletes > 0 && len(c.deleted) > 1 {
		c.bad("OrderedReady deletes a Failed or Succeeded pod and %d other pod(s) in one pass", len(c.deleted)-1)
	}
	// maxUnavailable: available pods deleted for the update fit in what the budget
	// leaves once missing and unavailable pods are counted.
	if c.availableUpdateDeletes > 0 || c.updateDeletes > 0 {
		n := c.end - c.start
		v := intstr.FromInt32(1)
		if ru := c.set.Spec.UpdateStrategy.RollingUpdate; ru != nil && ru.MaxUnavailable != nil {
			v = *ru.MaxUnavailable
		}
		maxU, err := intstr.GetScaledValueFromIntOrPercent(&v, n, false)
		if err != nil || maxU < 1 {
			maxU = 1
		}
		down := n - c.members + (c.members - c.healthyMembers)
		if c.availableUpdateDeletes > max(0, maxU-down) {
			c.bad("deletes %d available pods for the update with %d of %d unavailable and maxUnavailable %d", c.availableUpdateDeletes, down, n, maxU)
		}
	}
}

// checkParallelCreatesAll: a Parallel pass creates every missing ordinal whose claims
// allow it, up to maxCreatesPerPass; looked at only for sets small enough to walk.
func (c *fzChecker) checkParallelCreatesAll() {
	if c.creates >= maxCreatesPerPass || c.end-c.start > 4*fzMaxPods {
		return
	}
	for ord := c.start; ord < c.end; ord++ {
		name := fmt.Sprintf("%s-%d", c.set.Name, ord)
		if c.byName[name] != nil || c.created[ord] {
			continue
		}
		if _, blocked := c.missingClaims(ord, false); blocked == "" {
			c.bad("Parallel leaves %s uncreated", name)
		}
	}
}
