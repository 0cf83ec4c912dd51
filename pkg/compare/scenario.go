package compare

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"
)

// Scenario is a named story both controllers are taken through, step by step.
type Scenario struct {
	Name    string
	Summary string
	// Prepare changes the manifest's spec for this scenario (an update strategy, a
	// retention policy, ...); nil runs the manifest as it is.
	Prepare func(*appsv1.StatefulSetSpec)
	// NeedsFail: the scenario makes a pod Failed, which only the kwok stages can do.
	NeedsFail bool
	// ChangesImage: the scenario changes the image, which real kubelets then pull.
	ChangesImage bool
	// Steps are the scenario's steps for the set as prepared.
	Steps func(Plan) []Step
}

// Plan is what steps are built from: the set as both sides create it.
type Plan struct {
	Set      string
	Replicas int
	Start    int
	Parallel bool
	// Template is the pod template the set is created with, for a rollback.
	Template corev1.PodTemplateSpec
	// Image is what the update scenarios change the first container's image to.
	Image string
	// ClaimTemplates are the names of the set's volumeClaimTemplates.
	ClaimTemplates []string
	// MinReadySeconds is the set's spec.minReadySeconds.
	MinReadySeconds int
}

// Pod is the name of the pod at index i of the set's ordinals (ordinal Start+i).
func (p Plan) Pod(i int) string { return p.Set + "-" + strconv.Itoa(p.Start+i) }

// Pods are the names of the first n pods.
func (p Plan) Pods(n int) []string {
	out := make([]string, 0, n)
	for i := range n {
		out = append(out, p.Pod(i))
	}
	return out
}

// Claims are the names of the claims of the first n pods.
func (p Plan) Claims(n int) []string {
	var out []string
	for _, t := range p.ClaimTemplates {
		for _, pod := range p.Pods(n) {
			out = append(out, t+"-"+pod)
		}
	}
	return out
}

// Step is one thing done to both sides at the same moment, and what each must then
// show before the next step.
type Step struct {
	Name   string
	Action Action
	Until  Condition
	// AnyOrder: the step's pod steps are compared as a set even under OrderedReady
	// (the garbage collector deletes a deleted set's pods all at once).
	AnyOrder bool
}

// Action changes one side.
type Action struct {
	What string
	Do   func(ctx context.Context, s *Side) error
}

// Condition is what a side must show to end a step.
type Condition struct {
	What string
	// Met reads the side now and just before the step's action. An error means the
	// side did something the condition rules out: the step fails at once.
	Met func(Observation) (bool, error)
	// Window, when set, is how long Met must keep holding once it holds: an
	// observation of something not happening (a halt, an update that replaces
	// nothing), bounded, not a sleep standing in for a condition. If Met stops
	// holding within it, the step fails.
	Window time.Duration
}

// Validate checks a scenario's definition for a plan: named, with steps that each
// act and wait for something, under names unique within it.
func (s Scenario) Validate(p Plan) error {
	if errs := validation.IsDNS1123Label(s.Name); len(errs) > 0 {
		return fmt.Errorf("scenario name %q: %s", s.Name, strings.Join(errs, "; "))
	}
	// The longest namespace it gets: cmp-<name>-msts-xxxxx.
	if n := len(namespacePrefix(s.Name, "msts")) + randomSuffix; n > validation.DNS1123LabelMaxLength {
		return fmt.Errorf("scenario name %q makes namespace names of %d characters, more than %d", s.Name, n, validation.DNS1123LabelMaxLength)
	}
	if s.Summary == "" || s.Steps == nil {
		return fmt.Errorf("scenario %s has no summary or no steps", s.Name)
	}
	steps := s.Steps(p)
	if len(steps) == 0 {
		return fmt.Errorf("scenario %s has no steps", s.Name)
	}
	seen := map[string]bool{}
	var errs []error
	for i, st := range steps {
		switch {
		case st.Name == "":
			errs = append(errs, fmt.Errorf("scenario %s: step %d has no name", s.Name, i+1))
		case seen[st.Name]:
			errs = append(errs, fmt.Errorf("scenario %s: two steps are named %s", s.Name, st.Name))
		case st.Action.Do == nil || st.Action.What == "":
			errs = append(errs, fmt.Errorf("scenario %s: step %s does nothing", s.Name, st.Name))
		case st.Until.Met == nil || st.Until.What == "":
			errs = append(errs, fmt.Errorf("scenario %s: step %s waits for nothing", s.Name, st.Name))
		}
		seen[st.Name] = true
	}
	return errors.Join(errs...)
}

// Select picks scenarios by name, in the order given; "all" is every scenario.
func Select(names []string) ([]Scenario, error) {
	if len(names) == 0 || (len(names) == 1 && names[0] == "all") {
		return Scenarios(), nil
	}
	byName := map[string]Scenario{}
	var known []string
	for _, s := range Scenarios() {
		byName[s.Name] = s
		known = append(known, s.Name)
	}
	var out []Scenario
	picked := map[string]bool{}
	for _, n := range names {
		s, ok := byName[n]
		if !ok {
			return nil, fmt.Errorf("no scenario %q: use all or any of %s", n, strings.Join(known, ", "))
		}
		if !picked[n] {
			out = append(out, s)
			picked[n] = true
		}
	}
	return out, nil
}
