package ministatefulset

import (
	"context"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	storageinformers "k8s.io/client-go/informers/storage/v1"
	"k8s.io/client-go/tools/cache"

	appsv1alpha1 "github.com/ministatefulset/ministatefulset/pkg/apis/apps/v1alpha1"
)

// Growing claims after a claim template's storage request is raised (beyond
// apps/v1, whose claim templates are immutable). Each claim of a pod that runs is
// raised to its template's request, in ordinal order, where its StorageClass allows
// volume expansion; a claim whose class does not is left as it is, with one Warning
// event. The volume's own growth is the resizer's (status.capacity shows it); the
// set's status counts both (status.claimStorage).

// storageClassGetter returns a StorageClass by name (nil: there is none). A nil
// getter means the controller cannot read StorageClasses (confined to namespaces,
// it has no ClusterRole): it asks, and the API server's resize admission answers.
type storageClassGetter func(name string) *storagev1.StorageClass

// refusalGetter returns why the API server refused to grow a claim to a size lately,
// and how long until it is asked again ("" when it was not refused).
type refusalGetter func(uid types.UID, want string) (why string, retryIn time.Duration)

// WatchStorageClasses lets the controller read StorageClasses, so that a claim
// whose class does not allow volume expansion is left alone without a refused
// request, and says why. Call it before the informer starts, and only for a
// controller of every namespace: a StorageClass is cluster-scoped. A change of any
// class wakes every set with claim templates: it may now let their claims grow.
func (c *Controller) WatchStorageClasses(ctx context.Context, inf storageinformers.StorageClassInformer) error {
	wake := func(any) {
		sets, err := c.setLister.MiniStatefulSets("").List(labels.Everything())
		if err != nil {
			utilruntime.HandleErrorWithContext(ctx, err, "Listing MiniStatefulSets for a StorageClass change")
			return
		}
		for _, set := range sets {
			if len(set.Spec.VolumeClaimTemplates) > 0 {
				c.enqueue(set)
			}
		}
	}
	reg, err := inf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: wake, UpdateFunc: func(_, cur any) { wake(cur) }, DeleteFunc: wake,
	})
	if err != nil {
		return err
	}
	c.synced = append(c.synced, reg.HasSynced)
	lister := inf.Lister()
	c.control.storageClasses = func(name string) *storagev1.StorageClass {
		sc, err := lister.Get(name)
		if err != nil {
			return nil
		}
		return sc
	}
	return nil
}

// growClaims asks for the writes that raise claims to their templates' storage, in
// ordinal order, and reports the progress in the plan. members are the pods at the
// set's ordinals, lowest first.
func (s *snapshot) growClaims(p *plan, members []*corev1.Pod) {
	set := s.set
	var st appsv1alpha1.ClaimStorageStatus
	grows := 0
	for _, pod := range members {
		ord := ordinalOf(set, pod)
		for _, t := range set.Spec.VolumeClaimTemplates {
			want, ok := t.Spec.Resources.Requests[corev1.ResourceStorage]
			if !ok || want.IsZero() {
				continue
			}
			claim := s.claim(claimName(t.Name, set, ord))
			if claim == nil || claim.DeletionTimestamp != nil || foreignController(claim, set, pod) {
				continue
			}
			st.Claims++
			have := claim.Spec.Resources.Requests[corev1.ResourceStorage]
			if have.Cmp(want) >= 0 {
				st.Requested++
				if capacity, bound := claim.Status.Capacity[corev1.ResourceStorage]; !bound || capacity.Cmp(want) >= 0 {
					st.Resized++
				}
				continue
			}
			if claim.Status.Phase != corev1.ClaimBound {
				// Only a bound claim's request may change; its binding wakes the set.
				continue
			}
			if why, retryIn := s.cannotGrow(claim, want); why != "" {
				st.NotExpandable++
				p.requeueIn(retryIn)
				p.events = append(p.events, plannedEvent{eventType: corev1.EventTypeWarning, reason: ReasonClaimNotExpandable,
					message: fmt.Sprintf("Claim %s stays at %s while its template asks for %s: %s", claim.Name, have.String(), want.String(), why),
					once:    string(claim.UID) + "/" + want.String()})
				continue
			}
			grown := claim.DeepCopy()
			if grown.Spec.Resources.Requests == nil {
				grown.Spec.Resources.Requests = corev1.ResourceList{}
			}
			grown.Spec.Resources.Requests[corev1.ResourceStorage] = want.DeepCopy()
			p.add(action{kind: growClaim, pod: pod, claims: []*corev1.PersistentVolumeClaim{grown},
				why: fmt.Sprintf("its template asks for %s, it requests %s", want.String(), have.String())})
			grows++
		}
	}
	if st.Requested == st.Claims && st.Resized == st.Claims {
		return
	}
	p.claimStorage = &st
	if p.wait != nil {
		return
	}
	switch {
	case grows > 0:
		p.waitFor(WaitClaimStorage, "raising the storage request of %d claim(s) to their templates' (%d of %d claims ask for it, %d have grown)",
			grows, st.Requested, st.Claims, st.Resized)
	case st.Resized < st.Requested || st.Requested+st.NotExpandable < st.Claims:
		p.waitFor(WaitClaimStorage, "waiting for claims to grow to their templates' storage: %d of %d have grown, %d ask for it%s",
			st.Resized, st.Claims, st.Requested, notExpandable(st.NotExpandable))
	}
}

func notExpandable(n int32) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf(", %d cannot grow (see the Warning events)", n)
}

// cannotGrow says why a claim cannot be raised to want, or "".
func (s *snapshot) cannotGrow(claim *corev1.PersistentVolumeClaim, want resource.Quantity) (string, time.Duration) {
	if s.refused != nil {
		if why, retryIn := s.refused(claim.UID, want.String()); why != "" {
			return why, retryIn
		}
	}
	if s.storageClass == nil {
		return "", 0
	}
	name := ""
	if claim.Spec.StorageClassName != nil {
		name = *claim.Spec.StorageClassName
	}
	switch sc := s.storageClass(name); {
	case name == "":
		return "it has no StorageClass, and only a claim whose StorageClass allows volume expansion can grow", 0
	case sc == nil:
		return fmt.Sprintf("its StorageClass %s does not exist", name), 0
	case sc.AllowVolumeExpansion == nil || !*sc.AllowVolumeExpansion:
		return fmt.Sprintf("its StorageClass %s does not allow volume expansion (allowVolumeExpansion is not true)", name), 0
	}
	return "", 0
}

// refusals remembers the claims the API server refused to grow, so a pass does not
// ask again each time; each is asked again after refusalRetry, in case the
// StorageClass changed.
type refusals struct {
	mu sync.Mutex
	m  map[types.UID]refusal
}

type refusal struct {
	want, why string
	at        time.Time
}

const refusalRetry = 10 * time.Minute

func newRefusals() *refusals { return &refusals{m: map[types.UID]refusal{}} }

func (r *refusals) refuse(uid types.UID, want, why string, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.m) >= maxRemembered {
		clear(r.m)
	}
	r.m[uid] = refusal{want: want, why: why, at: now}
}

func (r *refusals) getter(now time.Time) refusalGetter {
	return func(uid types.UID, want string) (string, time.Duration) {
		r.mu.Lock()
		defer r.mu.Unlock()
		f, ok := r.m[uid]
		if !ok || f.want != want {
			return "", 0
		}
		if left := refusalRetry - now.Sub(f.at); left > 0 {
			return f.why, left
		}
		delete(r.m, uid)
		return "", 0
	}
}

// onceEvents remembers the events recorded once per key (a Warning about a claim
// that cannot grow is not repeated by every pass).
type onceEvents struct {
	mu   sync.Mutex
	seen map[string]bool
}

// maxRemembered bounds each memory; it starts over when full (an event may then be
// recorded once more).
const maxRemembered = 10000

func newOnceEvents() *onceEvents { return &onceEvents{seen: map[string]bool{}} }

// first reports whether key is new, and remembers it.
func (o *onceEvents) first(key string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.seen[key] {
		return false
	}
	if len(o.seen) >= maxRemembered {
		clear(o.seen)
	}
	o.seen[key] = true
	return true
}
