package plugin

import (
	"bytes"
	"encoding/xml"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2/ktesting"

	"github.com/ministatefulset/ministatefulset/pkg/workload"
)

// chartLanes parses an SVG file as XML and counts its lanes and bars.
func chartLanes(t *testing.T, path string) (lanes, bars int) {
	t.Helper()
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	d := xml.NewDecoder(bytes.NewReader(raw))
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return lanes, bars
		}
		require.NoError(t, err, "the chart is not well-formed XML")
		if se, ok := tok.(xml.StartElement); ok {
			for _, a := range se.Attr {
				switch {
				case a.Name.Local != "class":
				case a.Value == "lane":
					lanes++
				case len(a.Value) > 4 && a.Value[:4] == "bar ":
					bars++
				}
			}
		}
	}
}

func TestChartWritesOnlyTheSVG(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	for _, kind := range timelineKinds {
		t.Run(string(kind), func(t *testing.T) {
			f := newTimelineFixture(t, kind, 2, true, tlPod(kind, 0).created(1).ready(2).obj(), tlPod(kind, 1).created(3).obj())
			svg := filepath.Join(t.TempDir(), "web.svg")
			require.NoError(t, f.run(ctx, "chart", f.ref(), "--svg", svg))
			assert.Equal(t, "wrote the chart of "+f.ref()+" (5 steps) to "+svg+"\n", f.out.String(), "no timeline lines, only where it wrote")
			lanes, bars := chartLanes(t, svg)
			assert.Equal(t, 2, lanes)
			assert.Equal(t, 3, bars, "web-0 pending then Ready, web-1 pending")
		})
	}
}

func TestChartWatchesLikeTimeline(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	for _, kind := range timelineKinds {
		t.Run(string(kind), func(t *testing.T) {
			f := newTimelineFixture(t, kind, 2, false, tlPod(kind, 0).created(1).ready(2).obj())
			svg := filepath.Join(t.TempDir(), "web.svg")
			done := f.start(ctx, "chart", f.ref(), "--svg", svg, "--until-settled")
			f.waitOutput(f.errOut, "following "+f.ref()+" live")
			_, err := f.kube.CoreV1().Pods("ns").Create(ctx, tlPod(kind, 1).created(3).ready(4).obj(), metav1.CreateOptions{})
			require.NoError(t, err)
			f.settle(ctx, 2)
			// The controller's event of the create comes last; the follow waits for it.
			_, err = f.kube.CoreV1().Events("ns").Create(ctx, tlEvent(kind, "SuccessfulCreate", "create Pod web-1 in "+string(kind)+" web successful", 3), metav1.CreateOptions{})
			require.NoError(t, err)
			require.NoError(t, waitDone(t, done), "settled once the status and the watch both have web-1 Ready")
			lanes, _ := chartLanes(t, svg)
			assert.Equal(t, 2, lanes, "web-1, seen live, has a lane")
		})
	}
}

func TestChartErrors(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	f := newTimelineFixture(t, workload.MiniStatefulSet, 1, true)
	assert.ErrorContains(t, f.run(ctx, "chart", "web"), `required flag(s) "svg" not set`)
	assert.EqualError(t, f.run(ctx, "chart", "sts/web", "--svg", filepath.Join(t.TempDir(), "x.svg")), "sts/web not found in namespace ns")
	err := f.run(ctx, "chart", "web", "--svg", filepath.Join(t.TempDir(), "no", "such", "dir.svg"))
	assert.ErrorContains(t, err, "writing the chart")
	assert.ErrorContains(t, err, "choose a --svg path in a directory you can write")
}
