package ministatefulset

import (
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"
)

// createdTTL bounds how long a created pod the cache has not shown yet keeps its
// name from being created again: longer than any informer is behind, short enough
// that a create whose pod never came (it was deleted before the watch saw it) is
// soon made again.
const createdTTL = 10 * time.Second

// deletedTTL bounds how long a deleted pod the cache still shows as it was keeps
// it from being deleted again. Longer than createdTTL: an accepted delete (made on
// the pod's UID) always ends in a watch event, terminating or gone, that clears
// the note, so the bound only matters should the event be lost; with a short one,
// a cache more than 10 s behind (a loaded machine) could get a pod that is already
// terminating deleted again (the likeliest cause found for one such double delete
// in e2e, not reproduced).
const deletedTTL = time.Minute

// createdPods remembers the pods the controller created until its cache shows them.
// A pass that runs in between (another pod's event woke the set) would see them
// missing and create them again: an AlreadyExists, a read of the pod, an error
// status and a backoff, for nothing. Such a pass leaves those names alone instead;
// the pod's own event wakes the set once the cache has it.
//
// It remembers the pods it deleted the same way, by UID, until the cache shows them
// gone or terminating: a pod deleted with no grace period is gone at once, and a
// pass before its watch event would delete it again (a third of the deletes of a
// Parallel scale-down from 1,000 were such 404s).
type createdPods struct {
	mu      sync.Mutex
	at      map[cache.ObjectName]time.Time
	deleted map[types.UID]time.Time
}

func newCreatedPods() *createdPods {
	return &createdPods{at: map[cache.ObjectName]time.Time{}, deleted: map[types.UID]time.Time{}}
}

// deletedPod notes a pod whose delete the API server accepted (or found done).
func (c *createdPods) deletedPod(uid types.UID, now time.Time) {
	if c == nil || uid == "" {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.deleted[uid] = now
}

// gone forgets a deleted pod the cache shows gone or terminating.
func (c *createdPods) gone(uid types.UID) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.deleted, uid)
}

func (c *createdPods) created(namespace, name string, now time.Time) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.at[cache.ObjectName{Namespace: namespace, Name: name}] = now
}

// seen forgets a pod the cache now holds (or has seen go), or whose create failed.
func (c *createdPods) seen(namespace, name string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.at, cache.ObjectName{Namespace: namespace, Name: name})
}

// unseen drops from a plan the creates of pods created less than createdTTL ago
// that the cache has not shown yet, and the deletes of pods deleted less than
// deletedTTL ago that the cache still shows, keeping each phase's barrier, and
// reports whether it dropped any.
func (c *createdPods) unseen(actions []action, now time.Time) ([]action, bool) {
	if c == nil {
		return actions, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.at) == 0 && len(c.deleted) == 0 {
		return actions, false
	}
	var kept []action
	barrier, dropped := false, false
	for _, a := range actions {
		pending := false
		switch a.kind {
		case createPod:
			pending = recent(c.at, cache.ObjectName{Namespace: a.pod.Namespace, Name: a.pod.Name}, now, createdTTL)
		case deletePod:
			pending = recent(c.deleted, a.pod.UID, now, deletedTTL)
		}
		if pending {
			barrier, dropped = barrier || a.barrier, true
			continue
		}
		a.barrier = a.barrier || barrier
		barrier = false
		kept = append(kept, a)
	}
	return kept, dropped
}

// recent reports whether key was noted less than ttl before now, and forgets it
// once it is older.
func recent[K comparable](noted map[K]time.Time, key K, now time.Time, ttl time.Duration) bool {
	at, ok := noted[key]
	if !ok {
		return false
	}
	if age := now.Sub(at); age < ttl && age >= 0 {
		return true
	}
	delete(noted, key)
	return false
}
