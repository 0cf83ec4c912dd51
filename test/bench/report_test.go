package bench

import (
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ministatefulset/ministatefulset/pkg/trace"
)

func TestAuditCountsEachControllersRequestsInTheWindow(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	line := func(ua, verb, resource, sub string, at time.Duration, stage string) string {
		return `{"verb":"` + verb + `","userAgent":"` + ua + `","stage":"` + stage + `","objectRef":{"resource":"` + resource + `","subresource":"` + sub +
			`"},"requestReceivedTimestamp":"` + t0.Add(at).Format(time.RFC3339Nano) + `"}` + "\n"
	}
	kcm := "kube-controller-manager/v1.37.2 (linux/amd64) kubernetes/abc/statefulset-controller"
	gc := "kube-controller-manager/v1.37.2 (linux/amd64) kubernetes/abc/generic-garbage-collector"
	path := filepath.Join(t.TempDir(), "audit.log")
	body := line("ministatefulset-controller", "create", "pods", "", -time.Second, "ResponseComplete") + // before the window
		line("ministatefulset-controller", "create", "pods", "", time.Second, "ResponseComplete") +
		line("ministatefulset-controller", "create", "pods", "", time.Second, "RequestReceived") + // not a completed request
		line("ministatefulset-controller", "update", "ministatefulsets", "status", 2*time.Second, "ResponseComplete") +
		line("ministatefulset-controller/events", "create", "events", "", 2*time.Second, "ResponseComplete") +
		line("ministatefulset-controller", "watch", "pods", "", 2*time.Second, "ResponseComplete") +
		line(kcm, "create", "pods", "", time.Second, "ResponseComplete") +
		line(gc, "delete", "pods", "", time.Second, "ResponseComplete") +
		line("kubectl/v1.37.2", "get", "pods", "", time.Second, "ResponseComplete")
	require.NoError(t, os.WriteFile(path, []byte(body), 0o644))

	var mini, sts Figures
	a := NewAuditLog(path)
	require.NoError(t, a.count(Mini, t0, t0.Add(3*time.Second), &mini))
	assert.Equal(t, map[string]int{"create pods": 1, "update ministatefulsets/status": 1}, mini.Requests)
	assert.Equal(t, 1, mini.Events)
	assert.Equal(t, 1, mini.GC)
	assert.Equal(t, 2, mini.TotalRequests())

	b := NewAuditLog(path)
	require.NoError(t, b.count(BuiltIn, t0, t0.Add(3*time.Second), &sts))
	assert.Equal(t, map[string]int{"create pods": 1}, sts.Requests)

	require.NoError(t, a.count(Mini, t0, t0.Add(3*time.Second), &mini), "a second read starts where the first ended")
	assert.Empty(t, mini.Requests)

	// The API server rotates the log: what was written to the old file after the
	// last read is counted, then the new file from its start.
	more := line("ministatefulset-controller", "delete", "pods", "", time.Second, "ResponseComplete")
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteString(more)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	require.NoError(t, os.Rename(path, filepath.Join(filepath.Dir(path), "audit-2026-12-01T22-26-22.789.log")))
	require.NoError(t, os.WriteFile(path, []byte(more+more), 0o644))
	require.NoError(t, a.count(Mini, t0, t0.Add(3*time.Second), &mini))
	assert.Equal(t, map[string]int{"delete pods": 3}, mini.Requests, "one in the old file, two in the new")
}

func TestReactionsAreReadyToNextCreate(t *testing.T) {
	t0 := time.Now()
	recs := []trace.Record{
		{At: t0, Step: trace.Created, Pod: "web-0"},
		{At: t0.Add(10 * time.Millisecond), Step: trace.Ready, Pod: "web-0"},
		{At: t0.Add(13 * time.Millisecond), Step: trace.Created, Pod: "web-1"},
		{At: t0.Add(20 * time.Millisecond), Step: trace.Ready, Pod: "web-1"},
		{At: t0.Add(24 * time.Millisecond), Step: trace.Created, Pod: "web-2"},
		{At: t0.Add(30 * time.Millisecond), Step: trace.Created, Pod: "other"},
	}
	assert.Equal(t, []time.Duration{3 * time.Millisecond, 4 * time.Millisecond}, reactions(recs, seenCreated))
	assert.Equal(t, 4*time.Millisecond, percentile(reactions(recs, seenCreated), 99))
	sent := map[string]time.Time{"web-1": t0.Add(11 * time.Millisecond), "web-2": t0.Add(19 * time.Millisecond)}
	assert.Equal(t, []time.Duration{time.Millisecond, -time.Millisecond}, reactions(recs, createReceived(sent)),
		"to the create's arrival, which may come before the benchmark's watch shows the Ready")
	delete(sent, "web-1")
	assert.Equal(t, []time.Duration{-time.Millisecond}, reactions(recs, createReceived(sent)), "a create not in the audit log is left out")
	assert.Equal(t, Stat{Median: 2, Min: 1, Max: 3, N: 3}, statOf([]float64{3, 1, 2}))
	assert.Equal(t, 2.5, statOf([]float64{3, 1, 2, 4}).Median)
}

func TestAuditTellsWhenEachPodCreateArrived(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	line := func(ua, name, sub string, code int, at time.Duration) string {
		return fmt.Sprintf(`{"verb":"create","userAgent":%q,"stage":"ResponseComplete","objectRef":{"resource":"pods","subresource":%q,"name":%q},"requestReceivedTimestamp":%q,"responseStatus":{"code":%d}}`+"\n",
			ua, sub, name, t0.Add(at).Format(time.RFC3339Nano), code)
	}
	path := filepath.Join(t.TempDir(), "audit.log")
	body := line("ministatefulset-controller", "web-1", "", 201, 5*time.Millisecond) +
		line("ministatefulset-controller", "web-2", "", 409, 6*time.Millisecond) + // refused: no pod made
		line("kube-scheduler/v1.37.2", "web-1", "binding", 201, 7*time.Millisecond) + // not a create of a pod
		line(benchUserAgent, "web-3", "", 201, 8*time.Millisecond)
	require.NoError(t, os.WriteFile(path, []byte(body), 0o644))

	var mini, floor Figures
	require.NoError(t, NewAuditLog(path).count(Mini, t0, t0.Add(time.Second), &mini))
	assert.Equal(t, map[string]time.Time{"web-1": t0.Add(5 * time.Millisecond)}, mini.createSent)
	require.NoError(t, NewAuditLog(path).count(Floor, t0, t0.Add(time.Second), &floor))
	assert.Equal(t, map[string]time.Time{"web-3": t0.Add(8 * time.Millisecond)}, floor.createSent, "the floor's writer is the benchmark's client")
	assert.Empty(t, floor.Requests, "a floor's requests are not counted")
}

func TestReportShowsRatiosAndIsSVG(t *testing.T) {
	runs := []Run{
		{Scenario: "ordered/up", Mode: "unthrottled", Controller: BuiltIn, Figures: Figures{Wall: 4 * time.Second, Requests: map[string]int{"create pods": 100, "update statefulsets/status": 100}, PodWrites: 100}},
		{Scenario: "ordered/up", Mode: "unthrottled", Controller: Mini, Figures: Figures{Wall: 2 * time.Second, Requests: map[string]int{"create pods": 100, "update ministatefulsets/status": 5, "get ministatefulsets": 1}, PodWrites: 100,
			Latencies: []time.Duration{3 * time.Millisecond}, SendLatencies: []time.Duration{time.Millisecond}}},
		{Scenario: "ordered/up", Mode: "unthrottled", Controller: Floor, Figures: Figures{Wall: time.Second, PodWrites: 100,
			Latencies: []time.Duration{2 * time.Millisecond}, SendLatencies: []time.Duration{500 * time.Microsecond}}},
	}
	md := Markdown(runs, Meta{Rounds: 1})
	assert.Contains(t, md, "| ordered/up | 1.00 s | 4.00 s | 2.00 s | 0.50 | 2.00 | 4.00 |")
	assert.Contains(t, md, "| ordered/up | 100 | 200 | 106 | 200 | 105 | 1.06 |")
	assert.Contains(t, md, "3.0 / 3.0 ms")
	assert.Contains(t, md, "| ordered/up | 0.5 / 0.5 ms | 2.0 / 2.0 ms | – | – | 1.0 / 1.0 ms | 3.0 / 3.0 ms |", "reactions: the floor's, the built-in's (none here), ours")
	svg := SVG(runs)
	var doc struct {
		XMLName xml.Name
		Rects   []struct{} `xml:"rect"`
	}
	require.NoError(t, xml.NewDecoder(strings.NewReader(svg)).Decode(&doc))
	assert.Equal(t, "svg", doc.XMLName.Local)
	assert.Len(t, doc.Rects, 2, "the background and one bar")
}
