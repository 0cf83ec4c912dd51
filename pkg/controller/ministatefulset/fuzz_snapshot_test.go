package ministatefulset

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"

	appsv1alpha1 "github.com/ministatefulset/ministatefulset/pkg/apis/apps/v1alpha1"
)

// The fuzzer's bytes are read as a list of choices: each byte picks one, and an
// input that runs out reads as zeros, the plainest choice. So every input is a valid
// snapshot, a short input a simple one, and a mutation of one byte changes one
// choice: the fuzzer's coverage guidance can walk from a snapshot to its neighbours.

// fzReader hands out the fuzzer's bytes as choices.
type fzReader struct {
	data []byte
	off  int
}

func (r *fzReader) byte() byte {
	if r.off >= len(r.data) {
		return 0
	}
	b := r.data[r.off]
	r.off++
	return b
}

// intn picks a number in [0, n): from one byte when n fits in one, else four.
func (r *fzReader) intn(n int) int {
	if n <= 1 {
		return 0
	}
	if n <= 256 {
		return int(r.byte()) % n
	}
	v := uint32(r.byte())<<24 | uint32(r.byte())<<16 | uint32(r.byte())<<8 | uint32(r.byte())
	return int(v % uint32(n))
}

// pick is one of the choices, the first when the input has run out.
func fzPick[T any](r *fzReader, choices ...T) T { return choices[r.intn(len(choices))] }

// fzNow is the snapshot's clock; times in the snapshot are relative to it.
var fzNow = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

// fzMaxPods bounds the pods of a snapshot and the window of ordinals near the start
// and the end of the range the generator puts pods and claims at.
const fzMaxPods = 14

// fzSnapshot decodes the fuzzer's bytes into a snapshot of a valid set, and returns
// the claims its lookup serves, so a caller can check that they were not changed.
// It returns nil when validateSpec refuses the set; by construction it never does.
func fzSnapshot(data []byte) (*snapshot, map[string]*corev1.PersistentVolumeClaim) {
	r := &fzReader{data: data}
	set := fzSet(r)
	if _, msg := validateSpec(set); msg != "" {
		return nil, nil
	}
	s := &snapshot{set: set, now: fzNow}

	// The update revision holds the set's template; the current one is the same or
	// an older template.
	set.Spec.Template.Spec.Containers[0].Image = fzPick(r, "img:v1", "img:v2", "img:v3")
	s.update, s.updateTemplate = fzRevision(set)
	s.current, s.currentTemplate = s.update, s.updateTemplate
	if r.intn(3) != 0 {
		old := set.DeepCopy()
		old.Spec.Template.Spec.Containers[0].Image = "img:old"
		old.Spec.Template.Annotations = map[string]string{"note": "old"}
		s.current, s.currentTemplate = fzRevision(old)
	}
	set.Status.CurrentRevision, set.Status.UpdateRevision = s.current.Name, s.update.Name

	start, end := startOrdinal(set), startOrdinal(set)+replicaCount(set)
	n := replicaCount(set)
	taken := map[int]*corev1.Pod{}
	for i, count := 0, r.intn(fzMaxPods+1); i < count; i++ {
		ord := -1
		switch m := r.intn(8); {
		case m < 4 && n > 0:
			ord = start + r.intn(min(n, fzMaxPods))
		case m == 4 && n > 0:
			ord = end - 1 - r.intn(min(n, 4))
		case m == 6 && start > 0:
			ord = start - 1 - r.intn(min(start, 4))
		case m == 7:
			ord = maxOrdinal - r.intn(3)
		default:
			ord = end + r.intn(4)
		}
		if ord < 0 || ord > maxOrdinal || taken[ord] != nil {
			continue
		}
		pod := fzPod(r, s, ord, i)
		taken[ord] = pod
		s.pods = append(s.pods, pod)
	}

	// Claims at the ordinals that have pods and near both ends of the range.
	claims := map[string]*corev1.PersistentVolumeClaim{}
	if len(set.Spec.VolumeClaimTemplates) > 0 {
		ords := map[int]bool{}
		for ord := range taken {
			ords[ord] = true
		}
		for i := range min(n, fzMaxPods) {
			ords[start+i] = true
			ords[end-1-i] = true
		}
		for i := range 3 {
			if end+i <= maxOrdinal {
				ords[end+i] = true
			}
		}
		// Visit the ordinals in order, so the same bytes make the same claims.
		sorted := make([]int, 0, len(ords))
		for ord := range ords {
			sorted = append(sorted, ord)
		}
		slices.Sort(sorted)
		for _, ord := range sorted {
			for name, claim := range fzClaims(r, s, ord, taken[ord]) {
				claims[name] = claim
			}
		}
	}
	s.claim = claimsIn(claims)
	return s, claims
}

// fzRevisions caches the revisions fzRevision makes: the JSON behind them is half
// the cost of an input, and there are few distinct templates.
var fzRevisions sync.Map

// fzRevision is newRevision of the set's template, numbered 1 for a template with
// annotations (the older one) and 2 otherwise, and the template read back from it.
// Each call gets its own copies. The cache key holds what fzSet, fzSnapshot and
// fzHand vary in a template (name, labels, annotations, image, volumes): a caller
// that varies anything else must add it to the key.
func fzRevision(set *appsv1alpha1.MiniStatefulSet) (*appsv1.ControllerRevision, *corev1.PodTemplateSpec) {
	type entry struct {
		rev  *appsv1.ControllerRevision
		tmpl *corev1.PodTemplateSpec
	}
	tmpl := &set.Spec.Template
	key := fmt.Sprintf("%s|%v|%v|%v|%s", set.Name, fzDeref(set.Status.CollisionCount), tmpl.Labels, tmpl.Annotations, tmpl.Spec.Containers[0].Image)
	for _, v := range tmpl.Spec.Volumes {
		key += "|" + v.Name
		if v.PersistentVolumeClaim != nil {
			key += "=" + v.PersistentVolumeClaim.ClaimName
		}
	}
	if e, ok := fzRevisions.Load(key); ok {
		return e.(entry).rev.DeepCopy(), e.(entry).tmpl.DeepCopy()
	}
	number := int64(2)
	if len(set.Spec.Template.Annotations) > 0 {
		number = 1
	}
	rev, err := newRevision(set, number)
	if err != nil {
		panic(err)
	}
	back, err := templateOf(rev)
	if err != nil {
		panic(err)
	}
	fzRevisions.Store(key, entry{rev, back})
	return rev.DeepCopy(), back.DeepCopy()
}

// fzSet decodes the set: any policy, strategy and retention the CRD admits, replicas
// and ordinals.start up to 2^31 together, zero to two claim templates.
func fzSet(r *fzReader) *appsv1alpha1.MiniStatefulSet {
	b := newSet(fzPick(r, "web", "web-1", "a", strings.Repeat("x", 52)))
	if r.intn(2) == 1 {
		b.Parallel()
	}
	set := b.Obj()

	var replicas int64
	switch m := r.intn(16); {
	case m < 13:
		replicas = int64(r.intn(13))
	case m == 13:
		replicas = maxOrdinal
	case m == 14:
		replicas = 1 << 30
	default:
		replicas = -1 // unset: 1
	}
	if replicas >= 0 {
		set.Spec.Replicas = ptr(int32(replicas))
	} else {
		set.Spec.Replicas, replicas = nil, 1
	}

	var start int64
	switch m := r.intn(8); {
	case m < 4:
		start = int64(r.intn(11))
	case m == 4:
		start = maxOrdinal - int64(r.intn(12))
	case m == 5:
		start = -1 // unset: 0
	}
	if start >= 0 {
		start = min(start, maxOrdinal+1-replicas)
		set.Spec.Ordinals = &appsv1alpha1.StatefulSetOrdinals{Start: int32(start)}
	}

	switch m := r.intn(5); m {
	case 0:
		set.Spec.UpdateStrategy = appsv1alpha1.StatefulSetUpdateStrategy{Type: appsv1alpha1.OnDeleteStatefulSetStrategyType}
	case 1:
		set.Spec.UpdateStrategy = appsv1alpha1.StatefulSetUpdateStrategy{Type: appsv1alpha1.RollingUpdateStatefulSetStrategyType}
	default:
		// Type "" is what a set stored without defaulting has: RollingUpdate.
		ru := &appsv1alpha1.RollingUpdateStatefulSetStrategy{}
		switch r.intn(4) {
		case 1:
			ru.Partition = ptr(int32(r.intn(15)))
		case 2:
			ru.Partition = ptr(fzPick[int32](r, 1, 2, 1<<30, maxOrdinal))
		case 3:
			ru.Partition = ptr(int32(0))
		}
		switch r.intn(4) {
		case 1:
			ru.MaxUnavailable = ptr(intstr.FromInt32(int32(1 + r.intn(5))))
		case 2:
			ru.MaxUnavailable = ptr(intstr.FromString(strconv.Itoa(1+r.intn(100)) + "%"))
		case 3:
			ru.MaxUnavailable = ptr(intstr.FromInt32(fzPick[int32](r, 1, 1<<30)))
		}
		typ := appsv1alpha1.RollingUpdateStatefulSetStrategyType
		if m == 4 {
			typ = ""
		}
		set.Spec.UpdateStrategy = appsv1alpha1.StatefulSetUpdateStrategy{Type: typ, RollingUpdate: ru}
	}

	switch r.intn(4) {
	case 2:
		set.Spec.MinReadySeconds = int32(1 + r.intn(10))
	case 3:
		set.Spec.MinReadySeconds = int32(1 + r.intn(600))
	}

	if r.intn(3) != 0 {
		policies := []appsv1alpha1.PersistentVolumeClaimRetentionPolicyType{
			appsv1alpha1.RetainPersistentVolumeClaimRetentionPolicyType,
			appsv1alpha1.DeletePersistentVolumeClaimRetentionPolicyType, ""}
		set.Spec.PersistentVolumeClaimRetentionPolicy = &appsv1alpha1.StatefulSetPersistentVolumeClaimRetentionPolicy{
			WhenDeleted: fzPick(r, policies...), WhenScaled: fzPick(r, policies...)}
	}

	claimNames := [][]string{nil, {"data"}, {"data", "logs"}}[r.intn(3)]
	b.Claims(claimNames...)
	switch r.intn(4) {
	case 1:
		b.Volume("scratch")
	case 2:
		if len(claimNames) > 0 {
			// A claim volume named like a claim template is replaced by it.
			set.Spec.Template.Spec.Volumes = append(set.Spec.Template.Spec.Volumes, corev1.Volume{Name: "data",
				VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "elsewhere"}}})
		}
	}
	if r.intn(4) == 0 {
		set.Status.CollisionCount = ptr(int32(r.intn(3)))
	}
	return set
}

// fzPod decodes a pod at an ordinal: any phase, readiness and age, terminating or
// not, at either revision, another or none, sometimes with wrong identity labels.
func fzPod(r *fzReader, s *snapshot, ord, i int) *corev1.Pod {
	template, revision := s.updateTemplate, s.update.Name
	switch r.intn(8) {
	case 3, 4, 5:
		template, revision = s.currentTemplate, s.current.Name
	case 6:
		revision = s.set.Name + "-other"
	case 7:
		revision = ""
	}
	pod := newPod(s.set, template, revision, ord)
	if revision == "" {
		delete(pod.Labels, LabelRevision)
	}
	pod.UID = types.UID(fmt.Sprintf("pod-%d-%d", ord, i))
	pod.Status.Phase = fzPick(r, corev1.PodPending, corev1.PodRunning, corev1.PodRunning, corev1.PodRunning,
		corev1.PodFailed, corev1.PodSucceeded, corev1.PodUnknown, "")
	if m := r.intn(4); m > 0 {
		status := corev1.ConditionTrue
		if m == 1 {
			status = corev1.ConditionFalse
		}
		var age time.Duration
		switch r.intn(5) {
		case 1:
			age = time.Duration(r.intn(20)) * time.Second
		case 2:
			age = time.Duration(r.intn(700)) * time.Second
		case 3:
			age = time.Hour
		case 4:
			age = -time.Duration(1+r.intn(5)) * time.Second // a skewed kubelet clock
		}
		pod.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: status,
			LastTransitionTime: metav1.NewTime(fzNow.Add(-age))}}
	}
	if r.intn(6) == 0 {
		pod.DeletionTimestamp = &metav1.Time{Time: fzNow.Add(-time.Duration(r.intn(60)) * time.Second)}
	}
	switch r.intn(10) {
	case 0:
		pod.Labels[LabelPodIndex] = strconv.Itoa(ord + 1)
	case 1:
		delete(pod.Labels, LabelPodName)
	}
	return pod
}

// fzClaims decodes the claims of an ordinal: absent, present, terminating, owned by
// the set, by the pod, by an earlier set or pod of the same name, or by someone else.
func fzClaims(r *fzReader, s *snapshot, ord int, pod *corev1.Pod) map[string]*corev1.PersistentVolumeClaim {
	out := map[string]*corev1.PersistentVolumeClaim{}
	for name, claim := range fzSortedClaims(newClaims(s.set, ord)) {
		m := r.intn(8)
		if m < 3 {
			continue
		}
		claim.UID = types.UID("claim-" + claim.Name)
		switch m {
		case 4:
			claim.OwnerReferences = []metav1.OwnerReference{*metav1.NewControllerRef(s.set, miniStatefulSetKind)}
		case 5:
			earlierPod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: podName(s.set, ord), UID: "earlier-pod"}}
			if pod != nil && r.intn(2) == 0 {
				earlierPod = pod
			}
			claim.OwnerReferences = []metav1.OwnerReference{*metav1.NewControllerRef(earlierPod, podKind)}
		case 6:
			switch r.intn(3) {
			case 0:
				earlier := s.set.DeepCopy()
				earlier.UID = "earlier-set"
				claim.OwnerReferences = []metav1.OwnerReference{*metav1.NewControllerRef(earlier, miniStatefulSetKind)}
			case 1:
				other := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "someone", UID: "someone"}}
				claim.OwnerReferences = []metav1.OwnerReference{*metav1.NewControllerRef(other, podKind)}
			case 2:
				// Ours plus a plain (non-controller) reference of someone else's.
				claim.OwnerReferences = []metav1.OwnerReference{*metav1.NewControllerRef(s.set, miniStatefulSetKind),
					{APIVersion: "v1", Kind: "ConfigMap", Name: "keep", UID: "cm"}}
			}
		case 7:
			claim.DeletionTimestamp = &metav1.Time{Time: fzNow}
		}
		out[name] = claim
	}
	return out
}

// fzSortedClaims iterates claims in name order: a range over a map would spend the
// fuzzer's bytes in random order and make an input mean different snapshots.
func fzSortedClaims(claims map[string]*corev1.PersistentVolumeClaim) func(yield func(string, *corev1.PersistentVolumeClaim) bool) {
	return func(yield func(string, *corev1.PersistentVolumeClaim) bool) {
		names := make([]string, 0, len(claims))
		for name := range claims {
			names = append(names, name)
		}
		slices.Sort(names)
		for _, name := range names {
			if !yield(name, claims[name]) {
				return
			}
		}
	}
}

// fzSnapshotCopy is a deep copy of everything decide is shown, to prove it changed
// nothing.
type fzSnapshotCopy struct {
	set                             *appsv1alpha1.MiniStatefulSet
	pods                            []*corev1.Pod
	claims                          map[string]*corev1.PersistentVolumeClaim
	current, update                 *appsv1.ControllerRevision
	currentTemplate, updateTemplate *corev1.PodTemplateSpec
}

func fzCopy(s *snapshot, claims map[string]*corev1.PersistentVolumeClaim) fzSnapshotCopy {
	c := fzSnapshotCopy{set: s.set.DeepCopy(), claims: map[string]*corev1.PersistentVolumeClaim{},
		current: s.current.DeepCopy(), update: s.update.DeepCopy(),
		currentTemplate: s.currentTemplate.DeepCopy(), updateTemplate: s.updateTemplate.DeepCopy()}
	for _, p := range s.pods {
		c.pods = append(c.pods, p.DeepCopy())
	}
	for name, claim := range claims {
		c.claims[name] = claim.DeepCopy()
	}
	return c
}
