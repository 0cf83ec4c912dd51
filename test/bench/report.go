package bench

import (
	"fmt"
	"html"
	"sort"
	"strings"
	"time"
)

// Meta is what a report says about where its figures come from.
type Meta struct {
	When, Machine, Kubernetes, Go, Command string
	Rounds                                 int
	Flags                                  []string
}

// group is every round of one step under one writer in one mode.
type group struct{ runs []Run }

func (g group) stat(f func(Run) float64) Stat {
	var v []float64
	for _, r := range g.runs {
		v = append(v, f(r))
	}
	return statOf(v)
}

func wall(r Run) float64 { return r.Wall.Seconds() }

// key names a group.
type key struct {
	mode, scenario string
	who            Controller
}

func groups(runs []Run) (map[key]group, []string, []string) {
	g := map[key]group{}
	var modes, scenarios []string
	seenM, seenS := map[string]bool{}, map[string]bool{}
	for _, r := range runs {
		k := key{r.Mode, r.Scenario, r.Controller}
		gr := g[k]
		gr.runs = append(gr.runs, r)
		g[k] = gr
		if !seenM[r.Mode] {
			seenM[r.Mode] = true
			modes = append(modes, r.Mode)
		}
		if !seenS[r.Scenario] {
			seenS[r.Scenario] = true
			scenarios = append(scenarios, r.Scenario)
		}
	}
	return g, modes, scenarios
}

// ranScenarios are the scenarios that either controller ran in mode.
func ranScenarios(g map[key]group, mode string, scenarios []string) []string {
	var out []string
	for _, sc := range scenarios {
		if len(g[key{mode, sc, BuiltIn}].runs) > 0 || len(g[key{mode, sc, Mini}].runs) > 0 {
			out = append(out, sc)
		}
	}
	return out
}

func ratio(a, b Stat) string {
	if a.N == 0 || b.N == 0 || b.Median == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f", a.Median/b.Median)
}

// Markdown writes the report: per mode a table of the wall times with the ratios,
// then the API requests, CPU, memory and reaction latencies.
func Markdown(runs []Run, m Meta) string {
	g, modes, scenarios := groups(runs)
	var b strings.Builder
	fmt.Fprintf(&b, "# MiniStatefulSet against the built-in StatefulSet controller\n\n")
	fmt.Fprintf(&b, "Measured %s on %s: Kubernetes %s (kwok nodes, pods Ready and gone at once), %s, %d rounds, median (min–max). Produced by `%s`.\n\n",
		m.When, m.Machine, m.Kubernetes, m.Go, m.Rounds, m.Command)
	if len(m.Flags) > 0 {
		fmt.Fprintf(&b, "Flags: %s.\n\n", strings.Join(m.Flags, "; "))
	}
	for _, mode := range modes {
		ran := ranScenarios(g, mode, scenarios)
		fmt.Fprintf(&b, "## %s\n\n", mode)
		fmt.Fprintf(&b, "| step | floor | StatefulSet | MiniStatefulSet | MSTS / STS | MSTS / floor | STS / floor |\n| --- | --- | --- | --- | --- | --- | --- |\n")
		for _, sc := range ran {
			fl, sts, mini := g[key{mode, sc, Floor}].stat(wall), g[key{mode, sc, BuiltIn}].stat(wall), g[key{mode, sc, Mini}].stat(wall)
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s |\n", sc, fl.seconds(), sts.seconds(), mini.seconds(), ratio(mini, sts), ratio(mini, fl), ratio(sts, fl))
		}
		fmt.Fprintf(&b, "\nAPI requests of each controller in the step (medians; watches and events not counted), events, and the garbage collector's requests meanwhile:\n\n")
		fmt.Fprintf(&b, "| step | pod writes | STS requests | MSTS requests | STS writes | MSTS writes | MSTS requests per pod write | STS events | MSTS events | GC (STS / MSTS) |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
		for _, sc := range ran {
			sts, mini := g[key{mode, sc, BuiltIn}], g[key{mode, sc, Mini}]
			req := func(r Run) float64 { return float64(r.TotalRequests()) }
			wr := func(r Run) float64 { return float64(r.Writes()) }
			ev := func(r Run) float64 { return float64(r.Events) }
			gc := func(r Run) float64 { return float64(r.GC) }
			pw := mini.stat(func(r Run) float64 { return float64(r.PodWrites) }).Median
			per := "–"
			if pw > 0 {
				per = fmt.Sprintf("%.2f", mini.stat(req).Median/pw)
			}
			fmt.Fprintf(&b, "| %s | %.0f | %.0f | %.0f | %.0f | %.0f | %s | %.0f | %.0f | %.0f / %.0f |\n", sc, pw,
				sts.stat(req).Median, mini.stat(req).Median, sts.stat(wr).Median, mini.stat(wr).Median, per,
				sts.stat(ev).Median, mini.stat(ev).Median, sts.stat(gc).Median, mini.stat(gc).Median)
		}
		fmt.Fprintf(&b, "\nRequests by verb (MiniStatefulSet | StatefulSet, summed over rounds):\n\n")
		for _, sc := range ran {
			sts, mini := g[key{mode, sc, BuiltIn}], g[key{mode, sc, Mini}]
			fmt.Fprintf(&b, "- %s: %s | %s\n", sc, verbs(mini.runs), verbs(sts.runs))
		}
		fmt.Fprintf(&b, "\nCPU seconds and peak RSS of each controller process in the step (kube-controller-manager running only its statefulset and garbage-collector controllers), the CPU seconds kube-apiserver and etcd spent meanwhile (what the requests cost the cluster), and OrderedReady reaction latency (a pod's Ready seen on a watch to the next pod's creation seen on it):\n\n")
		fmt.Fprintf(&b, "| step | STS CPU | MSTS CPU | API server + etcd CPU (floor / STS / MSTS) | STS peak RSS | MSTS peak RSS | MSTS / STS RSS | STS reaction median / p99 | MSTS reaction median / p99 |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
		for _, sc := range ran {
			fl, sts, mini := g[key{mode, sc, Floor}], g[key{mode, sc, BuiltIn}], g[key{mode, sc, Mini}]
			cpu := func(r Run) float64 { return r.CPU.Seconds() }
			server := func(r Run) float64 { return r.ServerCPU.Seconds() }
			rss := func(r Run) float64 { return float64(r.PeakRSS) / (1 << 20) }
			fmt.Fprintf(&b, "| %s | %.2f s | %.2f s | %.1f / %.1f / %.1f s | %.0f MiB | %.0f MiB | %s | %s | %s |\n", sc, sts.stat(cpu).Median, mini.stat(cpu).Median,
				fl.stat(server).Median, sts.stat(server).Median, mini.stat(server).Median,
				sts.stat(rss).Median, mini.stat(rss).Median, ratio(mini.stat(rss), sts.stat(rss)), latencies(sts.runs), latencies(mini.runs))
		}
		reactionTable(&b, g, mode, ran)
		b.WriteString("\n")
	}
	return b.String()
}

// reactionTable: for the steps with OrderedReady reactions, each writer's (the
// floor's included, a client that creates the next pod as soon as its watch shows
// the Ready) up to the API server receiving the create, and up to the watch showing
// the pod.
func reactionTable(b *strings.Builder, g map[key]group, mode string, ran []string) {
	var rows []string
	for _, sc := range ran {
		fl, sts, mini := g[key{mode, sc, Floor}].runs, g[key{mode, sc, BuiltIn}].runs, g[key{mode, sc, Mini}].runs
		if !hasReactions(sts) && !hasReactions(mini) {
			continue
		}
		cell := func(runs []Run) string { return sendLatencies(runs) + " | " + latencies(runs) }
		rows = append(rows, fmt.Sprintf("| %s | %s | %s | %s |", sc, cell(fl), cell(sts), cell(mini)))
	}
	if len(rows) == 0 {
		return
	}
	fmt.Fprintf(b, "\nOrderedReady reaction, median / p99: from pod i's Ready, seen on the benchmark's watch, to the API server receiving pod i+1's create (the audit log's requestReceivedTimestamp: the writer's own share), and to pod i+1's creation seen on the watch (the create's handling and its watch event added). The floor creates the next pod as soon as its watch shows the Ready:\n\n")
	fmt.Fprintf(b, "| step | floor: to the create | floor: to the pod seen | STS: to the create | STS: to the pod seen | MSTS: to the create | MSTS: to the pod seen |\n| --- | --- | --- | --- | --- | --- | --- |\n")
	b.WriteString(strings.Join(rows, "\n") + "\n")
}

func verbs(runs []Run) string {
	sum := map[string]int{}
	for _, r := range runs {
		for v, n := range r.Requests {
			sum[v] += n
		}
	}
	if len(sum) == 0 {
		return "none"
	}
	var keys []string
	for v := range sum {
		keys = append(keys, v)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, v := range keys {
		parts[i] = fmt.Sprintf("%s %d", v, sum[v])
	}
	return strings.Join(parts, ", ")
}

func latencies(runs []Run) string {
	return medianP99(runs, func(r Run) []time.Duration { return r.Latencies })
}

func hasReactions(runs []Run) bool {
	for _, r := range runs {
		if len(r.Latencies) > 0 {
			return true
		}
	}
	return false
}

func sendLatencies(runs []Run) string {
	return medianP99(runs, func(r Run) []time.Duration { return r.SendLatencies })
}

func medianP99(runs []Run, of func(Run) []time.Duration) string {
	var all []time.Duration
	for _, r := range runs {
		all = append(all, of(r)...)
	}
	if len(all) == 0 {
		return "–"
	}
	return fmt.Sprintf("%.1f / %.1f ms", float64(percentile(all, 50).Microseconds())/1000, float64(percentile(all, 99).Microseconds())/1000)
}

// SVG draws, per mode, one bar per step: MiniStatefulSet's wall time over the
// built-in controller's (below 1: faster), with the floor's ratio as a mark.
func SVG(runs []Run) string {
	g, modes, scenarios := groups(runs)
	const rowH, left, width, scaleW = 22, 230, 760, 480
	maxRatio := 2.0
	var rows []string
	y := 40
	for _, mode := range modes {
		rows = append(rows, fmt.Sprintf(`<text x="10" y="%d" font-weight="bold">%s</text>`, y, html.EscapeString(mode)))
		y += rowH
		for _, sc := range scenarios {
			sts, mini, fl := g[key{mode, sc, BuiltIn}].stat(wall), g[key{mode, sc, Mini}].stat(wall), g[key{mode, sc, Floor}].stat(wall)
			if sts.N == 0 || mini.N == 0 || sts.Median == 0 {
				continue
			}
			r := mini.Median / sts.Median
			w := int(min(r, maxRatio) / maxRatio * scaleW)
			color := "#2b8a3e"
			if r > 1 {
				color = "#c92a2a"
			}
			rows = append(rows, fmt.Sprintf(`<text x="20" y="%d">%s</text><rect x="%d" y="%d" width="%d" height="14" fill="%s"/><text x="%d" y="%d">%.2f</text>`,
				y, html.EscapeString(sc), left, y-11, w, color, left+w+6, y, r))
			if fl.N > 0 && fl.Median > 0 {
				fx := left + int(min(fl.Median/sts.Median, maxRatio)/maxRatio*scaleW)
				rows = append(rows, fmt.Sprintf(`<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#1c7ed6" stroke-width="3"/>`, fx, y-13, fx, y+5))
			}
			y += rowH
		}
		y += rowH / 2
	}
	one := left + scaleW/2
	return fmt.Sprintf(`<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">
<rect width="100%%" height="100%%" fill="white"/>
<text x="10" y="18" font-size="14" font-weight="bold">MiniStatefulSet wall time / built-in StatefulSet's (bar; below 1 is faster), floor / built-in (blue mark)</text>
<line x1="%d" y1="26" x2="%d" y2="%d" stroke="#868e96" stroke-dasharray="4 3"/><text x="%d" y="%d" fill="#868e96">1.0</text>
%s
</svg>
`, width, y+20, one, one, y, one-8, y+14, strings.Join(rows, "\n"))
}
