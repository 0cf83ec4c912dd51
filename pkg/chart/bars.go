package chart

import (
	"fmt"
	"sort"
	"time"

	"github.com/ministatefulset/ministatefulset/pkg/trace"
	"github.com/ministatefulset/ministatefulset/pkg/workload"
)

// chart is the records laid out: lanes by ordinal and the time scale.
type chart struct {
	set        string
	records    []trace.Record
	lanes      []*lane
	laneOf     map[int]int // ordinal -> lane index
	start, end time.Time
}

type lane struct {
	ordinal int
	name    string
	bars    []bar
	events  []trace.Record
}

// bar is one stretch of one pod's life in one state.
type bar struct {
	state     string
	from, to  time.Time
	fromExact bool
}

func layout(records []trace.Record, opts Options) *chart {
	c := &chart{set: opts.Set.Name, records: records, laneOf: map[int]int{}}
	for i, r := range records {
		if i == 0 || r.At.Before(c.start) {
			c.start = r.At
		}
		if r.At.After(c.end) {
			c.end = r.At
		}
	}
	if opts.End.After(c.end) {
		c.end = opts.End
	}
	var ordinals []int
	seen := map[int]bool{}
	for _, r := range records {
		if o, ok := workload.OrdinalOf(c.set, r.Pod); ok && !seen[o] {
			seen[o] = true
			ordinals = append(ordinals, o)
		}
	}
	sort.Ints(ordinals)
	for i, o := range ordinals {
		c.laneOf[o] = i
		c.lanes = append(c.lanes, &lane{ordinal: o, name: fmt.Sprintf("%s-%d", c.set, o)})
	}
	c.buildBars()
	return c
}

// instance is one pod (one UID) as its records go by.
type instance struct {
	lane  *lane
	state string
	since time.Time
	exact bool
}

// buildBars walks the records, closing a pod's bar whenever its state changes.
func (c *chart) buildBars() {
	live := map[string]*instance{} // by UID, or by name for records that carry none
	var order []*instance
	for _, r := range c.records {
		o, ok := workload.OrdinalOf(c.set, r.Pod)
		if !ok {
			continue
		}
		l := c.lanes[c.laneOf[o]]
		if r.Step == trace.Event {
			l.events = append(l.events, r)
			continue
		}
		key := string(r.UID)
		if key == "" {
			key = "name/" + r.Pod
		}
		in := live[key]
		if in == nil || r.Step == trace.Created && in.state == "" {
			in = &instance{lane: l}
			live[key] = in
			order = append(order, in)
		}
		next, changes := stateAfter(r.Step, in.state)
		if !changes {
			continue
		}
		if in.state != "" {
			l.bars = append(l.bars, bar{state: in.state, from: in.since, to: r.At, fromExact: in.exact})
		}
		in.state, in.since, in.exact = next, r.At, r.Exact
	}
	for _, in := range order {
		if in.state != "" {
			in.lane.bars = append(in.lane.bars, bar{state: in.state, from: in.since, to: c.end, fromExact: in.exact})
		}
	}
}

// stateAfter is a pod's state after a step ("" once it is gone), and whether the
// step changes it.
func stateAfter(step trace.Step, cur string) (string, bool) {
	next := cur
	switch step {
	case trace.Created, trace.Scheduled:
		if cur == "" {
			next = "pending"
		}
	case trace.Ready:
		next = "ready"
	case trace.Unready:
		next = "unready"
	case trace.Failed:
		next = "failed"
	case trace.Succeeded:
		next = "succeeded"
	case trace.Terminating:
		next = "terminating"
	case trace.Gone:
		next = ""
	}
	return next, next != cur || step == trace.Gone && cur != ""
}
