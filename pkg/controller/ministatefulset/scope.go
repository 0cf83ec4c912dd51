package ministatefulset

import (
	appsinformers "k8s.io/client-go/informers/apps/v1"
	coreinformers "k8s.io/client-go/informers/core/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	mstsinformers "github.com/ministatefulset/ministatefulset/pkg/generated/informers/externalversions/apps/v1alpha1"
	mstslisters "github.com/ministatefulset/ministatefulset/pkg/generated/listers/apps/v1alpha1"
)

// Informers are the informers of one scope: every namespace (Namespace ""), or one
// namespace. A controller confined to some namespaces gets one Informers for each,
// so it needs a Role in each and no ClusterRole.
type Informers struct {
	Namespace string
	Sets      mstsinformers.MiniStatefulSetInformer
	Pods      coreinformers.PodInformer
	Claims    coreinformers.PersistentVolumeClaimInformer
	Revisions appsinformers.ControllerRevisionInformer
}

// The controller reads its caches only through these: with one scope they are the
// informers' own listers and indexers, with several they route by namespace.
type (
	setsByNamespace interface {
		MiniStatefulSets(namespace string) mstslisters.MiniStatefulSetNamespaceLister
	}
	claimsByNamespace interface {
		PersistentVolumeClaims(namespace string) corelisters.PersistentVolumeClaimNamespaceLister
	}
	indexed interface {
		ByIndex(indexName, indexedValue string) ([]any, error)
	}
)

// scoped routes reads to the caches of the namespace asked for; a namespace out of
// scope reads as empty.
type scoped struct {
	sets   map[string]mstslisters.MiniStatefulSetLister
	claims map[string]corelisters.PersistentVolumeClaimLister
	// noSets and noClaims read an empty cache, for a namespace out of scope.
	noSets   mstslisters.MiniStatefulSetLister
	noClaims corelisters.PersistentVolumeClaimLister
}

func (s *scoped) MiniStatefulSets(namespace string) mstslisters.MiniStatefulSetNamespaceLister {
	if l, ok := s.sets[namespace]; ok {
		return l.MiniStatefulSets(namespace)
	}
	return s.noSets.MiniStatefulSets(namespace)
}

func (s *scoped) PersistentVolumeClaims(namespace string) corelisters.PersistentVolumeClaimNamespaceLister {
	if l, ok := s.claims[namespace]; ok {
		return l.PersistentVolumeClaims(namespace)
	}
	return s.noClaims.PersistentVolumeClaims(namespace)
}

// indexers answers an index lookup from several caches: UIDs and namespaces are
// each in at most one of them.
type indexers []cache.Indexer

func (ix indexers) ByIndex(indexName, indexedValue string) ([]any, error) {
	var out []any
	for _, i := range ix {
		objs, err := i.ByIndex(indexName, indexedValue)
		if err != nil {
			return nil, err
		}
		out = append(out, objs...)
	}
	return out, nil
}

// readers builds the controller's readers over scopes.
func readers(scopes []Informers) (setsByNamespace, claimsByNamespace, indexed, indexed) {
	if len(scopes) == 1 {
		s := scopes[0]
		return s.Sets.Lister(), s.Claims.Lister(), s.Pods.Informer().GetIndexer(), s.Revisions.Informer().GetIndexer()
	}
	empty := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	r := &scoped{sets: map[string]mstslisters.MiniStatefulSetLister{}, claims: map[string]corelisters.PersistentVolumeClaimLister{},
		noSets: mstslisters.NewMiniStatefulSetLister(empty), noClaims: corelisters.NewPersistentVolumeClaimLister(empty)}
	var pods, revs indexers
	for _, s := range scopes {
		r.sets[s.Namespace] = s.Sets.Lister()
		r.claims[s.Namespace] = s.Claims.Lister()
		pods = append(pods, s.Pods.Informer().GetIndexer())
		revs = append(revs, s.Revisions.Informer().GetIndexer())
	}
	return r, r, pods, revs
}
