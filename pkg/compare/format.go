package compare

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// WriteText writes the run for a person: each scenario's steps in two columns,
// StatefulSet on the left and MiniStatefulSet on the right, with times from the
// start of the step's action and the lines that differ marked with '!', a verdict
// per scenario, and a summary table.
func WriteText(w io.Writer, r *Result) error {
	var b strings.Builder
	for _, sc := range r.Scenarios {
		writeScenario(&b, sc)
		b.WriteString("\n")
	}
	writeSummary(&b, r)
	_, err := io.WriteString(w, b.String())
	return err
}

func writeScenario(b *strings.Builder, sc ScenarioResult) {
	fmt.Fprintf(b, "=== %s: %s\n", sc.Name, sc.Summary)
	if len(sc.Namespaces) == 2 {
		fmt.Fprintf(b, "namespaces: %s (StatefulSet), %s (MiniStatefulSet)\n", sc.Namespaces[0], sc.Namespaces[1])
	}
	for i, st := range sc.Steps {
		b.WriteString("\n")
		writeStep(b, i+1, len(sc.Steps), st)
	}
	fmt.Fprintf(b, "\nverdict: %s\n", sc.VerdictLine())
}

// row is one line of the two columns.
type row struct {
	left, right string
	differs     bool
}

func writeStep(b *strings.Builder, n, of int, st StepResult) {
	fmt.Fprintf(b, "step %d/%d %s: %s\n", n, of, st.Name, st.Action)
	fmt.Fprintf(b, "  until %s; pod steps compared %s\n", st.Until, orderPhrase(st.Order))
	rows := []row{{left: "StatefulSet", right: "MiniStatefulSet"}}
	rows = append(rows, eventRows(st)...)
	rows = append(rows, claimRows(st)...)
	rows = append(rows, revisionRows(st)...)
	width := 0
	for _, r := range rows {
		width = max(width, len(r.left))
	}
	for _, r := range rows {
		mark := "   "
		if r.differs {
			mark = " ! "
		}
		fmt.Fprintf(b, "%s %-*s | %s\n", mark, width, r.left, r.right)
	}
	for _, d := range st.Differences {
		fmt.Fprintf(b, "  differs: %s\n", d)
	}
	for _, side := range st.Sides {
		if side.Error != "" {
			fmt.Fprintf(b, "  %s failed: %s\n", side.Kind, side.Error)
		}
	}
}

func orderPhrase(o Order) string {
	if o == AsSet {
		return "as a set (their order is free)"
	}
	return "in sequence"
}

func eventRows(st StepResult) []row {
	a, b := st.Sides[0].Events, st.Sides[1].Events
	ma, mb := marks(st.Order, a, b)
	if len(a) == 0 && len(b) == 0 {
		// Say so: a step that must show nothing (a halt) reads as a blank otherwise.
		return []row{{left: "(no pod steps)", right: "(no pod steps)"}}
	}
	rows := make([]row, max(len(a), len(b)))
	for i := range rows {
		if i < len(a) {
			rows[i].left, rows[i].differs = eventText(a[i]), ma[i]
		}
		if i < len(b) {
			rows[i].right = eventText(b[i])
			rows[i].differs = rows[i].differs || mb[i]
		}
	}
	return rows
}

func eventText(e Event) string {
	return fmt.Sprintf("%8s  %-11s %s", fmt.Sprintf("+%dms", e.AfterMS), e.Step, e.Pod)
}

// claimRows lines up the claims of both sides by name.
func claimRows(st StepResult) []row {
	a, b := claimsByName(st.Sides[0].Claims), claimsByName(st.Sides[1].Claims)
	names := map[string]string{}
	for n := range a {
		names[n] = ""
	}
	for n := range b {
		names[n] = ""
	}
	var rows []row
	for _, n := range podUnion(names, nil) {
		ca, oka := a[n]
		cb, okb := b[n]
		r := row{differs: oka != okb || ca != cb}
		if oka {
			r.left = "claim " + ca.String()
		}
		if okb {
			r.right = "claim " + cb.String()
		}
		rows = append(rows, r)
	}
	return rows
}

func claimsByName(claims []Claim) map[string]Claim {
	out := map[string]Claim{}
	for _, c := range claims {
		out[c.Name] = c
	}
	return out
}

// revisionRows lines up the pods left at the end of the step and their revisions.
func revisionRows(st StepResult) []row {
	a, b := st.Sides[0].Revisions, st.Sides[1].Revisions
	var rows []row
	for _, pod := range podUnion(a, b) {
		ra, oka := a[pod]
		rb, okb := b[pod]
		r := row{differs: oka != okb || ra != rb}
		if oka {
			r.left = "pod " + pod + " at " + orNone(ra)
		}
		if okb {
			r.right = "pod " + pod + " at " + orNone(rb)
		}
		rows = append(rows, r)
	}
	return rows
}

func writeSummary(b *strings.Builder, r *Result) {
	tw := tabwriter.NewWriter(b, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SCENARIO\tTIME\tVERDICT")
	for _, sc := range r.Scenarios {
		d := (time.Duration(sc.DurationMS) * time.Millisecond).Round(100 * time.Millisecond)
		fmt.Fprintf(tw, "%s\t%v\t%s\n", sc.Name, d, sc.VerdictLine())
	}
	_ = tw.Flush()
}
