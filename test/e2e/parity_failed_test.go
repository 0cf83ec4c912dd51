//go:build e2e

package e2e

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	corev1 "k8s.io/api/core/v1"
)

// TestParityFailedPod: a pod whose phase turns Failed (the kwok stage behind the
// msts.test/fail annotation) is deleted and recreated under the same name with a new
// UID, and under OrderedReady a Failed pod 0 holds back a scale-up. To hold it Failed
// for a while, an admission policy refuses its delete at first (the undeletable
// annotation): pod 2 must not appear; once the delete goes through, pod 0 comes back
// and, only when it is Ready, pod 2. Both kinds must do the same, in the same order.
func TestParityFailedPod(t *testing.T) {
	// Runs beside the other tests that leave the suite's controller running.
	t.Parallel()
	requireKwok(t)
	e := newEnv(t, "pfail")
	e.denyPodWrites()
	spec := statefulSpec("app", 2, map[string]string{deleteDelay: "2s"}, false)
	type result struct {
		Order      []string
		Replaced   bool
		Unchanged1 bool
		Final      statusShape
	}
	runParityIn(t, e, func(s *side) result {
		s.create(spec)
		s.waitSettled(2)
		was := s.uids()
		s.markTrace()
		s.patchPod(s.podName(0), `{"metadata":{"annotations":{"`+failPod+`":"true","`+undeletablePod+`":"true"}}}`)
		s.waitSaw(longWait, "pod 0 Failed", func() (bool, string) {
			p, ok := s.pod(s.podName(0))
			return ok && p.Status.Phase == corev1.PodFailed, s.describePods()
		})
		s.set.Scale(3)
		s.holdsFor(3*time.Second, "pod 2 created or pod 0 gone while pod 0 is Failed and cannot be deleted", func() bool {
			p, ok := s.pod(s.podName(0))
			return s.exists(s.podName(2)) || !ok || p.UID != was[0]
		})
		s.removeAnnotations(s.podName(0), undeletablePod)
		final := s.waitSettled(3)
		now := s.uids()
		res := result{Order: s.order(), Replaced: now[0] != was[0], Unchanged1: now[1] == was[1], Final: shape(final)}
		assert.True(s.t, res.Replaced, "pod 0 was not replaced")
		assert.True(s.t, res.Unchanged1, "pod 1 was replaced")
		assert.Equal(s.t, []string{"unready 0", "terminating 0", "gone 0", "created 0", "ready 0", "created 2", "ready 2"}, res.Order,
			"the Failed pod 0 is replaced before pod 2 is created")
		return res
	})
}
