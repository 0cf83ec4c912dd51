//go:build e2e

package lessons

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseLesson(t *testing.T) {
	path := filepath.Join(t.TempDir(), "01-x.md")
	require.NoError(t, os.WriteFile(path, []byte("# A lesson\n\n```console\n$ kubectl get pods \\\n  -o wide\nNAME  READY\nweb-0 1/1\n$ true\n```\n<!-- test: stop-controller -->\n```console\n$ kubectl msts status web\nerror: not found\n```\n"), 0o644))
	l, err := parseLesson(path)
	require.NoError(t, err)
	require.Len(t, l.steps, 4)
	assert.Equal(t, "kubectl get pods \\\n  -o wide", l.steps[0].command)
	assert.Equal(t, []string{"NAME  READY", "web-0 1/1"}, l.steps[0].want)
	assert.Equal(t, "true", l.steps[1].command)
	assert.Equal(t, "stop-controller", l.steps[2].directive)
	assert.True(t, l.steps[3].wantsFailure())
	assert.False(t, l.steps[0].wantsFailure())

	require.NoError(t, os.WriteFile(path, []byte("```console\n$ kubectl apply -f - <<'EOF'\nkind: X\nEOF\nx/y created\n```\n"), 0o644))
	l, err = parseLesson(path)
	require.NoError(t, err)
	require.Len(t, l.steps, 1)
	assert.Equal(t, "kubectl apply -f - <<'EOF'\nkind: X\nEOF", l.steps[0].command)
	assert.Equal(t, []string{"x/y created"}, l.steps[0].want)

	require.NoError(t, os.WriteFile(path, []byte("```console\noutput first\n```\n"), 0o644))
	_, err = parseLesson(path)
	assert.ErrorContains(t, err, "output before any command")
	require.NoError(t, os.WriteFile(path, []byte("```console\n$ true\n"), 0o644))
	_, err = parseLesson(path)
	assert.ErrorContains(t, err, "not closed")
}

func TestMatchOutput(t *testing.T) {
	got := "NAME      READY   STATUS    AGE\nredis-0   1/1     Running   12s\nredis-1   1/1     Running   9s\n"
	assert.NoError(t, matchOutput([]string{"NAME READY STATUS AGE", "redis-1 1/1 Running <age>"}, got))
	assert.NoError(t, matchOutput([]string{"redis-0 ... Running <age>", "..."}, got))
	assert.ErrorContains(t, matchOutput([]string{"redis-1 1/1 Running <age>", "redis-0 1/1 Running <age>"}, got), "redis-0")
	assert.ErrorContains(t, matchOutput([]string{"redis-2 1/1 Running <age>"}, got), "redis-2")
	assert.NoError(t, matchOutput([]string{"+<t>s redis-1 created <ms> after redis-0 became Ready"}, "+0.812s redis-1 created 3ms after redis-0 became Ready"))
	assert.NoError(t, matchOutput([]string{"... redis-1 ready ..."}, "+2.214s    redis-1    ready"))
	assert.Error(t, matchOutput([]string{"... redis-1 ready ..."}, "+2.214s    redis-11   ready"))
}
