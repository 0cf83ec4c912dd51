package plugin

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/ministatefulset/ministatefulset/pkg/trace"
	"github.com/ministatefulset/ministatefulset/pkg/workload"
)

// storyFlags are how timeline and chart read a set's story: what the API still
// tells of its past, and with --watch what happens from now on.
type storyFlags struct {
	watch        bool
	since        time.Duration
	forDuration  time.Duration
	untilSettled bool
	timeout      time.Duration
}

func (f *storyFlags) add(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.BoolVarP(&f.watch, "watch", "w", false, "After the history, follow the set live (to the millisecond) until Ctrl-C, --for or --until-settled")
	fl.DurationVar(&f.since, "since", 0, "Only steps newer than this (e.g. 5m); 0 keeps the whole story")
	fl.DurationVar(&f.forDuration, "for", 0, "Follow live for this long, then stop (implies --watch)")
	fl.BoolVar(&f.untilSettled, "until-settled", false, "Follow live until every replica is Ready and updated and no pod is terminating (implies --watch)")
	fl.DurationVar(&f.timeout, "timeout", 5*time.Minute, "With --until-settled: fail if the set has not settled by then")
}

// tell reads the set's story and hands show each record it keeps, as it comes: the
// history first, then, when following, each live record. It returns the set and
// every record shown; an error from a set that did not settle in time comes with
// the records shown until then.
func (f *storyFlags) tell(ctx context.Context, o *Options, arg string, show func(set *workload.Set, shown []trace.Record)) (*workload.Set, []trace.Record, error) {
	if f.since < 0 || f.forDuration < 0 || f.timeout < 0 {
		return nil, nil, fmt.Errorf("--since, --for and --timeout take a positive duration such as 30s or 5m")
	}
	clients, ref, err := o.target(arg)
	if err != nil {
		return nil, nil, err
	}
	set, err := clients.Get(ctx, ref)
	if err != nil {
		return nil, nil, err
	}
	var shown []trace.Record
	cutoff := time.Time{}
	if f.since > 0 {
		cutoff = o.Now().Add(-f.since)
	}
	keep := func(recs []trace.Record) {
		for _, r := range recs {
			if r.At.Before(cutoff) {
				continue
			}
			shown = append(shown, r)
			show(set, shown)
		}
	}
	if !f.watch && f.forDuration == 0 && !f.untilSettled {
		history, err := trace.History(ctx, clients, set)
		if err != nil {
			return nil, nil, err
		}
		keep(history)
		return set, shown, nil
	}
	err = f.follow(ctx, o, clients, set, keep)
	return set, shown, err
}

// follow prints the history as the watches' first lists show it, then each live
// record, until ctx ends, --for passes, or the set settles.
func (f *storyFlags) follow(ctx context.Context, o *Options, clients workload.Clients, set *workload.Set, keep func([]trace.Record)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var mu sync.Mutex
	latest := set
	changed := make(chan struct{}, 1)
	history, rec, err := trace.Follow(ctx, clients, set, trace.FollowOptions{Now: o.Now, OnSet: func(s *workload.Set) {
		mu.Lock()
		latest = s
		mu.Unlock()
		select {
		case changed <- struct{}{}:
		default:
		}
	}})
	if err != nil {
		return err
	}
	keep(history)
	fmt.Fprintf(o.ErrOut, "following %s live (Ctrl-C to stop)\n", set.Ref())
	var stop, deadline <-chan time.Time
	if f.forDuration > 0 {
		stop = time.After(f.forDuration)
	}
	if f.untilSettled && f.timeout > 0 {
		deadline = time.After(f.timeout)
	}
	seen := 0
	drain := func() {
		recs := rec.Records("")
		keep(recs[seen:])
		seen = len(recs)
	}
	settled := func() bool {
		mu.Lock()
		defer mu.Unlock()
		return f.untilSettled && hasSettled(latest, rec)
	}
	for !settled() {
		select {
		case <-ctx.Done():
			drain()
			return nil
		case <-stop:
			drain()
			return nil
		case <-deadline:
			drain()
			mu.Lock()
			defer mu.Unlock()
			return fmt.Errorf("%s did not settle within %v: %s (raise --timeout, or see what it waits for with kubectl msts status %s)",
				set.Ref(), f.timeout, settleProgress(latest, rec), set.Ref())
		case <-rec.Updated():
			drain()
		case <-changed:
		}
	}
	// The controller's events come after the state they report: wait, a little,
	// for the SuccessfulCreate of every pod created while following.
	linger := time.After(eventsLinger)
	for !createsReported(rec.Records("")) {
		select {
		case <-ctx.Done():
		case <-linger:
		case <-rec.Updated():
			drain()
			continue
		}
		break
	}
	drain()
	return nil
}

// eventsLinger bounds the wait, once settled, for the events of the last creates.
const eventsLinger = 2 * time.Second

// createsReported says whether each pod seen created in recs has its SuccessfulCreate
// event among them.
func createsReported(recs []trace.Record) bool {
	created, reported := map[string]bool{}, map[string]bool{}
	for _, r := range recs {
		switch {
		case r.Step == trace.Created && r.Exact:
			created[r.Pod] = true
		case r.Step == trace.Event && strings.HasPrefix(r.Detail, "SuccessfulCreate"):
			reported[r.Pod] = true
		}
	}
	for pod := range created {
		if !reported[pod] {
			return false
		}
	}
	return true
}

// hasSettled reports a set whose status shows every replica Ready and updated (down
// to the partition) for its current spec, whose pods the watch has seen Ready, and
// none of whose pods is terminating.
func hasSettled(set *workload.Set, rec *trace.Recorder) bool {
	n := int32(set.Replicas())
	st := set.Status
	ready, terminating := rec.Live()
	return set.DeletionTimestamp == nil && st.ObservedGeneration >= set.Generation &&
		st.Replicas == n && st.ReadyReplicas == n && st.UpdatedReplicas >= wantUpdated(set) &&
		ready == int(n) && terminating == 0
}

// wantUpdated is how many replicas an update reaches: those at or above the
// partition, none under OnDelete.
func wantUpdated(set *workload.Set) int32 {
	if set.OnDelete() {
		return 0
	}
	return int32(max(set.Replicas()-set.Partition(), 0))
}

// settleProgress says how far from settled a set is.
func settleProgress(set *workload.Set, rec *trace.Recorder) string {
	_, terminating := rec.Live()
	st := set.Status
	return fmt.Sprintf("%d/%d Ready, %d/%d updated, %d terminating", st.ReadyReplicas, set.Replicas(), st.UpdatedReplicas, wantUpdated(set), terminating)
}
