// Package compare runs one manifest under both controllers, the built-in
// StatefulSet controller of kube-controller-manager and MiniStatefulSet, in fresh
// namespaces of one cluster, drives both through named scenarios, records both pod
// traces from watches (pkg/trace) and compares them where the StatefulSet
// guarantees fix what must happen: the order of pod steps under OrderedReady, the
// set of them under Parallel, the claims left and the pods' revisions. It is the
// engine of `kubectl msts compare`.
package compare
