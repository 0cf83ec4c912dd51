package main

import (
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

// namespaceList is --namespace: repeatable, each value a comma-separated list.
type namespaceList []string

func (l *namespaceList) String() string { return strings.Join(*l, ",") }

func (l *namespaceList) Set(v string) error {
	for _, ns := range strings.Split(v, ",") {
		ns = strings.TrimSpace(ns)
		if ns == "" {
			return fmt.Errorf("an empty namespace in %q", v)
		}
		if errs := validation.IsDNS1123Label(ns); len(errs) > 0 {
			return fmt.Errorf("namespace %q: %s", ns, strings.Join(errs, "; "))
		}
		if !slices.Contains(*l, ns) {
			*l = append(*l, ns)
		}
	}
	return nil
}

// scopes is what the informers watch: every namespace ("") or those listed.
func (l namespaceList) scopes() []string {
	if len(l) == 0 {
		return []string{""}
	}
	return l
}

// describe says what the controller watches, for its first log line.
func (l namespaceList) describe() string {
	if len(l) == 0 {
		return "all"
	}
	return l.String()
}
