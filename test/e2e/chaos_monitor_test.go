//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"

	appsv1alpha1 "github.com/ministatefulset/ministatefulset/pkg/apis/apps/v1alpha1"
	mstsinformers "github.com/ministatefulset/ministatefulset/pkg/generated/informers/externalversions"
	"github.com/ministatefulset/ministatefulset/pkg/trace"
)

// chaosWindow is how far back the monitor looks before it calls something a
// violation. A controller acts on its informer cache, which lags the API server: a
// lower pod it saw Ready may have turned un-Ready (or been deleted by hand) a moment
// before it created the next one. So a creation counts as a violation only if some
// lower ordinal had no Running+Ready pod at ANY instant of the window before it, that
// is if no cache that lags less than the window could have shown it Ready. The same
// window covers the set's spec, which the monitor and the controller read from
// another stream than the pods. Within one stream no window is needed: the monitor's
// watch delivers pods in the API server's order, and a controller's cache is a prefix
// of that order, so a pod the monitor still sees when another one is deleted was
// also still in the controller's cache when it decided.
//
// An API server restart breaks that: each informer of the monitor (and of the
// controllers) comes back on its own schedule, so for a while one stream can be
// seconds behind another. Checks that compare two streams (a pod's or a claim's
// change against the set's spec) are therefore skipped from the moment a restart
// begins until chaosBlackoutAfter after the API server is back, and counted as
// skipped; checks within one stream go on.
const chaosWindow = 2 * time.Second

// chaosBlackoutAfter is how long after an API server restart the streams may still
// be apart (client-go's reflectors back off up to a few seconds while it is away).
const chaosBlackoutAfter = 10 * time.Second

// interval is a span of time, open while to is zero.
type interval struct{ from, to time.Time }

// ordKey is one ordinal of one incarnation of a set (its UID).
type ordKey struct {
	owner types.UID
	ord   int
}

// monPod is what the monitor knows of the current pod of a name.
type monPod struct {
	uid         types.UID
	ns, name    string
	owner       types.UID
	setName     string
	ord         int // -1 when the name is not <set>-<ordinal>
	ready       bool
	terminating bool
	finished    bool // phase Failed or Succeeded seen
	index       string
	revision    string
}

// setSample is one state of a set's spec and status, as the monitor saw it.
type setSample struct {
	at             time.Time
	replicas       int
	template       string // digest of spec.template
	updateRevision string
}

type monSet struct {
	ns, name string
	samples  []setSample
	deleted  bool
}

// revKey names a ControllerRevision of one set incarnation.
type revKey struct {
	owner types.UID
	name  string
}

// chaosMonitor watches the chaos namespaces' pods, claims, sets and revisions with
// its own informers (which re-list and watch again after every error, API server
// restarts included) and checks the StatefulSet guarantees on every change.
type chaosMonitor struct {
	mu      sync.Mutex
	now     func() time.Time
	configs map[string]chaosSetConfig // by namespace/name

	pods        map[string]*monPod // by namespace/name
	readySpans  map[ordKey][]interval
	sets        map[types.UID]*monSet
	setUID      map[string]types.UID // namespace/name -> the latest incarnation
	podGone     map[types.UID]bool   // pods deleted or gone
	claimOwners map[types.UID][]metav1.OwnerReference
	claimGone   map[types.UID]bool
	revisions   map[revKey]int64  // -> .revision
	podRevs     map[revKey]string // revisions pods carried -> a pod that did

	// what the chaos actor did by hand, recorded before the request goes out
	handPods   map[types.UID]bool
	handClaims map[types.UID]bool
	handSets   map[types.UID]bool

	blackouts      []interval // API server restarts, with chaosBlackoutAfter added
	violations     []string
	claimsLost     []string
	claimDeletions []claimDeletion
	podOwners      []claimPodOwner
	podEvents      int            // pod notifications handled
	checked        map[string]int // how many times each check ran
	watchErrors    map[string]int
}

func newChaosMonitor() *chaosMonitor {
	return &chaosMonitor{
		now: time.Now, configs: map[string]chaosSetConfig{},
		pods: map[string]*monPod{}, readySpans: map[ordKey][]interval{}, sets: map[types.UID]*monSet{},
		setUID: map[string]types.UID{}, podGone: map[types.UID]bool{}, claimOwners: map[types.UID][]metav1.OwnerReference{},
		claimGone: map[types.UID]bool{}, revisions: map[revKey]int64{}, podRevs: map[revKey]string{},
		handPods: map[types.UID]bool{}, handClaims: map[types.UID]bool{}, handSets: map[types.UID]bool{},
		checked: map[string]int{}, watchErrors: map[string]int{},
	}
}

// watch starts the monitor's informers, cluster-wide, keeping only the chaos
// namespaces, and returns once each has delivered its first list.
func (m *chaosMonitor) watch(ctx context.Context, namespaces []string) error {
	inNS := map[string]bool{}
	for _, ns := range namespaces {
		inNS[ns] = true
	}
	ours := func(obj any) bool {
		if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = tomb.Obj
		}
		o, ok := obj.(metav1.Object)
		return ok && inNS[o.GetNamespace()]
	}
	handlers := func(add func(any), del func(any)) cache.ResourceEventHandler {
		return cache.FilteringResourceEventHandler{FilterFunc: ours, Handler: cache.ResourceEventHandlerFuncs{
			AddFunc: add, UpdateFunc: func(_, cur any) { add(cur) }, DeleteFunc: del,
		}}
	}
	kubeInf := informers.NewSharedInformerFactory(kube, 0)
	setInf := mstsinformers.NewSharedInformerFactory(msts, 0)
	for _, w := range []struct {
		what string
		inf  cache.SharedIndexInformer
		h    cache.ResourceEventHandler
	}{
		// sets and revisions first, so that the pods' checks find them
		{"sets", setInf.Apps().V1alpha1().MiniStatefulSets().Informer(), handlers(m.onSet, m.onSetGone)},
		{"revisions", kubeInf.Apps().V1().ControllerRevisions().Informer(), handlers(m.onRevision, func(any) {})},
		{"claims", kubeInf.Core().V1().PersistentVolumeClaims().Informer(), handlers(m.onClaim, m.onClaimGone)},
		{"pods", kubeInf.Core().V1().Pods().Informer(), handlers(m.onPod, m.onPodGone)},
	} {
		what := w.what
		if err := trace.RunInformer(ctx, w.inf, w.h, func(error) { m.watchFailed(what) }); err != nil {
			return fmt.Errorf("watching %s: %w", what, err)
		}
	}
	return nil
}

func (m *chaosMonitor) watchFailed(what string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.watchErrors[what]++
}

func unwrapObj(obj any) any {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		return tomb.Obj
	}
	return obj
}

// apiDown and apiUp bracket an API server restart.
func (m *chaosMonitor) apiDown() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.blackouts = append(m.blackouts, interval{from: m.now()})
}

func (m *chaosMonitor) apiUp() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if n := len(m.blackouts); n > 0 {
		m.blackouts[n-1].to = m.now().Add(chaosBlackoutAfter)
	}
}

// crossStreamOK reports whether a check comparing two streams can run at t, and
// counts it as skipped when it cannot.
func (m *chaosMonitor) crossStreamOK(check string, t time.Time) bool {
	for _, b := range m.blackouts {
		if !t.Before(b.from.Add(-chaosWindow)) && (b.to.IsZero() || !t.After(b.to)) {
			m.checked[check+" skipped (API server restart)"]++
			return false
		}
	}
	return true
}

func (m *chaosMonitor) violate(format string, args ...any) {
	msg := m.now().Format("15:04:05.000 ") + fmt.Sprintf(format, args...)
	m.violations = append(m.violations, msg)
}

// ---------------------------------------------------------------- sets --

func templateDigest(t *corev1.PodTemplateSpec) string {
	raw, _ := json.Marshal(t)
	h := fnv.New64a()
	h.Write(raw)
	return strconv.FormatUint(h.Sum64(), 16)
}

func (m *chaosMonitor) onSet(obj any) {
	set, ok := unwrapObj(obj).(*appsv1alpha1.MiniStatefulSet)
	if !ok {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.sets[set.UID]
	if s == nil {
		s = &monSet{ns: set.Namespace, name: set.Name}
		m.sets[set.UID] = s
		m.setUID[set.Namespace+"/"+set.Name] = set.UID
	}
	replicas := 1
	if set.Spec.Replicas != nil {
		replicas = int(*set.Spec.Replicas)
	}
	sample := setSample{at: m.now(), replicas: replicas, template: templateDigest(&set.Spec.Template), updateRevision: set.Status.UpdateRevision}
	if n := len(s.samples); n == 0 || s.samples[n-1].replicas != sample.replicas || s.samples[n-1].template != sample.template ||
		s.samples[n-1].updateRevision != sample.updateRevision {
		s.samples = append(s.samples, sample)
	}
}

func (m *chaosMonitor) onSetGone(obj any) {
	set, ok := unwrapObj(obj).(*appsv1alpha1.MiniStatefulSet)
	if !ok {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if s := m.sets[set.UID]; s != nil {
		s.deleted = true
	}
}

// samplesIn returns the set's samples that held at some instant of [from, to]: the
// last one before from and every one after.
func (s *monSet) samplesIn(from, to time.Time) []setSample {
	var out []setSample
	for i, sm := range s.samples {
		if sm.at.After(to) {
			break
		}
		if !sm.at.After(from) && i+1 < len(s.samples) && !s.samples[i+1].at.After(from) {
			continue
		}
		out = append(out, sm)
	}
	return out
}

// ----------------------------------------------------------- revisions --

func (m *chaosMonitor) onRevision(obj any) {
	r, ok := unwrapObj(obj).(*appsv1.ControllerRevision)
	if !ok {
		return
	}
	ref := metav1.GetControllerOf(r)
	if ref == nil || ref.Kind != appsv1alpha1.Kind {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.revisions[revKey{ref.UID, r.Name}] = r.Revision
}

// newestRevision is the name of the set's ControllerRevision with the highest number
// (a rollback re-numbers the revision it re-uses).
func (m *chaosMonitor) newestRevision(owner types.UID) string {
	var name string
	var newest int64 = -1
	for k, n := range m.revisions {
		if k.owner == owner && n > newest {
			name, newest = k.name, n
		}
	}
	return name
}

// ---------------------------------------------------------------- pods --

func (m *chaosMonitor) onPod(obj any) {
	pod, ok := unwrapObj(obj).(*corev1.Pod)
	if !ok {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.podEvents++
	key := pod.Namespace + "/" + pod.Name
	cur := m.pods[key]
	if cur != nil && cur.uid != pod.UID {
		// the watch missed a removal and a creation (a re-list after a broken watch)
		m.gone(cur)
		cur = nil
	}
	now := m.now()
	if cur == nil {
		cur = &monPod{uid: pod.UID, ns: pod.Namespace, name: pod.Name, ord: -1}
		if ref := metav1.GetControllerOf(pod); ref != nil && ref.Kind == appsv1alpha1.Kind {
			cur.owner, cur.setName = ref.UID, ref.Name
			if n, err := strconv.Atoi(strings.TrimPrefix(pod.Name, ref.Name+"-")); err == nil && pod.Name == fmt.Sprintf("%s-%d", ref.Name, n) {
				cur.ord = n
			}
		}
		m.pods[key] = cur
		m.checkCreation(cur, now)
		if m.handSets[cur.owner] {
			// not a guarantee broken, but a write from a cache that had not yet seen
			// the set's deletion: counted, since the garbage collector must clean up
			m.checked["pod created after its set's deletion was asked"]++
		}
	}
	cur.index, cur.revision = pod.Labels["apps.kubernetes.io/pod-index"], pod.Labels[revisionLabel]
	if cur.owner != "" && cur.revision != "" {
		if _, ok := m.podRevs[revKey{cur.owner, cur.revision}]; !ok {
			m.podRevs[revKey{cur.owner, cur.revision}] = key
		}
	}
	if pod.Status.Phase == corev1.PodFailed || pod.Status.Phase == corev1.PodSucceeded {
		cur.finished = true
	}
	ready := isReady(pod) && pod.DeletionTimestamp == nil
	if ready != cur.ready {
		m.setReady(cur, ready, now)
	}
	if pod.DeletionTimestamp != nil && !cur.terminating {
		cur.terminating = true
		m.checkDeletion(cur, now)
	}
	m.checkIndexes(pod.Namespace, cur.setName)
}

func (m *chaosMonitor) onPodGone(obj any) {
	pod, ok := unwrapObj(obj).(*corev1.Pod)
	if !ok {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if cur := m.pods[pod.Namespace+"/"+pod.Name]; cur != nil && cur.uid == pod.UID {
		m.gone(cur)
	}
}

func (m *chaosMonitor) gone(p *monPod) {
	now := m.now()
	if p.ready {
		m.setReady(p, false, now)
	}
	if !p.terminating {
		p.terminating = true
		m.checkDeletion(p, now)
	}
	m.podGone[p.uid] = true
	delete(m.pods, p.ns+"/"+p.name)
}

func (m *chaosMonitor) setReady(p *monPod, ready bool, at time.Time) {
	p.ready = ready
	if p.ord < 0 {
		return
	}
	k := ordKey{p.owner, p.ord}
	spans := m.readySpans[k]
	if ready {
		m.readySpans[k] = append(spans, interval{from: at})
	} else if n := len(spans); n > 0 && spans[n-1].to.IsZero() {
		spans[n-1].to = at
	}
}

func (m *chaosMonitor) readyWithin(k ordKey, from, to time.Time) bool {
	for _, sp := range m.readySpans[k] {
		if !sp.from.After(to) && (sp.to.IsZero() || !sp.to.Before(from)) {
			return true
		}
	}
	return false
}

func (m *chaosMonitor) config(p *monPod) (chaosSetConfig, bool) {
	c, ok := m.configs[p.ns+"/"+p.setName]
	return c, ok
}

// checkCreation: under OrderedReady no pod is created above a lower ordinal that had
// no Running+Ready pod at any instant of the window.
func (m *chaosMonitor) checkCreation(p *monPod, at time.Time) {
	cfg, ok := m.config(p)
	if !ok || cfg.parallel || p.ord < 0 {
		return
	}
	// Across an API server restart the pod watch re-lists, and the pods of a list
	// need not come in ordinal order: a creation seen then is not judged (seen once in
	// a 500-action run, after a 13.6 s restart: gamma-1 delivered before gamma-0's
	// readiness, both made before the monitor's watch was back).
	if !m.crossStreamOK("creation", at) {
		return
	}
	m.checked["creation"]++
	for j := 0; j < p.ord; j++ {
		if !m.readyWithin(ordKey{p.owner, j}, at.Add(-chaosWindow), at) {
			m.violate("%s/%s created while %s-%d had not been Running and Ready for the last %v", p.ns, p.name, p.setName, j, chaosWindow)
			return
		}
	}
}

// checkDeletion: under OrderedReady a pod the controller deletes that is neither
// finished (Failed, Succeeded) nor outdated (a rolling update's) is a scale-down's,
// which must wait until every higher ordinal of the set is gone. Pods deleted by hand
// or by the garbage collector (their set was deleted) are not the controller's.
func (m *chaosMonitor) checkDeletion(p *monPod, at time.Time) {
	m.podGone[p.uid] = true
	cfg, ok := m.config(p)
	if !ok || cfg.parallel || p.ord < 0 || p.finished || m.handPods[p.uid] || m.handSets[p.owner] {
		return
	}
	s := m.sets[p.owner]
	if s == nil || len(s.samples) == 0 || !m.crossStreamOK("deletion", at) {
		return
	}
	samples := s.samplesIn(at.Add(-chaosWindow), at)
	for _, sm := range samples {
		if sm.template != samples[0].template {
			return // the template changed in the window: maybe a rolling update's
		}
	}
	if p.revision == "" || p.revision != s.samples[len(s.samples)-1].updateRevision || p.revision != m.newestRevision(p.owner) {
		return // outdated, or not known to be up to date: maybe a rolling update's
	}
	m.checked["deletion"]++
	var higher []string
	for _, q := range m.pods {
		if q.owner == p.owner && q.ord > p.ord {
			higher = append(higher, q.name)
		}
	}
	if len(higher) > 0 {
		sort.Strings(higher)
		m.violate("%s/%s (up to date, ordinal %d) deleted while higher ordinals %v of the set still exist", p.ns, p.name, p.ord, higher)
	}
}

// checkIndexes: never two live pods of one set with the same pod-index label.
func (m *chaosMonitor) checkIndexes(ns, setName string) {
	if setName == "" {
		return
	}
	m.checked["index"]++
	seen := map[string]string{}
	for _, q := range m.pods {
		if q.ns != ns || q.setName != setName || q.index == "" {
			continue
		}
		if other, dup := seen[q.index]; dup {
			m.violate("%s/%s and %s/%s of set %s both carry pod-index %s", ns, other, ns, q.name, setName, q.index)
		}
		seen[q.index] = q.name
	}
}

// -------------------------------------------------------------- claims --

// claimSet splits a claim name <set>-data-<set>-<ordinal> into the set's config
// and the ordinal.
func (m *chaosMonitor) claimSet(c *corev1.PersistentVolumeClaim) (chaosSetConfig, int, bool) {
	for _, cfg := range m.configs {
		prefix := cfg.name + "-data-" + cfg.name + "-"
		if rest, ok := strings.CutPrefix(c.Name, prefix); ok && cfg.claims {
			if n, err := strconv.Atoi(rest); err == nil {
				return cfg, n, true
			}
		}
	}
	return chaosSetConfig{}, 0, false
}

func (m *chaosMonitor) nsOf(cfg chaosSetConfig, c *corev1.PersistentVolumeClaim) bool {
	_, ok := m.configs[c.Namespace+"/"+cfg.name]
	return ok
}

// onClaim checks every ownerReference a claim gains: the set's only with whenDeleted
// Delete, a pod's only with whenScaled Delete and while that pod's ordinal was
// condemned (at or above replicas) at some instant of the window.
func (m *chaosMonitor) onClaim(obj any) {
	c, ok := unwrapObj(obj).(*corev1.PersistentVolumeClaim)
	if !ok {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	cfg, ord, ok := m.claimSet(c)
	if !ok || !m.nsOf(cfg, c) {
		return
	}
	now := m.now()
	known := map[types.UID]bool{}
	for _, r := range m.claimOwners[c.UID] {
		known[r.UID] = true
	}
	for _, r := range c.OwnerReferences {
		if known[r.UID] {
			continue
		}
		m.checked["claim owner"]++
		switch r.Kind {
		case appsv1alpha1.Kind:
			if cfg.whenDeleted != appsv1.DeletePersistentVolumeClaimRetentionPolicyType {
				m.violate("claim %s/%s got its set as owner, but whenDeleted is %s", c.Namespace, c.Name, cfg.whenDeleted)
			}
		case "Pod":
			if cfg.whenScaled != appsv1.DeletePersistentVolumeClaimRetentionPolicyType {
				m.violate("claim %s/%s got its pod as owner, but whenScaled is %s", c.Namespace, c.Name, cfg.whenScaled)
				break
			}
			if !m.crossStreamOK("claim owner", now) {
				break
			}
			m.podOwners = append(m.podOwners, claimPodOwner{at: now, ns: c.Namespace, name: c.Name, pod: r.Name, ord: ord,
				set: m.setUID[c.Namespace+"/"+cfg.name]})
		}
	}
	m.claimOwners[c.UID] = c.OwnerReferences
	if c.DeletionTimestamp != nil {
		m.claimDeleted(c, cfg)
	}
}

func (m *chaosMonitor) onClaimGone(obj any) {
	c, ok := unwrapObj(obj).(*corev1.PersistentVolumeClaim)
	if !ok {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if cfg, _, ok := m.claimSet(c); ok && m.nsOf(cfg, c) {
		m.claimDeleted(c, cfg)
	}
}

// claimDeleted records a claim's deletion. A claim may only go when deleted by hand,
// or by the garbage collector through an owner the retention policy gave it that is
// gone: its set (deleted by the actor) or its pod. The pod may be reported gone by
// the pod stream after the claim's deletion shows in the claim stream, so the
// verdict waits for finish.
func (m *chaosMonitor) claimDeleted(c *corev1.PersistentVolumeClaim, cfg chaosSetConfig) {
	if m.claimGone[c.UID] {
		return
	}
	m.claimGone[c.UID] = true
	owners := c.OwnerReferences
	if len(owners) == 0 {
		owners = m.claimOwners[c.UID]
	}
	_, ord, _ := m.claimSet(c)
	m.claimDeletions = append(m.claimDeletions, claimDeletion{at: m.now(), ns: c.Namespace, name: c.Name, uid: c.UID, owners: owners, cfg: cfg,
		ord: ord, set: m.setUID[c.Namespace+"/"+cfg.name]})
}

// claimPolicyWindow is how far back a claim's deletion by the garbage collector may
// follow the scale-down that condemned its ordinal: the pod's termination and the
// collector's work come between.
const claimPolicyWindow = time.Minute

// claimDeletion is a claim's deletion, judged at finish.
type claimDeletion struct {
	at       time.Time
	ns, name string
	uid      types.UID
	owners   []metav1.OwnerReference
	cfg      chaosSetConfig
	// ord is the claim's ordinal and set the UID of its set when it went.
	ord int
	set types.UID
}

// claimPodOwner is a claim handed to its pod (whenScaled=Delete), judged at finish:
// the set's stream may be behind the claim's (a controller that saw a scale-down
// patches the claim within milliseconds, before the monitor's set watch delivers
// the scale), so the set's samples count up to chaosWindow after it too.
type claimPodOwner struct {
	at            time.Time
	ns, name, pod string
	ord           int
	set           types.UID
}

func (m *chaosMonitor) judgeClaimPodOwner(o claimPodOwner) {
	if s := m.sets[o.set]; s != nil {
		for _, sm := range s.samplesIn(o.at.Add(-chaosWindow), o.at.Add(chaosWindow)) {
			if o.ord >= sm.replicas {
				return
			}
		}
	}
	m.violate("claim %s/%s got pod %s as owner while ordinal %d was not condemned", o.ns, o.name, o.pod, o.ord)
}

func (m *chaosMonitor) judgeClaimDeletion(d claimDeletion) {
	m.checked["claim deletion"]++
	if m.handClaims[d.uid] {
		return
	}
	for _, r := range d.owners {
		if r.Kind == appsv1alpha1.Kind && m.handSets[r.UID] || r.Kind == "Pod" && m.podGone[r.UID] {
			return
		}
	}
	// The claim stream may not have seen the owner the policy gave the claim: a
	// watch that re-lists after an API server restart reports a deletion with the last
	// state it saw. Then judge by the policy and the facts: under whenScaled=Delete a
	// claim of an ordinal condemned shortly before may go; under whenDeleted=Delete, a
	// claim of a set deleted by hand. The set's stream may be behind the claim's as
	// much as the other way round, so its samples count up to a while after.
	if s := m.sets[d.set]; s != nil {
		if d.cfg.whenDeleted == appsv1.DeletePersistentVolumeClaimRetentionPolicyType && m.handSets[d.set] {
			return
		}
		if d.cfg.whenScaled == appsv1.DeletePersistentVolumeClaimRetentionPolicyType {
			for _, sm := range s.samplesIn(d.at.Add(-claimPolicyWindow), d.at.Add(claimPolicyWindow/2)) {
				if d.ord >= int(sm.replicas) {
					return
				}
			}
		}
	}
	m.claimsLost = append(m.claimsLost, fmt.Sprintf("%s %s/%s (uid %s, owners %v) deleted though set %s retains it (whenDeleted %s, whenScaled %s)",
		d.at.Format("15:04:05.000"), d.ns, d.name, shortUID(d.uid), ownerNames(d.owners), d.cfg.name, d.cfg.whenDeleted, d.cfg.whenScaled))
}

func ownerNames(refs []metav1.OwnerReference) []string {
	var out []string
	for _, r := range refs {
		out = append(out, r.Kind+"/"+r.Name)
	}
	return out
}

// ------------------------------------------------------- hand-made writes --

func (m *chaosMonitor) byHand(pods, claims, sets []types.UID) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, u := range pods {
		m.handPods[u] = true
	}
	for _, u := range claims {
		m.handClaims[u] = true
	}
	for _, u := range sets {
		m.handSets[u] = true
	}
}

// finish runs the checks that need the whole run: every claim deletion had a cause the
// retention policy allows, and every revision a pod carried is a ControllerRevision
// its set owned. It returns the violations and claims lost.
func (m *chaosMonitor) finish() (violations, claimsLost []string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, o := range m.podOwners {
		m.judgeClaimPodOwner(o)
	}
	m.podOwners = nil
	for _, d := range m.claimDeletions {
		m.judgeClaimDeletion(d)
	}
	m.claimDeletions = nil
	for k, pod := range m.podRevs {
		m.checked["revision"]++
		if _, ok := m.revisions[k]; !ok {
			m.violate("pod %s carries revision %s, which is no ControllerRevision of its set (uid %s)", pod, k.name, shortUID(k.owner))
		}
	}
	return append([]string(nil), m.violations...), append([]string(nil), m.claimsLost...)
}

// checks is how many times the named check ran.
func (m *chaosMonitor) checks(name string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.checked[name]
}

// events is how many pod notifications the monitor has handled so far.
func (m *chaosMonitor) events() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.podEvents
}

func (m *chaosMonitor) summary() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return fmt.Sprintf("%d pod events, checks %v, watch failures reported %v", m.podEvents, m.checked, m.watchErrors)
}
