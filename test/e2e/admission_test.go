//go:build e2e

package e2e

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/util/retry"

	appsv1alpha1 "github.com/ministatefulset/ministatefulset/pkg/apis/apps/v1alpha1"
)

// admissionCase is a spec and what the API server must say about it.
type admissionCase struct {
	name string
	mut  func(*appsv1alpha1.MiniStatefulSet)
	// want is part of the refusal's message; empty for a spec that must be accepted.
	want string
	// orWant is the other message, for a spec that two policies refuse: the API
	// server names either one.
	orWant string
	// appsV1Accepts marks a refused spec that the API server accepts as an apps/v1
	// StatefulSet; docs/reliability.md says why MiniStatefulSet refuses each one.
	appsV1Accepts bool
}

// TestAdmissionRejectsBadSpecs proves that invalid specs are rejected by the API
// server itself, by the CRD schema or the policies of deploy/validation.yaml, with a
// message that says what is wrong, and that nothing is created. Every row also sends
// the same spec as an apps/v1 StatefulSet (dry run): the API server must refuse that
// too, unless the row says otherwise, so no StatefulSet manifest that converts today
// stops converting.
func TestAdmissionRejectsBadSpecs(t *testing.T) {
	// Runs beside the other tests that leave the suite's controller running.
	t.Parallel()
	e := newEnv(t, "admission")
	cases := []admissionCase{
		{name: "negative replicas", mut: func(s *appsv1alpha1.MiniStatefulSet) { s.Spec.Replicas = ptr(int32(-1)) },
			want: "spec.replicas: Invalid value: -1: spec.replicas in body should be greater than or equal to 0"},
		{name: "selector does not match the template", mut: func(s *appsv1alpha1.MiniStatefulSet) {
			s.Spec.Selector.MatchLabels = map[string]string{"app": "other"}
		}, want: "spec.selector.matchLabels must match spec.template.metadata.labels, and these do not: app=other"},
		{name: "template without labels", mut: func(s *appsv1alpha1.MiniStatefulSet) { s.Spec.Template.Labels = nil },
			want: "spec.selector.matchLabels must match spec.template.metadata.labels, and these do not: app=bad"},
		{name: "selector expression does not match the template", mut: func(s *appsv1alpha1.MiniStatefulSet) {
			s.Spec.Selector = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "app", Operator: metav1.LabelSelectorOpNotIn, Values: []string{"bad"}}}}
		}, want: "spec.selector.matchExpressions do not match spec.template.metadata.labels"},
		{name: "empty selector", mut: func(s *appsv1alpha1.MiniStatefulSet) { s.Spec.Selector = &metav1.LabelSelector{} },
			want: "spec.selector must not be empty"},
		{name: "selector key not a label key", mut: func(s *appsv1alpha1.MiniStatefulSet) {
			s.Spec.Selector.MatchLabels = map[string]string{"bad key": "x"}
			s.Spec.Template.Labels["bad key"] = "x"
		}, want: "spec.selector has keys that are not valid label keys: 'bad key'",
			orWant: "spec.template.metadata.labels are not valid pod labels: bad key=x"},
		{name: "selector operator unknown", mut: func(s *appsv1alpha1.MiniStatefulSet) {
			s.Spec.Selector = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "app", Operator: "Equals", Values: []string{"bad"}}}}
		}, want: "spec.selector.matchExpressions operators must be In, NotIn, Exists or DoesNotExist, not Equals"},
		{name: "selector In without values", mut: func(s *appsv1alpha1.MiniStatefulSet) {
			s.Spec.Selector = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "app", Operator: metav1.LabelSelectorOpIn}}}
		}, want: "In and NotIn need values"},
		{name: "template label value invalid", mut: func(s *appsv1alpha1.MiniStatefulSet) { s.Spec.Template.Labels["tier"] = "bad value!" },
			want: "spec.template.metadata.labels are not valid pod labels: tier=bad value!"},
		{name: "name too long for pod names", mut: func(s *appsv1alpha1.MiniStatefulSet) { s.Name = "bad" + strings.Repeat("x", 50) },
			want: "metadata.name must be at most 52 characters", appsV1Accepts: true},
		{name: "restartPolicy Never", mut: func(s *appsv1alpha1.MiniStatefulSet) { s.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyNever },
			want: "spec.template.spec.restartPolicy must be Always"},
		{name: "restartPolicy OnFailure", mut: func(s *appsv1alpha1.MiniStatefulSet) {
			s.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyOnFailure
		},
			want: "spec.template.spec.restartPolicy must be Always"},
		{name: "activeDeadlineSeconds", mut: func(s *appsv1alpha1.MiniStatefulSet) { s.Spec.Template.Spec.ActiveDeadlineSeconds = ptr(int64(60)) },
			want: "spec.template.spec.activeDeadlineSeconds is not allowed"},
		{name: "no containers", mut: func(s *appsv1alpha1.MiniStatefulSet) {
			s.Spec.Template.Spec.Containers = []corev1.Container{}
			s.Spec.VolumeClaimTemplates = nil
		}, want: "spec.template.spec.containers must name at least one container"},
		{name: "container name Bad_Name", mut: func(s *appsv1alpha1.MiniStatefulSet) { s.Spec.Template.Spec.Containers[0].Name = "Bad_Name" },
			want: "container names must be DNS labels (lowercase letters, digits and '-', at most 63), as in any Pod; these are not: 'Bad_Name'"},
		{name: "init container name with a dot", mut: func(s *appsv1alpha1.MiniStatefulSet) {
			s.Spec.Template.Spec.InitContainers = []corev1.Container{{Name: "init.db", Image: "busybox"}}
		}, want: "these are not: 'init.db' (must not contain dots)"},
		{name: "volume name Bad_Vol", mut: func(s *appsv1alpha1.MiniStatefulSet) {
			s.Spec.Template.Spec.Volumes = []corev1.Volume{{Name: "Bad_Vol", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
		}, want: "volume names must be DNS labels"},
		{name: "claim template name with capitals", mut: func(s *appsv1alpha1.MiniStatefulSet) { renameClaim(s, "Data") },
			want: "a claim template's name is also the name of a volume in every pod, so it must be a DNS label"},
		{name: "claim template name of 64 characters", mut: func(s *appsv1alpha1.MiniStatefulSet) { renameClaim(s, "c"+strings.Repeat("b", 63)) },
			want: "(must be no more than 63 characters)"},
		{name: "claim template without a name", mut: func(s *appsv1alpha1.MiniStatefulSet) { renameClaim(s, "") },
			want: "every claim template needs a metadata.name"},
		{name: "template annotations over 256 KiB", mut: func(s *appsv1alpha1.MiniStatefulSet) {
			s.Spec.Template.Annotations = map[string]string{"big": strings.Repeat("x", 256<<10)}
		}, want: "spec.template.metadata.annotations hold 262147 bytes; a Pod's annotations may hold at most 262144 (256 KiB)"},
		{name: "requests above limits", mut: func(s *appsv1alpha1.MiniStatefulSet) {
			s.Spec.Template.Spec.Containers[0].Resources = corev1.ResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2")},
				Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1500m")}}
		}, want: "a container's resource requests must not exceed its limits, as in any Pod; they do in: redis"},
		{name: "unknown pod management policy", mut: func(s *appsv1alpha1.MiniStatefulSet) { s.Spec.PodManagementPolicy = "Sometimes" },
			want: `spec.podManagementPolicy: Unsupported value: "Sometimes"`},
		{name: "rollingUpdate with OnDelete", mut: func(s *appsv1alpha1.MiniStatefulSet) {
			s.Spec.UpdateStrategy = appsv1alpha1.StatefulSetUpdateStrategy{Type: appsv1alpha1.OnDeleteStatefulSetStrategyType,
				RollingUpdate: &appsv1alpha1.RollingUpdateStatefulSetStrategy{Partition: ptr(int32(1))}}
		}, want: "spec.updateStrategy.rollingUpdate is only allowed with type RollingUpdate"},
		{name: "maxUnavailable 0", mut: withMaxUnavailable(intstr.FromInt32(0)), want: "spec.updateStrategy.rollingUpdate.maxUnavailable must be greater than 0"},
		{name: "maxUnavailable 0%", mut: withMaxUnavailable(intstr.FromString("0%")), want: "spec.updateStrategy.rollingUpdate.maxUnavailable must be greater than 0"},
		{name: "maxUnavailable 150%", mut: withMaxUnavailable(intstr.FromString("150%")), want: "a percentage from 1% to 100%"},
		{name: "maxUnavailable string without %", mut: withMaxUnavailable(intstr.FromString("3")), want: "a positive number or a percentage from 1% to 100%"},
		{name: "unknown retention value", mut: func(s *appsv1alpha1.MiniStatefulSet) {
			s.Spec.PersistentVolumeClaimRetentionPolicy = &appsv1alpha1.StatefulSetPersistentVolumeClaimRetentionPolicy{WhenDeleted: "Keep"}
		}, want: `spec.persistentVolumeClaimRetentionPolicy.whenDeleted: Unsupported value: "Keep"`},
		{name: "negative minReadySeconds", mut: func(s *appsv1alpha1.MiniStatefulSet) { s.Spec.MinReadySeconds = -1 },
			want: "spec.minReadySeconds in body should be greater than or equal to 0"},
		{name: "negative revisionHistoryLimit", mut: func(s *appsv1alpha1.MiniStatefulSet) { s.Spec.RevisionHistoryLimit = ptr(int32(-1)) },
			want: "spec.revisionHistoryLimit in body should be greater than or equal to 0", appsV1Accepts: true},
		{name: "negative start ordinal", mut: func(s *appsv1alpha1.MiniStatefulSet) {
			s.Spec.Ordinals = &appsv1alpha1.StatefulSetOrdinals{Start: -1}
		}, want: "spec.ordinals.start in body should be greater than or equal to 0"},
		{name: "ordinals past 2^31", mut: func(s *appsv1alpha1.MiniStatefulSet) {
			s.Spec.Ordinals = &appsv1alpha1.StatefulSetOrdinals{Start: math.MaxInt32 - 50}
			s.Spec.Replicas = ptr(int32(100))
		}, want: "spec.ordinals.start + spec.replicas must be at most 2147483648", appsV1Accepts: true},
		// Beyond apps/v1: a StatefulSet has no such field (the API server drops it).
		{name: "reserveOrdinals not an ordinal", mut: func(s *appsv1alpha1.MiniStatefulSet) {
			s.Spec.ReserveOrdinals = []intstr.IntOrString{intstr.FromString("two")}
		}, want: `spec.reserveOrdinals items must be ordinals (numbers from 0) or inclusive ranges of them such as "3-5"`, appsV1Accepts: true},
		{name: "reserveOrdinals negative", mut: func(s *appsv1alpha1.MiniStatefulSet) {
			s.Spec.ReserveOrdinals = []intstr.IntOrString{intstr.FromInt32(-1)}
		}, want: "spec.reserveOrdinals items must be ordinals", appsV1Accepts: true},
		{name: "reserveOrdinals range downward", mut: func(s *appsv1alpha1.MiniStatefulSet) {
			s.Spec.ReserveOrdinals = []intstr.IntOrString{intstr.FromString("5-3")}
		}, want: "spec.reserveOrdinals ranges must go from a lower ordinal to a higher one", appsV1Accepts: true},
		{name: "reserveOrdinals past 2^31", mut: func(s *appsv1alpha1.MiniStatefulSet) {
			s.Spec.ReserveOrdinals = []intstr.IntOrString{intstr.FromString("1-4294967296")}
		}, want: "each at most 2147483647", appsV1Accepts: true},
		{name: "unhealthyPodReplacement unknown", mut: func(s *appsv1alpha1.MiniStatefulSet) {
			s.Spec.UpdateStrategy.RollingUpdate = &appsv1alpha1.RollingUpdateStatefulSetStrategy{UnhealthyPodReplacement: "Sometimes"}
		}, want: `Unsupported value: "Sometimes"`, appsV1Accepts: true},
		{name: "negative partition", mut: func(s *appsv1alpha1.MiniStatefulSet) {
			s.Spec.UpdateStrategy = appsv1alpha1.StatefulSetUpdateStrategy{RollingUpdate: &appsv1alpha1.RollingUpdateStatefulSetStrategy{Partition: ptr(int32(-1))}}
		}, want: "should be greater than or equal to 0"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			set := convert(t, e.ns, "bad", statefulSpec("bad", 2, nil, true))
			tc.mut(set)
			_, err := msts.AppsV1alpha1().MiniStatefulSets(e.ns).Create(e.ctx, set, metav1.CreateOptions{})
			require.Error(t, err, "the API server accepted it")
			if tc.orWant == "" || !strings.Contains(err.Error(), tc.orWant) {
				assert.Contains(t, err.Error(), tc.want)
			}
			stsErr := createAsStatefulSet(t, e.ns, set)
			if tc.appsV1Accepts {
				assert.NoError(t, stsErr, "the API server refuses this StatefulSet: drop appsV1Accepts")
			} else {
				assert.Error(t, stsErr, "the API server accepts this StatefulSet, so a converted manifest would now be refused")
			}
		})
	}
	list, err := msts.AppsV1alpha1().MiniStatefulSets(e.ns).List(e.ctx, metav1.ListOptions{})
	require.NoError(t, err)
	assert.Empty(t, list.Items, "nothing was created")
	assert.Empty(t, e.pods())

	// Immutable fields: a valid set, then updates the API server must refuse.
	e.createSet("redis", statefulSpec("redis", 0, nil, true))
	immutable := []struct {
		name string
		mut  func(*appsv1alpha1.MiniStatefulSet)
		want string
	}{
		{"selector", func(s *appsv1alpha1.MiniStatefulSet) {
			s.Spec.Selector.MatchLabels["tier"] = "x"
			s.Spec.Template.Labels["tier"] = "x"
		}, "spec.selector is immutable"},
		{"serviceName", func(s *appsv1alpha1.MiniStatefulSet) { s.Spec.ServiceName = "other" }, "spec.serviceName is immutable"},
		{"volumeClaimTemplates", func(s *appsv1alpha1.MiniStatefulSet) { s.Spec.VolumeClaimTemplates[0].Name = "other" }, "spec.volumeClaimTemplates is immutable"},
		{"volumeClaimTemplates storage lowered", func(s *appsv1alpha1.MiniStatefulSet) {
			s.Spec.VolumeClaimTemplates[0].Spec.Resources.Requests[corev1.ResourceStorage] = resource.MustParse("512Mi")
		}, "resources.requests.storage may only be raised (a claim never shrinks): 512Mi would replace 1Gi"},
		{"volumeClaimTemplates storage limit", func(s *appsv1alpha1.MiniStatefulSet) {
			s.Spec.VolumeClaimTemplates[0].Spec.Resources.Limits = corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("5Gi")}
		}, "spec.volumeClaimTemplates is immutable but for raising spec.resources.requests.storage"},
		{"volumeClaimTemplates accessModes", func(s *appsv1alpha1.MiniStatefulSet) {
			s.Spec.VolumeClaimTemplates[0].Spec.AccessModes = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteMany}
		}, "spec.volumeClaimTemplates is immutable but for raising spec.resources.requests.storage"},
		{"volumeClaimTemplates storageClassName", func(s *appsv1alpha1.MiniStatefulSet) {
			s.Spec.VolumeClaimTemplates[0].Spec.StorageClassName = ptr("other")
		}, "spec.volumeClaimTemplates is immutable but for raising spec.resources.requests.storage"},
		{"volumeClaimTemplates labels", func(s *appsv1alpha1.MiniStatefulSet) {
			s.Spec.VolumeClaimTemplates[0].Labels = map[string]string{"tier": "x"}
		}, "spec.volumeClaimTemplates is immutable but for raising spec.resources.requests.storage"},
		{"volumeClaimTemplates added", func(s *appsv1alpha1.MiniStatefulSet) {
			s.Spec.VolumeClaimTemplates = append(s.Spec.VolumeClaimTemplates, *s.Spec.VolumeClaimTemplates[0].DeepCopy())
			s.Spec.VolumeClaimTemplates[1].Name = "more"
		}, "spec.volumeClaimTemplates is immutable"},
		{"podManagementPolicy", func(s *appsv1alpha1.MiniStatefulSet) { s.Spec.PodManagementPolicy = appsv1alpha1.ParallelPodManagement }, "spec.podManagementPolicy is immutable"},
	}
	// update re-reads the set when the controller's status write got in between.
	update := func(mut func(*appsv1alpha1.MiniStatefulSet)) error {
		return retry.RetryOnConflict(retry.DefaultRetry, func() error {
			cur, err := msts.AppsV1alpha1().MiniStatefulSets(e.ns).Get(e.ctx, "redis", metav1.GetOptions{})
			if err != nil {
				return err
			}
			mut(cur)
			_, err = msts.AppsV1alpha1().MiniStatefulSets(e.ns).Update(e.ctx, cur, metav1.UpdateOptions{})
			return err
		})
	}
	for _, tc := range immutable {
		t.Run("immutable "+tc.name, func(t *testing.T) {
			err := update(tc.mut)
			require.Error(t, err, "the API server accepted a change of %s", tc.name)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
	t.Run("valid maxUnavailable and retention values pass", func(t *testing.T) {
		set := convert(t, e.ns, "good", statefulSpec("good", 0, nil, false))
		set.Spec.UpdateStrategy.RollingUpdate = &appsv1alpha1.RollingUpdateStatefulSetStrategy{MaxUnavailable: ptr(intstr.FromString("50%")), Partition: ptr(int32(1))}
		set.Spec.PersistentVolumeClaimRetentionPolicy = &appsv1alpha1.StatefulSetPersistentVolumeClaimRetentionPolicy{WhenDeleted: "Delete", WhenScaled: "Delete"}
		_, err := msts.AppsV1alpha1().MiniStatefulSets(e.ns).Create(e.ctx, set, metav1.CreateOptions{})
		require.NoError(t, err)
	})
	// A set applied from YAML has claim templates without a status; a typed client's
	// Get and Update sends them with status {}. That is no change, as in apps/v1 (the
	// whole-template CEL rule this replaced refused it).
	t.Run("a typed update of a set applied from YAML", func(t *testing.T) {
		body := `{"apiVersion":"apps.ministatefulset.dev/v1alpha1","kind":"MiniStatefulSet","metadata":{"name":"applied"},
			"spec":{"replicas":0,"serviceName":"applied","selector":{"matchLabels":{"app":"applied"}},
			"template":{"metadata":{"labels":{"app":"applied"}},"spec":{"containers":[{"name":"redis","image":"redis:7"}]}},
			"volumeClaimTemplates":[{"metadata":{"name":"data"},"spec":{"accessModes":["ReadWriteOnce"],"resources":{"requests":{"storage":"1Gi"}}}}]}}`
		err := msts.AppsV1alpha1().RESTClient().Post().Namespace(e.ns).Resource("ministatefulsets").
			Body([]byte(body)).SetHeader("Content-Type", "application/json").Do(e.ctx).Error()
		require.NoError(t, err)
		err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
			cur, err := msts.AppsV1alpha1().MiniStatefulSets(e.ns).Get(e.ctx, "applied", metav1.GetOptions{})
			if err != nil {
				return err
			}
			cur.Spec.Template.Spec.Containers[0].Image = "redis:8"
			_, err = msts.AppsV1alpha1().MiniStatefulSets(e.ns).Update(e.ctx, cur, metav1.UpdateOptions{})
			return err
		})
		assert.NoError(t, err, "a typed Get and Update that changes only the image")
	})
	t.Run("mutable fields still change", func(t *testing.T) {
		require.NoError(t, update(func(cur *appsv1alpha1.MiniStatefulSet) {
			cur.Spec.Replicas = ptr(int32(1))
			cur.Spec.MinReadySeconds = 1
			cur.Spec.Template.Spec.Containers[0].Image = "redis:8"
		}))
	})
	// Beyond apps/v1: a claim template's storage request may be raised, and only that.
	t.Run("claim template storage raised", func(t *testing.T) {
		require.NoError(t, update(func(cur *appsv1alpha1.MiniStatefulSet) {
			cur.Spec.VolumeClaimTemplates[0].Spec.Resources.Requests[corev1.ResourceStorage] = resource.MustParse("1536Mi")
		}))
		err := update(func(cur *appsv1alpha1.MiniStatefulSet) {
			cur.Spec.VolumeClaimTemplates[0].Spec.Resources.Requests[corev1.ResourceStorage] = resource.MustParse("1Gi")
		})
		require.Error(t, err, "back down to 1Gi")
		assert.Contains(t, err.Error(), "may only be raised")
	})
}

// TestAdmissionAcceptsOddSpecs proves that specs at the limits, or odd but valid for
// a StatefulSet, pass admission (dry run: nothing runs). What the controller then
// does with them is TestHostileSpecs's part.
func TestAdmissionAcceptsOddSpecs(t *testing.T) {
	// Runs beside the other tests that leave the suite's controller running.
	t.Parallel()
	e := newEnv(t, "admission-ok")
	cases := []admissionCase{
		{name: "name of 52 characters", mut: func(s *appsv1alpha1.MiniStatefulSet) { s.Name = "n" + strings.Repeat("a", 51) }},
		{name: "replicas 2147483647", mut: func(s *appsv1alpha1.MiniStatefulSet) { s.Spec.Replicas = ptr(int32(math.MaxInt32)) }},
		{name: "last ordinal 2147483647", mut: func(s *appsv1alpha1.MiniStatefulSet) {
			s.Spec.Ordinals = &appsv1alpha1.StatefulSetOrdinals{Start: math.MaxInt32 - 1}
		}},
		{name: "minReadySeconds 2147483647", mut: func(s *appsv1alpha1.MiniStatefulSet) { s.Spec.MinReadySeconds = math.MaxInt32 }},
		{name: "partition above replicas", mut: func(s *appsv1alpha1.MiniStatefulSet) {
			s.Spec.UpdateStrategy.RollingUpdate = &appsv1alpha1.RollingUpdateStatefulSetStrategy{Partition: ptr(int32(50))}
		}},
		{name: "revisionHistoryLimit 0", mut: func(s *appsv1alpha1.MiniStatefulSet) { s.Spec.RevisionHistoryLimit = ptr(int32(0)) }},
		{name: "maxUnavailable 100%", mut: withMaxUnavailable(intstr.FromString("100%"))},
		{name: "reserveOrdinals of ordinals and ranges", mut: func(s *appsv1alpha1.MiniStatefulSet) {
			s.Spec.ReserveOrdinals = []intstr.IntOrString{intstr.FromInt32(1), intstr.FromString("3-5"), intstr.FromString("7"), intstr.FromString("0-2147483647")}
		}},
		{name: "unhealthyPodReplacement Automatic", mut: func(s *appsv1alpha1.MiniStatefulSet) {
			s.Spec.UpdateStrategy.RollingUpdate = &appsv1alpha1.RollingUpdateStatefulSetStrategy{UnhealthyPodReplacement: appsv1alpha1.AutomaticallyReplaceUnhealthyPods}
		}},
		{name: "claim template name of 63 characters", mut: func(s *appsv1alpha1.MiniStatefulSet) { renameClaim(s, "c"+strings.Repeat("b", 62)) }},
		{name: "template annotations of exactly 256 KiB", mut: func(s *appsv1alpha1.MiniStatefulSet) {
			s.Spec.Template.Annotations = map[string]string{"big": strings.Repeat("x", 256<<10-3)}
		}},
		{name: "selector with matchExpressions only", mut: func(s *appsv1alpha1.MiniStatefulSet) {
			s.Spec.Selector = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "app", Operator: metav1.LabelSelectorOpExists}}}
		}},
		{name: "template volume named like a claim template", mut: func(s *appsv1alpha1.MiniStatefulSet) {
			s.Spec.Template.Spec.Volumes = []corev1.Volume{{Name: s.Spec.VolumeClaimTemplates[0].Name, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
		}},
		{name: "two claim templates of one name", mut: func(s *appsv1alpha1.MiniStatefulSet) {
			s.Spec.VolumeClaimTemplates = append(s.Spec.VolumeClaimTemplates, *s.Spec.VolumeClaimTemplates[0].DeepCopy())
		}},
		{name: "template with finalizers, name, hostname and subdomain", mut: func(s *appsv1alpha1.MiniStatefulSet) {
			s.Spec.Template.Finalizers = []string{"example.com/hold"}
			s.Spec.Template.Name = "evil"
			s.Spec.Template.Spec.Hostname = "evil"
			s.Spec.Template.Spec.Subdomain = "evil"
		}},
		{name: "serviceName of no Service", mut: func(s *appsv1alpha1.MiniStatefulSet) { s.Spec.ServiceName = "nowhere" }},
		{name: "requests equal to limits", mut: func(s *appsv1alpha1.MiniStatefulSet) {
			s.Spec.Template.Spec.Containers[0].Resources = corev1.ResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1500m")},
				Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1.5")}}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			set := convert(t, e.ns, "odd", statefulSpec("odd", 0, nil, true))
			tc.mut(set)
			_, err := msts.AppsV1alpha1().MiniStatefulSets(e.ns).Create(e.ctx, set, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
			assert.NoError(t, err, "refused")
			assert.NoError(t, createAsStatefulSet(t, e.ns, set), "the API server refuses this StatefulSet: the row is not valid apps/v1")
		})
	}
}

// createAsStatefulSet sends the set's name and spec as an apps/v1 StatefulSet, dry
// run, and returns the API server's answer.
func createAsStatefulSet(t *testing.T, ns string, set *appsv1alpha1.MiniStatefulSet) error {
	t.Helper()
	raw, err := json.Marshal(set.Spec)
	require.NoError(t, err)
	sts := &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: set.Name, Namespace: ns}}
	require.NoError(t, json.Unmarshal(raw, &sts.Spec))
	_, err = kube.AppsV1().StatefulSets(ns).Create(t.Context(), sts, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
	return err
}

// renameClaim renames the set's first claim template and the mount that uses it.
func renameClaim(s *appsv1alpha1.MiniStatefulSet, name string) {
	old := s.Spec.VolumeClaimTemplates[0].Name
	s.Spec.VolumeClaimTemplates[0].Name = name
	for i, m := range s.Spec.Template.Spec.Containers[0].VolumeMounts {
		if m.Name == old {
			s.Spec.Template.Spec.Containers[0].VolumeMounts[i].Name = name
		}
	}
}

func withMaxUnavailable(v intstr.IntOrString) func(*appsv1alpha1.MiniStatefulSet) {
	return func(s *appsv1alpha1.MiniStatefulSet) {
		s.Spec.UpdateStrategy = appsv1alpha1.StatefulSetUpdateStrategy{RollingUpdate: &appsv1alpha1.RollingUpdateStatefulSetStrategy{MaxUnavailable: &v}}
	}
}
