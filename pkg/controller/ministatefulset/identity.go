package ministatefulset

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	appsv1alpha1 "github.com/ministatefulset/ministatefulset/pkg/apis/apps/v1alpha1"
	"github.com/ministatefulset/ministatefulset/pkg/ordinals"
)

// podName is the name of the pod at an ordinal.
func podName(set *appsv1alpha1.MiniStatefulSet, ordinal int) string {
	return set.Name + "-" + strconv.Itoa(ordinal)
}

// claimName is the name of a pod's claim from the named claim template.
func claimName(template string, set *appsv1alpha1.MiniStatefulSet, ordinal int) string {
	return template + "-" + set.Name + "-" + strconv.Itoa(ordinal)
}

// maxOrdinal is the highest ordinal: ordinals are 32-bit, as in apps/v1, and the
// spec is refused when start + replicas would pass it, so every name podName makes
// parses back.
const maxOrdinal = 1<<31 - 1

// splitOrdinal splits a name <prefix>-<ordinal>. Only the canonical decimal form of an
// ordinal counts: web-01, web--1 and web-1-2 are not pods of set web (web-1-2 is pod 2
// of set web-1), so a set never claims a pod it would not have named itself.
func splitOrdinal(name string) (prefix string, ordinal int, ok bool) {
	i := strings.LastIndexByte(name, '-')
	if i <= 0 {
		return "", 0, false
	}
	rest := name[i+1:]
	if rest == "" || (len(rest) > 1 && rest[0] == '0') {
		return "", 0, false
	}
	// Decimal digits, at most maxOrdinal: accumulated by hand, as every pass parses
	// every pod's name.
	n := 0
	for j := 0; j < len(rest); j++ {
		d := rest[j]
		if d < '0' || d > '9' {
			return "", 0, false
		}
		n = n*10 + int(d-'0')
		if n > maxOrdinal {
			return "", 0, false
		}
	}
	return name[:i], n, true
}

// parseOrdinal returns the ordinal of a pod named <set>-<ordinal>.
func parseOrdinal(setName, name string) (int, bool) {
	prefix, n, ok := splitOrdinal(name)
	if !ok || prefix != setName {
		return 0, false
	}
	return n, true
}

// ordinalOf is parseOrdinal for a pod already known to be a member of set.
func ordinalOf(set *appsv1alpha1.MiniStatefulSet, pod *corev1.Pod) int {
	n, _ := parseOrdinal(set.Name, pod.Name)
	return n
}

// sortByOrdinal sorts pods of set by ordinal, lowest first or (descending) highest
// first, parsing each name once: a pass over a set of thousands sorts every time.
func sortByOrdinal(set *appsv1alpha1.MiniStatefulSet, pods []*corev1.Pod, descending bool) {
	byOrd := byOrdinal{pods: pods, ords: make([]int, len(pods)), descending: descending}
	for i, pod := range pods {
		byOrd.ords[i] = ordinalOf(set, pod)
	}
	sort.Sort(byOrd)
}

type byOrdinal struct {
	pods       []*corev1.Pod
	ords       []int
	descending bool
}

func (b byOrdinal) Len() int { return len(b.pods) }
func (b byOrdinal) Less(i, j int) bool {
	if b.descending {
		return b.ords[i] > b.ords[j]
	}
	return b.ords[i] < b.ords[j]
}
func (b byOrdinal) Swap(i, j int) {
	b.pods[i], b.pods[j] = b.pods[j], b.pods[i]
	b.ords[i], b.ords[j] = b.ords[j], b.ords[i]
}

// isMemberOf reports whether the pod's name makes it one of the set's ordinals.
func isMemberOf(set *appsv1alpha1.MiniStatefulSet, pod *corev1.Pod) bool {
	_, ok := parseOrdinal(set.Name, pod.Name)
	return ok
}

// startOrdinal is the first ordinal the set owns.
func startOrdinal(set *appsv1alpha1.MiniStatefulSet) int {
	if set.Spec.Ordinals != nil {
		return int(set.Spec.Ordinals.Start)
	}
	return 0
}

// replicaCount is the desired replicas, 1 when unset as apps/v1 defaults it.
func replicaCount(set *appsv1alpha1.MiniStatefulSet) int {
	if set.Spec.Replicas == nil {
		return 1
	}
	return int(*set.Spec.Replicas)
}

// isParallel reports whether pods are managed without ordering.
func isParallel(set *appsv1alpha1.MiniStatefulSet) bool {
	return set.Spec.PodManagementPolicy == appsv1alpha1.ParallelPodManagement
}

// newPod builds the pod for an ordinal from a template and the revision it belongs to.
func newPod(set *appsv1alpha1.MiniStatefulSet, template *corev1.PodTemplateSpec, revision string, ordinal int) *corev1.Pod {
	name := podName(set, ordinal)
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name:            name,
			Namespace:       set.Namespace,
			Labels:          make(map[string]string, len(template.Labels)+3),
			Annotations:     copyMap(template.Annotations),
			OwnerReferences: []metav1.OwnerReference{*ownerRef(set)},
			Finalizers:      append([]string(nil), template.Finalizers...),
		},
		Spec: *template.Spec.DeepCopy(),
	}
	for k, v := range template.Labels {
		pod.Labels[k] = v
	}
	pod.Labels[LabelRevision] = revision
	updateIdentity(set, pod)
	pod.Spec.Hostname = name
	pod.Spec.Subdomain = set.Spec.ServiceName
	pod.Spec.Volumes = podVolumes(set, template, ordinal)
	return pod
}

// identityMatches reports whether the pod carries the name labels of its ordinal.
// Hostname and subdomain are set at creation and a pod's spec cannot change them.
func identityMatches(set *appsv1alpha1.MiniStatefulSet, pod *corev1.Pod) bool {
	ordinal, ok := parseOrdinal(set.Name, pod.Name)
	var digits [20]byte
	return ok && pod.Labels[LabelPodName] == pod.Name &&
		pod.Labels[LabelPodIndex] == string(strconv.AppendInt(digits[:0], int64(ordinal), 10))
}

// updateIdentity sets the name labels of the pod's ordinal.
func updateIdentity(set *appsv1alpha1.MiniStatefulSet, pod *corev1.Pod) {
	if pod.Labels == nil {
		pod.Labels = map[string]string{}
	}
	pod.Labels[LabelPodName] = pod.Name
	pod.Labels[LabelPodIndex] = strconv.Itoa(ordinalOf(set, pod))
}

// podVolumes is the template's volumes with one claim volume per claim template; a
// template volume of the same name is replaced (validateSpec rejects one that is not a
// claim).
func podVolumes(set *appsv1alpha1.MiniStatefulSet, template *corev1.PodTemplateSpec, ordinal int) []corev1.Volume {
	claimed := make(map[string]bool, len(set.Spec.VolumeClaimTemplates))
	volumes := make([]corev1.Volume, 0, len(template.Spec.Volumes)+len(set.Spec.VolumeClaimTemplates))
	for _, t := range set.Spec.VolumeClaimTemplates {
		claimed[t.Name] = true
		volumes = append(volumes, corev1.Volume{
			Name: t.Name,
			VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{
				ClaimName: claimName(t.Name, set, ordinal),
			}},
		})
	}
	for _, v := range template.Spec.Volumes {
		if !claimed[v.Name] {
			volumes = append(volumes, *v.DeepCopy())
		}
	}
	return volumes
}

// newClaims builds the claims of an ordinal, keyed by claim name. Their labels are the
// template's plus the selector's, so `kubectl get pvc -l <selector>` finds them.
func newClaims(set *appsv1alpha1.MiniStatefulSet, ordinal int) map[string]*corev1.PersistentVolumeClaim {
	claims := make(map[string]*corev1.PersistentVolumeClaim, len(set.Spec.VolumeClaimTemplates))
	for i := range set.Spec.VolumeClaimTemplates {
		t := &set.Spec.VolumeClaimTemplates[i]
		claim := &corev1.PersistentVolumeClaim{
			ObjectMeta: metav1.ObjectMeta{
				Name:        claimName(t.Name, set, ordinal),
				Namespace:   set.Namespace,
				Labels:      copyMap(t.Labels),
				Annotations: copyMap(t.Annotations),
			},
			Spec: *t.Spec.DeepCopy(),
		}
		if set.Spec.Selector != nil && len(set.Spec.Selector.MatchLabels) > 0 {
			if claim.Labels == nil {
				claim.Labels = map[string]string{}
			}
			for k, v := range set.Spec.Selector.MatchLabels {
				claim.Labels[k] = v
			}
		}
		claims[claim.Name] = claim
	}
	return claims
}

func copyMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// validateSpec finds what the schema cannot reject but the controller cannot act on.
// The returned text is shown to the user as is.
func validateSpec(set *appsv1alpha1.MiniStatefulSet) (labels.Selector, string) {
	if msg := validateNumbers(set); msg != "" {
		return nil, msg
	}
	if set.Spec.Selector == nil {
		return nil, "spec.selector is required"
	}
	selector, err := metav1.LabelSelectorAsSelector(set.Spec.Selector)
	if err != nil {
		return nil, fmt.Sprintf("spec.selector is invalid: %v", err)
	}
	if selector.Empty() {
		return nil, "spec.selector is empty and would match every pod in the namespace"
	}
	if !selector.Matches(labels.Set(set.Spec.Template.Labels)) {
		return nil, fmt.Sprintf("spec.selector %q does not match the labels of spec.template %v: the pods it would create would not be its own", selector.String(), labels.Set(set.Spec.Template.Labels))
	}
	kinds := map[string]bool{}
	for _, t := range set.Spec.VolumeClaimTemplates {
		if t.Name == "" {
			return nil, "spec.volumeClaimTemplates has a template with no metadata.name"
		}
		if kinds[t.Name] {
			return nil, fmt.Sprintf("spec.volumeClaimTemplates names %q twice", t.Name)
		}
		kinds[t.Name] = true
	}
	for _, v := range set.Spec.Template.Spec.Volumes {
		if kinds[v.Name] && v.PersistentVolumeClaim == nil {
			return nil, fmt.Sprintf("volumeClaimTemplate %q has the name of a volume of another kind in spec.template.spec.volumes: rename one of them", v.Name)
		}
	}
	return selector, ""
}

// validateNumbers refuses the numbers admission refuses, for a set stored before the
// CRD knew better: a negative count or an ordinal past 2^31-1 must stop at the spec,
// never reach the algorithm.
func validateNumbers(set *appsv1alpha1.MiniStatefulSet) string {
	spec := &set.Spec
	switch {
	case spec.Replicas != nil && *spec.Replicas < 0:
		return fmt.Sprintf("spec.replicas is %d: it must not be negative", *spec.Replicas)
	case spec.MinReadySeconds < 0:
		return fmt.Sprintf("spec.minReadySeconds is %d: it must not be negative", spec.MinReadySeconds)
	case spec.Ordinals != nil && spec.Ordinals.Start < 0:
		return fmt.Sprintf("spec.ordinals.start is %d: it must not be negative", spec.Ordinals.Start)
	case spec.UpdateStrategy.RollingUpdate != nil && spec.UpdateStrategy.RollingUpdate.Partition != nil && *spec.UpdateStrategy.RollingUpdate.Partition < 0:
		return fmt.Sprintf("spec.updateStrategy.rollingUpdate.partition is %d: it must not be negative", *spec.UpdateStrategy.RollingUpdate.Partition)
	}
	if last := int64(startOrdinal(set)) + int64(replicaCount(set)); last > maxOrdinal+1 {
		return fmt.Sprintf("spec.ordinals.start + spec.replicas is %d, more than 2147483648: every ordinal, and so every pod name <name>-<ordinal>, must fit in 32 bits", last)
	}
	reserved, err := ordinals.Parse(spec.ReserveOrdinals)
	if err != nil {
		return err.Error()
	}
	if end := reserved.End(startOrdinal(set), replicaCount(set)); end > maxOrdinal+1 {
		return fmt.Sprintf("spec.replicas pods above spec.ordinals.start, skipping spec.reserveOrdinals, reach ordinal %d, more than 2147483647: every ordinal, and so every pod name <name>-<ordinal>, must fit in 32 bits", end-1)
	}
	return ""
}

// reservedOf is spec.reserveOrdinals (nothing for a spec validateNumbers refuses).
func reservedOf(set *appsv1alpha1.MiniStatefulSet) ordinals.Reserved {
	r, _ := ordinals.Parse(set.Spec.ReserveOrdinals)
	return r
}

// Pod health predicates.

func isTerminating(pod *corev1.Pod) bool { return pod.DeletionTimestamp != nil }
func isFailed(pod *corev1.Pod) bool      { return pod.Status.Phase == corev1.PodFailed }
func isSucceeded(pod *corev1.Pod) bool   { return pod.Status.Phase == corev1.PodSucceeded }
func isPending(pod *corev1.Pod) bool     { return pod.Status.Phase == corev1.PodPending }

func readyCondition(pod *corev1.Pod) *corev1.PodCondition {
	for i := range pod.Status.Conditions {
		if pod.Status.Conditions[i].Type == corev1.PodReady {
			return &pod.Status.Conditions[i]
		}
	}
	return nil
}

// isRunningAndReady is the readiness OrderedReady waits for.
func isRunningAndReady(pod *corev1.Pod) bool {
	c := readyCondition(pod)
	return pod.Status.Phase == corev1.PodRunning && c != nil && c.Status == corev1.ConditionTrue
}

// isHealthy is Running and Ready and not on its way out.
func isHealthy(pod *corev1.Pod) bool {
	return isRunningAndReady(pod) && !isTerminating(pod)
}

// availableIn returns how long until the pod has been Ready for minReadySeconds:
// zero when it is available now, negative when it is not Running and Ready at all.
func availableIn(pod *corev1.Pod, minReadySeconds int32, now time.Time) time.Duration {
	if !isRunningAndReady(pod) {
		return -1
	}
	if minReadySeconds <= 0 {
		return 0
	}
	since := readyCondition(pod).LastTransitionTime.Time
	left := since.Add(time.Duration(minReadySeconds) * time.Second).Sub(now)
	if left < 0 {
		return 0
	}
	return left
}

func isAvailable(pod *corev1.Pod, minReadySeconds int32, now time.Time) bool {
	return availableIn(pod, minReadySeconds, now) == 0
}
