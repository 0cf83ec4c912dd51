// Package bench measures MiniStatefulSet against kube-controller-manager's
// StatefulSet controller on one real control plane, in the same run: each scenario
// runs under both controllers in turn, in fresh namespaces, with both clients held to
// the same QPS and burst, and under a minimal client that does the same pod writes
// directly (the floor: what the cluster itself allows). For each run it takes the
// wall time to converge, the controller's API requests by verb (from the API
// server's audit log, by user agent), its CPU seconds and peak RSS (from /proc), and
// under OrderedReady the reaction latency from a pod's Ready, seen on a watch, to
// the next pod's creation. make bench-cluster runs it and writes docs/bench; a small
// version runs in make test to prove it still works.
package bench

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
)

// Controller names who does the writes of a run.
type Controller string

// The three writers a scenario runs under.
const (
	BuiltIn Controller = "StatefulSet"
	Mini    Controller = "MiniStatefulSet"
	Floor   Controller = "floor"
)

// Mode is the client rate limit both controllers run with.
type Mode struct {
	Name string
	// QPS and Burst of both controllers' clients; 0 means unthrottled.
	QPS   float64
	Burst int
}

// Unthrottled and KCMDefaults are the two modes of a benchmark run.
var (
	Unthrottled = Mode{Name: "unthrottled"}
	KCMDefaults = Mode{Name: "QPS 20, burst 30", QPS: 20, Burst: 30}
)

// clientLimits is what a controller's flags get: unthrottled is a limit no run meets.
func (m Mode) clientLimits() (float64, int) {
	if m.QPS == 0 {
		return 100000, 100000
	}
	return m.QPS, m.Burst
}

// Figures are what one run measured.
type Figures struct {
	Wall time.Duration `json:"wall"`
	// Requests are the controller's own API requests by verb (watches and events
	// left out); Events are the events it recorded; GC the garbage collector's
	// requests in the same window (both controllers rely on it to delete).
	Requests map[string]int `json:"requests,omitempty"`
	Events   int            `json:"events"`
	GC       int            `json:"gc"`
	// CPU and PeakRSS are the controller process's (kube-controller-manager's for
	// the built-in one); a floor run has none.
	CPU     time.Duration `json:"cpu"`
	PeakRSS int64         `json:"peakRSS"`
	// ServerCPU is what kube-apiserver and etcd used in the step, the floor's
	// included: the cost of a controller's requests to the cluster.
	ServerCPU time.Duration `json:"serverCPU"`
	// Latencies are the OrderedReady reactions: pod i Ready to pod i+1 created, both
	// seen on the benchmark's watch. SendLatencies end instead when the API server
	// received the create (the audit log's requestReceivedTimestamp): the writer's
	// own share of the reaction, without the create's handling and its watch event.
	Latencies     []time.Duration `json:"latencies,omitempty"`
	SendLatencies []time.Duration `json:"sendLatencies,omitempty"`
	// createSent is when the API server received each pod create of the writer.
	createSent map[string]time.Time
	// PodWrites are the pod creates and deletes the scenario needs.
	PodWrites int `json:"podWrites"`
}

// TotalRequests sums the requests of all verbs.
func (f Figures) TotalRequests() int {
	n := 0
	for _, c := range f.Requests {
		n += c
	}
	return n
}

// Writes sums the requests that change something.
func (f Figures) Writes() int {
	n := 0
	for key, c := range f.Requests {
		if verb, _, _ := strings.Cut(key, " "); verb != "get" && verb != "list" && verb != "watch" {
			n += c
		}
	}
	return n
}

// Run is one scenario under one controller in one round.
type Run struct {
	Scenario   string     `json:"scenario"`
	Mode       string     `json:"mode"`
	Controller Controller `json:"controller"`
	Round      int        `json:"round"`
	Figures
}

// Stat is the median and spread of a figure over rounds.
type Stat struct {
	Median, Min, Max float64
	N                int
}

func statOf(values []float64) Stat {
	if len(values) == 0 {
		return Stat{}
	}
	v := append([]float64(nil), values...)
	sort.Float64s(v)
	med := v[len(v)/2]
	if len(v)%2 == 0 {
		med = (v[len(v)/2-1] + v[len(v)/2]) / 2
	}
	return Stat{Median: med, Min: v[0], Max: v[len(v)-1], N: len(v)}
}

// percentile is the p-th percentile (0-100) of durations, by nearest rank.
func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	v := append([]time.Duration(nil), d...)
	sort.Slice(v, func(i, j int) bool { return v[i] < v[j] })
	// nearest rank
	i := max(0, int(math.Ceil(p/100*float64(len(v))))-1)
	return v[min(i, len(v)-1)]
}

func (s Stat) seconds() string {
	if s.N == 0 {
		return "–"
	}
	if s.N == 1 || s.Min == s.Max {
		return fmt.Sprintf("%.2f s", s.Median)
	}
	return fmt.Sprintf("%.2f s (%.2f–%.2f)", s.Median, s.Min, s.Max)
}
