package ministatefulset

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"sort"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/kubernetes"

	appsv1alpha1 "github.com/ministatefulset/ministatefulset/pkg/apis/apps/v1alpha1"
)

// revisionData is what a ControllerRevision holds: the pod template only, in the
// shape of a patch of the set that replaces its template, as apps/v1 stores it.
func revisionData(template *corev1.PodTemplateSpec) ([]byte, error) {
	raw, err := json.Marshal(template)
	if err != nil {
		return nil, err
	}
	var obj map[string]any
	if err := json.Unmarshal(raw, &obj); err != nil {
		return nil, err
	}
	obj["$patch"] = "replace"
	return json.Marshal(map[string]any{"spec": map[string]any{"template": obj}})
}

// templateOf reads the pod template back out of a revision.
func templateOf(rev *appsv1.ControllerRevision) (*corev1.PodTemplateSpec, error) {
	var data struct {
		Spec struct {
			Template corev1.PodTemplateSpec `json:"template"`
		} `json:"spec"`
	}
	if err := json.Unmarshal(rev.Data.Raw, &data); err != nil {
		return nil, fmt.Errorf("revision %s holds no pod template: %w", rev.Name, err)
	}
	return &data.Spec.Template, nil
}

// templateHash names a template as apps/v1 does, so that a workload moves between
// the two controllers without a rollout: FNV-32 (not 32a) of the revision data, then
// the collision count in decimal (written even when it is 0: apps/v1 hashes with a
// count of 0 when the status has none), encoded with the alphabet Kubernetes uses
// for generated names.
func templateHash(data []byte, collisionCount int32) string {
	h := fnv.New32()
	h.Write(data)
	h.Write([]byte(strconv.FormatInt(int64(collisionCount), 10)))
	return rand.SafeEncodeString(strconv.FormatUint(uint64(h.Sum32()), 10))
}

// newRevision builds the revision of the set's current template.
func newRevision(set *appsv1alpha1.MiniStatefulSet, number int64) (*appsv1.ControllerRevision, error) {
	data, err := revisionData(&set.Spec.Template)
	if err != nil {
		return nil, err
	}
	var collisions int32
	if set.Status.CollisionCount != nil {
		collisions = *set.Status.CollisionCount
	}
	hash := templateHash(data, collisions)
	lbls := copyMap(set.Spec.Template.Labels)
	if lbls == nil {
		lbls = map[string]string{}
	}
	lbls[LabelTemplateHash] = hash
	return &appsv1.ControllerRevision{
		ObjectMeta: metav1.ObjectMeta{
			Name:            set.Name + "-" + hash,
			Namespace:       set.Namespace,
			Labels:          lbls,
			OwnerReferences: []metav1.OwnerReference{*ownerRef(set)},
		},
		Data:     runtime.RawExtension{Raw: data},
		Revision: number,
	}, nil
}

// sameTemplate reports whether two revisions hold equal templates.
func sameTemplate(a, b *appsv1.ControllerRevision) bool {
	tb, err := templateOf(b)
	return err == nil && holdsTemplate(a, b.Data.Raw, tb)
}

// holdsTemplate reports whether rev holds the template whose revision data is raw
// and whose decoded form is tmpl. Revisions this controller wrote hold exactly the
// bytes revisionData makes, so equal bytes settle it without decoding.
func holdsTemplate(rev *appsv1.ControllerRevision, raw []byte, tmpl *corev1.PodTemplateSpec) bool {
	if bytes.Equal(rev.Data.Raw, raw) {
		return true
	}
	t, err := templateOf(rev)
	return err == nil && apiequality.Semantic.DeepEqual(t, tmpl)
}

// revisionPlan is what the revisions of a set need before pods can be made.
type revisionPlan struct {
	current, update *appsv1.ControllerRevision
	// create is a revision to create; bump an older one to re-number as the newest.
	create, bump *appsv1.ControllerRevision
}

// planRevisions finds the current and update revisions among the set's revisions,
// sorted by number. A template seen before reuses its revision, re-numbered as the
// newest, so a rollback does not mint a new name.
func planRevisions(set *appsv1alpha1.MiniStatefulSet, revisions []*appsv1.ControllerRevision) (revisionPlan, error) {
	var p revisionPlan
	sortRevisions(revisions)
	var next int64 = 1
	if n := len(revisions); n > 0 {
		next = revisions[n-1].Revision + 1
	}
	candidate, err := newRevision(set, next)
	if err != nil {
		return p, err
	}
	wanted, err := templateOf(candidate)
	if err != nil {
		return p, err
	}
	for i := len(revisions) - 1; i >= 0; i-- {
		if holdsTemplate(revisions[i], candidate.Data.Raw, wanted) {
			p.update = revisions[i]
			break
		}
	}
	switch {
	case p.update == nil:
		p.create, p.update = candidate, candidate
	case p.update.Revision != next-1:
		p.bump = p.update.DeepCopy()
		p.bump.Revision = next
		p.update = p.bump
	}
	for _, r := range revisions {
		if r.Name == set.Status.CurrentRevision {
			p.current = r
		}
	}
	if p.current == nil {
		p.current = p.update
	}
	return p, nil
}

func sortRevisions(revisions []*appsv1.ControllerRevision) {
	sort.SliceStable(revisions, func(i, j int) bool {
		if revisions[i].Revision != revisions[j].Revision {
			return revisions[i].Revision < revisions[j].Revision
		}
		return revisions[i].Name < revisions[j].Name
	})
}

// prunableRevisions are the oldest revisions beyond revisionHistoryLimit that neither
// the status nor any pod refers to.
func prunableRevisions(set *appsv1alpha1.MiniStatefulSet, revisions []*appsv1.ControllerRevision, pods []*corev1.Pod, keep ...string) []*appsv1.ControllerRevision {
	limit := 10
	if set.Spec.RevisionHistoryLimit != nil {
		// Admission refuses a negative limit; one stored before it did keeps no
		// history, as 0 does.
		limit = max(0, int(*set.Spec.RevisionHistoryLimit))
	}
	live := map[string]bool{}
	for _, name := range keep {
		live[name] = true
	}
	for _, pod := range pods {
		live[pod.Labels[LabelRevision]] = true
	}
	var history []*appsv1.ControllerRevision
	for _, r := range revisions {
		if !live[r.Name] {
			history = append(history, r)
		}
	}
	if len(history) <= limit {
		return nil
	}
	sortRevisions(history)
	return history[:len(history)-limit]
}

// revisionControl writes ControllerRevisions.
type revisionControl interface {
	CreateRevision(ctx context.Context, rev *appsv1.ControllerRevision) (*appsv1.ControllerRevision, error)
	UpdateRevision(ctx context.Context, rev *appsv1.ControllerRevision) (*appsv1.ControllerRevision, error)
	DeleteRevision(ctx context.Context, rev *appsv1.ControllerRevision) error
	GetRevision(ctx context.Context, namespace, name string) (*appsv1.ControllerRevision, error)
}

type realRevisionControl struct{ client kubernetes.Interface }

func (r realRevisionControl) CreateRevision(ctx context.Context, rev *appsv1.ControllerRevision) (*appsv1.ControllerRevision, error) {
	return r.client.AppsV1().ControllerRevisions(rev.Namespace).Create(ctx, rev, metav1.CreateOptions{FieldManager: FieldManager})
}

func (r realRevisionControl) UpdateRevision(ctx context.Context, rev *appsv1.ControllerRevision) (*appsv1.ControllerRevision, error) {
	return r.client.AppsV1().ControllerRevisions(rev.Namespace).Update(ctx, rev, metav1.UpdateOptions{FieldManager: FieldManager})
}

func (r realRevisionControl) DeleteRevision(ctx context.Context, rev *appsv1.ControllerRevision) error {
	return r.client.AppsV1().ControllerRevisions(rev.Namespace).Delete(ctx, rev.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &rev.UID}})
}

func (r realRevisionControl) GetRevision(ctx context.Context, namespace, name string) (*appsv1.ControllerRevision, error) {
	return r.client.AppsV1().ControllerRevisions(namespace).Get(ctx, name, metav1.GetOptions{})
}
