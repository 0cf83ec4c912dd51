//go:build e2e

// Package lessons runs the lessons of docs/lessons as a learner would, command by
// command, and checks each command's output against the shape the lesson shows, so
// the lessons cannot drift from what the tools print.
package lessons

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// step is one command of a lesson and the output the lesson shows for it.
type step struct {
	// line is where the command starts in the lesson, for messages.
	line    int
	command string
	want    []string
	// directive is a test-only instruction in an HTML comment, e.g. stop-controller.
	directive string
}

// lesson is one docs/lessons file.
type lesson struct {
	path  string
	steps []step
}

// readLessons reads the numbered lessons of a directory, in order.
func readLessons(dir string) ([]lesson, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "[0-9][0-9]-*.md"))
	if err != nil {
		return nil, err
	}
	sort.Strings(paths)
	var out []lesson
	for _, p := range paths {
		l, err := parseLesson(p)
		if err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, nil
}

// heredocStart finds a here-document (<<'EOF' or <<EOF): its lines belong to the command.
var heredocStart = regexp.MustCompile(`<<-?'?([A-Z]+)'?`)

var directive = regexp.MustCompile(`^<!-- test: ([a-z-]+) -->$`)

// parseLesson reads the ```console blocks of a lesson: a line "$ cmd" is a command
// (continued by a trailing backslash, or by a here-document up to its end word), the lines after it until the next command or
// the end of the block are its output. A comment <!-- test: X --> outside blocks is
// a step of its own that only the test acts on.
func parseLesson(path string) (lesson, error) {
	f, err := os.Open(path)
	if err != nil {
		return lesson{}, err
	}
	defer f.Close()
	l := lesson{path: path}
	sc := bufio.NewScanner(f)
	inBlock, continued := false, false
	heredoc := "" // the word that ends a here-document the command reads
	n := 0
	for sc.Scan() {
		n++
		text := sc.Text()
		switch {
		case !inBlock && strings.HasPrefix(text, "```console"):
			inBlock = true
		case !inBlock:
			if m := directive.FindStringSubmatch(strings.TrimSpace(text)); m != nil {
				l.steps = append(l.steps, step{line: n, directive: m[1]})
			}
		case strings.HasPrefix(text, "```"):
			inBlock, continued = false, false
		case heredoc != "":
			cur := &l.steps[len(l.steps)-1]
			cur.command += "\n" + text
			if strings.TrimSpace(text) == heredoc {
				heredoc = ""
			}
		case continued:
			cur := &l.steps[len(l.steps)-1]
			cur.command += "\n" + text
			continued = strings.HasSuffix(text, "\\")
		case strings.HasPrefix(text, "$ "):
			l.steps = append(l.steps, step{line: n, command: strings.TrimPrefix(text, "$ ")})
			continued = strings.HasSuffix(text, "\\")
			if m := heredocStart.FindStringSubmatch(text); m != nil {
				heredoc = m[1]
			}
		case len(l.steps) == 0 || l.steps[len(l.steps)-1].directive != "":
			return l, fmt.Errorf("%s:%d: output before any command in a console block", path, n)
		default:
			cur := &l.steps[len(l.steps)-1]
			cur.want = append(cur.want, text)
		}
	}
	if inBlock {
		return l, fmt.Errorf("%s: a console block is not closed", path)
	}
	return l, sc.Err()
}

// placeholder is <anything in angle brackets>: one word of the output that differs
// from run to run (an age, an IP, a UID, a hash).
var placeholder = regexp.MustCompile(`<[a-z0-9 .,/-]+>`)

// linePattern turns a line the lesson shows into a pattern of the real line:
// placeholders stand for a word, runs of spaces for any run of spaces, and "..." for
// anything.
func linePattern(want string) (*regexp.Regexp, error) {
	var b strings.Builder
	b.WriteString(`^\s*`)
	fields := strings.Fields(want)
	for i, f := range fields {
		if i > 0 {
			// "..." on its own may stand for nothing, spaces included.
			if f == "..." || fields[i-1] == "..." {
				b.WriteString(`\s*`)
			} else {
				b.WriteString(`\s+`)
			}
		}
		rest := f
		for rest != "" {
			loc := placeholder.FindStringIndex(rest)
			dots := strings.Index(rest, "...")
			switch {
			case dots >= 0 && (loc == nil || dots < loc[0]):
				b.WriteString(regexp.QuoteMeta(rest[:dots]) + `.*`)
				rest = rest[dots+3:]
			case loc != nil:
				b.WriteString(regexp.QuoteMeta(rest[:loc[0]]) + `\S+`)
				rest = rest[loc[1]:]
			default:
				b.WriteString(regexp.QuoteMeta(rest))
				rest = ""
			}
		}
	}
	b.WriteString(`\s*$`)
	return regexp.Compile(b.String())
}

// matchOutput checks that every line the lesson shows appears in the real output,
// in order (the lesson may leave lines out); it returns what it could not find.
func matchOutput(want []string, got string) error {
	lines := strings.Split(strings.TrimRight(got, "\n"), "\n")
	i := 0
	for _, w := range want {
		if strings.TrimSpace(w) == "" || strings.TrimSpace(w) == "..." {
			continue
		}
		re, err := linePattern(w)
		if err != nil {
			return fmt.Errorf("the lesson's line %q makes no pattern: %v", w, err)
		}
		for i < len(lines) && !re.MatchString(lines[i]) {
			i++
		}
		if i == len(lines) {
			return fmt.Errorf("no line (after the ones matched before it) has the shape %q", w)
		}
		i++
	}
	return nil
}

// refusal is how kubectl and the plugin begin an error: "error: ...", "Error from
// server ...", or the API server's "The Kind "name" is invalid: ...".
var refusal = regexp.MustCompile(`^(error:|Error |The \S+ "[^"]+" is invalid:)`)

// wantsFailure reports a step whose output the lesson shows as an error.
func (s step) wantsFailure() bool {
	return len(s.want) > 0 && refusal.MatchString(s.want[0])
}
