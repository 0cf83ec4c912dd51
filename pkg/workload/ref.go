// Package workload is a view of a set that reads the same whichever controller runs
// it: a MiniStatefulSet or a built-in StatefulSet, with its pods, claims and
// ControllerRevisions. The kubectl plugin, the migration and the compare runner look
// at both kinds through it, so the two can be looked at the same way.
package workload

import (
	"fmt"
	"strings"
)

// Kind is the kind of a set.
type Kind string

// The two kinds of set.
const (
	MiniStatefulSet Kind = "MiniStatefulSet"
	StatefulSet     Kind = "StatefulSet"
)

// Short is the kind's kubectl short name.
func (k Kind) Short() string {
	if k == StatefulSet {
		return "sts"
	}
	return "msts"
}

// Ref names one set.
type Ref struct {
	Kind      Kind
	Namespace string
	Name      string
}

func (r Ref) String() string { return r.Kind.Short() + "/" + r.Name }

// kindNames are the ways kubectl users write the two kinds.
var kindNames = map[string]Kind{
	"msts": MiniStatefulSet, "ministatefulset": MiniStatefulSet, "ministatefulsets": MiniStatefulSet,
	"ministatefulset.apps.ministatefulset.dev": MiniStatefulSet, "ministatefulsets.apps.ministatefulset.dev": MiniStatefulSet,
	"sts": StatefulSet, "statefulset": StatefulSet, "statefulsets": StatefulSet,
	"statefulset.apps": StatefulSet, "statefulsets.apps": StatefulSet,
}

// ParseKind reads a kind as kubectl users write it ("msts", "statefulset.apps", ...).
func ParseKind(s string) (Kind, error) {
	if k, ok := kindNames[strings.ToLower(s)]; ok {
		return k, nil
	}
	return "", fmt.Errorf("%q is not a kind of set: use msts (MiniStatefulSet) or sts (StatefulSet)", s)
}

// ParseRef reads "msts/web", "sts/web", "statefulset.apps/web" or a bare "web", which
// means the MiniStatefulSet.
func ParseRef(arg, namespace string) (Ref, error) {
	kind, name := MiniStatefulSet, arg
	if i := strings.Index(arg, "/"); i >= 0 {
		k, err := ParseKind(arg[:i])
		if err != nil {
			return Ref{}, err
		}
		kind, name = k, arg[i+1:]
	}
	if name == "" || strings.Contains(name, "/") {
		return Ref{}, fmt.Errorf("%q does not name a set: write NAME, msts/NAME or sts/NAME", arg)
	}
	return Ref{Kind: kind, Namespace: namespace, Name: name}, nil
}
