package compare

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/util/rand"

	"github.com/ministatefulset/ministatefulset/pkg/workload"
)

// Labels on the namespaces a run makes, so they can be found and cleaned up
// (kubectl delete ns -l compare.ministatefulset.dev/run).
const (
	LabelRun      = "compare.ministatefulset.dev/run"
	LabelScenario = "compare.ministatefulset.dev/scenario"
	LabelSide     = "compare.ministatefulset.dev/side"
)

// randomSuffix is the length of the random part of a namespace name.
const randomSuffix = 5

// Defaults of a Runner.
const (
	DefaultTimeout = 2 * time.Minute
	defaultPoll    = 250 * time.Millisecond
	// setupWait bounds waits around the steps (a namespace's default ServiceAccount).
	setupWait = 30 * time.Second
)

// Runner runs scenarios of one manifest under both controllers.
type Runner struct {
	Clients   workload.Clients
	Readiness Readiness
	Manifest  *Manifest
	Scenarios []Scenario
	// Parallel is how many scenarios run at once (at least 1).
	Parallel int
	// Timeout bounds the wait of each step on each side.
	Timeout time.Duration
	// Keep leaves the namespaces behind for a person to look at.
	Keep bool
	// UpdateImage is the image the update scenarios change to; "" derives one
	// that is never pulled, which works only where kwok fakes the nodes.
	UpdateImage string
	// Progress, if set, hears of each scenario as it starts and ends.
	Progress io.Writer
	// Poll is how often a side is read while a step waits.
	Poll time.Duration
}

// Run runs every scenario and returns what each found. An error means no scenario
// could run at all; a scenario that fails is reported in the result.
func (r *Runner) Run(ctx context.Context) (*Result, error) {
	if err := r.check(ctx); err != nil {
		return nil, err
	}
	run := rand.String(randomSuffix)
	res := &Result{Set: r.Manifest.Set.Name, Readiness: r.Readiness.Name(), Scenarios: make([]ScenarioResult, len(r.Scenarios))}
	slots := make(chan struct{}, max(r.Parallel, 1))
	var wg sync.WaitGroup
	for i, sc := range r.Scenarios {
		wg.Go(func() {
			slots <- struct{}{}
			defer func() { <-slots }()
			res.Scenarios[i] = r.runScenario(ctx, run, sc)
		})
	}
	wg.Wait()
	return res, nil
}

// check refuses what cannot run before anything is created.
func (r *Runner) check(ctx context.Context) error {
	if r.Manifest == nil || r.Readiness == nil || len(r.Scenarios) == 0 {
		return errors.New("nothing to compare: a manifest, a readiness and at least one scenario are needed")
	}
	set := r.Manifest.Set
	if set.Spec.Replicas != nil && *set.Spec.Replicas < 1 {
		return fmt.Errorf("%s has %d replicas: compare needs at least 1 to have pods to compare", set.Name, *set.Spec.Replicas)
	}
	if len(set.Spec.Template.Spec.Containers) == 0 {
		return fmt.Errorf("%s has no containers in its pod template", set.Name)
	}
	p := planFor(set, r.image())
	for _, sc := range r.Scenarios {
		if err := sc.Validate(p); err != nil {
			return err
		}
		if sc.ChangesImage && r.UpdateImage == "" && r.Readiness.PullsImages() {
			return fmt.Errorf("scenario %s changes the image, and with --readiness %s the nodes pull it: give --update-image, an image they can pull "+
				"(for example %s at another tag)", sc.Name, r.Readiness.Name(), set.Spec.Template.Spec.Containers[0].Image)
		}
	}
	return r.Readiness.Check(ctx, r.Clients.Kube)
}

func (r *Runner) image() string {
	if r.UpdateImage != "" {
		return r.UpdateImage
	}
	return nextImage(r.Manifest.Set.Spec.Template.Spec.Containers[0].Image)
}

func (r *Runner) progress(format string, args ...any) {
	if r.Progress != nil {
		fmt.Fprintf(r.Progress, "compare: "+format+"\n", args...)
	}
}

// runScenario runs one scenario in two fresh namespaces.
func (r *Runner) runScenario(ctx context.Context, run string, sc Scenario) (res ScenarioResult) {
	start := time.Now()
	res = ScenarioResult{Name: sc.Name, Summary: sc.Summary}
	defer func() {
		res.DurationMS = time.Since(start).Milliseconds()
		r.progress("%s: %s (%v)", sc.Name, res.VerdictLine(), time.Since(start).Round(100*time.Millisecond))
	}()
	if sc.NeedsFail && !r.Readiness.CanFail() {
		res.Verdict, res.Reason = NotRun, "needs the kwok stages (a pod cannot be made Failed with --readiness "+r.Readiness.Name()+")"
		return res
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sides, err := r.setUp(ctx, run, sc, &res)
	defer r.cleanUp(sc, res.Namespaces)
	if err != nil {
		res.Verdict, res.Reason = Failed, err.Error()
		return res
	}
	plan := planFor(sides[0].set, r.image())
	steps := sc.Steps(plan)
	for i, st := range steps {
		sr := r.runStep(ctx, st, plan, sides)
		res.Steps = append(res.Steps, sr)
		if reason := failure(i+1, st, sr); reason != "" {
			res.Verdict, res.Reason = Failed, reason
			return res
		}
	}
	res.Verdict = Same
	for i, sr := range res.Steps {
		if len(sr.Differences) > 0 {
			res.Verdict, res.Reason = Different, fmt.Sprintf("step %d %s: %s", i+1, sr.Name, sr.Differences[0])
			break
		}
	}
	return res
}

// failure says which side failed a step and how, "" when neither did.
func failure(n int, st Step, sr StepResult) string {
	var failed []string
	passed := ""
	for _, o := range sr.Sides {
		if o.Error == "" {
			passed = string(o.Kind)
			continue
		}
		failed = append(failed, fmt.Sprintf("%s (namespace %s), step %d %s: %s", o.Kind, o.Namespace, n, st.Name, o.Error))
	}
	if len(failed) == 0 {
		return ""
	}
	msg := failed[0]
	if len(failed) > 1 {
		msg += "; and " + failed[1]
	} else {
		msg += fmt.Sprintf(" (the %s passed this step)", passed)
	}
	return msg
}

// runStep applies the step to both sides at the same moment and compares what they showed.
func (r *Runner) runStep(ctx context.Context, st Step, p Plan, sides [2]*Side) StepResult {
	order := InSequence
	if p.Parallel || st.AnyOrder {
		order = AsSet
	}
	sr := StepResult{Name: st.Name, Action: st.Action.What, Until: st.Until.What, Order: order}
	timeout, poll := r.Timeout, r.Poll
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	if poll <= 0 {
		poll = defaultPoll
	}
	var wg sync.WaitGroup
	for i, s := range sides {
		wg.Go(func() { sr.Sides[i] = s.runStep(ctx, st, timeout, poll) })
	}
	wg.Wait()
	sr.Differences = differences(order, sr.Sides[0], sr.Sides[1])
	return sr
}
