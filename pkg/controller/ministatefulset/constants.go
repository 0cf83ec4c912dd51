// Package ministatefulset is the MiniStatefulSet controller: informers and a
// rate-limited workqueue feed sync, which reads a set, its pods, claims and revisions,
// asks the pure decision layer (control.go) what to do, and carries that out through
// small I/O seams (pod_control.go, revision.go, status.go).
package ministatefulset

// Labels the controller puts on pods, claims and revisions; the same keys apps/v1 uses,
// so tools written for StatefulSets read MiniStatefulSet pods unchanged.
const (
	// LabelPodName carries the pod's own name, for per-pod Services.
	LabelPodName = "statefulset.kubernetes.io/pod-name"
	// LabelPodIndex carries the pod's ordinal.
	LabelPodIndex = "apps.kubernetes.io/pod-index"
	// LabelRevision carries the name of the ControllerRevision a pod was made from.
	LabelRevision = "controller-revision-hash"
	// LabelTemplateHash carries the template hash on a ControllerRevision.
	LabelTemplateHash = "controller.kubernetes.io/hash"
)

// FieldManager names every write the controller makes.
const FieldManager = "ministatefulset-controller"

// ControllerName is the component name used for events and leader election.
const ControllerName = "ministatefulset-controller"

// Event reasons: the StatefulSet controller's, so event-watching tools work unchanged.
const (
	ReasonSuccessfulCreate = "SuccessfulCreate"
	ReasonFailedCreate     = "FailedCreate"
	ReasonSuccessfulDelete = "SuccessfulDelete"
	ReasonFailedDelete     = "FailedDelete"
	ReasonSuccessfulUpdate = "SuccessfulUpdate"
	ReasonFailedUpdate     = "FailedUpdate"
	// ReasonInvalidSpec is for a spec the controller cannot act on.
	ReasonInvalidSpec = "InvalidSpec"
	// ReasonFailedAdopt and ReasonFailedRelease are for ownerReference patches.
	ReasonFailedAdopt   = "FailedAdopt"
	ReasonFailedRelease = "FailedRelease"
	// ReasonConflictingController is for a claim another controller owns.
	ReasonConflictingController = "ConflictingController"
	// ReasonReplacingUnhealthy is for a pod replaced under unhealthyPodReplacement
	// Automatic (beyond apps/v1).
	ReasonReplacingUnhealthy = "ReplacingUnhealthyPod"
	// ReasonClaimNotExpandable is for a claim that cannot grow to its template's
	// raised storage request (beyond apps/v1).
	ReasonClaimNotExpandable = "ClaimNotExpandable"
)

// Reasons of the Waiting condition.
const (
	WaitReady       = "WaitingForReady"
	WaitAvailable   = "WaitingForAvailable"
	WaitTermination = "WaitingForTermination"
	WaitClaim       = "WaitingForClaim"
	// WaitClaimStorage is for claims growing to a raised template request.
	WaitClaimStorage = "WaitingForClaimStorage"
	WaitNameTaken    = "WaitingForName"
	WaitProgressing  = "Progressing"
	WaitSettled      = "Settled"
	WaitInvalidSpec  = "InvalidSpec"
)
