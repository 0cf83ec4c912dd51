package bench

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
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
	}
	return otherAgent
}

// auditLog reads the API server's audit log as it grows.
type auditLog struct {
	path   string
	offset int64
}

// skip moves past everything written so far.
func (a *auditLog) skip() error {
	st, err := os.Stat(a.path)
	if err != nil {
		return err
	}
	a.offset = st.Size()
	return nil
}

// count reads what was written since the last read and counts, for the writer
// who, the requests received in [from, to]: by verb, its events, and the garbage
// collector's.
func (a *auditLog) count(who Controller, from, to time.Time, f *Figures) error {
	file, err := os.Open(a.path)
	if err != nil {
		return err
	}
	defer file.Close()
	if _, err := file.Seek(a.offset, io.SeekStart); err != nil {
		return err
	}
	want := miniAgent
	if who == BuiltIn {
		want = builtInAgent
	}
	f.Requests = map[string]int{}
	r := bufio.NewReaderSize(file, 1<<20)
	for {
		line, err := r.ReadBytes('\n')
		if len(line) > 0 && line[len(line)-1] == '\n' {
			a.offset += int64(len(line))
			var e auditEntry
			if jerr := json.Unmarshal(line, &e); jerr != nil {
				return fmt.Errorf("reading the audit log: %w", jerr)
			}
			if e.Stage == "ResponseComplete" && !e.RequestReceivedTimestamp.Before(from) && !e.RequestReceivedTimestamp.After(to) {
				tally(e, who, want, f)
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

func tally(e auditEntry, who Controller, want agent, f *Figures) {
	ag := agentOf(e.UserAgent)
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
