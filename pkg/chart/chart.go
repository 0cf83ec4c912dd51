// Package chart draws a set's story as an SVG swimlane picture a teacher can put
// on a slide: one lane per ordinal, a bar for each stretch of a pod's life (pending,
// Ready, un-Ready, terminating, failed), arrows from the step a creation or a
// termination waited for, and the spec changes as marks on a time axis. The same
// records always give the same bytes, so a chart can be golden-tested.
package chart

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"time"

	"github.com/ministatefulset/ministatefulset/pkg/trace"
	"github.com/ministatefulset/ministatefulset/pkg/workload"
)

// Options say whose story the chart tells and where it ends.
type Options struct {
	// Set is the set whose pods get lanes, one per ordinal.
	Set workload.Ref
	// Title heads the picture; empty means Kind/name.
	Title string
	// End is where the stretches still open at the last record end (the moment the
	// command stopped watching); zero means the last record.
	End time.Time
}

// The picture's geometry, in pixels.
const (
	width      = 960.0
	left       = 100.0 // room for the lane labels
	right      = 30.0
	top        = 64.0 // room for the title and the spec marks' labels
	laneHeight = 30.0
	barHeight  = 16.0
	plotWidth  = width - left - right
)

// SVG draws the records (in the order they were seen) as a swimlane chart.
func SVG(records []trace.Record, opts Options) []byte {
	c := layout(records, opts)
	var b bytes.Buffer
	height := top + float64(len(c.lanes))*laneHeight + 100
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" font-family="sans-serif" font-size="12">`+"\n", width, height, width, height)
	b.WriteString(style)
	fmt.Fprintf(&b, `<rect class="background" x="0" y="0" width="%.0f" height="%.0f"/>`+"\n", width, height)
	title := opts.Title
	if title == "" {
		title = string(opts.Set.Kind) + "/" + opts.Set.Name
	}
	fmt.Fprintf(&b, `<text class="title" x="%.0f" y="24">%s</text>`+"\n", left, esc(title))
	if len(c.lanes) == 0 {
		fmt.Fprintf(&b, `<text x="%.0f" y="%.0f">no pods in these records</text>`+"\n", left, top+20)
	}
	for _, l := range c.lanes {
		c.drawLane(&b, l)
	}
	c.drawSpecs(&b)
	c.drawArrows(&b)
	c.drawAxis(&b)
	drawLegend(&b, top+float64(len(c.lanes))*laneHeight+64)
	b.WriteString("</svg>\n")
	return b.Bytes()
}

const style = `<defs>
<marker id="head-created-after" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M 0 0 L 10 5 L 0 10 z" fill="#1565c0"/></marker>
<marker id="head-terminating-after" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M 0 0 L 10 5 L 0 10 z" fill="#6a1b9a"/></marker>
<style>
.background { fill: #ffffff; }
.title { font-size: 16px; font-weight: bold; }
.lane-label { text-anchor: end; }
.lane-line { stroke: #e0e0e0; }
.bar.pending { fill: #ffd54f; }
.bar.ready { fill: #43a047; }
.bar.unready { fill: #fb8c00; }
.bar.terminating { fill: #9e9e9e; }
.bar.failed { fill: #c62828; }
.bar.succeeded { fill: #64b5f6; }
.event { fill: #212121; }
.spec { stroke: #5c6bc0; stroke-dasharray: 4 3; }
.spec-label { fill: #3949ab; font-size: 11px; }
.arrow { stroke-width: 1.5; fill: none; }
.arrow.created-after { stroke: #1565c0; }
.arrow.terminating-after { stroke: #6a1b9a; }
.axis { stroke: #424242; }
.tick-label { text-anchor: middle; font-size: 11px; }
</style>
</defs>
`

// x is where a moment falls on the time axis.
func (c *chart) x(t time.Time) float64 {
	span := c.end.Sub(c.start)
	if span < time.Second {
		span = time.Second
	}
	return left + float64(t.Sub(c.start))/float64(span)*plotWidth
}

func laneY(i int) float64 { return top + float64(i)*laneHeight }

func (c *chart) drawLane(b *bytes.Buffer, l *lane) {
	i := c.laneOf[l.ordinal]
	y := laneY(i)
	mid := y + laneHeight/2
	fmt.Fprintf(b, `<g class="lane" data-ordinal="%d">`+"\n", l.ordinal)
	fmt.Fprintf(b, `<text class="lane-label" x="%.0f" y="%.1f">%s</text>`+"\n", left-10, mid+4, esc(l.name))
	fmt.Fprintf(b, `<line class="lane-line" x1="%.0f" y1="%.1f" x2="%.0f" y2="%.1f"/>`+"\n", left, mid, left+plotWidth, mid)
	for _, br := range l.bars {
		x0, x1 := c.x(br.from), c.x(br.to)
		w := max(x1-x0, 1)
		fmt.Fprintf(b, `<rect class="bar %s" x="%.1f" y="%.1f" width="%.1f" height="%.0f"><title>%s</title></rect>`+"\n",
			br.state, x0, mid-barHeight/2, w, barHeight, esc(fmt.Sprintf("%s %s from +%s to +%s", l.name, stateWords[br.state], c.since(br.from, br.fromExact), c.since(br.to, true))))
	}
	for _, e := range l.events {
		fmt.Fprintf(b, `<circle class="event" cx="%.1f" cy="%.1f" r="2.5"><title>%s</title></circle>`+"\n", c.x(e.At), mid+barHeight/2+4, esc(e.Detail))
	}
	b.WriteString("</g>\n")
}

var stateWords = map[string]string{
	"pending": "pending", "ready": "Ready", "unready": "un-Ready", "terminating": "terminating",
	"failed": "Failed", "succeeded": "Succeeded",
}

// since is a moment as the time since the chart's start.
func (c *chart) since(t time.Time, exact bool) string {
	d := t.Sub(c.start)
	if !exact {
		return fmt.Sprintf("%ds", int64(d.Round(time.Second)/time.Second))
	}
	return fmt.Sprintf("%.3fs", d.Seconds())
}

// drawSpecs marks each spec change of the set across the lanes.
func (c *chart) drawSpecs(b *bytes.Buffer) {
	bottom := laneY(len(c.lanes))
	n := 0
	for _, r := range c.records {
		if r.Pod != "" || r.Step != trace.Spec {
			continue
		}
		x := c.x(r.At)
		fmt.Fprintf(b, `<line class="spec" x1="%.1f" y1="%.0f" x2="%.1f" y2="%.0f"><title>%s</title></line>`+"\n", x, top-14, x, bottom, esc(r.Detail))
		fmt.Fprintf(b, `<text class="spec-label" x="%.1f" y="%.0f">%s</text>`+"\n", x+3, top-18-float64(n%2)*12, esc(r.Detail))
		n++
	}
}

// drawArrows draws, for each creation and termination, an arrow from the step it
// came after (trace.After) on another lane.
func (c *chart) drawArrows(b *bytes.Buffer) {
	for i, r := range c.records {
		j, ok := trace.After(c.set, c.records, i)
		if !ok {
			continue
		}
		from, to := c.records[j], r
		fo, _ := workload.OrdinalOf(c.set, from.Pod)
		too, _ := workload.OrdinalOf(c.set, to.Pod)
		if fo == too {
			continue // a replacement of the same pod: its own lane shows it
		}
		class := "created-after"
		if to.Step == trace.Terminating {
			class = "terminating-after"
		}
		y0, y1 := laneY(c.laneOf[fo])+laneHeight/2, laneY(c.laneOf[too])+laneHeight/2
		if y1 > y0 {
			y0, y1 = y0+barHeight/2, y1-barHeight/2
		} else {
			y0, y1 = y0-barHeight/2, y1+barHeight/2
		}
		fmt.Fprintf(b, `<line class="arrow %s" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" marker-end="url(#head-%s)"><title>%s</title></line>`+"\n",
			class, c.x(from.At), y0, c.x(to.At), y1, class, esc(fmt.Sprintf("%s %s after %s %s", to.Pod, to.Step, from.Pod, from.Step)))
	}
}

// tickSteps are the axis spacings to choose from, in seconds.
var tickSteps = []float64{0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800, 3600}

func (c *chart) drawAxis(b *bytes.Buffer) {
	y := laneY(len(c.lanes)) + 12
	fmt.Fprintf(b, `<g class="axis-group"><line class="axis" x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f"/>`+"\n", left, y, left+plotWidth, y)
	span := max(c.end.Sub(c.start).Seconds(), 1)
	step := tickSteps[len(tickSteps)-1]
	for _, s := range tickSteps {
		if span/s <= 10 {
			step = s
			break
		}
	}
	for n := 0; float64(n)*step <= span+1e-9; n++ {
		t := float64(n) * step
		x := left + t/span*plotWidth
		fmt.Fprintf(b, `<line class="axis" x1="%.1f" y1="%.0f" x2="%.1f" y2="%.0f"/><text class="tick-label" x="%.1f" y="%.0f">%ss</text>`+"\n",
			x, y, x, y+5, x, y+18, trimFloat(t))
	}
	fmt.Fprintf(b, `<text x="%.0f" y="%.0f">seconds since %s</text></g>`+"\n", left+plotWidth-150, y+34, c.start.UTC().Format("15:04:05 UTC"))
}

func trimFloat(f float64) string {
	s := fmt.Sprintf("%.1f", f)
	if len(s) > 2 && s[len(s)-2:] == ".0" {
		return s[:len(s)-2]
	}
	return s
}

func drawLegend(b *bytes.Buffer, y float64) {
	b.WriteString(`<g class="legend">` + "\n")
	x := left
	for _, s := range []string{"pending", "ready", "unready", "terminating", "failed"} {
		fmt.Fprintf(b, `<rect class="swatch %s" x="%.0f" y="%.0f" width="14" height="10"/><text x="%.0f" y="%.0f">%s</text>`+"\n",
			"bar "+s, x, y, x+18, y+9, stateWords[s])
		x += 95
	}
	for _, a := range []struct{ class, words string }{{"created-after", "created after"}, {"terminating-after", "terminating after"}} {
		fmt.Fprintf(b, `<line class="swatch arrow %s" x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" marker-end="url(#head-%s)"/><text x="%.0f" y="%.0f">%s</text>`+"\n",
			a.class, x, y+5, x+20, y+5, a.class, x+26, y+9, a.words)
		x += 130
	}
	b.WriteString("</g>\n")
}

// esc makes text safe inside an element or an attribute.
func esc(s string) string {
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}
