package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// MiniStatefulSet runs pods with stable ordinal names, ordered creation and deletion,
// stable network identity through a headless Service and one claim per pod. Its spec
// and status carry the field names and meaning of apps/v1 StatefulSet.
//
// +genclient
// +genclient:method=GetScale,verb=get,subresource=scale,result=k8s.io/api/autoscaling/v1.Scale
// +genclient:method=UpdateScale,verb=update,subresource=scale,input=k8s.io/api/autoscaling/v1.Scale,result=k8s.io/api/autoscaling/v1.Scale
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
// +kubebuilder:object:root=true
// +kubebuilder:resource:shortName=msts,categories=all
// +kubebuilder:subresource:status
// +kubebuilder:subresource:scale:specpath=.spec.replicas,statuspath=.status.replicas,selectorpath=.status.selector
// +kubebuilder:printcolumn:name="Desired",type=integer,JSONPath=`.spec.replicas`,description="Replicas asked for"
// +kubebuilder:printcolumn:name="Current",type=integer,JSONPath=`.status.replicas`,description="Pods that exist"
// +kubebuilder:printcolumn:name="Ready",type=integer,JSONPath=`.status.readyReplicas`,description="Pods Running and Ready"
// +kubebuilder:printcolumn:name="Updated",type=integer,JSONPath=`.status.updatedReplicas`,description="Pods at the update revision"
// +kubebuilder:printcolumn:name="Waiting",type=string,JSONPath=`.status.conditions[?(@.type=="Waiting")].message`,priority=1,description="What the controller waits for"
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:validation:XValidation:rule="size(self.metadata.name) <= 52",message="metadata.name must be at most 52 characters: pod names <name>-<ordinal> must be DNS labels and the revision label <name>-<hash> must fit in 63 characters"
type MiniStatefulSet struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is the desired state: apps/v1 StatefulSetSpec.
	// +optional
	Spec MiniStatefulSetSpec `json:"spec,omitempty"`

	// Status is the observed state, written by the controller only.
	// +optional
	Status MiniStatefulSetStatus `json:"status,omitempty"`
}

// PodManagementPolicyType says whether pods are created and deleted in order.
// +kubebuilder:validation:Enum=OrderedReady;Parallel
type PodManagementPolicyType string

const (
	// OrderedReadyPodManagement creates pods one at a time in increasing ordinal order,
	// each only once all lower ones are Running and Ready, and deletes them in reverse.
	OrderedReadyPodManagement PodManagementPolicyType = "OrderedReady"
	// ParallelPodManagement creates and deletes pods without waiting for each other.
	ParallelPodManagement PodManagementPolicyType = "Parallel"
)

// StatefulSetUpdateStrategyType says how pods are replaced when the template changes.
// +kubebuilder:validation:Enum=RollingUpdate;OnDelete
type StatefulSetUpdateStrategyType string

const (
	// RollingUpdateStatefulSetStrategyType replaces pods from the highest ordinal down.
	RollingUpdateStatefulSetStrategyType StatefulSetUpdateStrategyType = "RollingUpdate"
	// OnDeleteStatefulSetStrategyType replaces a pod only when the user deletes it.
	OnDeleteStatefulSetStrategyType StatefulSetUpdateStrategyType = "OnDelete"
)

// PersistentVolumeClaimRetentionPolicyType says what happens to claims.
// +kubebuilder:validation:Enum=Retain;Delete
type PersistentVolumeClaimRetentionPolicyType string

const (
	// RetainPersistentVolumeClaimRetentionPolicyType keeps the claims.
	RetainPersistentVolumeClaimRetentionPolicyType PersistentVolumeClaimRetentionPolicyType = "Retain"
	// DeletePersistentVolumeClaimRetentionPolicyType lets the garbage collector delete them.
	DeletePersistentVolumeClaimRetentionPolicyType PersistentVolumeClaimRetentionPolicyType = "Delete"
)

// MiniStatefulSetSpec is apps/v1 StatefulSetSpec. The rules below are those the API
// server applies to a StatefulSet, written in CEL so bad input fails at admission.
// That the selector matches the template's labels is checked by the
// ValidatingAdmissionPolicy in deploy/validation.yaml: label maps are unbounded, so
// the rule is over the CRD's static cost budget, while a policy is costed at run time.
// For the same reason the rule below compares only how many claim templates there
// are; a policy there compares their metadata and spec, leaving out the status a
// typed client sends as {} (comparing whole templates here refused a typed update of
// a set applied from YAML).
//
// +kubebuilder:validation:XValidation:rule="(has(self.selector.matchLabels) && size(self.selector.matchLabels) > 0) || (has(self.selector.matchExpressions) && size(self.selector.matchExpressions) > 0)",message="spec.selector must not be empty: it would match every pod in the namespace"
// +kubebuilder:validation:XValidation:rule="has(self.template.spec) && size(self.template.spec.containers) > 0",message="spec.template.spec.containers must name at least one container"
// +kubebuilder:validation:XValidation:rule="!has(self.template.spec) || !has(self.template.spec.restartPolicy) || self.template.spec.restartPolicy == 'Always'",message="spec.template.spec.restartPolicy must be Always"
// +kubebuilder:validation:XValidation:rule="!has(self.template.spec) || !has(self.template.spec.activeDeadlineSeconds)",message="spec.template.spec.activeDeadlineSeconds is not allowed: a set's pods run until the set replaces them, as in a StatefulSet"
// +kubebuilder:validation:XValidation:rule="self.selector == oldSelf.selector",message="spec.selector is immutable"
// +kubebuilder:validation:XValidation:rule="has(self.serviceName) == has(oldSelf.serviceName) && (!has(self.serviceName) || self.serviceName == oldSelf.serviceName)",message="spec.serviceName is immutable"
// +kubebuilder:validation:XValidation:rule="has(self.volumeClaimTemplates) == has(oldSelf.volumeClaimTemplates) && (!has(self.volumeClaimTemplates) || size(self.volumeClaimTemplates) == size(oldSelf.volumeClaimTemplates))",message="spec.volumeClaimTemplates is immutable"
// +kubebuilder:validation:XValidation:rule="!has(self.ordinals) || self.ordinals.start + (has(self.replicas) ? self.replicas : 1) <= 2147483648",message="spec.ordinals.start + spec.replicas must be at most 2147483648: every ordinal, and so every pod name <name>-<ordinal>, must fit in 32 bits"
// +kubebuilder:validation:XValidation:rule="has(self.podManagementPolicy) == has(oldSelf.podManagementPolicy) && (!has(self.podManagementPolicy) || self.podManagementPolicy == oldSelf.podManagementPolicy)",message="spec.podManagementPolicy is immutable"
type MiniStatefulSetSpec struct {
	// Replicas is the desired number of pods. Defaults to 1.
	// +optional
	// +kubebuilder:default=1
	// +kubebuilder:validation:Minimum=0
	Replicas *int32 `json:"replicas,omitempty"`

	// Selector must match the labels of the pod template.
	Selector *metav1.LabelSelector `json:"selector"`

	// Template is the pod every ordinal is made from.
	Template corev1.PodTemplateSpec `json:"template"`

	// VolumeClaimTemplates are the claims each pod gets, named
	// <template>-<set>-<ordinal>, and mounted through the pod volume of the same name.
	// +optional
	// +listType=atomic
	VolumeClaimTemplates []corev1.PersistentVolumeClaim `json:"volumeClaimTemplates,omitempty"`

	// ServiceName is the headless Service that gives each pod its DNS name
	// <pod>.<serviceName>.<namespace>.svc.
	// +optional
	ServiceName string `json:"serviceName,omitempty"`

	// PodManagementPolicy is OrderedReady (default) or Parallel.
	// +optional
	// +kubebuilder:default=OrderedReady
	PodManagementPolicy PodManagementPolicyType `json:"podManagementPolicy,omitempty"`

	// UpdateStrategy says how pods are replaced when the template changes.
	// +optional
	// +kubebuilder:default={type: RollingUpdate}
	UpdateStrategy StatefulSetUpdateStrategy `json:"updateStrategy,omitempty"`

	// RevisionHistoryLimit is how many old ControllerRevisions are kept. Defaults to 10.
	// +optional
	// +kubebuilder:default=10
	// +kubebuilder:validation:Minimum=0
	RevisionHistoryLimit *int32 `json:"revisionHistoryLimit,omitempty"`

	// MinReadySeconds is how long a pod must be Ready before it counts as available.
	// +optional
	// +kubebuilder:validation:Minimum=0
	MinReadySeconds int32 `json:"minReadySeconds,omitempty"`

	// PersistentVolumeClaimRetentionPolicy says whether claims are deleted with the set
	// or when their pod is scaled away. Defaults to Retain for both.
	// +optional
	// +kubebuilder:default={whenDeleted: Retain, whenScaled: Retain}
	PersistentVolumeClaimRetentionPolicy *StatefulSetPersistentVolumeClaimRetentionPolicy `json:"persistentVolumeClaimRetentionPolicy,omitempty"`

	// Ordinals sets the first ordinal. Defaults to 0.
	// +optional
	Ordinals *StatefulSetOrdinals `json:"ordinals,omitempty"`

	// ReserveOrdinals are ordinals that get no pod: each item an ordinal (1) or an
	// inclusive range ("3-5"). replicas counts the pods that run; they take the
	// lowest ordinals from ordinals.start up that are not reserved (web-0, web-2,
	// web-3 with 1 reserved), and the ordering guarantees hold over those. A pod at
	// an ordinal reserved later is removed as in a scale-down: the highest first
	// under OrderedReady, its claims kept unless whenScaled is Delete. Partition
	// stays an ordinal: ordinals below ordinals.start + partition keep the current
	// revision. Beyond apps/v1 (OpenKruise's Advanced StatefulSet has the same field).
	// The items' form is checked by the ministatefulset-reserve-ordinals policy of
	// deploy/validation.yaml (an int-or-string has no length bound, which puts the
	// rule over the CRD's static cost budget), and again by the controller.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=64
	ReserveOrdinals []intstr.IntOrString `json:"reserveOrdinals,omitempty"`
}

// StatefulSetUpdateStrategy is apps/v1 StatefulSetUpdateStrategy.
// +kubebuilder:validation:XValidation:rule="!has(self.rollingUpdate) || !has(self.type) || self.type == 'RollingUpdate'",message="spec.updateStrategy.rollingUpdate is only allowed with type RollingUpdate"
type StatefulSetUpdateStrategy struct {
	// Type is RollingUpdate (default) or OnDelete.
	// +optional
	// +kubebuilder:default=RollingUpdate
	Type StatefulSetUpdateStrategyType `json:"type,omitempty"`

	// RollingUpdate tunes the RollingUpdate strategy.
	// +optional
	RollingUpdate *RollingUpdateStatefulSetStrategy `json:"rollingUpdate,omitempty"`
}

// RollingUpdateStatefulSetStrategy is apps/v1 RollingUpdateStatefulSetStrategy.
// +kubebuilder:validation:XValidation:rule="!has(self.maxUnavailable) || (type(self.maxUnavailable) == int ? int(self.maxUnavailable) > 0 : (string(self.maxUnavailable).matches('^[0-9]+%$') && int(string(self.maxUnavailable).substring(0, size(string(self.maxUnavailable)) - 1)) > 0 && int(string(self.maxUnavailable).substring(0, size(string(self.maxUnavailable)) - 1)) <= 100))",message="spec.updateStrategy.rollingUpdate.maxUnavailable must be greater than 0: a positive number or a percentage from 1% to 100%"
type RollingUpdateStatefulSetStrategy struct {
	// Partition keeps ordinals below it at the current revision.
	// +optional
	// +kubebuilder:validation:Minimum=0
	Partition *int32 `json:"partition,omitempty"`

	// MaxUnavailable is how many pods may be unavailable during the update
	// (a number or a percentage of replicas, rounded down, at least 1).
	// +optional
	MaxUnavailable *intstr.IntOrString `json:"maxUnavailable,omitempty"`

	// UnhealthyPodReplacement says what a rollout does with a pod that is not
	// Running and Ready and not at the revision its ordinal should run. Never (or
	// unset, the apps/v1 behaviour): an OrderedReady rollout waits for that pod, so a
	// broken template stops it until someone deletes the pod by hand, even after
	// the template is reverted. Automatic: the pod is replaced at once; replacing a
	// pod that is already unavailable costs no availability. Beyond apps/v1.
	// +optional
	UnhealthyPodReplacement UnhealthyPodReplacementPolicy `json:"unhealthyPodReplacement,omitempty"`
}

// UnhealthyPodReplacementPolicy is Never or Automatic.
// +kubebuilder:validation:Enum=Never;Automatic
type UnhealthyPodReplacementPolicy string

const (
	// NeverReplaceUnhealthyPods waits for an unhealthy pod as apps/v1 does.
	NeverReplaceUnhealthyPods UnhealthyPodReplacementPolicy = "Never"
	// AutomaticallyReplaceUnhealthyPods replaces an unhealthy pod of an older
	// revision without waiting for it.
	AutomaticallyReplaceUnhealthyPods UnhealthyPodReplacementPolicy = "Automatic"
)

// StatefulSetPersistentVolumeClaimRetentionPolicy is the apps/v1 type of the same name.
type StatefulSetPersistentVolumeClaimRetentionPolicy struct {
	// WhenDeleted applies when the set is deleted.
	// +optional
	// +kubebuilder:default=Retain
	WhenDeleted PersistentVolumeClaimRetentionPolicyType `json:"whenDeleted,omitempty"`

	// WhenScaled applies when a pod is removed by a scale-down.
	// +optional
	// +kubebuilder:default=Retain
	WhenScaled PersistentVolumeClaimRetentionPolicyType `json:"whenScaled,omitempty"`
}

// StatefulSetOrdinals is apps/v1 StatefulSetOrdinals.
type StatefulSetOrdinals struct {
	// Start is the first ordinal.
	// +optional
	// +kubebuilder:validation:Minimum=0
	Start int32 `json:"start"`
}

// MiniStatefulSetStatus is apps/v1 StatefulSetStatus plus the selector the scale
// subresource reports.
type MiniStatefulSetStatus struct {
	// ObservedGeneration is the generation the status was computed for.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// Replicas is the number of pods that exist.
	Replicas int32 `json:"replicas"`

	// ReadyReplicas is the number of pods Running and Ready.
	// +optional
	ReadyReplicas int32 `json:"readyReplicas,omitempty"`

	// CurrentReplicas is the number of pods at currentRevision.
	// +optional
	CurrentReplicas int32 `json:"currentReplicas,omitempty"`

	// UpdatedReplicas is the number of pods at updateRevision.
	// +optional
	UpdatedReplicas int32 `json:"updatedReplicas,omitempty"`

	// AvailableReplicas is the number of pods Ready for at least minReadySeconds.
	// +optional
	AvailableReplicas int32 `json:"availableReplicas"`

	// CurrentRevision is the revision of the pods below the update.
	// +optional
	CurrentRevision string `json:"currentRevision,omitempty"`

	// UpdateRevision is the revision of the current template.
	// +optional
	UpdateRevision string `json:"updateRevision,omitempty"`

	// CollisionCount is bumped when a revision name collides with different data.
	// +optional
	CollisionCount *int32 `json:"collisionCount,omitempty"`

	// Conditions say what the controller is waiting for and whether the spec is usable.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []MiniStatefulSetCondition `json:"conditions,omitempty"`

	// Selector is the label selector in string form, for the scale subresource.
	// +optional
	Selector string `json:"selector,omitempty"`

	// ClaimStorage counts the claims of the pods that run against the storage their
	// claim templates ask for, while a raised request is being applied; absent once
	// every claim has grown (and when no template was raised). Beyond apps/v1.
	// +optional
	ClaimStorage *ClaimStorageStatus `json:"claimStorage,omitempty"`
}

// ClaimStorageStatus is the progress of growing claims after
// volumeClaimTemplates[].spec.resources.requests.storage was raised.
type ClaimStorageStatus struct {
	// Claims is how many claims the pods that run have from templates with a
	// storage request.
	Claims int32 `json:"claims"`
	// Requested is how many of them request at least their template's storage.
	Requested int32 `json:"requested"`
	// Resized is how many of them have a capacity of at least that: the volume has
	// grown (a claim not yet bound counts once it asks for enough).
	Resized int32 `json:"resized"`
	// NotExpandable is how many cannot grow: their StorageClass does not allow
	// volume expansion. They are left as they are, each with a Warning event.
	// +optional
	NotExpandable int32 `json:"notExpandable,omitempty"`
}

// MiniStatefulSetConditionType names a condition.
type MiniStatefulSetConditionType string

const (
	// ConditionWaiting is True while the controller waits for something before its
	// next step, and says what in its message.
	ConditionWaiting MiniStatefulSetConditionType = "Waiting"
	// ConditionInvalidSpec is True when the spec cannot be acted on.
	ConditionInvalidSpec MiniStatefulSetConditionType = "InvalidSpec"
)

// MiniStatefulSetCondition is apps/v1 StatefulSetCondition.
type MiniStatefulSetCondition struct {
	// Type of the condition.
	Type MiniStatefulSetConditionType `json:"type"`
	// Status is True, False or Unknown.
	Status corev1.ConditionStatus `json:"status"`
	// LastTransitionTime is when Status last changed.
	// +optional
	LastTransitionTime metav1.Time `json:"lastTransitionTime,omitempty"`
	// Reason is a CamelCase word for the condition.
	// +optional
	Reason string `json:"reason,omitempty"`
	// Message says the same in words.
	// +optional
	Message string `json:"message,omitempty"`
}

// MiniStatefulSetList is a list of MiniStatefulSets.
//
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
// +kubebuilder:object:root=true
type MiniStatefulSetList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []MiniStatefulSet `json:"items"`
}
