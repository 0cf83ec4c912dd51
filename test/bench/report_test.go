package bench

import (
	"encoding/xml"
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
	assert.Equal(t, []time.Duration{3 * time.Millisecond, 4 * time.Millisecond}, reactions(recs))
	assert.Equal(t, 4*time.Millisecond, percentile(reactions(recs), 99))
	assert.Equal(t, Stat{Median: 2, Min: 1, Max: 3, N: 3}, statOf([]float64{3, 1, 2}))
	assert.Equal(t, 2.5, statOf([]float64{3, 1, 2, 4}).Median)
}

func TestReportShowsRatiosAndIsSVG(t *testing.T) {
	runs := []Run{
		{Scenario: "ordered/up", Mode: "unthrottled", Controller: BuiltIn, Figures: Figures{Wall: 4 * time.Second, Requests: map[string]int{"create pods": 100, "update statefulsets/status": 100}, PodWrites: 100}},
		{Scenario: "ordered/up", Mode: "unthrottled", Controller: Mini, Figures: Figures{Wall: 2 * time.Second, Requests: map[string]int{"create pods": 100, "update ministatefulsets/status": 5, "get ministatefulsets": 1}, PodWrites: 100,
			Latencies: []time.Duration{3 * time.Millisecond}}},
		{Scenario: "ordered/up", Mode: "unthrottled", Controller: Floor, Figures: Figures{Wall: time.Second, PodWrites: 100}},
	}
	md := Markdown(runs, Meta{Rounds: 1})
	assert.Contains(t, md, "| ordered/up | 1.00 s | 4.00 s | 2.00 s | 0.50 | 2.00 | 4.00 |")
	assert.Contains(t, md, "| ordered/up | 100 | 200 | 106 | 200 | 105 | 1.06 |")
	assert.Contains(t, md, "3.0 / 3.0 ms")
	svg := SVG(runs)
	var doc struct {
		XMLName xml.Name
		Rects   []struct{} `xml:"rect"`
	}
	require.NoError(t, xml.NewDecoder(strings.NewReader(svg)).Decode(&doc))
	assert.Equal(t, "svg", doc.XMLName.Local)
	assert.Len(t, doc.Rects, 2, "the background and one bar")
}
