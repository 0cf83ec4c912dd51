package plugin

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/klog/v2/ktesting"

	"github.com/ministatefulset/ministatefulset/pkg/workload"
)

func TestRevisionTemplateReadsBothControllersData(t *testing.T) {
	_, _ = ktesting.NewTestContext(t)
	rev := newTestSet(workload.MiniStatefulSet, "web").Revision(1, "redis:6")
	tmpl, err := revisionTemplate(rev)
	require.NoError(t, err)
	assert.Equal(t, "redis:6", tmpl.Spec.Containers[0].Image)
	assert.Equal(t, map[string]string{"app": "web"}, tmpl.Labels)

	rev.Data.Raw = []byte(`{"spec":{}}`)
	_, err = revisionTemplate(rev)
	assert.ErrorContains(t, err, "revision 1 (web-rev1) records no pod template")
	rev.Data.Raw = []byte(`not json`)
	_, err = revisionTemplate(rev)
	assert.ErrorContains(t, err, "reading the template of revision 1")
}

func TestQualifiedNamesMatchKubectl(t *testing.T) {
	_, _ = ktesting.NewTestContext(t)
	assert.Equal(t, "statefulset.apps/web", qualified(workload.Ref{Kind: workload.StatefulSet, Name: "web"}))
	assert.Equal(t, "ministatefulset.apps.ministatefulset.dev/web", qualified(workload.Ref{Kind: workload.MiniStatefulSet, Name: "web"}))
}
