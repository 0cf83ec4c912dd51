package ministatefulset

import (
	"sync"
	"time"

	"k8s.io/client-go/tools/cache"
)

// passPacing spaces out the passes of a big Parallel set that only look. Such a set
// sees an event storm when it scales: every one of a thousand pods is created, bound
// and made Ready, three events each, and each event brings a pass over every pod
// that, once the creates are made, writes nothing (the status is folded). Run back to
// back, those passes take a core from the API server they wait on. After a pass that
// wrote nothing and took longer than paceFrom, the set's next pass waits until
// paceFactor times that pass's duration has gone by, at most paceMax: the set then
// uses at most about a tenth of a core, and its next pass still comes (the queue
// brings the set back when the wait ends), having folded every event meanwhile into
// one look. Small sets, and OrderedReady sets (whose pass reacts to one pod at a time
// and must do so at once), are never held.
type passPacing struct {
	mu       sync.Mutex
	notUntil map[cache.ObjectName]time.Time
}

const (
	paceFrom   = 200 * time.Microsecond
	paceFactor = 9
	paceMax    = 50 * time.Millisecond
)

func newPassPacing() *passPacing {
	return &passPacing{notUntil: map[cache.ObjectName]time.Time{}}
}

// passed records a pass of the set that ended at end after took; lookedOnly says it
// wrote nothing, parallel that the set is Parallel.
func (p *passPacing) passed(key cache.ObjectName, parallel, lookedOnly bool, took time.Duration, end time.Time) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !parallel || !lookedOnly || took < paceFrom {
		delete(p.notUntil, key)
		return
	}
	p.notUntil[key] = end.Add(min(paceFactor*took, paceMax))
}

// hold is how long the set's next pass should wait from now; 0 means now.
func (p *passPacing) hold(key cache.ObjectName, now time.Time) time.Duration {
	if p == nil {
		return 0
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	until, ok := p.notUntil[key]
	if !ok {
		return 0
	}
	if wait := until.Sub(now); wait > 0 && wait <= paceMax {
		return wait
	}
	delete(p.notUntil, key)
	return 0
}

// forget drops a deleted set.
func (p *passPacing) forget(key cache.ObjectName) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.notUntil, key)
}
