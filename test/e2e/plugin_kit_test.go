//go:build e2e

package e2e

import (
	"bytes"
	"os"
	"strings"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/ministatefulset/ministatefulset/pkg/plugin"
)

// kubectlMsts runs `kubectl msts ARGS...` in process against the test cluster, in
// the env's namespace, and returns what it printed and its exit status.
func (e *env) kubectlMsts(args ...string) (stdout, stderr string, status int) {
	e.t.Helper()
	var out, errOut bytes.Buffer
	full := append([]string{"--kubeconfig", os.Getenv("MSTS_KUBECONFIG"), "-n", e.ns}, args...)
	status = plugin.Run(e.ctx, full, genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut})
	e.t.Logf("kubectl msts %s (exit %d):\n%s%s", strings.Join(args, " "), status, out.String(), errOut.String())
	return out.String(), errOut.String(), status
}

// mustKubectlMsts is kubectlMsts for a command that must succeed.
func (e *env) mustKubectlMsts(args ...string) string {
	e.t.Helper()
	out, errOut, status := e.kubectlMsts(args...)
	if status != 0 {
		e.t.Fatalf("kubectl msts %s exited %d: %s", strings.Join(args, " "), status, errOut)
	}
	return out
}
