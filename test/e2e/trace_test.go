//go:build e2e

package e2e

import (
	"context"
	"strings"

	"github.com/ministatefulset/ministatefulset/pkg/trace"
)

// comparedSteps are the pod steps these tests compare, those the ordering
// guarantees speak of. The recorder also sees scheduling, failures and restarts,
// which no test here compares, so every read goes through snapshot.
var comparedSteps = []trace.Step{trace.Created, trace.Ready, trace.Unready, trace.Terminating, trace.Gone}

// podTrace is the trace of a test's namespace: pkg/trace's recorder, the one pod
// trace of the project, read through the compared steps.
type podTrace struct{ *trace.Recorder }

// snapshot is the records of the compared steps so far, of one owner kind ("" for
// every pod).
func (p podTrace) snapshot(owner string) []trace.Record { return p.Steps(owner, comparedSteps...) }

// tracePods starts a trace of a namespace's pods.
func tracePods(ctx context.Context, namespace string) (podTrace, error) {
	tr := trace.NewRecorder(nil)
	if err := trace.WatchPods(ctx, kube, namespace, tr); err != nil {
		return podTrace{}, err
	}
	return podTrace{tr}, nil
}

var shortUID = trace.ShortUID

// eventLines is records one per line, for a log or a failure message.
func eventLines(records []trace.Record) string {
	var lines []string
	for _, r := range records {
		lines = append(lines, "  "+r.String())
	}
	return strings.Join(lines, "\n")
}
