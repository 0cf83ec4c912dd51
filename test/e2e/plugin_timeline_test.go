//go:build e2e

package e2e

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/ministatefulset/ministatefulset/pkg/plugin"
	"github.com/ministatefulset/ministatefulset/pkg/trace"
)

// TestPluginTimelineFollowsAScaleUp runs `kubectl msts timeline --watch
// --until-settled` while a MiniStatefulSet scales from 1 to 3 held at an un-Ready
// web-0: the lines tell web-0's history to the second, then, live and to the
// millisecond, web-0 becoming Ready once released and each creation after the Ready
// it waited for; the SVG has a lane per ordinal.
func TestPluginTimelineFollowsAScaleUp(t *testing.T) {
	// Runs beside the other tests that leave the suite's controller running.
	t.Parallel()
	requireKwok(t)
	e := newEnv(t, "timeline")
	e.createSet("web", statefulSpec("web", 1, nil, false))
	e.waitReady("web-0")
	// an un-Ready web-0 keeps the set from settling before the timeline follows it
	e.annotatePod("web-0", holdUnready, "true")
	e.waitFor(shortWait, "msts/web to count web-0 un-Ready", func() (bool, error) {
		set, err := msts.AppsV1alpha1().MiniStatefulSets(e.ns).Get(e.ctx, "web", metav1.GetOptions{})
		return err == nil && set.Status.ReadyReplicas == 0, err
	})
	svg := filepath.Join(artifacts, "timeline-"+e.ns+".svg")

	run := e.startKubectlMsts("timeline", "web", "--watch", "--until-settled", "--timeout", "60s", "--svg", svg)
	e.waitFor(shortWait, "the timeline to follow msts/web live", func() (bool, error) {
		return strings.Contains(run.errOut.String(), "following msts/web live"), nil
	})
	e.scale("web", 3)
	e.release("web-0")
	status := run.wait(longWait)
	require.Equal(t, 0, status, "timeline exited with an error:\n%s", run.errOut.String())

	lines := strings.Split(strings.TrimSpace(run.out.String()), "\n")
	at := linesInOrder(t, lines,
		[]string{"web-0    created", "(to the second)"},
		[]string{"web-0    unready", "(to the second)"},
		[]string{"web-0    ready"},
		[]string{"web-1    created", " after web-0 became Ready"},
		[]string{"web-1    ready"},
		[]string{"web-2    created", " after web-1 became Ready"},
		[]string{"web-2    ready"},
	)
	for _, i := range at[2:] {
		assert.NotContains(t, lines[i], "(to the second)", "a step the watch saw is timed to the millisecond")
	}
	assert.NotEmpty(t, findLine(lines, "msts/web spec        replicas 1 -> 3"), "the scale is a spec change")
	assert.NotEmpty(t, findLine(lines, "event       SuccessfulCreate: ", "Pod web-2 in MiniStatefulSet web"))
	assert.Equal(t, 3, svgLanes(t, svg), "a lane per ordinal")
	t.Logf("chart written to %s", svg)
}

// TestPluginTimelineOfAStatefulSet reads a built-in StatefulSet's story back from
// the API, with no watch: the same lines, to the second.
func TestPluginTimelineOfAStatefulSet(t *testing.T) {
	// Runs beside the other tests that leave the suite's controller running.
	t.Parallel()
	e := newEnv(t, "timeline-sts")
	e.createStatefulSet("web", statefulSpec("web", 2, nil, false))
	e.waitReady("web-0", "web-1")
	e.waitFor(shortWait, "kube-controller-manager's events for web-0 and web-1", func() (bool, error) {
		list, err := kube.CoreV1().Events(e.ns).List(e.ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		n := 0
		for _, ev := range list.Items {
			if ev.InvolvedObject.Kind == "StatefulSet" && ev.Reason == "SuccessfulCreate" {
				n++
			}
		}
		return n == 2, nil
	})

	lines := strings.Split(strings.TrimSpace(e.mustKubectlMsts("timeline", "sts/web")), "\n")
	linesInOrder(t, lines,
		[]string{"sts/web  created"},
		[]string{"web-0    created"},
		[]string{"web-0    ready"},
		[]string{"web-1    created", " web-0 became Ready"},
		[]string{"web-1    ready"},
	)
	assert.NotEmpty(t, findLine(lines, "SuccessfulCreate: ", "Pod web-1 in StatefulSet web"), "kube-controller-manager's event")
	for _, l := range lines {
		assert.Contains(t, l, "(to the second)", "read back from the API, every time is whole seconds")
	}

	var recs []trace.Record
	require.NoError(t, json.Unmarshal([]byte(e.mustKubectlMsts("timeline", "sts/web", "-o", "json")), &recs))
	ready := map[string]bool{}
	for _, r := range recs {
		if r.Step == trace.Ready {
			ready[r.Pod] = true
		}
	}
	assert.Equal(t, map[string]bool{"web-0": true, "web-1": true}, ready)

	svg := filepath.Join(t.TempDir(), "sts.svg")
	assert.Contains(t, e.mustKubectlMsts("chart", "sts/web", "--svg", svg), "wrote the chart of sts/web")
	assert.Equal(t, 2, svgLanes(t, svg))
}

// linesInOrder finds, in order, a line holding every piece of each want, and
// returns their indices.
func linesInOrder(t *testing.T, lines []string, wants ...[]string) []int {
	t.Helper()
	var at []int
	from := 0
	for _, want := range wants {
		found := -1
		for i := from; i < len(lines) && found < 0; i++ {
			all := true
			for _, p := range want {
				all = all && strings.Contains(lines[i], p)
			}
			if all {
				found = i
			}
		}
		if found < 0 {
			t.Fatalf("no line with %q after line %d of:\n%s", want, from, strings.Join(lines, "\n"))
		}
		at = append(at, found)
		from = found + 1
	}
	return at
}

// findLine is the first line holding every piece, or "".
func findLine(lines []string, pieces ...string) string {
	for _, l := range lines {
		all := true
		for _, p := range pieces {
			all = all && strings.Contains(l, p)
		}
		if all {
			return l
		}
	}
	return ""
}

// svgLanes parses an SVG file as XML and counts its lanes.
func svgLanes(t *testing.T, path string) int {
	t.Helper()
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	d := xml.NewDecoder(bytes.NewReader(raw))
	n := 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return n
		}
		require.NoError(t, err, "%s is not well-formed XML", path)
		if se, ok := tok.(xml.StartElement); ok {
			for _, a := range se.Attr {
				if a.Name.Local == "class" && a.Value == "lane" {
					n++
				}
			}
		}
	}
}

// pluginRun is a `kubectl msts` command running in the background.
type pluginRun struct {
	t           *testing.T
	out, errOut *lockedOutput
	done        chan int
}

// startKubectlMsts runs `kubectl msts ARGS...` in process in the background, in the
// env's namespace.
func (e *env) startKubectlMsts(args ...string) *pluginRun {
	r := &pluginRun{t: e.t, out: &lockedOutput{}, errOut: &lockedOutput{}, done: make(chan int, 1)}
	full := append([]string{"--kubeconfig", os.Getenv("MSTS_KUBECONFIG"), "-n", e.ns}, args...)
	go func() {
		r.done <- plugin.Run(e.ctx, full, genericiooptions.IOStreams{In: strings.NewReader(""), Out: r.out, ErrOut: r.errOut})
	}()
	return r
}

// wait waits, bounded, for the command to end and returns its exit status.
func (r *pluginRun) wait(bound time.Duration) int {
	r.t.Helper()
	select {
	case status := <-r.done:
		r.t.Logf("kubectl msts (exit %d):\n%s%s", status, r.out.String(), r.errOut.String())
		return status
	case <-time.After(bound):
		r.t.Fatalf("kubectl msts did not end within %v:\n%s%s", bound, r.out.String(), r.errOut.String())
		return -1
	}
}

// lockedOutput is an output a background command writes while the test reads it.
type lockedOutput struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedOutput) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedOutput) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
