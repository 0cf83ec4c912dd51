package bench

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/ministatefulset/ministatefulset/pkg/trace"
	"github.com/ministatefulset/ministatefulset/pkg/workload"
)

// fieldManager names the benchmark's own writes.
const fieldManager = "msts-bench"

// floorWriters is how many writers the floor's minimal client runs at once.
const floorWriters = 16

// template is the pods' template: gone at once when deleted, so the controllers and
// the API server are what is measured. A grace period of 0 makes the API server
// remove a deleted pod in the delete request itself: kwok's stage that finishes
// graceful deletions is not on the path (it may delete again, by name, a pod created
// under a name just freed, which no kubelet does; see recreate).
func template(app, image string) corev1.PodTemplateSpec {
	var grace int64
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": app}, Annotations: map[string]string{workload.AnnotationDeleteDelay: "0s"}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: image}}, TerminationGracePeriodSeconds: &grace},
	}
}

func setOf(ns, name string, replicas int, policy appsv1.PodManagementPolicyType, maxUnavailable *intstr.IntOrString) *appsv1.StatefulSet {
	n := int32(replicas)
	sts := &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: appsv1.StatefulSetSpec{
			Replicas: &n, ServiceName: name, PodManagementPolicy: policy,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: template(name, "bench:1"),
		},
	}
	if maxUnavailable != nil {
		sts.Spec.UpdateStrategy = appsv1.StatefulSetUpdateStrategy{Type: appsv1.RollingUpdateStatefulSetStrategyType,
			RollingUpdate: &appsv1.RollingUpdateStatefulSetStrategy{MaxUnavailable: maxUnavailable}}
	}
	return sts
}

// step is one measured change of a scenario.
type step struct {
	name string
	// act makes the change under a controller; floor makes its pod writes directly.
	act, floor func(ctx context.Context, r *runCtx) error
	// done says when the change has converged, and what is missing until then.
	done func(r *runCtx) (bool, string)
	// podWrites counts the pod creates and deletes the change needs.
	podWrites int
	// observe makes a step that only watches for this long (the steady state).
	observe time.Duration
	// latency asks for the OrderedReady reaction latencies.
	latency bool
}

// Scenario is a start state (made unmeasured) and the steps measured from it.
type Scenario struct {
	Name, Title string
	setup       func(ctx context.Context, r *runCtx) error
	floorSetup  func(ctx context.Context, r *runCtx) error
	steps       []step
	// floorless scenarios have nothing a minimal client would do.
	floorless bool
}

func scaled(n int, scale float64) int { return max(1, int(float64(n)*scale+0.5)) }

// Scenarios are the benchmark's scenarios, at scale 1 the sizes of issue 9.
func Scenarios(scale float64) []Scenario {
	ordered, parallel := scaled(100, scale), scaled(1000, scale)
	sets := scaled(500, scale)
	rollOrdered, rollParallel := scaled(100, scale), scaled(300, scale)
	steadySets := scaled(1000, scale)
	ten := intstr.FromString("10%")
	return []Scenario{
		scaleScenario("ordered", fmt.Sprintf("OrderedReady scale 0 to %d and back", ordered), ordered, appsv1.OrderedReadyPodManagement),
		scaleScenario("parallel", fmt.Sprintf("Parallel scale 0 to %d and back", parallel), parallel, appsv1.ParallelPodManagement),
		manySetsScenario(sets, 3),
		rollingScenario("rolling-ordered", fmt.Sprintf("rolling update of an OrderedReady set of %d", rollOrdered), rollOrdered, appsv1.OrderedReadyPodManagement, nil),
		rollingScenario("rolling-parallel", fmt.Sprintf("rolling update of a Parallel set of %d, maxUnavailable 10%%", rollParallel), rollParallel, appsv1.ParallelPodManagement, &ten),
		steadyScenario(steadySets, 10, 2*time.Minute),
		writeCostScenario(sets, 4),
	}
}

func scaleScenario(name, title string, n int, policy appsv1.PodManagementPolicyType) Scenario {
	ordered := policy == appsv1.OrderedReadyPodManagement
	return Scenario{
		Name: name, Title: title,
		setup: func(ctx context.Context, r *runCtx) error {
			if err := r.create(ctx, setOf(r.ns, "web", 0, policy, nil)); err != nil {
				return err
			}
			return r.wait(ctx, "the empty set observed", func(r *runCtx) (bool, string) { return r.view.setsSettled(r.kind, 0) })
		},
		steps: []step{{
			name: "up", podWrites: n, latency: ordered,
			act:   func(ctx context.Context, r *runCtx) error { return r.scale(ctx, "web", n) },
			floor: func(ctx context.Context, r *runCtx) error { return r.floorCreate(ctx, "web", n, "bench:1", ordered) },
			done:  func(r *runCtx) (bool, string) { return r.settled(n) },
		}, {
			name: "down", podWrites: n,
			act:   func(ctx context.Context, r *runCtx) error { return r.scale(ctx, "web", 0) },
			floor: func(ctx context.Context, r *runCtx) error { return r.floorDelete(ctx, "web", n, ordered) },
			done:  func(r *runCtx) (bool, string) { return r.settled(0) },
		}},
	}
}

// setNames names the sets of a scenario of many: s0000, s0001, ...
func setNames(n int) []string {
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("s%04d", i)
	}
	return names
}

// createSets creates the named sets of replicas each, floorWriters at a time.
func (r *runCtx) createSets(ctx context.Context, names []string, replicas int, policy appsv1.PodManagementPolicyType) error {
	return r.parallel(ctx, len(names), func(ctx context.Context, i int) error {
		return r.create(ctx, setOf(r.ns, names[i], replicas, policy, nil))
	})
}

func manySetsScenario(sets, replicas int) Scenario {
	names := setNames(sets)
	pods := sets * replicas
	return Scenario{
		Name: "many-sets", Title: fmt.Sprintf("%d sets of %d replicas created at once, then deleted", sets, replicas),
		setup:      func(context.Context, *runCtx) error { return nil },
		floorSetup: func(context.Context, *runCtx) error { return nil },
		steps: []step{{
			name: "create", podWrites: pods,
			act: func(ctx context.Context, r *runCtx) error {
				return r.createSets(ctx, names, replicas, appsv1.OrderedReadyPodManagement)
			},
			// The floor keeps OrderedReady's order within each set: a set's pods one at
			// a time, each once the one before is Ready; sets floorWriters at a time.
			floor: func(ctx context.Context, r *runCtx) error {
				return r.parallel(ctx, len(names), func(ctx context.Context, i int) error {
					for j := range replicas {
						if err := r.createPod(ctx, names[i], j, "bench:1"); err != nil {
							return err
						}
						if err := r.wait(ctx, "floor pod Ready", r.podIs(names[i], j, true)); err != nil {
							return err
						}
					}
					return nil
				})
			},
			done: func(r *runCtx) (bool, string) { return r.settledSets(pods, replicas) },
		}, {
			name: "delete", podWrites: pods,
			act: func(ctx context.Context, r *runCtx) error {
				return r.parallel(ctx, len(names), func(ctx context.Context, i int) error {
					return r.env.Clients.Delete(ctx, workload.Ref{Kind: r.workloadKind(), Namespace: r.ns, Name: names[i]})
				})
			},
			floor: func(ctx context.Context, r *runCtx) error {
				return r.parallel(ctx, pods, func(ctx context.Context, i int) error {
					return r.deletePod(ctx, fmt.Sprintf("%s-%d", names[i/replicas], i%replicas))
				})
			},
			done: func(r *runCtx) (bool, string) {
				all, _ := r.view.podCount(nil)
				return all == 0, fmt.Sprintf("%d pods left", all)
			},
		}},
	}
}

func rollingScenario(name, title string, n int, policy appsv1.PodManagementPolicyType, maxUnavailable *intstr.IntOrString) Scenario {
	ordered := policy == appsv1.OrderedReadyPodManagement
	concurrency := 1
	if maxUnavailable != nil {
		concurrency, _ = intstr.GetScaledValueFromIntOrPercent(maxUnavailable, n, false)
		concurrency = max(1, concurrency)
	}
	return Scenario{
		Name: name, Title: title,
		setup: func(ctx context.Context, r *runCtx) error {
			if err := r.create(ctx, setOf(r.ns, "web", n, policy, maxUnavailable)); err != nil {
				return err
			}
			return r.wait(ctx, "the set settled", func(r *runCtx) (bool, string) { return r.settled(n) })
		},
		floorSetup: func(ctx context.Context, r *runCtx) error {
			if err := r.floorCreate(ctx, "web", n, "bench:1", false); err != nil {
				return err
			}
			return r.wait(ctx, "the floor's pods Ready", func(r *runCtx) (bool, string) { return r.settled(n) })
		},
		steps: []step{{
			name: "update", podWrites: 2 * n, latency: false,
			act: func(ctx context.Context, r *runCtx) error {
				return r.env.Clients.UpdateSpec(ctx, r.ref("web"), fieldManager, func(s *appsv1.StatefulSetSpec) {
					s.Template.Spec.Containers[0].Image = "bench:2"
				})
			},
			floor: func(ctx context.Context, r *runCtx) error { return r.floorReplace(ctx, "web", n, concurrency, ordered) },
			// Every pod Ready at the new image, then the status caught up: the status
			// alone could read settled before the watch delivers the new generation.
			done: func(r *runCtx) (bool, string) {
				if updated := r.view.readyWithImage("bench:2"); updated != n {
					return false, fmt.Sprintf("%d of %d pods Ready at the new image", updated, n)
				}
				return r.settled(n)
			},
		}},
	}
}

func steadyScenario(sets, replicas int, window time.Duration) Scenario {
	names := setNames(sets)
	return Scenario{
		Name: "steady", Title: fmt.Sprintf("steady state: %d pods in %d settled sets for %v", sets*replicas, sets, window), floorless: true,
		setup: func(ctx context.Context, r *runCtx) error {
			if err := r.createSets(ctx, names, replicas, appsv1.ParallelPodManagement); err != nil {
				return err
			}
			return r.waitLong(ctx, "every set settled", func(r *runCtx) (bool, string) {
				all, ready := r.view.podCount(nil)
				if ready != sets*replicas {
					return false, fmt.Sprintf("%d pods, %d Ready", all, ready)
				}
				return r.view.setsSettled(r.kind, replicas)
			})
		},
		steps: []step{{name: "watch", observe: window, act: func(context.Context, *runCtx) error { return nil }}},
	}
}

// parallel runs n writes with floorWriters writers, stopping at the first error.
func (r *runCtx) parallel(ctx context.Context, n int, write func(context.Context, int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	jobs := make(chan int)
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	for range floorWriters {
		wg.Go(func() {
			for i := range jobs {
				if err := write(ctx, i); err != nil {
					once.Do(func() { first = err; cancel() })
				}
			}
		})
	}
	for i := range n {
		select {
		case jobs <- i:
		case <-ctx.Done():
		}
	}
	close(jobs)
	wg.Wait()
	return first
}

// floorCreate creates pods <set>-0..n-1 as bare pods, one at a time waiting for each
// to be Ready (ordered) or with floorWriters writers.
func (r *runCtx) floorCreate(ctx context.Context, set string, n int, image string, ordered bool) error {
	if !ordered {
		return r.parallel(ctx, n, func(ctx context.Context, i int) error { return r.createPod(ctx, set, i, image) })
	}
	for i := range n {
		if err := r.createPod(ctx, set, i, image); err != nil {
			return err
		}
		if err := r.wait(ctx, "floor pod Ready", r.podIs(set, i, true)); err != nil {
			return err
		}
	}
	return nil
}

// floorDelete deletes pods <set>-n-1..0, highest first waiting for each to be gone
// (ordered), or with floorWriters writers.
func (r *runCtx) floorDelete(ctx context.Context, set string, n int, ordered bool) error {
	if !ordered {
		return r.parallel(ctx, n, func(ctx context.Context, i int) error { return r.deletePod(ctx, fmt.Sprintf("%s-%d", set, i)) })
	}
	for i := n - 1; i >= 0; i-- {
		if err := r.deletePod(ctx, fmt.Sprintf("%s-%d", set, i)); err != nil {
			return err
		}
		if err := r.wait(ctx, "floor pod gone", r.podIs(set, i, false)); err != nil {
			return err
		}
	}
	return nil
}

// floorReplace replaces every pod with one of the new image, concurrency at a time,
// each deleted, gone, created and Ready before its writer takes the next.
func (r *runCtx) floorReplace(ctx context.Context, set string, n, concurrency int, ordered bool) error {
	next := make(chan int, n)
	for i := n - 1; i >= 0; i-- {
		next <- i
	}
	close(next)
	var wg sync.WaitGroup
	errs := make(chan error, concurrency)
	for range concurrency {
		wg.Go(func() {
			for i := range next {
				name := set + "-" + strconv.Itoa(i)
				if err := r.deletePod(ctx, name); err != nil {
					errs <- err
					return
				}
				if err := r.wait(ctx, "floor pod gone", r.podIs(set, i, false)); err != nil {
					errs <- err
					return
				}
				if err := r.recreate(ctx, set, i, "bench:2"); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	return r.heal(ctx, set, n, "bench:2")
}

// heal creates again, as a controller would, the pods that kwok deleted after they
// were replaced (see recreate), until all n are Ready at image.
func (r *runCtx) heal(ctx context.Context, set string, n int, image string) error {
	for {
		var missing []int
		err := r.wait(ctx, "floor pods Ready at "+image, func(r *runCtx) (bool, string) {
			missing = missing[:0]
			for i := range n {
				if _, exists, _ := r.view.pods.GetByKey(fmt.Sprintf("%s/%s-%d", r.ns, set, i)); !exists {
					missing = append(missing, i)
				}
			}
			if len(missing) > 0 {
				return true, ""
			}
			ready := r.view.readyWithImage(image)
			return ready == n, fmt.Sprintf("%d of %d Ready at %s", ready, n, image)
		})
		if err != nil || len(missing) == 0 {
			return err
		}
		if err := r.parallel(ctx, len(missing), func(ctx context.Context, k int) error {
			return r.recreate(ctx, set, missing[k], image)
		}); err != nil {
			return err
		}
	}
}

// recreate creates pod <set>-<ordinal> again, just after the one of that name went,
// and waits for it to be Ready. kwok v0.8.0 may delete the new pod: its stage that
// finishes a graceful deletion retries its delete by name, and a retry that comes
// after the new pod's create deletes that one. A controller creates a vanished pod
// again; so does the floor, as many times as it takes.
func (r *runCtx) recreate(ctx context.Context, set string, ordinal int, image string) error {
	name := fmt.Sprintf("%s-%d", set, ordinal)
	for {
		if err := r.createPod(ctx, set, ordinal, image); err != nil && !apierrors.IsAlreadyExists(err) {
			return err
		}
		seen, vanished, created := false, false, time.Now()
		err := r.wait(ctx, "floor pod Ready", func(r *runCtx) (bool, string) {
			obj, exists, _ := r.view.pods.GetByKey(r.ns + "/" + name)
			if !exists {
				// Gone after it was seen, or never seen (deleted before the watch
				// showed it): create it again.
				vanished = seen || time.Since(created) > 2*time.Second
				return vanished, name + " not created yet"
			}
			seen = true
			p, ok := obj.(*corev1.Pod)
			return ok && trace.IsReady(p) && p.DeletionTimestamp == nil, name + " not Ready yet"
		})
		if err != nil || !vanished {
			return err
		}
	}
}

// writeCostScenario measures what a status write of a set costs the API server and
// etcd, under each kind, with no controller answering: sets of 0 replicas, settled,
// each given writes status writes by the benchmark, 16 sets at a time. Each write
// changes a condition of the benchmark's own, which neither controller writes or
// drops (both carry over conditions they do not own), so neither writes back: the
// audit log shows no controller request in the step. The figure to read is the API
// server and etcd CPU over the writes made (sets * writes).
func writeCostScenario(sets, writes int) Scenario {
	names := setNames(sets)
	return Scenario{
		Name: "write-cost", Title: fmt.Sprintf("%d status writes to %d settled sets of 0 replicas, no controller answering", sets*writes, sets),
		floorless: true,
		setup: func(ctx context.Context, r *runCtx) error {
			if err := r.createSets(ctx, names, 0, appsv1.ParallelPodManagement); err != nil {
				return err
			}
			return r.waitLong(ctx, "every set observed", func(r *runCtx) (bool, string) {
				if n := r.view.setCount(r.kind); n != sets {
					return false, fmt.Sprintf("%d of %d sets seen", n, sets)
				}
				return r.view.setsSettled(r.kind, 0)
			})
		},
		steps: []step{{
			name: "status",
			act: func(ctx context.Context, r *runCtx) error {
				return r.parallel(ctx, sets, func(ctx context.Context, i int) error { return r.probeStatus(ctx, names[i], writes) })
			},
			done: func(*runCtx) (bool, string) { return true, "" },
		}},
	}
}
