// Package ordinals reads spec.reserveOrdinals, the ordinals of a MiniStatefulSet
// that get no pod (beyond apps/v1), and answers which ordinals a set's pods take:
// the lowest ones from spec.ordinals.start up that are not reserved. The controller
// and the kubectl plugin share it, so both count the same ordinals.
package ordinals

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/util/intstr"
)

// Max is the highest ordinal: every ordinal, and so every pod name, fits in 32 bits.
const Max = 1<<31 - 1

// span is an inclusive range of reserved ordinals.
type span struct{ lo, hi int }

// Reserved is a set of reserved ordinals, as sorted, merged, disjoint ranges. The
// zero value reserves nothing, and costs nothing to ask.
type Reserved struct{ spans []span }

// Parse reads spec.reserveOrdinals: each item an ordinal (1) or an inclusive range
// ("3-5"; a lone number in a string, "4", is an ordinal too). Overlapping items
// are merged. The error names the first item that is neither.
func Parse(items []intstr.IntOrString) (Reserved, error) {
	var r Reserved
	if len(items) == 0 {
		// Every pass of every set parses its spec: most reserve nothing.
		return r, nil
	}
	for i, it := range items {
		lo, hi, err := parseItem(it)
		if err != nil {
			return Reserved{}, fmt.Errorf("spec.reserveOrdinals[%d]: %w", i, err)
		}
		r.spans = append(r.spans, span{lo, hi})
	}
	sort.Slice(r.spans, func(i, j int) bool { return r.spans[i].lo < r.spans[j].lo })
	merged := r.spans[:0]
	for _, s := range r.spans {
		if n := len(merged); n > 0 && s.lo <= merged[n-1].hi+1 {
			merged[n-1].hi = max(merged[n-1].hi, s.hi)
			continue
		}
		merged = append(merged, s)
	}
	r.spans = merged
	return r, nil
}

func parseItem(it intstr.IntOrString) (lo, hi int, err error) {
	if it.Type == intstr.Int {
		if it.IntVal < 0 {
			return 0, 0, fmt.Errorf("%d is not an ordinal: ordinals start at 0", it.IntVal)
		}
		return int(it.IntVal), int(it.IntVal), nil
	}
	a, b, isRange := strings.Cut(it.StrVal, "-")
	if lo, err = number(a); err != nil {
		return 0, 0, fmt.Errorf("%q is neither an ordinal nor a range such as \"3-5\"", it.StrVal)
	}
	if !isRange {
		return lo, lo, nil
	}
	if hi, err = number(b); err != nil || hi < lo {
		return 0, 0, fmt.Errorf("%q is not a range from a lower ordinal to a higher one, such as \"3-5\"", it.StrVal)
	}
	return lo, hi, nil
}

// number reads a decimal ordinal of at most Max.
func number(s string) (int, error) {
	if s == "" || len(s) > 10 || strings.TrimLeft(s, "0123456789") != "" {
		return 0, fmt.Errorf("not a number")
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n > Max {
		return 0, fmt.Errorf("above %d", Max)
	}
	return int(n), nil
}

// Empty reports that nothing is reserved.
func (r Reserved) Empty() bool { return len(r.spans) == 0 }

// Has reports whether ord is reserved.
func (r Reserved) Has(ord int) bool {
	if len(r.spans) == 0 {
		return false
	}
	i := sort.Search(len(r.spans), func(i int) bool { return r.spans[i].hi >= ord })
	return i < len(r.spans) && r.spans[i].lo <= ord
}

// Next is the lowest ordinal at or above ord that is not reserved.
func (r Reserved) Next(ord int) int {
	if len(r.spans) == 0 {
		return ord
	}
	i := sort.Search(len(r.spans), func(i int) bool { return r.spans[i].hi >= ord })
	if i < len(r.spans) && r.spans[i].lo <= ord {
		return r.spans[i].hi + 1
	}
	return ord
}

// End is one past the highest ordinal the set's pods take: with replicas pods on
// the lowest free ordinals from start, the ordinals in use are those in
// [start, End) that are not reserved. It may exceed Max+1 for a spec that does not
// fit, which the caller rejects.
func (r Reserved) End(start, replicas int) int {
	if replicas <= 0 {
		return start
	}
	ord, left := start, replicas
	for _, s := range r.spans {
		if s.hi < ord {
			continue
		}
		if gap := s.lo - ord; gap > 0 {
			if gap >= left {
				return ord + left
			}
			left -= gap
		}
		ord = s.hi + 1
	}
	return ord + left
}

// InUse reports whether a set starting at start with replicas pods puts one at ord.
func (r Reserved) InUse(ord, start, replicas int) bool {
	return ord >= start && ord < r.End(start, replicas) && !r.Has(ord)
}

// String lists the reserved ordinals as a user writes them: "1, 3-5".
func (r Reserved) String() string {
	parts := make([]string, 0, len(r.spans))
	for _, s := range r.spans {
		if s.lo == s.hi {
			parts = append(parts, strconv.Itoa(s.lo))
		} else {
			parts = append(parts, strconv.Itoa(s.lo)+"-"+strconv.Itoa(s.hi))
		}
	}
	return strings.Join(parts, ", ")
}
