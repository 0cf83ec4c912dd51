package ministatefulset

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPacingHoldsOnlyTheLookingPassesOfBigParallelSets: after a Parallel pass that
// wrote nothing and took a millisecond, the next waits nine; a longer pass waits at
// most paceMax; OrderedReady, writing and quick passes hold nothing back, and a
// writing pass lifts an earlier hold.
func TestPacingHoldsOnlyTheLookingPassesOfBigParallelSets(t *testing.T) {
	p := newPassPacing()
	key := objectKey("web")
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

	p.passed(key, true, true, time.Millisecond, t0)
	assert.Equal(t, 9*time.Millisecond, p.hold(key, t0))
	assert.Equal(t, 4*time.Millisecond, p.hold(key, t0.Add(5*time.Millisecond)))
	assert.Zero(t, p.hold(key, t0.Add(9*time.Millisecond)), "the wait is over")
	assert.Zero(t, p.hold(key, t0), "and forgotten once over")

	p.passed(key, true, true, time.Second, t0)
	assert.Equal(t, paceMax, p.hold(key, t0), "capped")

	p.passed(key, true, false, time.Millisecond, t0)
	assert.Zero(t, p.hold(key, t0), "a pass that wrote lifts the hold: its writes bring events to react to")

	p.passed(key, false, true, time.Millisecond, t0)
	assert.Zero(t, p.hold(key, t0), "OrderedReady reacts at once")

	p.passed(key, true, true, paceFrom/2, t0)
	assert.Zero(t, p.hold(key, t0), "a small set's pass costs too little to hold")

	p.passed(key, true, true, time.Millisecond, t0)
	p.forget(key)
	assert.Zero(t, p.hold(key, t0), "a deleted set is forgotten")
	assert.Empty(t, p.notUntil)

	var none *passPacing
	none.passed(key, true, true, time.Second, t0)
	assert.Zero(t, none.hold(key, t0), "no pacing: nothing held")
}

// TestHeldPassComesBack: a held set is not synced at once, and not lost: the queue
// brings it back when the hold ends, and that pass does the work.
func TestHeldPassComesBack(t *testing.T) {
	f := newFixture(t, newSet("web").Replicas(3).Parallel().Obj())
	key := objectKey("web")
	f.refresh()
	f.c.control.pacing.passed(key, true, true, time.Millisecond, f.clock.Now())

	f.c.queue.Add(key)
	require.True(t, f.c.processNext(f.ctx))
	assert.Empty(t, f.podNames(), "held: no pass yet")
	assert.Zero(t, f.c.queue.Len(), "waiting in the queue's timer, not ready")

	f.clock.Step(10 * time.Millisecond)
	require.Eventually(t, func() bool { return f.c.queue.Len() == 1 }, 5*time.Second, time.Millisecond,
		"the queue brings the held set back")
	require.True(t, f.c.processNext(f.ctx))
	assert.Equal(t, []string{"web-0", "web-1", "web-2"}, f.podNames())
}
