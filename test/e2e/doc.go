// Package e2e proves the StatefulSet guarantees of MiniStatefulSet on a real control
// plane: etcd, kube-apiserver, kube-controller-manager and kube-scheduler v1.37.2
// with kwok standing in for kubelets (test/cluster), and the controller under test
// running as its own process. The tests carry the e2e build tag; `make e2e` brings
// the cluster up, runs them and tears it down.
package e2e
