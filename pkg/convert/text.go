package convert

import (
	"bytes"
	"sort"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// text edits the input in place, so that a conversion changes the bytes of two
// values (and the lines of status) and nothing else: blank lines, indentation,
// quoting and comments survive exactly, which no YAML re-encoding promises. An edit
// it cannot place safely marks it broken, and the documents are encoded instead.
type text struct {
	src       []byte
	lineStart []int // byte offset where each line (1-based line n at index n-1) begins
	edits     []edit
	broken    bool
}

type edit struct {
	from, to int
	with     string
}

func newText(src []byte) *text {
	t := &text{src: src, lineStart: []int{0}}
	for i, b := range src {
		if b == '\n' && i+1 < len(src) {
			t.lineStart = append(t.lineStart, i+1)
		}
	}
	return t
}

// offset is the byte offset of a 1-based line and (character) column.
func (t *text) offset(line, col int) (int, bool) {
	if line < 1 || line > len(t.lineStart) || col < 1 {
		return 0, false
	}
	off := t.lineStart[line-1]
	for i := 1; i < col; i++ {
		if off >= len(t.src) || t.src[off] == '\n' {
			return 0, false
		}
		_, size := utf8.DecodeRune(t.src[off:])
		off += size
	}
	return off, true
}

// line is a line's text without its line break.
func (t *text) line(n int) string {
	from, to := t.lineStart[n-1], len(t.src)
	if n < len(t.lineStart) {
		to = t.lineStart[n]
	}
	return strings.TrimRight(string(t.src[from:to]), "\r\n")
}

// replaceScalar rewrites a scalar's value where it stands, keeping its quotes.
func (t *text) replaceScalar(n *yaml.Node, value string) {
	off, ok := t.offset(n.Line, n.Column)
	if !ok {
		t.broken = true
		return
	}
	rest, old := t.src[off:], []byte(n.Value)
	switch n.Style {
	case 0:
		if !bytes.HasPrefix(rest, old) {
			t.broken = true
			return
		}
		t.edits = append(t.edits, edit{off, off + len(old), value})
	case yaml.DoubleQuotedStyle, yaml.SingleQuotedStyle:
		q := byte('"')
		if n.Style == yaml.SingleQuotedStyle {
			q = '\''
		}
		if len(rest) < len(old)+2 || rest[0] != q || !bytes.HasPrefix(rest[1:], old) || rest[1+len(old)] != q {
			t.broken = true
			return
		}
		t.edits = append(t.edits, edit{off + 1, off + 1 + len(old), value})
	default:
		t.broken = true
	}
}

// removeEntry deletes the lines of a block mapping's entry: the key's line and every
// line after it indented deeper (blank lines inside count; blank lines and comments
// at the key's own indentation after it belong to what follows).
func (t *text) removeEntry(m, key, value *yaml.Node) {
	if m.Style&yaml.FlowStyle != 0 {
		t.broken = true
		return
	}
	off, ok := t.offset(key.Line, key.Column)
	start := t.lineStart[key.Line-1]
	if !ok || strings.TrimSpace(string(t.src[start:off])) != "" {
		// "- status:" opens a list item: the line holds more than the entry
		t.broken = true
		return
	}
	indent, last := off-start, key.Line
	for n := key.Line + 1; n <= len(t.lineStart); n++ {
		l := t.line(n)
		if strings.TrimSpace(l) == "" {
			continue
		}
		body := strings.TrimLeft(l, " ")
		ind := len(l) - len(body)
		seqItem := value.Kind == yaml.SequenceNode && ind == indent && (body == "-" || strings.HasPrefix(body, "- "))
		if ind <= indent && !seqItem {
			break
		}
		last = n
	}
	end := len(t.src)
	if last < len(t.lineStart) {
		end = t.lineStart[last]
	}
	t.edits = append(t.edits, edit{start, end, ""})
}

// result is the edited text, false when some edit could not be placed.
func (t *text) result() ([]byte, bool) {
	if t.broken {
		return nil, false
	}
	edits := append([]edit(nil), t.edits...)
	sort.Slice(edits, func(i, j int) bool { return edits[i].from < edits[j].from })
	var out bytes.Buffer
	at := 0
	for _, e := range edits {
		if e.from < at {
			return nil, false
		}
		out.Write(t.src[at:e.from])
		out.WriteString(e.with)
		at = e.to
	}
	out.Write(t.src[at:])
	return out.Bytes(), true
}
