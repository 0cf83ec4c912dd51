//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// fenceMessage is what the fence policy answers a write it refuses.
const fenceMessage = "fenced: this controller replica lost the Lease and must not write"

// accountKubeconfig makes a ServiceAccount in the env's namespace, bound to
// cluster-admin, and writes a kubeconfig that authenticates as it (a token from the
// TokenRequest API, to the same API server). It returns the kubeconfig's path and
// the account's user name. Everything goes when the test ends.
func (e *env) accountKubeconfig(name string) (path, user string) {
	e.t.Helper()
	path, user = e.serviceAccountKubeconfig(name)
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "e2e-" + e.ns + "-" + name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "cluster-admin"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: name, Namespace: e.ns}},
	}
	if _, err := kube.RbacV1().ClusterRoleBindings().Create(e.ctx, binding, metav1.CreateOptions{}); err != nil {
		e.t.Fatalf("binding ServiceAccount %s to cluster-admin: %v", name, err)
	}
	e.t.Cleanup(func() { _ = kube.RbacV1().ClusterRoleBindings().Delete(e.ctx, binding.Name, metav1.DeleteOptions{}) })
	return path, user
}

// serviceAccountKubeconfig creates ServiceAccount name in the env's namespace, with no
// rights of its own, and writes a kubeconfig that authenticates as it with a token.
func (e *env) serviceAccountKubeconfig(name string) (path, user string) {
	e.t.Helper()
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: e.ns}}
	if _, err := kube.CoreV1().ServiceAccounts(e.ns).Create(e.ctx, sa, metav1.CreateOptions{}); err != nil {
		e.t.Fatalf("creating ServiceAccount %s: %v", name, err)
	}
	tok, err := kube.CoreV1().ServiceAccounts(e.ns).CreateToken(e.ctx, name,
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr(int64(3600))}}, metav1.CreateOptions{})
	if err != nil {
		e.t.Fatalf("requesting a token for %s: %v", name, err)
	}
	admin, err := clientcmd.LoadFromFile(os.Getenv("MSTS_KUBECONFIG"))
	if err != nil {
		e.t.Fatalf("reading the kubeconfig: %v", err)
	}
	ctx := admin.Contexts[admin.CurrentContext]
	if ctx == nil || admin.Clusters[ctx.Cluster] == nil {
		e.t.Fatalf("the kubeconfig has no current context with a cluster")
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["cluster"] = admin.Clusters[ctx.Cluster]
	cfg.AuthInfos[name] = &clientcmdapi.AuthInfo{Token: tok.Status.Token}
	cfg.Contexts[name] = &clientcmdapi.Context{Cluster: "cluster", AuthInfo: name}
	cfg.CurrentContext = name
	path = filepath.Join(artifacts, fmt.Sprintf("kubeconfig-%s-%s", e.ns, name))
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		e.t.Fatalf("writing %s: %v", path, err)
	}
	return path, fmt.Sprintf("system:serviceaccount:%s:%s", e.ns, name)
}

// fenceWrites installs, cluster-wide, an admission policy that refuses every write
// the user makes to what the controller writes (pods, claims, revisions, sets and
// their status and scale, events) with fenceMessage, and waits until it is in force.
// The Lease is left out: leader election itself is not fenced.
func (e *env) fenceWrites(user string) {
	e.t.Helper()
	name := "e2e-fence-" + e.ns
	ops := []admissionv1.OperationType{admissionv1.Create, admissionv1.Update, admissionv1.Delete}
	rule := func(group string, resources ...string) admissionv1.NamedRuleWithOperations {
		return admissionv1.NamedRuleWithOperations{RuleWithOperations: admissionv1.RuleWithOperations{Operations: ops,
			Rule: admissionv1.Rule{APIGroups: []string{group}, APIVersions: []string{"*"}, Resources: resources}}}
	}
	policy := &admissionv1.ValidatingAdmissionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: admissionv1.ValidatingAdmissionPolicySpec{
			FailurePolicy: ptr(admissionv1.Fail),
			MatchConstraints: &admissionv1.MatchResources{ResourceRules: []admissionv1.NamedRuleWithOperations{
				rule("", "pods", "pods/status", "persistentvolumeclaims", "events"),
				rule("apps", "controllerrevisions"),
				rule("apps.ministatefulset.dev", "ministatefulsets", "ministatefulsets/status", "ministatefulsets/scale"),
				rule("events.k8s.io", "events"),
			}},
			Validations: []admissionv1.Validation{{Expression: fmt.Sprintf("request.userInfo.username != '%s'", user), Message: fenceMessage}},
		},
	}
	if _, err := kube.AdmissionregistrationV1().ValidatingAdmissionPolicies().Create(e.ctx, policy, metav1.CreateOptions{}); err != nil {
		e.t.Fatalf("creating the fence policy: %v", err)
	}
	binding := &admissionv1.ValidatingAdmissionPolicyBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       admissionv1.ValidatingAdmissionPolicyBindingSpec{PolicyName: name, ValidationActions: []admissionv1.ValidationAction{admissionv1.Deny}},
	}
	if _, err := kube.AdmissionregistrationV1().ValidatingAdmissionPolicyBindings().Create(e.ctx, binding, metav1.CreateOptions{}); err != nil {
		e.t.Fatalf("binding the fence policy: %v", err)
	}
	e.t.Cleanup(func() {
		_ = kube.AdmissionregistrationV1().ValidatingAdmissionPolicyBindings().Delete(e.ctx, name, metav1.DeleteOptions{})
		_ = kube.AdmissionregistrationV1().ValidatingAdmissionPolicies().Delete(e.ctx, name, metav1.DeleteOptions{})
	})
	// probe as the user, with a dry run, until the fence holds
	cfg, err := clientcmd.BuildConfigFromFlags("", os.Getenv("MSTS_KUBECONFIG"))
	if err != nil {
		e.t.Fatal(err)
	}
	cfg.Impersonate.UserName = user
	as := kubernetes.NewForConfigOrDie(cfg)
	probe := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "fence-probe", Namespace: e.ns},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "registry.invalid/never-pulled:1"}}}}
	e.waitSaw(shortWait, "the fence to refuse "+user+"'s writes", func() (bool, string) {
		_, err := as.CoreV1().Pods(e.ns).Create(e.ctx, probe, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		return err != nil && strings.Contains(err.Error(), fenceMessage), fmt.Sprint(err)
	})
}
