package plugin

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/ministatefulset/ministatefulset/pkg/trace"
)

// TestCreatesReported: a follow that settled waits for the SuccessfulCreate of every
// pod it saw created live; pods read back from history do not count.
func TestCreatesReported(t *testing.T) {
	created := func(pod string, exact bool) trace.Record {
		return trace.Record{Step: trace.Created, Pod: pod, Exact: exact}
	}
	event := func(pod, reason string) trace.Record {
		return trace.Record{Step: trace.Event, Pod: pod, Detail: reason + ": create Pod " + pod + " in MiniStatefulSet web successful", Exact: true}
	}
	assert.True(t, createsReported(nil))
	assert.True(t, createsReported([]trace.Record{created("web-0", false)}), "history: its events were read already")
	assert.False(t, createsReported([]trace.Record{created("web-1", true), event("web-2", "SuccessfulCreate")}))
	assert.False(t, createsReported([]trace.Record{created("web-1", true), event("web-1", "FailedCreate")}))
	assert.True(t, createsReported([]trace.Record{created("web-1", true), created("web-2", true), event("web-2", "SuccessfulCreate"), event("web-1", "SuccessfulCreate")}))
}
