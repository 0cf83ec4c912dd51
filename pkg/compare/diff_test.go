package compare

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/ministatefulset/ministatefulset/pkg/trace"
)

// evs builds events from "step pod" strings, 10 ms apart.
func evs(keys ...string) []Event {
	out := []Event{}
	for i, k := range keys {
		step, pod, _ := strings.Cut(k, " ")
		out = append(out, Event{AfterMS: int64(10 * (i + 1)), Step: trace.Step(step), Pod: pod})
	}
	return out
}

func observed(events []Event, claims []Claim, revisions map[string]string) Observed {
	if claims == nil {
		claims = []Claim{}
	}
	if revisions == nil {
		revisions = map[string]string{}
	}
	return Observed{Events: events, Claims: claims, Revisions: revisions}
}

var scaleUp = []string{"created web-3", "ready web-3", "created web-4", "ready web-4"}

func TestSameSequencesAreSameInEitherOrder(t *testing.T) {
	for _, order := range []Order{InSequence, AsSet} {
		a := observed(evs(scaleUp...), []Claim{{Name: "data-web-3"}}, map[string]string{"web-3": "web-r1"})
		b := observed(evs(scaleUp...), []Claim{{Name: "data-web-3"}}, map[string]string{"web-3": "web-r1"})
		// The times differ between the two sides; only the steps count.
		b.Events[0].AfterMS = 999
		assert.Empty(t, differences(order, a, b), order)
	}
}

func TestOrderedReadySequencesThatDifferInOrderAreDifferent(t *testing.T) {
	a := observed(evs(scaleUp...), nil, nil)
	b := observed(evs("created web-3", "created web-4", "ready web-3", "ready web-4"), nil, nil)
	d := differences(InSequence, a, b)
	assert.Equal(t, []string{`pod step 2: the StatefulSet showed "ready web-3", the MiniStatefulSet "created web-4"`}, d)
	// Under Parallel the same two traces hold the same steps.
	assert.Empty(t, differences(AsSet, a, b))
}

func TestASequenceThatStopsEarlyIsDifferent(t *testing.T) {
	a := observed(evs(scaleUp...), nil, nil)
	b := observed(evs(scaleUp[:2]...), nil, nil)
	assert.Equal(t, []string{`pod step 3: the StatefulSet showed "created web-4", the MiniStatefulSet had no more (it showed 2)`},
		differences(InSequence, a, b))
	assert.Equal(t, []string{`pod step 3: the MiniStatefulSet showed "created web-4", the StatefulSet had no more (it showed 2)`},
		differences(InSequence, b, a))
}

func TestParallelSetsCountRepeats(t *testing.T) {
	// A pod replaced twice on one side and once on the other is a difference even
	// though both sides show the same kinds of step.
	a := observed(evs("terminating web-0", "gone web-0", "created web-0", "terminating web-0", "gone web-0", "created web-0"), nil, nil)
	b := observed(evs("terminating web-0", "gone web-0", "created web-0"), nil, nil)
	d := differences(AsSet, a, b)
	assert.Equal(t, []string{"the pod steps differ (in any order): only the StatefulSet showed terminating web-0, gone web-0, created web-0; " +
		"only the MiniStatefulSet showed nothing else"}, d)
}

func TestClaimsAreCompared(t *testing.T) {
	a := observed(nil, []Claim{{Name: "data-web-0"}}, nil)
	b := observed(nil, []Claim{{Name: "data-web-0"}, {Name: "data-web-1", Deleting: true}}, nil)
	assert.Equal(t, []string{"the claims at the end differ: StatefulSet data-web-0, MiniStatefulSet data-web-0, data-web-1 (deleting)"},
		differences(InSequence, a, b))
}

func TestRevisionNamesAndPodsLeftAreCompared(t *testing.T) {
	a := observed(nil, nil, map[string]string{"web-0": "web-r1", "web-2": "web-r1", "web-10": "web-r1"})
	b := observed(nil, nil, map[string]string{"web-0": "web-r2", "web-3": "web-r1", "web-10": "web-r1"})
	assert.Equal(t, []string{
		"the revision of web-0 differs: StatefulSet web-r1, MiniStatefulSet web-r2",
		"pod web-2 is left only under the StatefulSet",
		"pod web-3 is left only under the MiniStatefulSet",
	}, differences(InSequence, a, b))
}

func TestMarksPointAtTheLinesThatDiffer(t *testing.T) {
	a := evs("created web-0", "ready web-0", "created web-1")
	b := evs("created web-0", "created web-1", "ready web-0", "ready web-1")
	ma, mb := marks(InSequence, a, b)
	assert.Equal(t, []bool{false, true, true}, ma)
	assert.Equal(t, []bool{false, true, true, true}, mb)
	ma, mb = marks(AsSet, a, b)
	assert.Equal(t, []bool{false, false, false}, ma)
	assert.Equal(t, []bool{false, false, false, true}, mb, "only ready web-1 has no counterpart")
}
