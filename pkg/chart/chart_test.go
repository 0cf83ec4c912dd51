package chart

import (
	"bytes"
	"encoding/xml"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/types"

	"github.com/ministatefulset/ministatefulset/pkg/trace"
	"github.com/ministatefulset/ministatefulset/pkg/workload"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

var (
	t0  = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	web = workload.Ref{Kind: workload.MiniStatefulSet, Namespace: "ns", Name: "web"}
)

func rec(ms int, step trace.Step, pod string) trace.Record {
	r := trace.Record{At: t0.Add(time.Duration(ms) * time.Millisecond), Step: step, Pod: pod, Exact: true}
	if pod != "" {
		r.UID = types.UID(pod + "-uid")
	}
	return r
}

// scaleUpAndDown is web scaled to 3 and back to 1 under OrderedReady.
func scaleUpAndDown() []trace.Record {
	spec := rec(4000, trace.Spec, "")
	spec.Detail = "replicas 3 -> 1"
	return []trace.Record{
		rec(0, trace.Created, "web-0"), rec(10, trace.Scheduled, "web-0"), rec(1000, trace.Ready, "web-0"),
		rec(1004, trace.Created, "web-1"), rec(2000, trace.Ready, "web-1"),
		rec(2003, trace.Created, "web-2"), rec(3000, trace.Ready, "web-2"),
		spec,
		rec(4010, trace.Terminating, "web-2"), rec(5010, trace.Gone, "web-2"),
		rec(5013, trace.Terminating, "web-1"), rec(6013, trace.Gone, "web-1"),
	}
}

// element is one element of a decoded SVG.
type element struct{ name, class, ordinal string }

// decode parses the SVG as XML, failing on anything malformed.
func decode(t *testing.T, svg []byte) []element {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(svg))
	var out []element
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return out
		}
		require.NoError(t, err, "the chart is not well-formed XML")
		if se, ok := tok.(xml.StartElement); ok {
			e := element{name: se.Name.Local}
			for _, a := range se.Attr {
				switch a.Name.Local {
				case "class":
					e.class = a.Value
				case "data-ordinal":
					e.ordinal = a.Value
				}
			}
			out = append(out, e)
		}
	}
}

// count is how many elements of that name have a class starting with prefix.
func count(els []element, name, prefix string) int {
	n := 0
	for _, e := range els {
		if e.name == name && strings.HasPrefix(e.class, prefix) {
			n++
		}
	}
	return n
}

func TestSVGDrawsALaneABarPerStateAndAnArrowPerOrderedStep(t *testing.T) {
	svg := SVG(scaleUpAndDown(), Options{Set: web, End: t0.Add(7 * time.Second)})
	els := decode(t, svg)

	require.Equal(t, "svg", els[0].name)
	assert.Equal(t, 3, count(els, "g", "lane"), "one lane per ordinal")
	assert.Equal(t, 8, count(els, "rect", "bar "), "web-0 pending+Ready, web-1 and web-2 pending+Ready+terminating")
	assert.Equal(t, 3, count(els, "rect", "bar pending"))
	assert.Equal(t, 3, count(els, "rect", "bar ready"))
	assert.Equal(t, 2, count(els, "rect", "bar terminating"))
	assert.Equal(t, 2, count(els, "line", "arrow created-after"), "web-1 after web-0's Ready, web-2 after web-1's")
	assert.Equal(t, 1, count(els, "line", "arrow terminating-after"), "web-1 after web-2 was gone")
	assert.Equal(t, 1, count(els, "line", "spec"), "the scale-down marked")
	assert.Equal(t, 1, count(els, "g", "legend"))
	assert.Contains(t, string(svg), ">MiniStatefulSet/web</text>", "titled kind/name")
	assert.Equal(t, svg, SVG(scaleUpAndDown(), Options{Set: web, End: t0.Add(7 * time.Second)}), "the same records give the same bytes")

	golden := filepath.Join("testdata", "scale-up-and-down.svg")
	if *update {
		require.NoError(t, os.WriteFile(golden, svg, 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err, "run go test ./pkg/chart -update to write the golden file")
	assert.Equal(t, string(want), string(svg), "the chart differs from %s (run with -update after checking it by eye)", golden)
}

func TestSVGLanesAreByOrdinalWithFailedUnreadyAndEvents(t *testing.T) {
	ev := rec(500, trace.Event, "web-10")
	ev.Detail = `SuccessfulCreate: create Pod web-10 in MiniStatefulSet web <"successful">`
	other := rec(100, trace.Created, "db-0")
	recs := []trace.Record{
		rec(0, trace.Created, "web-10"), rec(0, trace.Created, "web-2"), ev, other,
		rec(1000, trace.Ready, "web-2"), rec(1500, trace.Unready, "web-2"), rec(1700, trace.Ready, "web-2"),
		rec(2000, trace.Failed, "web-10"), rec(2500, trace.Gone, "web-10"),
	}
	recs[0].UID, recs[8].UID = "", "" // read back from events: no UID
	els := decode(t, SVG(recs, Options{Set: web, Title: "a <title> & more"}))

	var lanes []string
	for _, e := range els {
		if e.class == "lane" {
			lanes = append(lanes, e.ordinal)
		}
	}
	assert.Equal(t, []string{"2", "10"}, lanes, "lanes by ordinal, not by name; db-0 is not of the set")
	assert.Equal(t, 1, count(els, "rect", "bar failed"))
	assert.Equal(t, 1, count(els, "rect", "bar unready"))
	assert.Equal(t, 2, count(els, "rect", "bar ready"), "Ready, un-Ready, Ready again")
	assert.Equal(t, 2, count(els, "rect", "bar pending"))
	assert.Equal(t, 1, count(els, "circle", "event"))
	assert.Zero(t, count(els, "line", "arrow"), "web-10 came after nothing lower that was Ready")
}

func TestSVGOfNoRecordsIsStillAPicture(t *testing.T) {
	els := decode(t, SVG(nil, Options{Set: web}))
	assert.Equal(t, "svg", els[0].name)
	assert.Zero(t, count(els, "g", "lane"))
}
