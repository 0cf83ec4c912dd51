package ministatefulset

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"

	appsv1alpha1 "github.com/ministatefulset/ministatefulset/pkg/apis/apps/v1alpha1"
)

// bringUp drives a set to n Ready pods, one pass and one kubelet step at a time.
func (f *fixture) bringUp(name string, n int) {
	f.t.Helper()
	for i := 0; i < n; i++ {
		f.mustSync(name)
		f.ready(podName(f.set(name), i))
	}
	f.mustSync(name)
	f.writes()
	f.events()
}

func failOn(verb, resource string, times int, match func(name string) bool) clienttesting.ReactionFunc {
	return func(a clienttesting.Action) (bool, runtime.Object, error) {
		if times == 0 || !a.Matches(verb, resource) || !match(objectName(a)) {
			return false, nil, nil
		}
		times--
		return true, nil, apierrors.NewInternalError(errors.New("injected failure"))
	}
}

func anyName(string) bool { return true }

func TestScenarios(t *testing.T) {
	cases := []struct {
		name  string
		set   *appsv1alpha1.MiniStatefulSet
		objs  []runtime.Object
		steps func(t *testing.T, f *fixture)
	}{{
		name: "create makes web-0 first, with its identity, revision and claims",
		set:  newSet("web").Replicas(3).Claims("data").Obj(),
		steps: func(t *testing.T, f *fixture) {
			f.mustSync("web")
			revs := f.revisions()
			require.Len(t, revs, 1)
			rev := revs[0].Name
			assert.True(t, strings.HasPrefix(rev, "web-"), rev)
			assert.Equal(t, []string{
				"create controllerrevisions " + rev,
				"create persistentvolumeclaims data-web-0",
				"create pods web-0",
				"update ministatefulsets/status web",
			}, f.writes())
			pod := f.pod("web-0")
			assert.Equal(t, map[string]string{"app": "web", LabelPodName: "web-0", LabelPodIndex: "0", LabelRevision: rev}, pod.Labels)
			assert.Equal(t, "web-0", pod.Spec.Hostname)
			assert.Equal(t, "web", pod.Spec.Subdomain)
			ref := metav1.GetControllerOf(pod)
			require.NotNil(t, ref)
			assert.Equal(t, types.UID("uid-web"), ref.UID)
			assert.True(t, *ref.BlockOwnerDeletion)
			assert.Equal(t, "data-web-0", pod.Spec.Volumes[0].PersistentVolumeClaim.ClaimName)
			assert.Contains(t, f.events(), "Normal SuccessfulCreate create Pod web-0 in MiniStatefulSet web successful")
			st := f.set("web").Status
			assert.Equal(t, rev, st.CurrentRevision)
			assert.Equal(t, rev, st.UpdateRevision)
			assert.Equal(t, "app=web", st.Selector)
			assert.Equal(t, int64(1), st.ObservedGeneration)
			assert.Equal(t, "waiting for web-0 to be Running and Ready before creating web-1", f.condition("web", appsv1alpha1.ConditionWaiting).Message)
		},
	}, {
		name: "OrderedReady creates ordinal i+1 only after i is Running and Ready",
		set:  newSet("web").Replicas(3).Obj(),
		steps: func(t *testing.T, f *fixture) {
			f.mustSync("web")
			f.mustSync("web")
			f.unready("web-0")
			f.mustSync("web")
			assert.Equal(t, []string{"create pods web-0"}, podWrites(f.writes()), "a Running but unready web-0 holds web-1 back")
			f.ready("web-0")
			f.mustSync("web")
			assert.Equal(t, []string{"create pods web-1"}, podWrites(f.writes()))
			f.ready("web-1")
			f.mustSync("web")
			f.ready("web-2")
			f.mustSync("web")
			assert.Equal(t, []string{"create pods web-2"}, podWrites(f.writes()))
			st := f.set("web").Status
			assert.Equal(t, int32(3), st.Replicas)
			assert.Equal(t, int32(3), st.ReadyReplicas)
			assert.Equal(t, int32(3), st.AvailableReplicas)
			assert.Equal(t, int32(3), st.CurrentReplicas)
			assert.Equal(t, int32(3), st.UpdatedReplicas)
			c := f.condition("web", appsv1alpha1.ConditionWaiting)
			assert.Equal(t, corev1.ConditionFalse, c.Status)
			assert.Equal(t, "all 3 pods are Running and Ready", c.Message)
			f.writes()
			f.mustSync("web")
			assert.Empty(t, f.writes(), "a pass with nothing to do writes nothing, status included")
		},
	}, {
		name: "scale down deletes the highest ordinal first, each gone before the next",
		set:  newSet("web").Replicas(3).Obj(),
		steps: func(t *testing.T, f *fixture) {
			f.bringUp("web", 3)
			f.graceful = true
			f.scale("web", 0)
			f.mustSync("web")
			assert.Equal(t, []string{"delete pods web-2"}, podWrites(f.writes()))
			f.mustSync("web")
			assert.Empty(t, podWrites(f.writes()), "web-1 waits while web-2 terminates")
			assert.Equal(t, "waiting for web-2 to terminate before deleting web-1", f.condition("web", appsv1alpha1.ConditionWaiting).Message)
			f.finishTerminations()
			f.mustSync("web")
			assert.Equal(t, []string{"delete pods web-1"}, podWrites(f.writes()))
			f.finishTerminations()
			f.mustSync("web")
			assert.Equal(t, []string{"delete pods web-0"}, podWrites(f.writes()))
			f.finishTerminations()
			f.mustSync("web")
			assert.Empty(t, f.podNames())
			assert.Contains(t, f.events(), "Normal SuccessfulDelete delete Pod web-0 in MiniStatefulSet web successful")
		},
	}, {
		name: "an unhealthy pod halts scale up and scale down",
		set:  newSet("web").Replicas(3).Obj(),
		steps: func(t *testing.T, f *fixture) {
			f.bringUp("web", 3)
			f.unready("web-0")
			f.scale("web", 5)
			f.mustSync("web")
			assert.Empty(t, podWrites(f.writes()))
			assert.Equal(t, "waiting for web-0 to be Running and Ready before creating web-3", f.condition("web", appsv1alpha1.ConditionWaiting).Message)
			f.scale("web", 1)
			f.mustSync("web")
			assert.Empty(t, podWrites(f.writes()), "scale down waits for web-0")
			f.ready("web-0")
			f.unready("web-1")
			f.mustSync("web")
			assert.Equal(t, []string{"delete pods web-2"}, podWrites(f.writes()), "a healthy top pod may go above the unhealthy web-1")
			f.unready("web-0")
			f.mustSync("web")
			assert.Empty(t, podWrites(f.writes()), "web-1 is not deleted while web-0 below it is unhealthy")
		},
	}, {
		name: "a terminating lower pod halts progress",
		set:  newSet("web").Replicas(2).Obj(),
		steps: func(t *testing.T, f *fixture) {
			f.bringUp("web", 2)
			f.graceful = true
			f.userDeletePod("web-0")
			f.scale("web", 3)
			f.mustSync("web")
			assert.Empty(t, podWrites(f.writes()))
			assert.Equal(t, "waiting for web-0 to terminate before recreating it", f.condition("web", appsv1alpha1.ConditionWaiting).Message)
			f.finishTerminations()
			f.mustSync("web")
			assert.Equal(t, []string{"create pods web-0"}, podWrites(f.writes()))
		},
	}, {
		name: "a Failed pod is deleted and recreated under the same name on the same claim",
		set:  newSet("web").Replicas(2).Claims("data").Obj(),
		steps: func(t *testing.T, f *fixture) {
			f.bringUp("web", 2)
			f.setPodStatus("web-1", corev1.PodFailed, false)
			f.mustSync("web")
			assert.Equal(t, []string{"delete pods web-1"}, podWrites(f.writes()))
			f.mustSync("web")
			assert.Equal(t, []string{"create pods web-1"}, podWrites(f.writes()), "no new claim: data-web-1 is re-used")
			assert.Empty(t, f.pod("web-1").Status.Phase, "a new pod, not the Failed one")
			assert.Equal(t, "data-web-1", f.pod("web-1").Spec.Volumes[0].PersistentVolumeClaim.ClaimName)
			f.setPodStatus("web-0", corev1.PodSucceeded, false)
			f.mustSync("web")
			assert.Equal(t, []string{"delete pods web-0"}, podWrites(f.writes()), "Succeeded counts as done too")
		},
	}, {
		name: "claims are kept on scale down and re-used on scale up",
		set:  newSet("web").Replicas(3).Claims("data", "logs").Obj(),
		steps: func(t *testing.T, f *fixture) {
			f.bringUp("web", 3)
			want := []string{"data-web-0", "data-web-1", "data-web-2", "logs-web-0", "logs-web-1", "logs-web-2"}
			assert.Equal(t, want, f.claimNames())
			f.scale("web", 1)
			f.mustSync("web")
			f.mustSync("web")
			assert.Equal(t, []string{"delete pods web-2", "delete pods web-1"}, podWrites(f.writes()))
			assert.Equal(t, want, f.claimNames(), "scale down deletes no claim")
			f.scale("web", 3)
			f.mustSync("web")
			assert.Equal(t, []string{"create pods web-1"}, podWrites(f.writes()), "web-1 comes back on data-web-1")
		},
	}, {
		name: "a claim deleted under a pending pod is recreated",
		set:  newSet("web").Replicas(1).Claims("data").Obj(),
		steps: func(t *testing.T, f *fixture) {
			f.mustSync("web")
			f.setPodStatus("web-0", corev1.PodPending, false)
			require.NoError(t, f.kube.Tracker().Delete(corev1.SchemeGroupVersion.WithResource("persistentvolumeclaims"), ns, "data-web-0"))
			f.writes()
			f.mustSync("web")
			assert.Equal(t, []string{"create persistentvolumeclaims data-web-0"}, podWrites(f.writes()))
		},
	}, {
		name: "orphans that match are adopted after an uncached read; odd names and other labels are not",
		set:  newSet("web").Replicas(2).Obj(),
		objs: func() []runtime.Object {
			set := newSet("web").Obj()
			odd := orphanPod(set, 0)
			odd.Name = "web-01"
			other := orphanPod(set, 1)
			other.Labels = map[string]string{"app": "other"}
			return []runtime.Object{orphanPod(set, 0), odd, other}
		}(),
		steps: func(t *testing.T, f *fixture) {
			f.mustSync("web")
			gets := 0
			for _, a := range f.msts.Actions() {
				if a.GetVerb() == "get" && a.GetResource().Resource == "ministatefulsets" {
					gets++
				}
			}
			assert.Equal(t, 1, gets, "one uncached read of the set before adopting")
			w := f.writes()
			assert.Contains(t, w, "patch pods web-0")
			assert.NotContains(t, w, "patch pods web-01")
			assert.NotContains(t, w, "patch pods web-1")
			assert.Empty(t, podWrites(w), "the adopted web-0 is not created again, and web-1 waits for it")
			assert.Equal(t, "waiting for web-0 to be Running and Ready before creating web-1", f.condition("web", appsv1alpha1.ConditionWaiting).Message)
			ref := metav1.GetControllerOf(f.pod("web-0"))
			require.NotNil(t, ref)
			assert.Equal(t, types.UID("uid-web"), ref.UID)
			assert.Nil(t, metav1.GetControllerOf(f.pod("web-01")))
		},
	}, {
		name: "no adoption when the uncached read finds a different set",
		set:  newSet("web").Replicas(1).Obj(),
		objs: []runtime.Object{orphanPod(newSet("web").Obj(), 0)},
		steps: func(t *testing.T, f *fixture) {
			f.msts.PrependReactor("get", "ministatefulsets", func(a clienttesting.Action) (bool, runtime.Object, error) {
				s := newSet("web").Obj()
				s.UID = "someone-else"
				return true, s, nil
			})
			err := f.sync("web")
			require.Error(t, err)
			assert.Contains(t, err.Error(), "was replaced")
			assert.Nil(t, metav1.GetControllerOf(f.pod("web-0")))
			assert.Empty(t, podWrites(f.writes()))
		},
	}, {
		name: "an owned pod whose labels stop matching is released",
		set:  newSet("web").Replicas(2).Obj(),
		steps: func(t *testing.T, f *fixture) {
			f.bringUp("web", 2)
			pod := f.pod("web-1")
			pod.Labels["app"] = "debugging"
			f.userUpdatePod(pod)
			err := f.sync("web")
			assert.Contains(t, f.writes(), "patch pods web-1")
			assert.Nil(t, metav1.GetControllerOf(f.pod("web-1")), "released, not deleted")
			var taken *nameTakenError
			require.ErrorAs(t, err, &taken, "the released pod keeps the name web-1: the set waits for it, with backoff")
			assert.Equal(t, "waiting for the name web-1: pod web-1 already exists (a pod no controller owns); retrying until it is gone",
				f.condition("web", appsv1alpha1.ConditionWaiting).Message)
		},
	}, {
		name: "Parallel creates and deletes in one pass without waiting",
		set:  newSet("web").Replicas(5).Parallel().Obj(),
		steps: func(t *testing.T, f *fixture) {
			f.mustSync("web")
			assert.ElementsMatch(t, []string{"create pods web-0", "create pods web-1", "create pods web-2", "create pods web-3", "create pods web-4"}, podWrites(f.writes()))
			f.mustSync("web")
			assert.Contains(t, f.condition("web", appsv1alpha1.ConditionWaiting).Message, "Parallel")
			f.scale("web", 1)
			f.mustSync("web")
			assert.ElementsMatch(t, []string{"delete pods web-1", "delete pods web-2", "delete pods web-3", "delete pods web-4"}, podWrites(f.writes()))
		},
	}, {
		name: "a Parallel burst stops at the first failure",
		set:  newSet("web").Replicas(8).Parallel().Obj(),
		steps: func(t *testing.T, f *fixture) {
			f.kube.PrependReactor("*", "*", failOn("create", "pods", 1, func(n string) bool { return n == "web-1" }))
			err := f.sync("web")
			require.Error(t, err)
			// web-0 alone first, then web-1 (fails) and web-2; whether web-2 returns
			// before web-1 and lets more start is the goroutines' order, so only this
			// is certain:
			assert.Contains(t, f.podNames(), "web-0")
			assert.NotContains(t, f.podNames(), "web-1")
			assert.Contains(t, strings.Join(f.events(), "\n"), "Warning FailedCreate create Pod web-1 in MiniStatefulSet web failed")
			f.mustSync("web")
			assert.Len(t, f.podNames(), 8)
		},
	}, {
		name: "a failed create stops an OrderedReady pass and is retried with backoff",
		set:  newSet("web").Replicas(2).Claims("data").Obj(),
		steps: func(t *testing.T, f *fixture) {
			f.kube.PrependReactor("*", "*", failOn("create", "pods", 1, anyName))
			key := cache.ObjectName{Namespace: ns, Name: "web"}
			f.refresh()
			f.c.queue.Add(key)
			require.True(t, f.c.processNext(f.ctx))
			assert.Equal(t, 1, f.c.queue.NumRequeues(key), "rate-limited requeue")
			assert.Equal(t, []string{"create persistentvolumeclaims data-web-0", "create pods web-0"}, podWrites(f.writes()))
			assert.Empty(t, f.podNames())
			assert.Contains(t, f.condition("web", appsv1alpha1.ConditionWaiting).Message, "retrying after an API error")
			f.mustSync("web")
			assert.Equal(t, []string{"create pods web-0"}, podWrites(f.writes()), "the claim is not created twice")
		},
	}, {
		name: "a failed claim create keeps the pod from being created",
		set:  newSet("web").Replicas(1).Claims("data").Obj(),
		steps: func(t *testing.T, f *fixture) {
			f.kube.PrependReactor("*", "*", failOn("create", "persistentvolumeclaims", 1, anyName))
			require.Error(t, f.sync("web"))
			assert.Empty(t, f.podNames())
			assert.Contains(t, strings.Join(f.events(), "\n"), "Warning FailedCreate create Claim data-web-0 for Pod web-0")
		},
	}, {
		name: "a selector that does not match the template is reported, not acted on",
		set:  newSet("web").Replicas(2).Selector(map[string]string{"app": "nothing"}).Obj(),
		objs: []runtime.Object{orphanPod(newSet("web").Obj(), 0)},
		steps: func(t *testing.T, f *fixture) {
			err := f.sync("web")
			require.ErrorIs(t, err, errInvalidSpec)
			ev := f.events()
			require.Len(t, ev, 1)
			assert.Contains(t, ev[0], "Warning InvalidSpec spec.selector \"app=nothing\" does not match the labels of spec.template")
			c := f.condition("web", appsv1alpha1.ConditionInvalidSpec)
			require.NotNil(t, c)
			assert.Equal(t, corev1.ConditionTrue, c.Status)
			assert.Equal(t, []string{"update ministatefulsets/status web"}, f.writes())
			require.ErrorIs(t, f.sync("web"), errInvalidSpec)
			assert.Empty(t, f.events(), "the same problem is not reported twice")
			assert.Empty(t, f.writes(), "nor written twice")
			key := cache.ObjectName{Namespace: ns, Name: "web"}
			f.c.queue.Add(key)
			require.True(t, f.c.processNext(f.ctx))
			assert.Equal(t, 1, f.c.queue.NumRequeues(key), "retried with backoff, not a hot loop")
			f.updateSet("web", func(s *appsv1alpha1.MiniStatefulSet) { s.Spec.Selector.MatchLabels = map[string]string{"app": "web"} })
			f.mustSync("web")
			assert.Nil(t, f.condition("web", appsv1alpha1.ConditionInvalidSpec), "fixed spec clears the condition")
		},
	}, {
		name: "a claim template named like a template volume of another kind is rejected, owned pods kept",
		set:  newSet("web").Replicas(2).Claims("data").Obj(),
		steps: func(t *testing.T, f *fixture) {
			f.bringUp("web", 2)
			f.updateSet("web", func(s *appsv1alpha1.MiniStatefulSet) {
				s.Spec.Template.Spec.Volumes = []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
				s.Spec.Replicas = ptr(int32(0))
			})
			require.ErrorIs(t, f.sync("web"), errInvalidSpec)
			assert.Contains(t, f.condition("web", appsv1alpha1.ConditionInvalidSpec).Message, `volumeClaimTemplate "data" has the name of a volume of another kind`)
			assert.Equal(t, []string{"web-0", "web-1"}, f.podNames(), "nothing deleted")
			assert.Equal(t, []string{"update ministatefulsets/status web"}, f.writes(), "nothing released")
		},
	}, {
		name: "identity labels removed by hand are restored",
		set:  newSet("web").Replicas(1).Obj(),
		steps: func(t *testing.T, f *fixture) {
			f.bringUp("web", 1)
			pod := f.pod("web-0")
			delete(pod.Labels, LabelPodIndex)
			f.userUpdatePod(pod)
			f.mustSync("web")
			assert.Contains(t, f.writes(), "patch pods web-0")
			assert.Equal(t, "0", f.pod("web-0").Labels[LabelPodIndex])
			assert.NotEmpty(t, f.pod("web-0").Spec.Containers, "only the labels written: the cache's view of the pod has no containers")
		},
	}, {
		name: "a set being deleted gets no new pods",
		set: func() *appsv1alpha1.MiniStatefulSet {
			s := newSet("web").Replicas(3).Obj()
			s.DeletionTimestamp = &metav1.Time{}
			s.Finalizers = []string{"example.com/hold"}
			return s
		}(),
		steps: func(t *testing.T, f *fixture) {
			f.mustSync("web")
			assert.Empty(t, podWrites(f.writes()))
		},
	}, {
		name: "a missing set is not an error",
		steps: func(t *testing.T, f *fixture) {
			require.NoError(t, f.sync("gone"))
			assert.Empty(t, f.writes())
		},
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, tc.set, tc.objs...)
			tc.steps(t, f)
		})
	}
}
