package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/rest"
	clienttesting "k8s.io/client-go/testing"
)

// builtinWrites makes the fake API answer reads of a StatefulSet as if
// kube-controller-manager's controller had written its status.
func builtinWrites(client *fake.Clientset) {
	client.PrependReactor("get", "statefulsets", func(action clienttesting.Action) (bool, runtime.Object, error) {
		obj, err := client.Tracker().Get(appsv1.SchemeGroupVersion.WithResource("statefulsets"), action.GetNamespace(), action.(clienttesting.GetAction).GetName())
		if err != nil {
			return true, nil, err
		}
		sts := obj.(*appsv1.StatefulSet).DeepCopy()
		sts.Status.ObservedGeneration = 1
		sts.ManagedFields = []metav1.ManagedFieldsEntry{{Manager: "kube-controller-manager", Subresource: "status"}}
		return true, sts, nil
	})
}

func statefulSetsLeft(t *testing.T, client *fake.Clientset) int {
	list, err := client.AppsV1().StatefulSets("probe").List(context.Background(), metav1.ListOptions{})
	require.NoError(t, err)
	return len(list.Items)
}

func TestRefuseBesideBuiltin(t *testing.T) {
	t.Run("kube-controller-manager's controller runs", func(t *testing.T) {
		client := fake.NewClientset()
		builtinWrites(client)
		err := refuseBesideBuiltin(context.Background(), client, "probe", 5*time.Second)
		var running *errBuiltinRunning
		require.True(t, errors.As(err, &running), "%v", err)
		assert.Contains(t, err.Error(), `another StatefulSet controller ("kube-controller-manager") is running`)
		assert.Contains(t, err.Error(), "--controllers=*,-statefulset-controller")
		assert.Zero(t, statefulSetsLeft(t, client), "the probe is deleted")
	})
	t.Run("nobody writes the probe's status", func(t *testing.T) {
		client := fake.NewClientset()
		require.NoError(t, refuseBesideBuiltin(context.Background(), client, "probe", 200*time.Millisecond))
		assert.Zero(t, statefulSetsLeft(t, client), "the probe is deleted")
		var created *appsv1.StatefulSet
		for _, a := range client.Actions() {
			if a.GetVerb() == "create" {
				created = a.(clienttesting.CreateAction).GetObject().(*appsv1.StatefulSet)
			}
		}
		require.NotNil(t, created)
		assert.Equal(t, int32(0), *created.Spec.Replicas, "the probe never has a pod")
	})
	t.Run("the probe may not be created", func(t *testing.T) {
		client := fake.NewClientset()
		client.PrependReactor("create", "statefulsets", func(clienttesting.Action) (bool, runtime.Object, error) {
			return true, nil, apierrors.NewForbidden(appsv1.Resource("statefulsets"), "x", errors.New("no"))
		})
		err := refuseBesideBuiltin(context.Background(), client, "probe", time.Second)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "--builtin-probe-timeout=0")
	})
	t.Run("a stop while probing", func(t *testing.T) {
		client := fake.NewClientset()
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(100*time.Millisecond, cancel)
		err := refuseBesideBuiltin(ctx, client, "probe", time.Minute)
		assert.ErrorIs(t, err, context.Canceled)
		assert.Zero(t, statefulSetsLeft(t, client), "the probe is deleted even so")
	})
}

func TestManageFlag(t *testing.T) {
	o := options{manage: "deployments"}
	err := o.validateManage()
	require.Error(t, err)
	assert.Equal(t, `--manage must be ministatefulsets or statefulsets, got "deployments"`, err.Error())
	assert.Equal(t, "default", o.probeNS())
	o.namespaces = namespaceList{"a", "b"}
	assert.Equal(t, "a", o.probeNS())
	o.manage = manageStatefulSets
	assert.Equal(t, "ministatefulset-controller-statefulsets", o.leaseName())
}

// nearDeadlineLimiter refuses, as client-go's token bucket does when it would have
// to wait past a context's deadline, every request whose context ends within a
// second.
type nearDeadlineLimiter struct{}

func (nearDeadlineLimiter) TryAccept() bool { return true }
func (nearDeadlineLimiter) Accept()         {}
func (nearDeadlineLimiter) Stop()           {}
func (nearDeadlineLimiter) QPS() float32    { return 0 }
func (nearDeadlineLimiter) Wait(ctx context.Context) error {
	if d, ok := ctx.Deadline(); ok && time.Until(d) < time.Second {
		return errors.New("rate: Wait(n=1) would exceed context deadline")
	}
	return nil
}

// TestProbeReadsOutliveItsDeadline: a CI run failed to start the drop-in mode with
// "reading the probe StatefulSet ...: client rate limiter Wait returned an error:
// rate: Wait(n=1) would exceed context deadline", a read made under the probe's
// own deadline just as it ended. The reads are made on the caller's context, so
// the end of the wait is only the end of the wait.
func TestProbeReadsOutliveItsDeadline(t *testing.T) {
	var mu sync.Mutex
	var stored []byte
	gets := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		switch r.Method {
		case http.MethodPost:
			var sts appsv1.StatefulSet
			require.NoError(t, json.NewDecoder(r.Body).Decode(&sts))
			sts.UID = "probe-uid"
			stored, _ = json.Marshal(&sts)
			w.WriteHeader(http.StatusCreated)
			_, _ = w.Write(stored)
		case http.MethodGet:
			gets++
			_, _ = w.Write(stored)
		case http.MethodDelete:
			stored = nil
			_, _ = w.Write([]byte(`{"kind":"Status","apiVersion":"v1","status":"Success"}`))
		default:
			w.WriteHeader(http.StatusMethodNotAllowed)
		}
	}))
	defer srv.Close()
	kube, err := kubernetes.NewForConfig(&rest.Config{Host: srv.URL, RateLimiter: nearDeadlineLimiter{},
		ContentConfig: rest.ContentConfig{ContentType: "application/json", AcceptContentTypes: "application/json"}})
	require.NoError(t, err)

	require.NoError(t, refuseBesideBuiltin(context.Background(), kube, "probe", 300*time.Millisecond))
	mu.Lock()
	defer mu.Unlock()
	assert.Greater(t, gets, 1, "the probe was read while it waited")
	assert.Nil(t, stored, "the probe is deleted")
}
