package bench

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// auditEntry is what a request's audit event says that the benchmark reads.
type auditEntry struct {
	Verb      string `json:"verb"`
	UserAgent string `json:"userAgent"`
	Stage     string `json:"stage"`
	ObjectRef *struct {
		Resource    string `json:"resource"`
		Subresource string `json:"subresource"`
		Name        string `json:"name"`
	} `json:"objectRef"`
	RequestReceivedTimestamp time.Time `json:"requestReceivedTimestamp"`
	ResponseStatus           *struct {
		Code int `json:"code"`
	} `json:"responseStatus"`
}

// agent is whose request an audit entry records.
type agent int

const (
	otherAgent agent = iota
	miniAgent
	builtInAgent
	gcAgent
	// floorAgent is the benchmark's own client, the floor's writer.
	floorAgent
)

// agentOf tells the controllers apart by user agent: ours says
// ministatefulset-controller, kube-controller-manager's clients end in the name of
// the controller they serve.
func agentOf(ua string) agent {
	switch {
	case strings.HasPrefix(ua, "ministatefulset-controller"):
		return miniAgent
	case strings.HasPrefix(ua, "kube-controller-manager/") && strings.HasSuffix(ua, "/statefulset-controller"):
		return builtInAgent
	case strings.HasPrefix(ua, "kube-controller-manager/") && strings.Contains(ua, "garbage-collector"):
		return gcAgent
	case ua == benchUserAgent:
		return floorAgent
	}
	return otherAgent
}

// auditLog reads the API server's audit log as it grows. The API server rotates the
// log (at 100 MB): a read that finds another file at path first finishes the file it
// was reading, renamed audit-<time>.log beside it, then reads the new one.
type auditLog struct {
	path   string
	offset int64
	file   os.FileInfo // the file offset is in
}

// skip moves past everything written so far.
func (a *auditLog) skip() error {
	st, err := os.Stat(a.path)
	if err != nil {
		return err
	}
	a.offset, a.file = st.Size(), st
	return nil
}

// rotated finds the file the log was renamed to, if it was rotated since the last read.
func (a *auditLog) rotated(now os.FileInfo) (string, error) {
	if a.file == nil || os.SameFile(a.file, now) {
		return "", nil
	}
	dir, base := filepath.Split(a.path)
	ext := filepath.Ext(base)
	matches, err := filepath.Glob(filepath.Join(dir, strings.TrimSuffix(base, ext)+"-*"+ext))
	if err != nil {
		return "", err
	}
	for _, m := range matches {
		if st, err := os.Stat(m); err == nil && os.SameFile(a.file, st) {
			return m, nil
		}
	}
	return "", fmt.Errorf("the audit log was rotated more than once between two reads, or its old file is gone: its requests are lost")
}

// count reads what was written since the last read and counts, for the writer
// who, the requests received in [from, to]: by verb, its events, and the garbage
// collector's; and when each of its pod creates was received (for the floor, only
// that).
func (a *auditLog) count(who Controller, from, to time.Time, f *Figures) error {
	want := miniAgent
	switch who {
	case BuiltIn:
		want = builtInAgent
	case Floor:
		want = floorAgent
	}
	f.Requests = map[string]int{}
	f.createSent = map[string]time.Time{}
	now, err := os.Stat(a.path)
	if err != nil {
		return err
	}
	old, err := a.rotated(now)
	if err != nil {
		return err
	}
	if old != "" {
		if _, err := a.read(old, a.offset, from, to, who, want, f); err != nil {
			return err
		}
		a.offset = 0
	}
	a.offset, err = a.read(a.path, a.offset, from, to, who, want, f)
	a.file = now
	return err
}

// read tallies the complete lines of path from offset on and returns the offset
// after the last one.
func (a *auditLog) read(path string, offset int64, from, to time.Time, who Controller, want agent, f *Figures) (int64, error) {
	file, err := os.Open(path)
	if err != nil {
		return offset, err
	}
	defer file.Close()
	if _, err := file.Seek(offset, io.SeekStart); err != nil {
		return offset, err
	}
	r := bufio.NewReaderSize(file, 1<<20)
	for {
		line, err := r.ReadBytes('\n')
		if len(line) > 0 && line[len(line)-1] == '\n' {
			offset += int64(len(line))
			var e auditEntry
			if jerr := json.Unmarshal(line, &e); jerr != nil {
				return offset, fmt.Errorf("reading the audit log: %w", jerr)
			}
			if e.Stage == "ResponseComplete" && !e.RequestReceivedTimestamp.Before(from) && !e.RequestReceivedTimestamp.After(to) {
				tally(e, who, want, f)
			}
		}
		if err == io.EOF {
			return offset, nil
		}
		if err != nil {
			return offset, err
		}
	}
}

func tally(e auditEntry, who Controller, want agent, f *Figures) {
	ag := agentOf(e.UserAgent)
	if ag == want && e.Verb == "create" && e.ObjectRef != nil && e.ObjectRef.Resource == "pods" && e.ObjectRef.Subresource == "" &&
		e.ResponseStatus != nil && e.ResponseStatus.Code < 400 {
		f.createSent[e.ObjectRef.Name] = e.RequestReceivedTimestamp
	}
	switch {
	case ag == gcAgent && e.Verb != "watch":
		f.GC++
	case who == Floor || ag != want || e.Verb == "watch":
	case e.ObjectRef != nil && e.ObjectRef.Resource == "events":
		f.Events++
	default:
		f.Requests[requestKey(e)]++
	}
}

// requestKey names a request by verb and resource, and by its code when it failed:
// "create pods", "update ministatefulsets/status", "create pods 409".
func requestKey(e auditEntry) string {
	k := e.Verb
	if e.ObjectRef != nil {
		k += " " + e.ObjectRef.Resource
		if e.ObjectRef.Subresource != "" {
			k += "/" + e.ObjectRef.Subresource
		}
	}
	if e.ResponseStatus != nil && e.ResponseStatus.Code >= 400 {
		k += fmt.Sprintf(" %d", e.ResponseStatus.Code)
	}
	return k
}
