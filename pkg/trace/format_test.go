package trace

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/ministatefulset/ministatefulset/pkg/workload"
)

var web = workload.Ref{Kind: workload.MiniStatefulSet, Namespace: "ns", Name: "web"}

func ms(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }

func TestLinesSayWhatEachCreationCameAfter(t *testing.T) {
	recs := []Record{
		{At: ms(0), Step: Created, Pod: "web-0", Exact: true},
		{At: ms(12), Step: Scheduled, Pod: "web-0", Detail: "on node-1", Exact: true},
		{At: ms(1200), Step: Ready, Pod: "web-0", Exact: true},
		{At: ms(1204), Step: Created, Pod: "web-1", Exact: true},
		{At: ms(1300), Step: Event, Pod: "web-1", Detail: "SuccessfulCreate: create Pod web-1 in MiniStatefulSet web successful", Exact: true},
		{At: ms(2500), Step: Spec, Detail: "replicas 2 -> 1", Exact: true},
	}
	assert.Equal(t, []string{
		"+0.000s    web-0    created",
		"+0.012s    web-0    scheduled   on node-1",
		"+1.200s    web-0    ready",
		"+1.204s    web-1    created     4 ms after web-0 became Ready",
		"+1.300s    web-1    event       SuccessfulCreate: create Pod web-1 in MiniStatefulSet web successful",
		"+2.500s    msts/web spec        replicas 2 -> 1",
	}, Lines(web, recs))
}

func TestLinesSayWhatEachTerminationCameAfter(t *testing.T) {
	recs := []Record{
		{At: ms(0), Step: Terminating, Pod: "web-2", Exact: true},
		{At: ms(1000), Step: Gone, Pod: "web-2", Exact: true},
		{At: ms(1003), Step: Terminating, Pod: "web-1", Exact: true},
		{At: ms(3000), Step: Gone, Pod: "web-1", Exact: true},
		{At: ms(3010), Step: Created, Pod: "web-1", Exact: true},
	}
	lines := Lines(web, recs)
	assert.Equal(t, "+0.000s    web-2    terminating", lines[0], "nothing above web-2 went first")
	assert.Equal(t, "+1.003s    web-1    terminating 3 ms after web-2 was gone", lines[2])
	assert.Equal(t, "+3.010s    web-1    created     10 ms after web-1 was gone", lines[4], "a replacement comes after its predecessor is gone")
}

func TestLinesOfInexactRecordsAreToTheSecond(t *testing.T) {
	recs := []Record{
		{At: ms(0), Step: Created, Pod: "web-0"},
		{At: ms(2000), Step: Ready, Pod: "web-0"},
		{At: ms(2000), Step: Created, Pod: "web-1"},
		{At: ms(5000), Step: Created, Pod: "web-2"},
		{At: ms(5123), Step: Ready, Pod: "web-1", Exact: true},
		{At: ms(5200), Step: Created, Pod: "web-3", Exact: true},
	}
	assert.Equal(t, []string{
		"+0s        web-0    created     (to the second)",
		"+2s        web-0    ready       (to the second)",
		"+2s        web-1    created     in the same second as web-0 became Ready (to the second)",
		"+5s        web-2    created     3 s after web-0 became Ready (to the second)",
		"+5.123s    web-1    ready",
		"+5.200s    web-3    created     77 ms after web-1 became Ready",
	}, Lines(web, recs))
}

func TestAfterLooksOnlyAtEarlierRecordsOfTheSet(t *testing.T) {
	recs := []Record{
		{At: ms(0), Step: Created, Pod: "web-1"},
		{At: ms(1), Step: Ready, Pod: "web-0"},
		{At: ms(2), Step: Ready, Pod: "db-0"},
		{At: ms(3), Step: Created, Pod: "web-2"},
		{At: ms(4), Step: Ready, Pod: "web-1"},
	}
	_, ok := After("web", recs, 0)
	assert.False(t, ok, "web-0's later Ready is not what web-1 came after")
	j, ok := After("web", recs, 3)
	assert.True(t, ok)
	assert.Equal(t, 1, j, "web-2 came after web-0's Ready, the latest lower one before it; db-0 is another set")
	_, ok = After("web", recs, 4)
	assert.False(t, ok, "a Ready comes after nothing")
}
