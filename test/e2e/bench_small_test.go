//go:build e2e

package e2e

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ministatefulset/ministatefulset/pkg/workload"
	"github.com/ministatefulset/ministatefulset/test/bench"
)

// TestBenchStillWorks runs a small version of the benchmark's first scenario
// (OrderedReady 0 to 5 and back) under both controllers and the floor on the e2e
// cluster, to prove that make bench-cluster still works: every run converges and
// yields its figures. The figures are not judged here (the e2e cluster runs every
// controller of kube-controller-manager and no audit log); make bench-cluster
// reports them.
func TestBenchStillWorks(t *testing.T) {
	// Runs beside the other tests that leave the suite's controller running.
	t.Parallel()
	kwok := filepath.Join(os.Getenv("MSTS_CLUSTER_DIR"), "kwok", "clusters", os.Getenv("MSTS_CLUSTER_NAME"))
	env := &bench.Env{
		Clients:    workload.Clients{Kube: kube, Sets: msts},
		BuiltInPID: func() (int, error) { return bench.ReadPID(filepath.Join(kwok, "pids", "kube-controller-manager.pid")) },
		MiniPID:    func() (int, error) { return controller.pid(), nil },
		Timeout:    longWait, LongTimeout: longWait, Logf: t.Logf,
	}
	t.Cleanup(func() {
		for _, ns := range env.Namespaces {
			_ = kube.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{})
		}
	})
	sc := bench.Scenarios(0.05)[0]
	require.Equal(t, "ordered", sc.Name)
	for _, who := range []bench.Controller{bench.BuiltIn, bench.Mini, bench.Floor} {
		runs, err := env.RunScenario(context.Background(), sc, who, "e2e", 1)
		require.NoError(t, err, "the scenario under %s", who)
		require.Len(t, runs, 2, "up and down")
		for _, r := range runs {
			assert.Greater(t, r.Wall, time.Duration(0), "%s %s", who, r.Scenario)
			assert.Equal(t, 5, r.PodWrites)
			if who != bench.Floor {
				assert.Greater(t, r.PeakRSS, int64(0), "%s's peak RSS", who)
			}
		}
		if who != bench.Floor {
			assert.Len(t, runs[0].Latencies, 4, "%s: a reaction for each of web-1..web-4", who)
		}
	}
	// The write-cost probe writes each set's status from the object its previous
	// write returned: a controller writing back in between fails it with a conflict.
	small := bench.Scenarios(0.01)
	i := slices.IndexFunc(small, func(sc bench.Scenario) bool { return sc.Name == "write-cost" })
	require.GreaterOrEqual(t, i, 0, "the write-cost scenario")
	for _, who := range []bench.Controller{bench.BuiltIn, bench.Mini} {
		runs, err := env.RunScenario(context.Background(), small[i], who, "e2e", 1)
		require.NoError(t, err, "the write-cost scenario under %s", who)
		require.Len(t, runs, 1, "one step")
		assert.Greater(t, runs[0].Wall, time.Duration(0), "%s", who)
	}
}
