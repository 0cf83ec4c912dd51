package compare

import (
	"context"
	"fmt"
	"time"

	"github.com/ministatefulset/ministatefulset/pkg/trace"
)

// traceSyncWait bounds how long the pod trace may take to catch up with a list.
const traceSyncWait = 30 * time.Second

// compared are the pod steps the comparison reads: the ones ordering guarantees
// speak of (scheduling is the scheduler's, restarts the kubelet's).
var compared = map[trace.Step]bool{
	trace.Created: true, trace.Ready: true, trace.Unready: true, trace.Failed: true,
	trace.Terminating: true, trace.Gone: true,
}

// runStep carries one step out on this side: the action, the wait for its
// condition, then what the pod trace saw from the action on and the claims and
// revisions at the end.
func (s *Side) runStep(ctx context.Context, st Step, timeout, poll time.Duration) Observed {
	obs := Observed{Kind: s.Kind, Namespace: s.Namespace, Events: []Event{}, Claims: []Claim{}, Revisions: map[string]string{}}
	mark := len(s.trace.Records(""))
	before, err := s.snapshot(ctx)
	if err != nil {
		obs.Error = err.Error()
		return obs
	}
	start := time.Now()
	if err := st.Action.Do(ctx, s); err != nil {
		obs.Error = fmt.Sprintf("%s: %v", st.Action.What, err)
		return obs
	}
	now, err := s.await(ctx, st.Until, before, timeout, poll)
	if err == nil {
		now, err = s.syncTrace(ctx, poll)
	}
	if err != nil {
		obs.Error = err.Error()
	}
	obs.Events = events(s.trace.Records("")[mark:], start)
	obs.Claims, obs.Revisions = now.claims(), now.revisions()
	return obs
}

// await polls the side until the condition holds (for its window, if it has one).
func (s *Side) await(ctx context.Context, c Condition, before Snapshot, timeout, poll time.Duration) (Snapshot, error) {
	deadline := time.Now().Add(timeout)
	var last Snapshot
	var heldSince time.Time
	for {
		snap, err := s.snapshot(ctx)
		if err != nil {
			return last, err
		}
		last = snap
		met, err := c.Met(Observation{Now: snap, Before: before})
		switch {
		case err != nil:
			return snap, fmt.Errorf("%v (waiting until %s); now %s", err, c.What, snap)
		case met && c.Window == 0:
			return snap, nil
		case met && heldSince.IsZero():
			heldSince = time.Now()
		case met && time.Since(heldSince) >= c.Window:
			return snap, nil
		case !met && !heldSince.IsZero():
			return snap, fmt.Errorf("%s held, then stopped holding %v later, within the %v it must hold; now %s",
				c.What, time.Since(heldSince).Round(time.Millisecond), c.Window, snap)
		}
		if time.Now().After(deadline) {
			return snap, fmt.Errorf("timed out after %v waiting until %s; now %s", timeout, c.What, snap)
		}
		select {
		case <-ctx.Done():
			return snap, ctx.Err()
		case <-time.After(poll):
		}
	}
}

// syncTrace waits until the pod trace has seen what a list of the pods shows, so
// the step's records miss nothing that led to the state the condition saw.
func (s *Side) syncTrace(ctx context.Context, poll time.Duration) (Snapshot, error) {
	deadline := time.Now().Add(traceSyncWait)
	for {
		snap, err := s.snapshot(ctx)
		if err != nil {
			return snap, err
		}
		ok, why := s.trace.Agrees(snap.Pods)
		if ok {
			return snap, nil
		}
		if time.Now().After(deadline) {
			return snap, fmt.Errorf("the pod trace did not catch up with the API server within %v: %s", traceSyncWait, why)
		}
		select {
		case <-ctx.Done():
			return snap, ctx.Err()
		case <-time.After(poll):
		}
	}
}

// events are the pod steps among records, timed from start.
func events(records []trace.Record, start time.Time) []Event {
	out := []Event{}
	for _, r := range records {
		if r.Pod != "" && compared[r.Step] {
			out = append(out, Event{AfterMS: r.At.Sub(start).Milliseconds(), Step: r.Step, Pod: r.Pod})
		}
	}
	return out
}
