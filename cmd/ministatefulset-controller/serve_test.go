package main

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/client-go/rest"
)

func probe(t *testing.T, p *probes, path string) (int, string) {
	t.Helper()
	mux := http.NewServeMux()
	p.handlers(mux)
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec.Code, rec.Body.String()
}

// TestProbesBeforeTheControllerRuns: without leader election /readyz fails until the
// controller exists; a standby waiting for the Lease is ready and healthy.
func TestProbesBeforeTheControllerRuns(t *testing.T) {
	code, body := probe(t, &probes{}, "/readyz")
	assert.Equal(t, http.StatusServiceUnavailable, code)
	assert.Contains(t, body, "controller not started yet")
	code, _ = probe(t, &probes{}, "/healthz")
	assert.Equal(t, http.StatusOK, code, "alive while starting")

	code, _ = probe(t, &probes{leaderElect: true}, "/readyz")
	assert.Equal(t, http.StatusOK, code, "a standby is ready")
}

type leaseCheck struct{ err error }

func (l leaseCheck) Check(*http.Request) error { return l.err }

// TestHealthzFailsWhenTheLeaseIsNotRenewed: the leader election watchdog's error is
// /healthz's.
func TestHealthzFailsWhenTheLeaseIsNotRenewed(t *testing.T) {
	code, _ := probe(t, &probes{leaderElect: true, lease: leaseCheck{}}, "/healthz")
	assert.Equal(t, http.StatusOK, code)
	code, body := probe(t, &probes{leaderElect: true, lease: leaseCheck{errors.New("failed election to renew leadership on lease ministatefulset-controller")}}, "/healthz")
	assert.Equal(t, http.StatusServiceUnavailable, code)
	assert.Contains(t, body, "failed election to renew")
}

func TestNamespaceFlag(t *testing.T) {
	var l namespaceList
	require.NoError(t, l.Set("a,b"))
	require.NoError(t, l.Set("c"))
	require.NoError(t, l.Set("a"))
	assert.Equal(t, []string{"a", "b", "c"}, l.scopes(), "repeatable, comma-separated, each once")
	assert.Equal(t, []string{""}, namespaceList(nil).scopes(), "unset: every namespace")
	assert.ErrorContains(t, l.Set("a,,b"), "an empty namespace")
	assert.ErrorContains(t, l.Set("Not_A_Namespace"), `namespace "Not_A_Namespace"`)
}

// TestOneRateLimiterForTheControllersRequests: the MiniStatefulSets' client and the
// kube client share one limiter of --kube-api-qps and --kube-api-burst; events have
// their own, so they never hold a write back.
func TestOneRateLimiterForTheControllersRequests(t *testing.T) {
	cfg := &rest.Config{Host: "https://127.0.0.1:6443", QPS: 20, Burst: 30}
	kubeCfg, eventCfg := clientConfigs(cfg)
	require.NotNil(t, cfg.RateLimiter)
	assert.Same(t, cfg.RateLimiter, kubeCfg.RateLimiter, "one budget for pods, claims, revisions and status writes")
	assert.InDelta(t, 20, cfg.RateLimiter.QPS(), 0.001)
	assert.Nil(t, eventCfg.RateLimiter, "events get a limiter of their own")
	assert.Equal(t, float32(20), eventCfg.QPS)
	assert.Equal(t, 30, eventCfg.Burst)
	assert.Equal(t, "application/vnd.kubernetes.protobuf", kubeCfg.ContentType)
}
