package plugin

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2/ktesting"
	"sigs.k8s.io/yaml"

	"github.com/ministatefulset/ministatefulset/pkg/trace"
	"github.com/ministatefulset/ministatefulset/pkg/workload"
)

func TestTimelineTellsTheHistoryOfBothKinds(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	for _, kind := range timelineKinds {
		t.Run(string(kind), func(t *testing.T) {
			f := newTimelineFixture(t, kind, 2, true,
				tlPod(kind, 0).created(1).ready(2).obj(), tlPod(kind, 1).created(3).ready(4).obj(),
				tlEvent(kind, "SuccessfulDelete", "delete Pod web-2 in "+string(kind)+" web successful", 5))
			require.NoError(t, f.run(ctx, "timeline", f.ref()))
			pad := map[workload.Kind]string{workload.MiniStatefulSet: "", workload.StatefulSet: " "}[kind] // the columns of both kinds align
			assert.Equal(t, strings.Join([]string{
				"+0s        " + f.ref() + pad + " created     (to the second)",
				"+1s        web-0    created     (to the second)",
				"+2s        web-0    scheduled   on node-1 (to the second)",
				"+2s        web-0    ready       (to the second)",
				"+3s        web-1    created     1 s after web-0 became Ready (to the second)",
				"+4s        web-1    scheduled   on node-1 (to the second)",
				"+4s        web-1    ready       (to the second)",
				"+5s        web-2    event       SuccessfulDelete: delete Pod web-2 in " + string(kind) + " web successful (to the second)",
			}, "\n")+"\n", f.out.String())
		})
	}
}

func TestTimelineSinceKeepsOnlyNewerSteps(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	f := newTimelineFixture(t, workload.MiniStatefulSet, 2, true, tlPod(workload.MiniStatefulSet, 0).created(1).ready(2).obj(),
		tlPod(workload.MiniStatefulSet, 1).created(3).ready(4).obj())
	require.NoError(t, f.run(ctx, "timeline", "web", "--since", "7s"), "the clock reads +10s: steps from +3s on")
	assert.Equal(t, "+0s        web-1    created     (to the second)\n"+
		"+1s        web-1    scheduled   on node-1 (to the second)\n"+
		"+1s        web-1    ready       (to the second)\n", f.out.String(), "times from the first line shown; web-0's Ready is not shown")

	f.out = &lockedBuffer{}
	f.o.Out = f.out
	require.NoError(t, f.run(ctx, "timeline", "web", "--since", "1s"))
	assert.Equal(t, "msts/web: nothing to tell in the last 1s\n", f.out.String())
}

func TestTimelineStructured(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	f := newTimelineFixture(t, workload.StatefulSet, 1, true, tlPod(workload.StatefulSet, 0).created(1).ready(2).obj())
	require.NoError(t, f.run(ctx, "timeline", "sts/web", "-o", "json"))
	var recs []trace.Record
	require.NoError(t, json.Unmarshal([]byte(f.out.String()), &recs))
	require.Len(t, recs, 4)
	assert.Equal(t, trace.Ready, recs[3].Step)
	assert.Equal(t, "web-0", recs[3].Pod)
	assert.False(t, recs[3].Exact)

	f.out = &lockedBuffer{}
	f.o.Out = f.out
	require.NoError(t, f.run(ctx, "timeline", "sts/web", "-o", "yaml"))
	recs = nil
	require.NoError(t, yaml.Unmarshal([]byte(f.out.String()), &recs))
	assert.Len(t, recs, 4)

	assert.ErrorContains(t, f.run(ctx, "timeline", "sts/web", "-o", "wide"), `unknown output format "wide"`)
	assert.ErrorContains(t, f.run(ctx, "timeline", "sts/web", "--since", "-1s"), "positive duration")
}

func TestTimelineOfAMissingSet(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	for _, kind := range timelineKinds {
		f := newTimelineFixture(t, kind, 1, true)
		err := f.run(ctx, "timeline", kind.Short()+"/db", "--watch")
		assert.EqualError(t, err, kind.Short()+"/db not found in namespace ns")
		assert.Empty(t, f.out.String())
	}
}

func TestTimelineWatchFollowsLiveUntilCancelled(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	for _, kind := range timelineKinds {
		t.Run(string(kind), func(t *testing.T) {
			ctx, cancel := context.WithCancel(ctx)
			defer cancel()
			svg := filepath.Join(t.TempDir(), "web.svg")
			f := newTimelineFixture(t, kind, 2, false, tlPod(kind, 0).created(1).ready(2).obj())
			done := f.start(ctx, "timeline", f.ref(), "--watch", "--svg", svg)
			f.waitOutput(f.errOut, "following "+f.ref()+" live")
			f.waitOutput(f.out, "web-0    ready       (to the second)")

			pods := f.kube.CoreV1().Pods("ns")
			_, err := pods.Create(ctx, tlPod(kind, 1).obj(), metav1.CreateOptions{})
			require.NoError(t, err)
			_, err = pods.Update(ctx, tlPod(kind, 1).created(3).ready(9).obj(), metav1.UpdateOptions{})
			require.NoError(t, err)
			f.waitOutput(f.out, "web-1    created     8 s after web-0 became Ready\n", "web-1    ready\n")

			cancel()
			require.NoError(t, waitDone(t, done), "Ctrl-C ends a watch without an error")
			assert.Contains(t, f.errOut.String(), "wrote the chart of "+f.ref()+" to "+svg)
			raw, err := os.ReadFile(svg)
			require.NoError(t, err)
			assert.Equal(t, 2, strings.Count(string(raw), `<g class="lane"`), "a lane each for web-0 and web-1")
		})
	}
}

func TestTimelineWatchEndsAfterFor(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	f := newTimelineFixture(t, workload.StatefulSet, 1, false, tlPod(workload.StatefulSet, 0).created(1).obj())
	require.NoError(t, waitDone(t, f.start(ctx, "timeline", "sts/web", "--for", "50ms")), "--for implies --watch and ends it")
	assert.Contains(t, f.errOut.String(), "following sts/web live")
	assert.Contains(t, f.out.String(), "web-0    created")
}

func TestTimelineUntilSettled(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	for _, kind := range timelineKinds {
		settled := newTimelineFixture(t, kind, 1, true, tlPod(kind, 0).created(1).ready(2).obj())
		require.NoError(t, waitDone(t, settled.start(ctx, "timeline", settled.ref(), "--until-settled")), "a settled set ends the watch at once")
		assert.Contains(t, settled.out.String(), "web-0    ready")

		stuck := newTimelineFixture(t, kind, 2, false, tlPod(kind, 0).created(1).ready(2).obj())
		err := waitDone(t, stuck.start(ctx, "timeline", stuck.ref(), "--until-settled", "--timeout", "100ms"))
		assert.EqualError(t, err, stuck.ref()+" did not settle within 100ms: 0/2 Ready, 0/2 updated, 0 terminating "+
			"(raise --timeout, or see what it waits for with kubectl msts status "+stuck.ref()+")")
		assert.Contains(t, stuck.out.String(), "web-0    ready", "the story so far is told all the same")
	}
}
