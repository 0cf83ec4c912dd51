package trace

import (
	"fmt"
	"strings"
	"time"

	"github.com/ministatefulset/ministatefulset/pkg/workload"
)

// After finds the record that records[i] came after, as the ordering guarantees
// relate them, and returns its index: a pod's creation comes after the latest
// earlier Ready of a lower ordinal (OrderedReady waits for it) or the removal of the
// pod of the same name it replaces; a termination comes after the latest earlier
// removal or Ready of a higher ordinal (deletions go down from the top, a rolling
// update replaces the pod above first). Only records before i count.
func After(set string, records []Record, i int) (int, bool) {
	rec := records[i]
	ord, ok := workload.OrdinalOf(set, rec.Pod)
	if !ok {
		return 0, false
	}
	var fits func(Record, int) bool
	switch rec.Step {
	case Created:
		fits = func(r Record, o int) bool { return (r.Step == Ready && o < ord) || (r.Step == Gone && o == ord) }
	case Terminating:
		fits = func(r Record, o int) bool { return (r.Step == Gone || r.Step == Ready) && o > ord }
	default:
		return 0, false
	}
	for j := i - 1; j >= 0; j-- {
		if o, ok := workload.OrdinalOf(set, records[j].Pod); ok && fits(records[j], o) {
			return j, true
		}
	}
	return 0, false
}

// Lines formats records for a person, one line each, with times relative to the
// first: see Line.
func Lines(set workload.Ref, records []Record) []string {
	out := make([]string, len(records))
	for i := range records {
		out[i] = Line(set, records, i)
	}
	return out
}

// Line formats records[i] against the records before it, so a follower can print
// each record as it arrives and get the lines Lines would give:
//
//	+1.208s   web-1     created     4 ms after web-0 became Ready
//
// the time since records[0], the pod (or the set), the step, and what the step came
// after or its detail. Exact times show milliseconds; times read back from the API
// are whole seconds and the line says so.
func Line(set workload.Ref, records []Record, i int) string {
	rec := records[i]
	who := rec.Pod
	if who == "" {
		who = set.String()
	}
	width := max(len(set.String()), len(set.Name)+len("msts/")) // the same for both kinds, so their lines align
	var rest []string
	if j, ok := After(set.Name, records, i); ok {
		rest = append(rest, afterPhrase(records[j], rec))
	}
	if rec.Detail != "" {
		rest = append(rest, rec.Detail)
	}
	if !rec.Exact {
		rest = append(rest, "(to the second)")
	}
	line := fmt.Sprintf("%-10s %-*s %-11s %s", relative(records[0], rec), width, who, rec.Step, strings.Join(rest, " "))
	return strings.TrimRight(line, " ")
}

// relative is the time of rec since first.
func relative(first, rec Record) string {
	d := rec.At.Sub(first.At)
	if !rec.Exact {
		return fmt.Sprintf("%+ds", int64(d.Round(time.Second)/time.Second))
	}
	return fmt.Sprintf("%+.3fs", d.Seconds())
}

// afterPhrase is "4 ms after web-0 became Ready", in the precision both times have.
func afterPhrase(cause, rec Record) string {
	what := cause.Pod + " " + pastTense(cause.Step)
	d := rec.At.Sub(cause.At)
	switch {
	case d < 0:
		return "right after " + what
	case !cause.Exact || !rec.Exact:
		if s := int64(d.Round(time.Second) / time.Second); s > 0 {
			return fmt.Sprintf("%d s after %s", s, what)
		}
		return "in the same second as " + what
	case d < time.Second:
		return fmt.Sprintf("%d ms after %s", d.Milliseconds(), what)
	}
	return fmt.Sprintf("%.3f s after %s", d.Seconds(), what)
}

func pastTense(s Step) string {
	switch s {
	case Ready:
		return "became Ready"
	case Gone:
		return "was gone"
	}
	return "was " + string(s)
}
