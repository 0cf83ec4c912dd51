package ministatefulset

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"

	appsv1alpha1 "github.com/ministatefulset/ministatefulset/pkg/apis/apps/v1alpha1"
)

// errInvalidSpec marks a pass that stopped on a spec it cannot act on; the worker
// requeues it with backoff, so a bad spec never becomes a hot loop.
var errInvalidSpec = errors.New("invalid spec")

// errWaiting marks a pass that waits for something whose event may wake no set (a
// claim or pod of an earlier owner going away): the worker retries it with backoff,
// so the wait ends even if no event comes.
var errWaiting = errors.New("waiting")

// setControl runs one pass for one set: revisions, the decided writes, status,
// history. It reaches the API only through its seams.
type setControl struct {
	pods      podControl
	revisions revisionControl
	status    statusUpdater
	recorder  record.EventRecorder
	clock     clock.PassiveClock
	// fold holds back the status writes of a set in progress (nil: none are held).
	fold *statusFold
	// created are the pods created that the cache has not shown yet.
	created *createdPods
	// written are the last status writes, for passes that run before the cache has them.
	written *lastWrites
	// waits feeds the sets_waiting metric (nil: not kept).
	waits *waitGauge
	// progress is marked at each write, so a long pass is not taken for a stuck one.
	progress *progress
	// pacing spaces out the look-only passes of big Parallel sets (nil: never).
	pacing *passPacing
	// storageClasses reads StorageClasses (nil: the controller cannot), refusals
	// are the claims the API server refused to grow, once the events not repeated.
	storageClasses storageClassGetter
	refusals       *refusals
	once           *onceEvents
}

// syncSet runs a pass over a set whose pods were already adopted: pods are the set's
// own members, claims finds the existing claims of its namespace by name, revisions
// are those it owns. It returns when the set wants another pass even if nothing
// changes.
func (ctl *setControl) syncSet(ctx context.Context, set *appsv1alpha1.MiniStatefulSet, pods []*corev1.Pod,
	claims claimGetter, revisions []*appsv1.ControllerRevision) (time.Duration, error) {
	logger := klog.FromContext(ctx)
	now := ctl.clock.Now()
	set = ctl.written.freshest(set)

	selector, invalid := validateSpec(set)
	if invalid != "" {
		return 0, ctl.rejectSpec(ctx, set, invalid, now)
	}
	if set.DeletionTimestamp != nil {
		// The garbage collector removes the pods; only report what is left.
		ctl.waits.forget(cache.MetaObjectToName(set))
		st := computeStatus(set, selector, pods, set.Status.CurrentRevision, set.Status.UpdateRevision, now)
		return 0, ctl.writeStatus(ctx, set, &st)
	}

	rp, err := planRevisions(set, revisions)
	if err != nil {
		return 0, err
	}
	if err := ctl.applyRevisions(ctx, set, &rp); err != nil {
		return 0, err
	}
	snap := &snapshot{set: set, pods: pods, claim: claims, current: rp.current, update: rp.update, now: now,
		storageClass: ctl.storageClasses, refused: ctl.refusals.getter(now), growsClaims: !isStatefulSet(set)}
	if snap.updateTemplate, err = templateOf(rp.update); err != nil {
		return 0, err
	}
	if snap.currentTemplate, err = templateOf(rp.current); err != nil {
		return 0, err
	}

	p := decide(snap)
	// One line per pass at -v=2 (a Parallel pass may plan hundreds of writes, and a
	// failing one is retried), one per write at -v=4.
	if len(p.actions) > 0 {
		logger.V(2).Info("Decided", "writes", len(p.actions), "what", describeActions(p.actions))
	}
	for _, a := range p.actions {
		logger.V(4).Info("Decided", "action", a.kind.String(), "pod", klog.KObj(a.pod), "ordinal", ordinalOf(set, a.pod), "why", a.why)
	}
	for _, e := range p.events {
		if e.once == "" || ctl.once.first(e.once) {
			ctl.recorder.Event(set, e.eventType, e.reason, e.message)
		}
	}
	run := p
	var dropped bool
	if run.actions, dropped = ctl.created.unseen(p.actions, now); dropped {
		// The pod's own event wakes the set once the cache has it; should it never
		// come (the pod went before the watch saw it), this pass comes back.
		logger.V(4).Info("Leaving pods created but not yet seen in the cache")
		p.requeueIn(createdTTL)
	}
	execErr := execute(ctx, run, func(ctx context.Context, a action) error { return ctl.do(ctx, set, a) })

	st := computeStatus(set, selector, pods, rp.current.Name, rp.update.Name, now)
	st.ClaimStorage = p.claimStorage
	removeCondition(&st, appsv1alpha1.ConditionInvalidSpec)
	waitingCondition(&st, set, p, pods, now)
	var taken *nameTakenError
	switch {
	case errors.As(execErr, &taken):
		setCondition(&st, appsv1alpha1.ConditionWaiting, corev1.ConditionTrue, WaitNameTaken, taken.wait(), now)
	case execErr != nil:
		setCondition(&st, appsv1alpha1.ConditionWaiting, corev1.ConditionTrue, WaitProgressing,
			fmt.Sprintf("retrying after an API error: %v", execErr), now)
	}
	ctl.waits.set(cache.MetaObjectToName(set), waitsFor(&st))
	if isStatefulSet(set) {
		// A StatefulSet's status is apps/v1's: kube-controller-manager writes no
		// condition of its own, so the conditions stay as others wrote them.
		st.Conditions = set.Status.Conditions
	}
	var statusErr error
	var held time.Duration
	statusWritten := false
	if !apiequality.Semantic.DeepEqual(&set.Status, &st) {
		if held = ctl.fold.hold(set, &st, now, execErr != nil); held == 0 {
			var written *appsv1alpha1.MiniStatefulSet
			statusWritten = true
			if written, statusErr = ctl.status.UpdateStatus(ctx, set, &st); statusErr == nil {
				ctl.fold.wrote(set, now)
				ctl.written.wrote(&set.Status, written)
			}
		}
	}
	end := ctl.clock.Now()
	lookedOnly := len(run.actions) == 0 && !statusWritten && execErr == nil && rp.bump == nil && rp.create == nil
	ctl.pacing.passed(cache.MetaObjectToName(set), p.parallel, lookedOnly, end.Sub(now), end)

	if execErr == nil && statusErr == nil {
		ctl.pruneHistory(ctx, set, revisions, pods, st.CurrentRevision, st.UpdateRevision)
	}
	if err := errors.Join(execErr, statusErr); err != nil {
		return 0, err
	}
	if p.backoff {
		return 0, fmt.Errorf("%w: %s", errWaiting, p.wait.message)
	}
	p.requeueIn(held)
	return p.requeueAfter, nil
}

// do carries out one action through the seams.
func (ctl *setControl) do(ctx context.Context, set *appsv1alpha1.MiniStatefulSet, a action) error {
	defer ctl.progress.mark()
	err := ctl.write(ctx, set, a)
	if err == nil && a.done != nil {
		ctl.recorder.Event(set, a.done.eventType, a.done.reason, a.done.message)
	}
	return err
}

// write is the API write of one action.
func (ctl *setControl) write(ctx context.Context, set *appsv1alpha1.MiniStatefulSet, a action) error {
	switch a.kind {
	case createPod:
		// Noted before the create, since the informer may deliver the pod before
		// the create returns; forgotten if the create fails.
		ctl.created.created(a.pod.Namespace, a.pod.Name, ctl.clock.Now())
		err := ctl.pods.CreatePod(ctx, set, a.pod, a.claims)
		if err != nil {
			ctl.created.seen(a.pod.Namespace, a.pod.Name)
		}
		return err
	case deletePod:
		err := ctl.pods.DeletePod(ctx, set, a.pod)
		if err == nil {
			ctl.created.deletedPod(a.pod.UID, ctl.clock.Now())
		}
		return err
	case updatePod:
		return ctl.pods.UpdatePod(ctx, set, a.pod)
	case createClaims:
		return ctl.pods.CreateClaims(ctx, set, a.pod, a.claims)
	case updateClaim:
		return ctl.pods.UpdateClaim(ctx, set, a.pod, a.claims[0])
	case growClaim:
		claim := a.claims[0]
		err := ctl.pods.GrowClaim(ctx, set, a.pod, claim)
		if apierrors.IsForbidden(err) {
			// The resize admission's answer: the claim's StorageClass does not allow
			// expansion. The claim is left as it is, and asked again later. The error
			// brings the next pass at once (backoff from 5 ms): it skips this claim,
			// records the Warning and counts the claim as one that cannot grow.
			want := claim.Spec.Resources.Requests[corev1.ResourceStorage]
			ctl.refusals.refuse(claim.UID, want.String(), "the API server refused: "+err.Error(), ctl.clock.Now())
		}
		return err
	}
	return fmt.Errorf("unknown action %d", a.kind)
}

// rejectSpec reports a spec the controller cannot act on: a Warning event the first
// time, the InvalidSpec condition, and an error so the key is retried with backoff.
// Nothing is created or deleted.
func (ctl *setControl) rejectSpec(ctx context.Context, set *appsv1alpha1.MiniStatefulSet, message string, now time.Time) error {
	if c := findCondition(&set.Status, appsv1alpha1.ConditionInvalidSpec); c == nil || c.Message != message || c.Status != corev1.ConditionTrue {
		ctl.recorder.Event(set, corev1.EventTypeWarning, ReasonInvalidSpec, message)
	}
	st := set.Status.DeepCopy()
	st.ObservedGeneration = set.Generation
	setCondition(st, appsv1alpha1.ConditionInvalidSpec, corev1.ConditionTrue, ReasonInvalidSpec, message, now)
	setCondition(st, appsv1alpha1.ConditionWaiting, corev1.ConditionTrue, WaitInvalidSpec, "waiting for a valid spec: "+message, now)
	ctl.waits.set(cache.MetaObjectToName(set), WaitInvalidSpec)
	if err := ctl.writeStatus(ctx, set, st); err != nil {
		return err
	}
	return fmt.Errorf("%w: %s", errInvalidSpec, message)
}

// applyRevisions creates or re-numbers the update revision. A name taken by a
// different template is a hash collision: collisionCount goes up and the pass retries.
func (ctl *setControl) applyRevisions(ctx context.Context, set *appsv1alpha1.MiniStatefulSet, rp *revisionPlan) error {
	if rp.bump != nil {
		updated, err := ctl.revisions.UpdateRevision(ctx, rp.bump)
		if err != nil {
			return fmt.Errorf("re-numbering revision %s: %w", rp.bump.Name, err)
		}
		if rp.current.Name == updated.Name {
			rp.current = updated
		}
		rp.update = updated
	}
	if rp.create == nil {
		return nil
	}
	created, err := ctl.revisions.CreateRevision(ctx, rp.create)
	if apierrors.IsAlreadyExists(err) {
		existing, getErr := ctl.revisions.GetRevision(ctx, rp.create.Namespace, rp.create.Name)
		if getErr != nil {
			return getErr
		}
		if owner := controllerOf(existing); owner != nil && owner.UID == set.UID && sameTemplate(existing, rp.create) {
			created, err = existing, nil
		} else {
			st := set.Status.DeepCopy()
			count := int32(1)
			if st.CollisionCount != nil {
				count = *st.CollisionCount + 1
			}
			st.CollisionCount = &count
			if err := ctl.writeStatus(ctx, set, st); err != nil {
				return err
			}
			taker := "another template"
			if sameTemplate(existing, rp.create) {
				taker = "a revision of another owner (an earlier set of this name, say, not yet garbage collected)"
			}
			return fmt.Errorf("revision name %s is taken by %s: collisionCount is now %d", rp.create.Name, taker, count)
		}
	}
	if err != nil {
		return fmt.Errorf("creating revision %s: %w", rp.create.Name, err)
	}
	if rp.current.Name == created.Name {
		rp.current = created
	}
	rp.update = created
	return nil
}

// writeStatus writes the status when it differs from what the set has.
func (ctl *setControl) writeStatus(ctx context.Context, set *appsv1alpha1.MiniStatefulSet, st *appsv1alpha1.MiniStatefulSetStatus) error {
	if apiequality.Semantic.DeepEqual(&set.Status, st) {
		return nil
	}
	written, err := ctl.status.UpdateStatus(ctx, set, st)
	if err == nil {
		ctl.written.wrote(&set.Status, written)
	}
	return err
}

// pruneHistory deletes the oldest revisions past revisionHistoryLimit. A failure
// is logged, not retried: the next pass tries again.
func (ctl *setControl) pruneHistory(ctx context.Context, set *appsv1alpha1.MiniStatefulSet, revisions []*appsv1.ControllerRevision, pods []*corev1.Pod, keep ...string) {
	for _, r := range prunableRevisions(set, revisions, pods, keep...) {
		if err := ctl.revisions.DeleteRevision(ctx, r); err != nil && !apierrors.IsNotFound(err) {
			klog.FromContext(ctx).Error(err, "Pruning revision", "revision", klog.KObj(r))
		}
	}
}

// execute carries out a plan: in order, stopping at the first error; for Parallel
// phase by phase, each through slowStart so that a failing API stops a burst early.
func execute(ctx context.Context, p plan, do func(context.Context, action) error) error {
	if !p.parallel {
		for _, a := range p.actions {
			if err := do(ctx, a); err != nil {
				return err
			}
		}
		return nil
	}
	start := 0
	for i := 1; i <= len(p.actions); i++ {
		if i == len(p.actions) || p.actions[i].barrier {
			if err := slowStart(ctx, p.actions[start:i], do); err != nil {
				return err
			}
			start = i
		}
	}
	return nil
}

// maxInFlight bounds the writes of a burst in flight: the API server takes 100
// streams per HTTP/2 connection by default (--http2-max-streams-per-connection), the
// watches hold some, and a request that finds the connection full makes client-go
// dial another, one TLS handshake per waiting request (half a second of CPU in a
// Parallel scale to 1,000 with bursts up to 256; see docs/bench).
const maxInFlight = 64

// slowStart makes the writes with a window of writes in flight that starts at one
// and grows by one with each write that succeeds, up to maxInFlight: it doubles
// with each round trip, as apps/v1's batches of 1, 2, 4, ... do, so a failing API
// costs a write or two, not a burst. Unlike batches it has no barrier between rounds:
// a write that returns frees its slot for the next at once, so one slow write holds
// back only itself, not the 63 writes after it. The first failure stops new writes;
// those in flight finish, and every failure is returned.
func slowStart(ctx context.Context, actions []action, do func(context.Context, action) error) error {
	results := make(chan error, maxInFlight)
	window, inFlight, next := 1, 0, 0
	var failed []error
	for inFlight > 0 || (len(failed) == 0 && next < len(actions)) {
		for len(failed) == 0 && next < len(actions) && inFlight < window {
			a := actions[next]
			next++
			inFlight++
			go func() { results <- recovered(func() error { return do(ctx, a) }) }()
		}
		err := <-results
		inFlight--
		switch {
		case err != nil:
			failed = append(failed, err)
		case window < maxInFlight:
			window++
		}
	}
	if len(failed) > 0 {
		return &batchError{failed: failed, of: next}
	}
	return nil
}

// batchError is the failures of one Parallel burst, of the writes it made. It unwraps
// to each of them, so a name taken in a burst is seen as such.
type batchError struct {
	failed []error
	of     int
}

func (e *batchError) Error() string {
	msgs := make([]string, len(e.failed))
	for i, err := range e.failed {
		msgs[i] = err.Error()
	}
	return fmt.Sprintf("%d of %d writes failed: %s", len(e.failed), e.of, strings.Join(msgs, "; "))
}

func (e *batchError) Unwrap() []error { return e.failed }

// recovered runs fn and turns a panic into an error: a bug met by one set's pass
// fails that pass, which is retried with backoff, and never the process that serves
// every other set.
func recovered(fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v\n%s", r, debug.Stack())
		}
	}()
	return fn()
}
