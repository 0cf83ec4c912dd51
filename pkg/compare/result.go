package compare

import (
	"github.com/ministatefulset/ministatefulset/pkg/trace"
	"github.com/ministatefulset/ministatefulset/pkg/workload"
)

// Verdict is what a scenario found.
type Verdict string

// The verdicts. Only Same passes.
const (
	Same      Verdict = "same"
	Different Verdict = "DIFFERENT"
	// Failed: the scenario could not be carried through (an API error, or a side
	// that timed out or broke a step's condition).
	Failed Verdict = "FAILED"
	// NotRun: the scenario needs what this run cannot do (a Failed pod without the
	// kwok stages); never counted as passed.
	NotRun Verdict = "not run"
)

// Result is a whole compare run.
type Result struct {
	Set       string           `json:"set"`
	Readiness string           `json:"readiness"`
	Scenarios []ScenarioResult `json:"scenarios"`
}

// Passed reports whether every scenario ran and found both controllers the same.
func (r *Result) Passed() bool {
	for _, s := range r.Scenarios {
		if s.Verdict != Same {
			return false
		}
	}
	return len(r.Scenarios) > 0
}

// ScenarioResult is one scenario's steps and verdict.
type ScenarioResult struct {
	Name    string  `json:"name"`
	Summary string  `json:"summary"`
	Verdict Verdict `json:"verdict"`
	// Reason is the first difference in words, what failed, or why it did not run.
	Reason     string       `json:"reason,omitempty"`
	Namespaces []string     `json:"namespaces,omitempty"`
	Steps      []StepResult `json:"steps,omitempty"`
	DurationMS int64        `json:"durationMs"`
}

// VerdictLine is the verdict as the text output prints it.
func (s ScenarioResult) VerdictLine() string {
	if s.Verdict == Same || s.Reason == "" {
		return string(s.Verdict)
	}
	return string(s.Verdict) + ": " + s.Reason
}

// Order says how a step's pod steps are compared.
type Order string

const (
	// InSequence compares the pod steps in the order seen: OrderedReady fixes it.
	InSequence Order = "sequence"
	// AsSet compares which pod steps happened, in any order: Parallel, or pods the
	// garbage collector deletes at once, leave the order free.
	AsSet Order = "set"
)

// StepResult is one step: what was done to both sides and what each showed.
type StepResult struct {
	Name   string `json:"name"`
	Action string `json:"action"`
	Until  string `json:"until"`
	Order  Order  `json:"order"`
	// Sides are the StatefulSet's and the MiniStatefulSet's observations, in that order.
	Sides       [2]Observed `json:"sides"`
	Differences []string    `json:"differences,omitempty"`
}

// Observed is what one side showed in one step.
type Observed struct {
	Kind      workload.Kind `json:"kind"`
	Namespace string        `json:"namespace"`
	Events    []Event       `json:"events"`
	// Claims are the namespace's claims at the end of the step.
	Claims []Claim `json:"claims"`
	// Revisions are the controller-revision-hash labels of the pods at the end of the step.
	Revisions map[string]string `json:"revisions"`
	Error     string            `json:"error,omitempty"`
}

// Event is one pod step, timed from the start of the step's action.
type Event struct {
	AfterMS int64      `json:"afterMs"`
	Step    trace.Step `json:"step"`
	Pod     string     `json:"pod"`
}

// key is what is compared of an event: what happened to which pod, not when.
func (e Event) key() string { return string(e.Step) + " " + e.Pod }

// Claim is a claim at the end of a step.
type Claim struct {
	Name string `json:"name"`
	// Deleting: the claim has a deletionTimestamp (a finalizer holds it).
	Deleting bool `json:"deleting,omitempty"`
}

func (c Claim) String() string {
	if c.Deleting {
		return c.Name + " (deleting)"
	}
	return c.Name
}

// kinds are the kinds compared, in the order of StepResult.Sides.
var kinds = [2]workload.Kind{workload.StatefulSet, workload.MiniStatefulSet}
