package compare

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// differences compares what the two sides showed in one step, in words, first the
// pod steps, then the claims, then the pods' revisions.
func differences(order Order, sts, msts Observed) []string {
	var out []string
	if d := eventDifference(order, sts.Events, msts.Events); d != "" {
		out = append(out, d)
	}
	if !slices.Equal(sts.Claims, msts.Claims) {
		out = append(out, fmt.Sprintf("the claims at the end differ: StatefulSet %s, MiniStatefulSet %s", claimList(sts.Claims), claimList(msts.Claims)))
	}
	out = append(out, revisionDifferences(sts.Revisions, msts.Revisions)...)
	return out
}

// eventDifference is the first difference of the pod steps, "" when they agree.
func eventDifference(order Order, a, b []Event) string {
	if order == AsSet {
		onlyA, onlyB := unmatched(a, b), unmatched(b, a)
		if len(onlyA) == 0 && len(onlyB) == 0 {
			return ""
		}
		return fmt.Sprintf("the pod steps differ (in any order): only the StatefulSet showed %s; only the MiniStatefulSet showed %s",
			keyList(onlyA), keyList(onlyB))
	}
	for i := range max(len(a), len(b)) {
		switch {
		case i >= len(a):
			return fmt.Sprintf("pod step %d: the MiniStatefulSet showed %q, the StatefulSet had no more (it showed %d)", i+1, b[i].key(), len(a))
		case i >= len(b):
			return fmt.Sprintf("pod step %d: the StatefulSet showed %q, the MiniStatefulSet had no more (it showed %d)", i+1, a[i].key(), len(b))
		case a[i].key() != b[i].key():
			return fmt.Sprintf("pod step %d: the StatefulSet showed %q, the MiniStatefulSet %q", i+1, a[i].key(), b[i].key())
		}
	}
	return ""
}

// unmatched are the events of a that b has no counterpart for, counting repeats.
func unmatched(a, b []Event) []Event {
	left := map[string]int{}
	for _, e := range b {
		left[e.key()]++
	}
	var out []Event
	for _, e := range a {
		if left[e.key()] > 0 {
			left[e.key()]--
			continue
		}
		out = append(out, e)
	}
	return out
}

// marks says which lines of each column differ: under InSequence a line whose
// counterpart at the same position is another step or missing; under AsSet an
// event the other side has no counterpart for.
func marks(order Order, a, b []Event) (ma, mb []bool) {
	ma, mb = make([]bool, len(a)), make([]bool, len(b))
	if order == AsSet {
		markUnmatched(ma, a, b)
		markUnmatched(mb, b, a)
		return ma, mb
	}
	for i := range a {
		ma[i] = i >= len(b) || a[i].key() != b[i].key()
	}
	for i := range b {
		mb[i] = i >= len(a) || a[i].key() != b[i].key()
	}
	return ma, mb
}

func markUnmatched(m []bool, a, b []Event) {
	left := map[string]int{}
	for _, e := range b {
		left[e.key()]++
	}
	for i, e := range a {
		if left[e.key()] > 0 {
			left[e.key()]--
			continue
		}
		m[i] = true
	}
}

// revisionDifferences compares the pods left at the end and their revision names:
// MiniStatefulSet names a revision as apps/v1 does, so the names must be equal.
func revisionDifferences(a, b map[string]string) []string {
	var out []string
	for _, pod := range podUnion(a, b) {
		ra, oka := a[pod]
		rb, okb := b[pod]
		switch {
		case !oka:
			out = append(out, fmt.Sprintf("pod %s is left only under the MiniStatefulSet", pod))
		case !okb:
			out = append(out, fmt.Sprintf("pod %s is left only under the StatefulSet", pod))
		case ra != rb:
			out = append(out, fmt.Sprintf("the revision of %s differs: StatefulSet %s, MiniStatefulSet %s", pod, orNone(ra), orNone(rb)))
		}
	}
	return out
}

// podUnion lists the pods of both maps, shorter names first so that web-2 comes
// before web-10.
func podUnion(a, b map[string]string) []string {
	all := map[string]string{}
	maps.Copy(all, a)
	maps.Copy(all, b)
	return slices.SortedFunc(maps.Keys(all), byLengthThenName)
}

func byLengthThenName(x, y string) int {
	if len(x) != len(y) {
		return len(x) - len(y)
	}
	return strings.Compare(x, y)
}

func keyList(events []Event) string {
	if len(events) == 0 {
		return "nothing else"
	}
	keys := make([]string, 0, len(events))
	for _, e := range events {
		keys = append(keys, e.key())
	}
	return strings.Join(keys, ", ")
}

func claimList(claims []Claim) string {
	if len(claims) == 0 {
		return "none"
	}
	names := make([]string, 0, len(claims))
	for _, c := range claims {
		names = append(names, c.String())
	}
	return strings.Join(names, ", ")
}
