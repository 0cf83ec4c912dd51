package plugin

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/klog/v2/ktesting"
)

const convertSTS = `apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: web # the set
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
status:
  replicas: 3
`

func TestConvertReadsStandardInput(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	f := newPluginFixture(t)
	f.o.In = strings.NewReader(convertSTS)
	require.NoError(t, f.run(ctx, "convert", "-f", "-"))
	assert.Equal(t, `apiVersion: apps.ministatefulset.dev/v1alpha1
kind: MiniStatefulSet
metadata:
  name: web # the set
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
`, f.out.String())
	assert.Equal(t, "document 1 (StatefulSet web): dropped status, which the controller writes\n", f.errOut.String())
	assert.Empty(t, f.writes(), "convert reads no cluster")
}

func TestConvertReadsAFileAndForcesAKind(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	path := filepath.Join(t.TempDir(), "web.yaml")
	require.NoError(t, os.WriteFile(path, []byte(convertSTS), 0o644))
	f := newPluginFixture(t)
	require.NoError(t, f.run(ctx, "convert", "-f", path, "--to", "sts"))
	assert.Equal(t, convertSTS, f.out.String(), "a StatefulSet is already a StatefulSet")

	f.out.Reset()
	require.NoError(t, f.run(ctx, "convert", "-f", path, "--to", "ministatefulset", "-o", "json"))
	assert.True(t, bytes.HasPrefix(f.out.Bytes(), []byte("{\n    \"apiVersion\": \"apps.ministatefulset.dev/v1alpha1\",\n    \"kind\": \"MiniStatefulSet\"")), "%s", f.out.String())
}

func TestConvertFlagErrors(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	f := newPluginFixture(t)
	assert.ErrorContains(t, f.run(ctx, "convert"), `required flag(s) "filename" not set`)
	assert.ErrorContains(t, f.run(ctx, "convert", "-f", "-", "--to", "deployment"), `--to deployment: "deployment" is not a kind of set`)
	assert.ErrorContains(t, f.run(ctx, "convert", "-f", "-", "-o", "wide"), `unknown output format "wide"`)
	assert.EqualError(t, f.run(ctx, "convert", "-f", "-"), "standard input is empty: nothing to convert")
	assert.ErrorContains(t, f.run(ctx, "convert", "-f", filepath.Join(t.TempDir(), "missing.yaml")), "reading ")

	f.o.In = strings.NewReader("apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: web}\nspec: {volumeClaimTemplate: []}\n")
	err := f.run(ctx, "convert", "-f", "-")
	assert.ErrorContains(t, err, "document 1 (StatefulSet web): unknown field spec.volumeClaimTemplate")
	assert.Empty(t, f.out.String(), "nothing is written when a document does not convert")
}
