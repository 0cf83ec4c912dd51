//go:build e2e

package e2e

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
)

// The chaos test's plan: the whole sequence of actions and the pauses between them,
// drawn from the seed alone before anything runs, so the same seed gives the same
// sequence. An action names its target (a set, an ordinal, a controller replica)
// by number; what the cluster looks like when it runs decides only its outcome (a
// pod that is not there is not deleted).

// chaosSetConfig is one set of the chaos test; the fields that make it differ.
type chaosSetConfig struct {
	ns          int // index of the namespace
	name        string
	parallel    bool
	claims      bool
	whenDeleted appsv1.PersistentVolumeClaimRetentionPolicyType
	whenScaled  appsv1.PersistentVolumeClaimRetentionPolicyType
	maxUnavail  int32
	maxReplicas int
	deleteDelay string
}

// chaosSets are four sets in two namespaces: ordered with kept claims, parallel with
// claims deleted on scale-down, ordered with claims that go with the set, and ordered
// without claims.
var chaosSets = []chaosSetConfig{
	{ns: 0, name: "alpha", claims: true, whenDeleted: appsv1.RetainPersistentVolumeClaimRetentionPolicyType,
		whenScaled: appsv1.RetainPersistentVolumeClaimRetentionPolicyType, maxReplicas: 4, deleteDelay: "2s"},
	{ns: 0, name: "beta", parallel: true, claims: true, whenDeleted: appsv1.RetainPersistentVolumeClaimRetentionPolicyType,
		whenScaled: appsv1.DeletePersistentVolumeClaimRetentionPolicyType, maxUnavail: 2, maxReplicas: 5, deleteDelay: "1s"},
	{ns: 1, name: "gamma", claims: true, whenDeleted: appsv1.DeletePersistentVolumeClaimRetentionPolicyType,
		whenScaled: appsv1.DeletePersistentVolumeClaimRetentionPolicyType, maxReplicas: 4, deleteDelay: "2s"},
	{ns: 1, name: "delta", maxReplicas: 4, deleteDelay: "1s"},
}

// chaosImages are the templates' images: a change makes a new revision.
var chaosImages = []string{"redis:7", "redis:7.2", "redis:7.4"}

type chaosKind int

const (
	chaosScale          chaosKind = iota // set replicas to N
	chaosImage                           // set the image to chaosImages[N]
	chaosPartition                       // set rollingUpdate.partition to N
	chaosUnready                         // hold pod N un-Ready (kwok stage annotation)
	chaosReady                           // release pod N
	chaosFail                            // make pod N Failed (kwok stage annotation)
	chaosDeletePod                       // delete pod N by hand
	chaosDeleteClaim                     // delete pod N's claim, then the pod, by hand
	chaosRecreateSet                     // delete the set and apply it again at once
	chaosKillController                  // SIGKILL controller replica N; it is started again
	chaosKillLeader                      // SIGKILL the replica that holds the Lease
	chaosRestartAPI                      // kill and restart kube-apiserver
	chaosPause                           // nothing: time for the controllers to catch up
)

var chaosKindNames = [...]string{"scale", "image", "partition", "unready", "ready", "fail", "delete-pod",
	"delete-claim", "recreate-set", "kill-controller", "kill-leader", "restart-apiserver", "pause"}

func (k chaosKind) String() string { return chaosKindNames[k] }

// chaosWeights are how often each kind is drawn.
var chaosWeights = [...]int{
	chaosScale: 14, chaosImage: 7, chaosPartition: 5, chaosUnready: 8, chaosReady: 9, chaosFail: 6,
	chaosDeletePod: 6, chaosDeleteClaim: 3, chaosRecreateSet: 2, chaosKillController: 2, chaosKillLeader: 2,
	chaosRestartAPI: 1, chaosPause: 4,
}

// chaosRare are kinds every plan of at least chaosRareFrom actions has at least once.
var chaosRare = []chaosKind{chaosRecreateSet, chaosKillController, chaosKillLeader, chaosRestartAPI, chaosDeleteClaim}

const chaosRareFrom = 50

type chaosAction struct {
	Kind chaosKind
	Set  int           // index into chaosSets
	N    int           // the kind's number (see chaosKind)
	Gap  time.Duration // pause before the action
}

func (a chaosAction) String() string {
	set := chaosSets[a.Set].name
	switch a.Kind {
	case chaosScale, chaosPartition:
		return fmt.Sprintf("%s %s %d", a.Kind, set, a.N)
	case chaosImage:
		return fmt.Sprintf("%s %s %s", a.Kind, set, chaosImages[a.N])
	case chaosUnready, chaosReady, chaosFail, chaosDeletePod, chaosDeleteClaim:
		return fmt.Sprintf("%s %s-%d", a.Kind, set, a.N)
	case chaosRecreateSet:
		return fmt.Sprintf("%s %s", a.Kind, set)
	case chaosKillController:
		return fmt.Sprintf("%s %d", a.Kind, a.N)
	}
	return a.Kind.String()
}

// planChaos draws n actions from the seed. Pauses between actions are 150 to 950 ms.
func planChaos(seed uint64, n int) []chaosAction {
	rng := rand.New(rand.NewPCG(seed, 0x6d737473))
	total := 0
	for _, w := range chaosWeights {
		total += w
	}
	plan := make([]chaosAction, n)
	for i := range plan {
		pick := rng.IntN(total)
		kind := chaosKind(0)
		for pick >= chaosWeights[kind] {
			pick -= chaosWeights[kind]
			kind++
		}
		plan[i] = drawAction(rng, kind)
	}
	if n >= chaosRareFrom {
		for _, kind := range chaosRare {
			if !hasKind(plan, kind) {
				// overwrite an action in the middle half, so what follows still sees it
				i := n/4 + rng.IntN(n/2)
				for isRare(plan[i].Kind) {
					i = n/4 + rng.IntN(n/2)
				}
				plan[i] = drawAction(rng, kind)
			}
		}
	}
	return plan
}

func drawAction(rng *rand.Rand, kind chaosKind) chaosAction {
	a := chaosAction{Kind: kind, Set: rng.IntN(len(chaosSets)), Gap: time.Duration(150+rng.IntN(800)) * time.Millisecond}
	cfg := chaosSets[a.Set]
	switch kind {
	case chaosScale:
		// down to 0 now and then; mostly 1 to the most, so pods are there to act on
		if a.N = 1 + rng.IntN(cfg.maxReplicas); rng.IntN(10) == 0 {
			a.N = 0
		}
	case chaosImage:
		a.N = rng.IntN(len(chaosImages))
	case chaosPartition:
		a.N = rng.IntN(4)
	case chaosUnready, chaosReady, chaosFail, chaosDeletePod, chaosDeleteClaim:
		// lower ordinals more often: they exist more often, and hold more back
		if a.N = rng.IntN(cfg.maxReplicas); rng.IntN(4) != 0 {
			a.N = rng.IntN(3)
		}
	case chaosKillController:
		a.N = rng.IntN(2)
	}
	if kind == chaosDeleteClaim && !cfg.claims {
		a.Set = 0 // alpha has claims
	}
	return a
}

func hasKind(plan []chaosAction, kind chaosKind) bool {
	for _, a := range plan {
		if a.Kind == kind {
			return true
		}
	}
	return false
}

func isRare(kind chaosKind) bool {
	for _, k := range chaosRare {
		if k == kind {
			return true
		}
	}
	return false
}

// planText is the plan one action a line, and planHash a short digest of it.
func planText(plan []chaosAction) string {
	var b strings.Builder
	for i, a := range plan {
		fmt.Fprintf(&b, "%4d +%4dms %s\n", i+1, a.Gap.Milliseconds(), a)
	}
	return b.String()
}

func planHash(plan []chaosAction) string {
	h := fnv.New64a()
	h.Write([]byte(planText(plan)))
	return fmt.Sprintf("%016x", h.Sum64())
}

// TestChaosPlanReplayable: the plan is a function of the seed: the same seed gives
// the same actions and pauses, another seed others, and every plan of the CI size has
// each rare kind of action.
func TestChaosPlanReplayable(t *testing.T) {
	a, b := planChaos(42, 500), planChaos(42, 500)
	require.Equal(t, planText(a), planText(b))
	assert.NotEqual(t, planHash(a), planHash(planChaos(43, 500)))
	assert.Equal(t, planText(planChaos(42, 150)), planText(planChaos(42, 150)))
	for seed := uint64(1); seed <= 50; seed++ {
		plan := planChaos(seed, 150)
		for _, k := range chaosRare {
			assert.True(t, hasKind(plan, k), "seed %d: no %s in 150 actions", seed, k)
		}
		for _, a := range plan {
			if a.Kind == chaosDeleteClaim {
				assert.True(t, chaosSets[a.Set].claims, "seed %d: %s on a set without claims", seed, a)
			}
		}
	}
}
