package ministatefulset

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	appsv1alpha1 "github.com/ministatefulset/ministatefulset/pkg/apis/apps/v1alpha1"
)

// Fuzz targets: `make fuzz` runs each for FUZZTIME; `go test` runs their seeds and
// the corpus in testdata/fuzz as regression tests.

// FuzzDecide runs the decision function over snapshots decoded from the fuzzer's
// bytes (fuzz_snapshot_test.go) and checks that it does not panic, changes nothing
// it is shown, hands out no memory it shares with the snapshot, and returns a plan
// that checkPlan finds no fault in.
func FuzzDecide(f *testing.F) {
	for _, seed := range fzDecideSeeds() {
		f.Add(seed)
	}
	f.Fuzz(fzDecideOnce)
}

// fzDecideSeeds are FuzzDecide's seeds. Each byte is one choice, in the order
// fzSnapshot reads them.
func fzDecideSeeds() [][]byte {
	seeds := [][]byte{
		{},
		// web, OrderedReady, 3 replicas from 0, RollingUpdate, claim "data"; an older
		// current revision; web-0 and web-2 Ready at it, web-1 Ready at the update:
		// the update deletes web-2.
		{0, 0, 0, 3, 0, 0, 1, 0, 0, 1, 0, 1,
			1, 1, 3,
			0, 0, 3, 1, 2, 3, 1, 9,
			0, 1, 0, 1, 2, 3, 1, 9,
			0, 2, 3, 1, 2, 3, 1, 9,
			3, 3, 3},
		// The same set Parallel at one revision: web-1 missing, web-2 Pending without
		// its claim, web-3 and a Failed web-4 to scale away.
		{0, 1, 0, 3, 0, 0, 1, 0, 0, 1, 0, 1,
			1, 0, 4,
			0, 0, 0, 1, 2, 3, 1, 9,
			5, 0, 0, 1, 2, 3, 1, 9,
			5, 1, 0, 4, 0, 1, 9,
			0, 2, 0, 0, 0, 1, 9},
		// Huge sets: 2^31-1 replicas, Parallel; 2^30 from a start near the top,
		// clamped to 2^30 so that the last ordinal is 2^31-1.
		{0, 1, 13, 0, 0, 1},
		{1, 0, 14, 4, 3, 2, 1, 2, 7, 1, 2, 2},
	}
	// Pseudo-random inputs of growing length, for a start.
	rng := rand.New(rand.NewPCG(7, 11))
	for n := 8; n <= 256; n *= 2 {
		for range 3 {
			data := make([]byte, n)
			for i := range data {
				data[i] = byte(rng.UintN(256))
			}
			seeds = append(seeds, data)
		}
	}
	return seeds
}

// fzDecideOnce is FuzzDecide for one input.
func fzDecideOnce(t *testing.T, data []byte) {
	s, claims := fzSnapshot(data)
	if s == nil {
		return
	}
	before := fzCopy(s, claims)
	p := decide(s)
	if what := before.changed(s, claims); what != "" {
		t.Fatalf("decide changed %s of the snapshot\n%s", what, fzDescribe(s, claims, p))
	}
	if v := checkPlan(s, p); len(v) > 0 {
		t.Fatalf("the plan breaks the design:\n  %s\n%s", strings.Join(v, "\n  "), fzDescribe(s, claims, p))
	}
	// The writes of a pass may be changed by whoever carries them out (a fake
	// client assigns UIDs): nothing the snapshot holds may change with them.
	fzScribble(p)
	if what := before.changed(s, claims); what != "" {
		t.Fatalf("the plan shares memory with %s of the snapshot: writing to a planned object changed it", what)
	}
}

// changed names what of the snapshot differs from the copy, or "".
func (c fzSnapshotCopy) changed(s *snapshot, claims map[string]*corev1.PersistentVolumeClaim) string {
	switch {
	case !reflect.DeepEqual(c.set, s.set):
		return "the set"
	case len(c.pods) != len(s.pods):
		return "the pod list"
	case !reflect.DeepEqual(c.claims, claims):
		return "the claims"
	case !reflect.DeepEqual(c.current, s.current) || !reflect.DeepEqual(c.update, s.update):
		return "the revisions"
	case !reflect.DeepEqual(c.currentTemplate, s.currentTemplate) || !reflect.DeepEqual(c.updateTemplate, s.updateTemplate):
		return "the templates"
	}
	for i := range c.pods {
		if !reflect.DeepEqual(c.pods[i], s.pods[i]) {
			return "pod " + c.pods[i].Name
		}
	}
	return ""
}

// fzScribble writes into every object the plan creates or updates, as deep as their
// maps and slices go; the live pods a plan deletes or creates claims for are the
// snapshot's own and are left alone.
func fzScribble(p plan) {
	for _, a := range p.actions {
		if a.kind == createPod || a.kind == updatePod {
			fzScribbleMeta(&a.pod.ObjectMeta)
			for i := range a.pod.Spec.Containers {
				c := &a.pod.Spec.Containers[i]
				c.Image = "scribbled"
				for j := range c.Env {
					c.Env[j].Value = "scribbled"
				}
				for k := range c.Resources.Requests {
					c.Resources.Requests[k] = resource.MustParse("7")
				}
			}
			for i := range a.pod.Spec.Volumes {
				v := &a.pod.Spec.Volumes[i]
				v.Name = "scribbled"
				if v.PersistentVolumeClaim != nil {
					v.PersistentVolumeClaim.ClaimName = "scribbled"
				}
				if v.EmptyDir != nil {
					v.EmptyDir.Medium = "scribbled"
				}
			}
		}
		if a.kind == deletePod {
			continue
		}
		for _, claim := range a.claims {
			fzScribbleMeta(&claim.ObjectMeta)
			for i := range claim.Spec.AccessModes {
				claim.Spec.AccessModes[i] = "scribbled"
			}
			for k := range claim.Spec.Resources.Requests {
				claim.Spec.Resources.Requests[k] = resource.MustParse("7Ti")
			}
		}
	}
}

func fzScribbleMeta(m *metav1.ObjectMeta) {
	for k := range m.Labels {
		m.Labels[k] = "scribbled"
	}
	for k := range m.Annotations {
		m.Annotations[k] = "scribbled"
	}
	for i := range m.Finalizers {
		m.Finalizers[i] = "scribbled"
	}
	for i := range m.OwnerReferences {
		ref := &m.OwnerReferences[i]
		ref.Name = "scribbled"
		if ref.Controller != nil {
			*ref.Controller = !*ref.Controller
		}
		if ref.BlockOwnerDeletion != nil {
			*ref.BlockOwnerDeletion = !*ref.BlockOwnerDeletion
		}
	}
}

// FuzzOrdinals: the name parser and formatter agree both ways. Every ordinal of
// [0, 2^31-1] formats to a name that parses back to it; every name that parses
// formats back to itself; nothing else parses (no leading zeros, signs, second
// dashes, other sets' prefixes or ordinals past 2^31-1), and nothing panics.
func FuzzOrdinals(f *testing.F) {
	for _, seed := range []struct {
		set, name string
		ordinal   int64
	}{
		{"web", "web-0", 0}, {"web", "web-12", 12}, {"web", "web-01", 1}, {"web", "web--1", -1},
		{"web", "web-1-2", 2}, {"web-1", "web-1-2", 2}, {"web", "web-2147483647", maxOrdinal},
		{"web", "web-2147483648", maxOrdinal + 1}, {"web", "web-", 0}, {"web", "web", 0}, {"", "-1", 1},
		{"web", "web-99999999999999999999", 1 << 62}, {"web", "web-+1", 1}, {"web", "web-1e3", 1000},
		{"web", "web-١", 1}, {"a-0", "a-0-0", -1 << 63}, {"x", "x-9223372036854775808", 1<<63 - 1},
	} {
		f.Add(seed.set, seed.name, seed.ordinal)
	}
	f.Fuzz(func(t *testing.T, setName, name string, ordinal int64) {
		set := &appsv1alpha1.MiniStatefulSet{ObjectMeta: metav1.ObjectMeta{Name: setName}}

		// Any name: what parses is canonical and formats back to the same name.
		prefix, n, ok := splitOrdinal(name)
		if ok && (prefix == "" || n < 0 || n > maxOrdinal || prefix+"-"+strconv.Itoa(n) != name) {
			t.Fatalf("splitOrdinal(%q) = (%q, %d, true), which does not format back to it", name, prefix, n)
		}
		got, gotOK := parseOrdinal(setName, name)
		if gotOK != (ok && prefix == setName) || (gotOK && got != n) {
			t.Fatalf("parseOrdinal(%q, %q) = (%d, %v) but splitOrdinal = (%q, %d, %v)", setName, name, got, gotOK, prefix, n, ok)
		}
		if gotOK && podName(set, got) != name {
			t.Fatalf("parseOrdinal(%q, %q) = %d, which formats to %q", setName, name, got, podName(set, got))
		}
		if setName == "" {
			return // every set has a name
		}

		// Any ordinal of [0, 2^31-1] round-trips.
		ord := int(uint64(ordinal) % (maxOrdinal + 1))
		pod := podName(set, ord)
		if got, ok := parseOrdinal(setName, pod); !ok || got != ord {
			t.Fatalf("podName(%q, %d) = %q parses to (%d, %v)", setName, ord, pod, got, ok)
		}
		// Names the set would never make are not its pods.
		digits := strconv.Itoa(ord)
		for _, other := range []string{
			setName + "-0" + digits,
			setName + "--" + digits,
			setName + "-+" + digits,
			setName + "- " + digits,
			setName + "-" + digits + " ",
			setName + "-" + digits + "-" + digits,
			setName + "-a-" + digits,
			setName + digits,
			setName + "-" + strconv.FormatInt(int64(ord)+maxOrdinal+1, 10),
			"x" + pod,
		} {
			if got, ok := parseOrdinal(setName, other); ok {
				t.Fatalf("parseOrdinal(%q, %q) = %d: the set would never name a pod so", setName, other, got)
			}
		}
		// Nor are the pods of a set whose name extends this one's.
		if got, ok := parseOrdinal(setName+"-"+digits, pod); ok {
			t.Fatalf("pod %s of set %s parses as ordinal %d of set %s-%s", pod, setName, got, setName, digits)
		}
	})
}

// fzHashAlphabet is the alphabet of the names Kubernetes generates.
const fzHashAlphabet = "bcdfghjklmnpqrstvwxz2456789"

// FuzzRevisionHash: the revision of a template is a pure function of what the
// template says: the same template built twice, with its maps filled in another
// order, empty maps and lists left nil, quantities spelled otherwise, gets the same
// data and name; a collisionCount changes the name; the name is <set>-<hash> and a
// label value; and the revision reads back to the template it was made from.
func FuzzRevisionHash(f *testing.F) {
	f.Add("web", "nginx:1.27", "tier", "gold", "note", "hi", "MODE", "fast", int64(1000), int64(30), int32(0))
	f.Add("web", "", "", "", "", "", "", "", int64(0), int64(0), int32(-1))
	f.Add(strings.Repeat("a", 52), "registry.k8s.io/pause:3.10", "app", "other", "x/y", "", "A", "", int64(1500), int64(1<<53), int32(1<<31-1))
	f.Add("db.example", "img@sha256:0123", "k", "v", "k", "\u2028<>&", "B", "\x00", int64(-5), int64(-1), int32(7))
	f.Fuzz(func(t *testing.T, setName, image, labelKey, labelValue, annKey, annValue, envName, envValue string, cpuMilli, grace int64, collision int32) {
		for _, s := range []string{setName, image, labelKey, labelValue, annKey, annValue, envName, envValue} {
			if !utf8.ValidString(s) {
				return // the API carries only valid UTF-8
			}
		}
		if len(setName) > 52 || len(validation.IsDNS1123Subdomain(setName)) > 0 {
			setName = "web" // admission refuses the name
		}
		cpuMilli %= 1 << 40
		// Numbers pass through float64 in revisionData, as they do in apps/v1's patch:
		// past 2^53 they would not read back exactly.
		grace %= 1 << 53
		build := func(other bool) *appsv1alpha1.MiniStatefulSet {
			set := newSet(setName).Obj()
			tmpl := &set.Spec.Template
			c := &tmpl.Spec.Containers[0]
			c.Image = image
			if other {
				tmpl.Labels = map[string]string{}
				tmpl.Annotations = map[string]string{}
				c.Env = []corev1.EnvVar{}
			}
			if labelKey != "" {
				tmpl.Labels[labelKey] = labelValue
			}
			if labelKey != "app" {
				tmpl.Labels["app"] = setName
			}
			if annKey != "" {
				if tmpl.Annotations == nil {
					tmpl.Annotations = map[string]string{}
				}
				tmpl.Annotations[annKey] = annValue
			}
			if envName != "" {
				c.Env = append(c.Env, corev1.EnvVar{Name: envName, Value: envValue})
			}
			cpu, mem := resource.NewMilliQuantity(cpuMilli, resource.DecimalSI), resource.MustParse("1Gi")
			if other {
				cpu, mem = ptr(resource.MustParse(fmt.Sprintf("%dm", cpuMilli))), resource.MustParse("1024Mi")
			}
			c.Resources.Requests = corev1.ResourceList{corev1.ResourceCPU: *cpu, corev1.ResourceMemory: mem}
			tmpl.Spec.TerminationGracePeriodSeconds = &grace
			return set
		}
		set, twin := build(false), build(true)

		data, err := revisionData(&set.Spec.Template)
		if err != nil {
			t.Fatalf("revisionData: %v", err)
		}
		again, _ := revisionData(&set.Spec.Template)
		twinData, _ := revisionData(&twin.Spec.Template)
		if !bytes.Equal(data, again) {
			t.Fatalf("revisionData is not deterministic:\n%s\n%s", data, again)
		}
		if !bytes.Equal(data, twinData) {
			t.Fatalf("equal templates have different revision data:\n%s\n%s", data, twinData)
		}
		rev, err := newRevision(set, 1)
		if err != nil {
			t.Fatalf("newRevision: %v", err)
		}
		twinRev, _ := newRevision(twin, 1)
		hash := templateHash(data, 0)
		switch {
		case rev.Name != twinRev.Name:
			t.Fatalf("equal templates are named %s and %s", rev.Name, twinRev.Name)
		case rev.Name != setName+"-"+hash || rev.Labels[LabelTemplateHash] != hash:
			t.Fatalf("revision %s (hash label %q) is not <set>-<hash> with hash %s", rev.Name, rev.Labels[LabelTemplateHash], hash)
		case hash == "" || strings.Trim(hash, fzHashAlphabet) != "":
			t.Fatalf("hash %q is not made of %q", hash, fzHashAlphabet)
		case len(rev.Name) > 63 || len(validation.IsValidLabelValue(rev.Name)) > 0:
			t.Fatalf("revision name %q is not a label value: %v", rev.Name, validation.IsValidLabelValue(rev.Name))
		}

		back, err := templateOf(rev)
		if err != nil {
			t.Fatalf("templateOf: %v", err)
		}
		if !apiequality.Semantic.DeepEqual(back, &set.Spec.Template) {
			t.Fatalf("the revision reads back to another template:\nwant %+v\ngot  %+v", set.Spec.Template, *back)
		}

		set.Status.CollisionCount = &collision
		bumped, _ := newRevision(set, 1)
		set.Status.CollisionCount = ptr(collision + 1)
		next, _ := newRevision(set, 1)
		set.Status.CollisionCount = ptr(int32(0))
		zero, _ := newRevision(set, 1)
		switch {
		case zero.Name != rev.Name:
			t.Fatalf("no collisionCount is named %s but a count of 0 %s: apps/v1 hashes both with 0", rev.Name, zero.Name)
		case bumped.Name == next.Name || (collision != 0 && bumped.Name == rev.Name):
			t.Fatalf("collisionCount does not change the name: none %s, %d %s, %d %s", rev.Name, collision, bumped.Name, collision+1, next.Name)
		}
	})
}
