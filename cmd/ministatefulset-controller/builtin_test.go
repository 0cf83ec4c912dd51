package main

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
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
