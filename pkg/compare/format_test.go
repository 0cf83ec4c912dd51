package compare

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ministatefulset/ministatefulset/pkg/workload"
)

// stepOf is a step both sides ran, compared as the runner compares it.
func stepOf(name string, order Order, sts, msts Observed) StepResult {
	sts.Kind, sts.Namespace = workload.StatefulSet, "cmp-x-sts-aaaaa"
	msts.Kind, msts.Namespace = workload.MiniStatefulSet, "cmp-x-msts-bbbbb"
	return StepResult{Name: name, Action: "scale to 5 replicas", Until: "settled", Order: order,
		Sides: [2]Observed{sts, msts}, Differences: differences(order, sts, msts)}
}

func TestWriteTextShowsBothColumnsAndMarksDifferences(t *testing.T) {
	sameStep := stepOf("create", InSequence,
		observed(evs("created web-0", "ready web-0"), []Claim{{Name: "data-web-0"}}, map[string]string{"web-0": "web-r1"}),
		observed(evs("created web-0", "ready web-0"), []Claim{{Name: "data-web-0"}}, map[string]string{"web-0": "web-r1"}))
	diffStep := stepOf("scale-to-2", InSequence,
		observed(evs("created web-1", "ready web-1"), nil, map[string]string{"web-0": "web-r1", "web-1": "web-r1"}),
		observed(evs("created web-1"), nil, map[string]string{"web-0": "web-r1", "web-1": "web-r2"}))
	res := &Result{Set: "web", Scenarios: []ScenarioResult{
		{Name: "scale-up", Summary: "scale up by 2", Verdict: Different, Reason: "step 2 scale-to-2: " + diffStep.Differences[0],
			Namespaces: []string{"cmp-x-sts-aaaaa", "cmp-x-msts-bbbbb"}, Steps: []StepResult{sameStep, diffStep}, DurationMS: 12345},
		{Name: "failed-pod", Summary: "fail a pod", Verdict: NotRun, Reason: "needs the kwok stages"},
	}}
	var b strings.Builder
	require.NoError(t, WriteText(&b, res))
	out := b.String()
	t.Log("\n" + out)

	assert.Contains(t, out, "=== scale-up: scale up by 2\n")
	assert.Contains(t, out, "namespaces: cmp-x-sts-aaaaa (StatefulSet), cmp-x-msts-bbbbb (MiniStatefulSet)\n")
	assert.Contains(t, out, "step 1/2 create: scale to 5 replicas\n")
	assert.Regexp(t, `(?m)^    StatefulSet\s+\| MiniStatefulSet$`, out)
	// Equal lines are not marked, whatever their times.
	assert.Regexp(t, `(?m)^    \s+\+10ms  created     web-0\s+\|\s+\+10ms  created     web-0$`, out)
	// The step the MiniStatefulSet lacks and the revision that differs are marked.
	assert.Regexp(t, `(?m)^ ! \s+\+20ms  ready       web-1\s+\| $`, out)
	assert.Regexp(t, `(?m)^ !  pod web-1 at web-r1\s+\| pod web-1 at web-r2$`, out)
	assert.Regexp(t, `(?m)^    pod web-0 at web-r1\s+\| pod web-0 at web-r1$`, out)
	assert.Regexp(t, `(?m)^    claim data-web-0\s+\| claim data-web-0$`, out)
	assert.Contains(t, out, `verdict: DIFFERENT: step 2 scale-to-2: pod step 2: the StatefulSet showed "ready web-1", the MiniStatefulSet had no more (it showed 1)`)
	assert.Contains(t, out, "verdict: not run: needs the kwok stages")
	// The summary table, one row per scenario.
	assert.Regexp(t, `(?m)^SCENARIO\s+TIME\s+VERDICT$`, out)
	assert.Regexp(t, `(?m)^scale-up\s+12.3s\s+DIFFERENT: step 2`, out)
	assert.Regexp(t, `(?m)^failed-pod\s+0s\s+not run: needs the kwok stages$`, out)
}

func TestWriteTextSaysWhichSideFailed(t *testing.T) {
	st := stepOf("hold", InSequence, observed(nil, nil, nil), observed(nil, nil, nil))
	st.Sides[1].Error = "timed out after 2m0s waiting until web-1 un-Ready"
	res := &Result{Scenarios: []ScenarioResult{{Name: "unhealthy-pod", Verdict: Failed, Reason: failure(2, Step{Name: "hold"}, st), Steps: []StepResult{st}}}}
	var b strings.Builder
	require.NoError(t, WriteText(&b, res))
	out := b.String()
	assert.Contains(t, out, "  MiniStatefulSet failed: timed out after 2m0s waiting until web-1 un-Ready\n")
	assert.Contains(t, out, "verdict: FAILED: MiniStatefulSet (namespace cmp-x-msts-bbbbb), step 2 hold: timed out after 2m0s waiting until web-1 un-Ready (the StatefulSet passed this step)")
}

func TestResultPassesOnlyWhenEveryScenarioIsSame(t *testing.T) {
	assert.True(t, (&Result{Scenarios: []ScenarioResult{{Verdict: Same}, {Verdict: Same}}}).Passed())
	for _, v := range []Verdict{Different, Failed, NotRun} {
		assert.False(t, (&Result{Scenarios: []ScenarioResult{{Verdict: Same}, {Verdict: v}}}).Passed(), v)
	}
	assert.False(t, (&Result{}).Passed(), "no scenario run is no pass")
}

func TestWriteTextSaysWhenAStepShowedNoPodSteps(t *testing.T) {
	st := stepOf("scale-to-4", InSequence, observed(nil, nil, nil), observed(nil, nil, nil))
	var b strings.Builder
	require.NoError(t, WriteText(&b, &Result{Scenarios: []ScenarioResult{{Name: "unhealthy-pod", Verdict: Same, Steps: []StepResult{st}}}}))
	assert.Regexp(t, `(?m)^    \(no pod steps\)\s+\| \(no pod steps\)$`, b.String())
}

func TestResultReadsAsJSON(t *testing.T) {
	st := stepOf("create", InSequence, observed(evs("created web-0"), nil, map[string]string{"web-0": "web-r1"}),
		observed(evs("created web-0"), nil, map[string]string{"web-0": "web-r1"}))
	raw, err := json.Marshal(&Result{Set: "web", Readiness: "kwok", Scenarios: []ScenarioResult{{Name: "create", Verdict: Same, Steps: []StepResult{st}}}})
	require.NoError(t, err)
	var back struct {
		Scenarios []struct {
			Name, Verdict string
			Steps         []struct {
				Order string
				Sides []struct {
					Kind   string
					Events []struct {
						AfterMS   int64 `json:"afterMs"`
						Step, Pod string
					}
					Revisions map[string]string
				}
			}
		}
	}
	require.NoError(t, json.Unmarshal(raw, &back))
	require.Len(t, back.Scenarios, 1)
	assert.Equal(t, "same", back.Scenarios[0].Verdict)
	sides := back.Scenarios[0].Steps[0].Sides
	require.Len(t, sides, 2)
	assert.Equal(t, "StatefulSet", sides[0].Kind)
	assert.Equal(t, "MiniStatefulSet", sides[1].Kind)
	assert.Equal(t, "created", sides[1].Events[0].Step)
	assert.Equal(t, int64(10), sides[1].Events[0].AfterMS)
	assert.Equal(t, "web-r1", sides[0].Revisions["web-0"])
}
