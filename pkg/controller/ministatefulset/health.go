package ministatefulset

import (
	"errors"
	"fmt"
	"sync/atomic"
	"time"
)

// progress is the workers' last sign of life: a pass taken from the queue, a write
// made, a pass finished.
type progress struct {
	started atomic.Bool
	last    atomic.Int64 // Unix nanoseconds
}

// start marks the workers as running: from now on a queue that waits with no
// progress counts as stuck.
func (p *progress) start() {
	if p == nil {
		return
	}
	p.mark()
	p.started.Store(true)
}

func (p *progress) mark() {
	if p != nil {
		p.last.Store(time.Now().UnixNano())
	}
}

// since is how long ago the workers last showed progress, and whether they run.
func (p *progress) since(now time.Time) (time.Duration, bool) {
	if p == nil || !p.started.Load() {
		return 0, false
	}
	return now.Sub(time.Unix(0, p.last.Load())), true
}

// Stuck returns an error when sets wait in the queue and no worker has taken a pass,
// made a write or finished a pass for longer than bound: the liveness probe's
// condition. Before the workers start (caches syncing) it is never stuck; an idle
// controller with an empty queue is not stuck either.
func (c *Controller) Stuck(now time.Time, bound time.Duration) error {
	idle, running := c.progress.since(now)
	if !running {
		return nil
	}
	if waiting := c.queue.Len(); waiting > 0 && idle > bound {
		return fmt.Errorf("no pass made progress for %v while %d sets wait in the queue", idle.Round(time.Second), waiting)
	}
	return nil
}

// errNotSynced is the readiness probe's answer before the caches synced.
var errNotSynced = errors.New("informer caches not synced yet")

// Ready returns nil once every informer the controller reads has synced and its
// handlers have seen the initial lists: the readiness probe's condition.
func (c *Controller) Ready() error {
	for _, synced := range c.synced {
		if !synced() {
			return errNotSynced
		}
	}
	return nil
}
