package ordinals

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func items(vs ...any) []intstr.IntOrString {
	var out []intstr.IntOrString
	for _, v := range vs {
		switch v := v.(type) {
		case int:
			out = append(out, intstr.FromInt32(int32(v)))
		case string:
			out = append(out, intstr.FromString(v))
		}
	}
	return out
}

// inUse lists the ordinals a set's pods take, the slow way, for comparison.
func inUse(r Reserved, start, replicas int) []int {
	var out []int
	for ord := start; len(out) < replicas; ord++ {
		if !r.Has(ord) {
			out = append(out, ord)
		}
	}
	return out
}

func TestParseMergesAndPrints(t *testing.T) {
	r, err := Parse(items("3-5", 1, "4-7", "9", 8))
	require.NoError(t, err)
	assert.Equal(t, "1, 3-9", r.String(), "overlapping and adjacent items merge")
	for ord, want := range map[int]bool{0: false, 1: true, 2: false, 3: true, 9: true, 10: false} {
		assert.Equal(t, want, r.Has(ord), "Has(%d)", ord)
	}
	assert.Equal(t, 2, r.Next(1))
	assert.Equal(t, 10, r.Next(3))
	assert.Equal(t, 0, r.Next(0))
}

func TestParseRejects(t *testing.T) {
	for _, bad := range []intstr.IntOrString{
		intstr.FromInt32(-1), intstr.FromString("5-3"), intstr.FromString("a"), intstr.FromString("1-"),
		intstr.FromString("-2"), intstr.FromString("2147483648"), intstr.FromString("1-99999999999"), intstr.FromString(""),
	} {
		_, err := Parse([]intstr.IntOrString{intstr.FromInt32(0), bad})
		assert.ErrorContains(t, err, "spec.reserveOrdinals[1]", "%v", bad)
	}
}

func TestEndMatchesTheSlowWalk(t *testing.T) {
	r, err := Parse(items(1, "3-5", 10, "12-13"))
	require.NoError(t, err)
	for start := 0; start < 16; start++ {
		for replicas := 0; replicas < 12; replicas++ {
			use := inUse(r, start, replicas)
			end := start
			if len(use) > 0 {
				end = use[len(use)-1] + 1
			}
			assert.Equal(t, end, r.End(start, replicas), "End(%d, %d), in use %v", start, replicas, use)
			for ord := 0; ord < 30; ord++ {
				assert.Equal(t, contains(use, ord), r.InUse(ord, start, replicas), "InUse(%d, %d, %d)", ord, start, replicas)
			}
		}
	}
}

func TestNothingReserved(t *testing.T) {
	var r Reserved
	assert.True(t, r.Empty())
	assert.Equal(t, 7, r.End(4, 3))
	assert.Equal(t, 5, r.Next(5))
	assert.False(t, r.Has(0))
	assert.Equal(t, "", r.String())
}

func TestAHugeRangeCostsOneStep(t *testing.T) {
	r, err := Parse(items("0-2000000000"))
	require.NoError(t, err)
	assert.Equal(t, 2000000003, r.End(0, 2))
	assert.Equal(t, 2000000001, r.Next(0))
}

func contains(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
