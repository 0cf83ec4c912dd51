package compare

import (
	"context"
	"fmt"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Scenarios are the stories compare knows, in the order `all` runs them.
func Scenarios() []Scenario {
	return []Scenario{
		{Name: "create", Summary: "create the set: pods appear in ordinal order, each once the one below is Ready (OrderedReady)",
			Steps: func(p Plan) []Step { return []Step{createStep(p)} }},
		{Name: "scale-up", Summary: "scale up by 2: the new pods appear in ordinal order",
			Steps: func(p Plan) []Step { return []Step{createStep(p), scaleStep(p, p.Replicas+2)} }},
		{Name: "scale-down", Summary: "scale down by 2: the highest ordinal goes first, each gone before the next is deleted",
			Steps: func(p Plan) []Step { return []Step{createStep(p), scaleStep(p, scaledDown(p))} }},
		{Name: "unhealthy-pod", Summary: "hold a middle pod un-Ready and scale up: both stop at it (OrderedReady); release it: both go on",
			Steps: unhealthyPod},
		{Name: "failed-pod", NeedsFail: true, Summary: "make a pod Failed: both delete it and create it again under the same name",
			Steps: failedPod},
		{Name: "rolling-update", ChangesImage: true, Summary: "change the image: pods are replaced from the highest ordinal down, one at a time",
			Steps: func(p Plan) []Step { return []Step{createStep(p), imageStep("update", p)} }},
		{Name: "partition-canary", ChangesImage: true, Summary: "partition replicas-1 and a new image: only the top pod is updated; partition 0: the rest follow",
			Steps: partitionCanary},
		{Name: "rollback", ChangesImage: true, Summary: "change the image, then write the old template back: the pods return to the first revision",
			Steps: rollback},
		{Name: "ondelete", ChangesImage: true, Prepare: onDelete, Summary: "updateStrategy OnDelete: an image change replaces nothing; a deleted pod comes back at the new revision",
			Steps: ondelete},
		{Name: "retention-scale-down", Prepare: retention(appsv1.RetainPersistentVolumeClaimRetentionPolicyType, appsv1.DeletePersistentVolumeClaimRetentionPolicyType),
			Summary: "persistentVolumeClaimRetentionPolicy whenScaled Delete: a scale-down removes the claims of the removed ordinals",
			Steps: func(p Plan) []Step {
				n := scaledDown(p)
				st := scaleStep(p, n)
				st.Until = claimsGone(p, n)
				return []Step{createStep(p), st}
			}},
		{Name: "retention-delete", Prepare: retention(appsv1.DeletePersistentVolumeClaimRetentionPolicyType, appsv1.RetainPersistentVolumeClaimRetentionPolicyType),
			Summary: "persistentVolumeClaimRetentionPolicy whenDeleted Delete: deleting the set removes its pods and their claims",
			Steps: func(p Plan) []Step {
				return []Step{createStep(p), {Name: "delete", AnyOrder: true, Until: setGone(p),
					Action: Action{What: "delete the set (propagation Background)", Do: func(ctx context.Context, s *Side) error { return s.Delete(ctx) }}}}
			}},
		{Name: "min-ready-seconds", Prepare: func(spec *appsv1.StatefulSetSpec) { spec.MinReadySeconds = 2 },
			Summary: "minReadySeconds 2: each next pod is created at least 2s after the one below became Ready (OrderedReady)",
			Steps: func(p Plan) []Step {
				st := createStep(p)
				if !p.Parallel {
					st.Until = minReadyCreated(p, p.Replicas)
				}
				return []Step{st}
			}},
		{Name: "start-ordinal", Prepare: func(spec *appsv1.StatefulSetSpec) { spec.Ordinals = &appsv1.StatefulSetOrdinals{Start: 5} },
			Summary: "ordinals.start 5: the pods are numbered from 5, and a scale-up adds the next ordinal",
			Steps:   func(p Plan) []Step { return []Step{createStep(p), scaleStep(p, p.Replicas+1)} }},
	}
}

// scaledDown is the scale-down target: two fewer, down to none.
func scaledDown(p Plan) int { return max(p.Replicas-2, 0) }

func createStep(p Plan) Step {
	return Step{Name: "create", Until: settled(p, p.Replicas),
		Action: Action{What: "create the set", Do: func(ctx context.Context, s *Side) error { return s.Create(ctx) }}}
}

func scaleStep(p Plan, n int) Step {
	return Step{Name: fmt.Sprintf("scale-to-%d", n), Until: settled(p, n),
		Action: Action{What: fmt.Sprintf("scale to %s", replicasPhrase(n)), Do: func(ctx context.Context, s *Side) error { return s.Scale(ctx, n) }}}
}

func replicasPhrase(n int) string {
	if n == 1 {
		return "1 replica"
	}
	return fmt.Sprintf("%d replicas", n)
}

// imageStep changes the first container's image and waits for the rollout.
func imageStep(name string, p Plan) Step {
	return Step{Name: name, Until: rolledOut(p, p.Replicas), Action: setImage(p, "")}
}

func setImage(p Plan, also string) Action {
	container := p.Template.Spec.Containers[0].Name
	return Action{What: fmt.Sprintf("set the image of container %s to %s%s", container, p.Image, also),
		Do: func(ctx context.Context, s *Side) error {
			return s.Update(ctx, func(spec *appsv1.StatefulSetSpec) { spec.Template.Spec.Containers[0].Image = p.Image })
		}}
}

// middle is the pod the unhealthy-pod and failed-pod scenarios pick: one with pods
// on both sides of it when there are three or more.
func middle(p Plan) string { return p.Pod(p.Replicas / 2) }

func unhealthyPod(p Plan) []Step {
	held, grown := middle(p), p.Replicas+1
	scale := scaleStep(p, grown)
	if p.Parallel {
		scale.Until = pastHeld(p, grown, held)
	} else {
		scale.Until = halted(p, p.Replicas, grown, held)
	}
	return []Step{
		createStep(p),
		{Name: "hold", Until: heldUnready(p, p.Replicas, held),
			Action: Action{What: "hold " + held + " un-Ready", Do: func(ctx context.Context, s *Side) error { return s.Hold(ctx, held) }}},
		scale,
		{Name: "release", Until: settled(p, grown),
			Action: Action{What: "release " + held, Do: func(ctx context.Context, s *Side) error { return s.Release(ctx, held) }}},
	}
}

func failedPod(p Plan) []Step {
	failed := middle(p)
	return []Step{
		createStep(p),
		{Name: "fail", Until: replaced(p, p.Replicas, failed),
			Action: Action{What: "make " + failed + " Failed", Do: func(ctx context.Context, s *Side) error { return s.Fail(ctx, failed) }}},
	}
}

func partitionCanary(p Plan) []Step {
	partition := int32(p.Replicas - 1)
	update := setImage(p, fmt.Sprintf(" with partition %d", partition))
	update.Do = func(ctx context.Context, s *Side) error {
		return s.Update(ctx, func(spec *appsv1.StatefulSetSpec) {
			spec.Template.Spec.Containers[0].Image = p.Image
			setPartition(spec, partition)
		})
	}
	return []Step{
		createStep(p),
		{Name: "canary", Action: update, Until: canary(p)},
		{Name: "partition-0", Until: settled(p, p.Replicas),
			Action: Action{What: "set partition 0", Do: func(ctx context.Context, s *Side) error {
				return s.Update(ctx, func(spec *appsv1.StatefulSetSpec) { setPartition(spec, 0) })
			}}},
	}
}

func setPartition(spec *appsv1.StatefulSetSpec, partition int32) {
	if spec.UpdateStrategy.RollingUpdate == nil {
		spec.UpdateStrategy.RollingUpdate = &appsv1.RollingUpdateStatefulSetStrategy{}
	}
	spec.UpdateStrategy.RollingUpdate.Partition = &partition
}

func rollback(p Plan) []Step {
	first := p.Template.DeepCopy()
	return []Step{
		createStep(p),
		imageStep("update", p),
		{Name: "rollback", Until: rolledOut(p, p.Replicas),
			Action: Action{What: "write the first pod template back", Do: func(ctx context.Context, s *Side) error {
				return s.Update(ctx, func(spec *appsv1.StatefulSetSpec) { spec.Template = *first.DeepCopy() })
			}}},
	}
}

func ondelete(p Plan) []Step {
	top := p.Pod(p.Replicas - 1)
	return []Step{
		createStep(p),
		{Name: "update", Action: setImage(p, ""), Until: untouched(p)},
		{Name: "delete-" + top, Until: recreated(p, top),
			Action: Action{What: "delete pod " + top, Do: func(ctx context.Context, s *Side) error { return s.DeletePod(ctx, top) }}},
	}
}

func onDelete(spec *appsv1.StatefulSetSpec) {
	spec.UpdateStrategy = appsv1.StatefulSetUpdateStrategy{Type: appsv1.OnDeleteStatefulSetStrategyType}
}

// retention sets the claim retention policy, on a set that has claims to retain.
func retention(whenDeleted, whenScaled appsv1.PersistentVolumeClaimRetentionPolicyType) func(*appsv1.StatefulSetSpec) {
	return func(spec *appsv1.StatefulSetSpec) {
		ensureClaimTemplate(spec)
		spec.PersistentVolumeClaimRetentionPolicy = &appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{WhenDeleted: whenDeleted, WhenScaled: whenScaled}
	}
}

// ensureClaimTemplate adds a claim template to a set that has none: 1Gi with
// storageClassName "", which binds to the local cluster's static PVs.
func ensureClaimTemplate(spec *appsv1.StatefulSetSpec) {
	if len(spec.VolumeClaimTemplates) > 0 {
		return
	}
	class := ""
	spec.VolumeClaimTemplates = []corev1.PersistentVolumeClaim{{
		ObjectMeta: metav1.ObjectMeta{Name: "data"},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			StorageClassName: &class,
			Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
		},
	}}
}

// planFor reads a plan off the set both sides create.
func planFor(sts *appsv1.StatefulSet, image string) Plan {
	p := Plan{Set: sts.Name, Replicas: 1, Parallel: sts.Spec.PodManagementPolicy == appsv1.ParallelPodManagement,
		Template: *sts.Spec.Template.DeepCopy(), Image: image, MinReadySeconds: int(sts.Spec.MinReadySeconds)}
	if sts.Spec.Replicas != nil {
		p.Replicas = int(*sts.Spec.Replicas)
	}
	if sts.Spec.Ordinals != nil {
		p.Start = int(sts.Spec.Ordinals.Start)
	}
	for _, c := range sts.Spec.VolumeClaimTemplates {
		p.ClaimTemplates = append(p.ClaimTemplates, c.Name)
	}
	return p
}

// nextImage is an image name the update scenarios can change to where images are
// never pulled (kwok): the same repository at another tag.
func nextImage(image string) string {
	if i := strings.Index(image, "@"); i >= 0 {
		image = image[:i]
	}
	slash := strings.LastIndex(image, "/")
	if colon := strings.LastIndex(image, ":"); colon > slash {
		return image + "-compare"
	}
	return image + ":compare"
}
