# MiniStatefulSet. `make help` lists the targets.
SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c
export PATH := $(PATH):/usr/local/go/bin

MODULE   := github.com/ministatefulset/ministatefulset
API      := ./pkg/apis/apps/v1alpha1
HEADER   := pkg/apis/boilerplate.go.txt
GEN      := pkg/generated
BIN      := bin
KUBECONFIG ?= $(HOME)/.kube/config
KUBECTL  := $(CURDIR)/.cache/bin/kubectl

# The local test cluster (test/cluster): kwok nodes around a real v1.37.2 control plane.
# READY_DELAY_MS is how long a new pod takes to become Ready on the cluster of make run and
# make cluster-up, so a learner sees each pod wait its turn; the e2e cluster has none.
# CLUSTER_DIR, CLUSTER_NAME and DNS_PORT may be set to run a second cluster beside the first.
CLUSTER_DIR ?= $(CURDIR)/.cache/cluster
CLUSTER_NAME ?= msts-e2e
export MSTS_CLUSTER_DIR := $(CLUSTER_DIR)
export MSTS_CLUSTER_NAME := $(CLUSTER_NAME)
CLUSTER_KUBECONFIG := $(CLUSTER_DIR)/kubeconfig
DNS_PORT ?= 15353
E2E_ARTIFACTS ?= $(CURDIR)/.cache/e2e
E2E_FLAGS ?= -v
READY_DELAY_MS ?= 2000
CLUSTER_BINS := etcd kube-apiserver kube-controller-manager kube-scheduler kubectl kwok kwokctl coredns

# kind, for users with Docker.
KIND_VERSION := v0.33.0
# The controller's version, stamped into the binary and the image.
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
KIND_CLUSTER := msts
KIND := $(CURDIR)/.cache/bin/kind
IMAGE := ministatefulset-controller:dev
NEED_DOCKER := if ! docker info >/dev/null 2>&1; then \
	echo "kind needs a running Docker engine and none answers here ('docker info' failed)."; \
	echo "Use 'make run' and 'make e2e' instead: they need no Docker."; exit 1; fi

.PHONY: help prereqs prereqs-race prereqs-cluster codegen generate verify build test unit fuzz e2e dig lessons compare chaos bench bench-cluster run run-against install-crd install-plugin clean \
	tools cluster-up cluster-down kind-up kind-deploy kind-e2e kind-down \
	e2e-apps upstream-e2e upstream-e2e-baseline kind-upstream-e2e

help: ## List the targets.
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

# The code generators, built from their own module (test/tools/codegen) so that their
# dependencies stay out of the product's go.mod.
CODEGEN     := applyconfiguration-gen client-gen deepcopy-gen informer-gen lister-gen
CODEGEN_BIN := $(CURDIR)/.cache/bin/codegen

codegen:
	go build -C test/tools/codegen -o $(CODEGEN_BIN)/ $(addprefix k8s.io/code-generator/cmd/,$(CODEGEN)) sigs.k8s.io/controller-tools/cmd/controller-gen

generate: codegen ## Regenerate deepcopy, clientset, listers, informers, apply configurations and the CRD.
	$(CODEGEN_BIN)/deepcopy-gen --go-header-file $(HEADER) --output-file zz_generated.deepcopy.go $(API)
	rm -rf $(GEN)
	$(CODEGEN_BIN)/applyconfiguration-gen --go-header-file $(HEADER) --output-dir $(GEN)/applyconfiguration --output-pkg $(MODULE)/$(GEN)/applyconfiguration $(API)
	$(CODEGEN_BIN)/client-gen --go-header-file $(HEADER) --clientset-name versioned --input-base "" --input $(MODULE)/pkg/apis/apps/v1alpha1 \
		--output-dir $(GEN)/clientset --output-pkg $(MODULE)/$(GEN)/clientset --apply-configuration-package $(MODULE)/$(GEN)/applyconfiguration
	$(CODEGEN_BIN)/lister-gen --go-header-file $(HEADER) --output-dir $(GEN)/listers --output-pkg $(MODULE)/$(GEN)/listers $(API)
	$(CODEGEN_BIN)/informer-gen --go-header-file $(HEADER) --versioned-clientset-package $(MODULE)/$(GEN)/clientset/versioned \
		--listers-package $(MODULE)/$(GEN)/listers --output-dir $(GEN)/informers --output-pkg $(MODULE)/$(GEN)/informers $(API)
	$(CODEGEN_BIN)/controller-gen crd:generateEmbeddedObjectMeta=true paths=./pkg/apis/... output:crd:dir=deploy/crd

verify: ## Fail if generated code is stale, gofmt or go vet complain, or go mod tidy would change go.mod.
	@tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	tar --exclude=./.git --exclude=./.cache --exclude=./bin -cf - . | tar -C "$$tmp" -xf -; \
	$(MAKE) -s -C "$$tmp" generate >/dev/null; \
	if ! diff -r -q $(GEN) "$$tmp/$(GEN)" || ! diff -q deploy/crd "$$tmp/deploy/crd" || \
	   ! diff -q $(API)/zz_generated.deepcopy.go "$$tmp/$(API)/zz_generated.deepcopy.go"; then \
		echo "generated code is stale: run 'make generate'"; exit 1; fi
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.cache/*')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	go vet ./...
	go vet -tags e2e ./test/e2e ./test/lessons
	go vet -tags bench ./test/bench
	go mod tidy -diff
	go -C test/tools/codegen mod tidy -diff
	@echo "verify: ok"

build: prereqs ## Build the controller and the kubectl plugin (kubectl-msts) into bin/.
	go build -ldflags "-X main.version=$(VERSION)" -o $(BIN)/ministatefulset-controller ./cmd/ministatefulset-controller
	go build -o $(BIN)/kubectl-msts ./cmd/kubectl-msts

# Where install-plugin puts kubectl-msts: a directory on PATH, so `kubectl msts` works.
PLUGIN_DIR ?= $(shell go env GOPATH)/bin

install-plugin: ## Put kubectl-msts into $PLUGIN_DIR (default: $(go env GOPATH)/bin), so `kubectl msts ...` works.
	mkdir -p "$(PLUGIN_DIR)"
	go build -o "$(PLUGIN_DIR)/kubectl-msts" ./cmd/kubectl-msts
	@case ":$$PATH:" in \
	  *":$(PLUGIN_DIR):"*) echo "installed $(PLUGIN_DIR)/kubectl-msts: try 'kubectl msts --help'";; \
	  *) echo "installed $(PLUGIN_DIR)/kubectl-msts; add $(PLUGIN_DIR) to PATH so kubectl finds it: export PATH=$(PLUGIN_DIR):\$$PATH";; \
	esac

# What each kind of target needs of the machine, checked up front (test/cluster/prereqs.sh).
prereqs:
	@test/cluster/prereqs.sh
prereqs-race:
	@test/cluster/prereqs.sh race
prereqs-cluster:
	@MSTS_DNS_PORT=$(DNS_PORT) test/cluster/prereqs.sh cluster

unit: prereqs-race ## Unit tests with the race detector, then the randomized test in full without it (it is sequential).
	go test -race -count=1 ./...
	go test -count=1 -run '^TestRandomizedInvariants$$' ./pkg/controller/ministatefulset

# Execution counts by default, about 10 s each here: a duration (-fuzztime 10s) races
# Go 1.26's fuzz coordinator at its deadline, which then fails the target with
# "context deadline exceeded" and no failing input (golang/go#75804, fixed in Go 1.27;
# seen in CI). FUZZTIME, when given, applies to every target.
FUZZTIME ?=
FUZZ_PKG := ./pkg/controller/ministatefulset
fuzzfor = $(if $(FUZZTIME),$(FUZZTIME),$(1))

fuzz: ## Run each fuzz target about 10 s (a count of inputs; make fuzz FUZZTIME=3m for longer); a failing input is kept under testdata/fuzz.
	go test -run '^$$' -fuzz '^FuzzDecide$$' -fuzztime $(call fuzzfor,6000x) $(FUZZ_PKG)
	go test -run '^$$' -fuzz '^FuzzOrdinals$$' -fuzztime $(call fuzzfor,40000x) $(FUZZ_PKG)
	go test -run '^$$' -fuzz '^FuzzRevisionHash$$' -fuzztime $(call fuzzfor,20000x) $(FUZZ_PKG)

# The suite's 150-action chaos run replays one plan, so that CI is repeatable; make chaos
# (or CHAOS_SEED= empty) draws a new seed from the clock.
CHAOS_SEED ?= 20261125

# The lessons look up a pod's DNS name with dig, as a learner does: install Debian's
# dnsutils when it is missing and we may (root), or say what to do.
dig:
	@command -v dig >/dev/null 2>&1 || { \
	  echo "installing dig (Debian dnsutils) for the lessons' DNS lookups"; \
	  { apt-get install -y -q dnsutils || { apt-get update -q && apt-get install -y -q dnsutils; }; } >/dev/null 2>&1 \
	  || { echo "dig is missing and could not be installed: install Debian's dnsutils (apt-get install dnsutils)"; exit 1; }; }

e2e: prereqs-cluster build tools dig ## End-to-end suite on a fresh local cluster (torn down afterwards), then the lessons.
	mkdir -p $(E2E_ARTIFACTS); rm -f $(E2E_ARTIFACTS)/controller.log
	MSTS_SKIP_BUILD=1 MSTS_DNS_PORT=$(DNS_PORT) test/cluster/up.sh
	trap 'test/cluster/down.sh' EXIT; \
	test/cluster/install.sh; \
	test/cluster/check-deploy.sh; \
	MSTS_KUBECONFIG=$(CLUSTER_KUBECONFIG) MSTS_CONTROLLER_BIN=$(CURDIR)/$(BIN)/ministatefulset-controller \
	MSTS_DNS_ADDR=127.0.0.1:$(DNS_PORT) MSTS_E2E_ARTIFACTS=$(E2E_ARTIFACTS) MSTS_CHAOS_SEED=$(CHAOS_SEED) \
	go test -tags e2e -count=1 -timeout 30m $(E2E_FLAGS) ./test/e2e; \
	echo "e2e: controller log kept at $(E2E_ARTIFACTS)/controller.log"; \
	$(LESSONS_ENV) go test -tags e2e -count=1 -timeout 20m $(E2E_FLAGS) ./test/lessons

# What the lessons test (test/lessons) needs: it runs each command of docs/lessons in a
# shell with kubectl and kubectl-msts on PATH and a controller started as make run does.
LESSONS_ENV = MSTS_KUBECONFIG=$(CLUSTER_KUBECONFIG) MSTS_CONTROLLER_BIN=$(CURDIR)/$(BIN)/ministatefulset-controller \
	MSTS_PLUGIN_DIR=$(CURDIR)/$(BIN) MSTS_BIN_DIR=$(CURDIR)/.cache/bin MSTS_E2E_ARTIFACTS=$(E2E_ARTIFACTS)

lessons: prereqs-cluster build tools dig ## Run the lessons of docs/lessons, command by command, on a fresh local cluster.
	mkdir -p $(E2E_ARTIFACTS)
	MSTS_SKIP_BUILD=1 MSTS_DNS_PORT=$(DNS_PORT) test/cluster/up.sh
	trap 'test/cluster/down.sh' EXIT; \
	test/cluster/install.sh; \
	$(LESSONS_ENV) go test -tags e2e -count=1 -timeout 20m -v ./test/lessons

# The chaos test alone (test/e2e/chaos_test.go): SEED replays a run (empty: from the clock),
# ACTIONS is its length (make test runs 150 as part of the e2e suite).
SEED ?=
ACTIONS ?= 500

chaos: prereqs-cluster build tools ## The chaos test alone, on a fresh local cluster: make chaos SEED=n ACTIONS=n (default 500 actions).
	mkdir -p $(E2E_ARTIFACTS)
	MSTS_SKIP_BUILD=1 MSTS_DNS_PORT=$(DNS_PORT) test/cluster/up.sh
	trap 'test/cluster/down.sh' EXIT; \
	test/cluster/install.sh; \
	MSTS_KUBECONFIG=$(CLUSTER_KUBECONFIG) MSTS_CONTROLLER_BIN=$(CURDIR)/$(BIN)/ministatefulset-controller \
	MSTS_DNS_ADDR=127.0.0.1:$(DNS_PORT) MSTS_E2E_ARTIFACTS=$(E2E_ARTIFACTS) MSTS_CHAOS_SEED=$(SEED) MSTS_CHAOS_ACTIONS=$(ACTIONS) \
	go test -tags e2e -count=1 -timeout 90m -v -run '^TestChaos$$' ./test/e2e; \
	echo "chaos: plan, log and controller logs kept in $(E2E_ARTIFACTS)"

# The compare runner on a cluster of its own (torn down afterwards), with the controller
# running beside kube-controller-manager: make compare MANIFEST=deploy/examples/redis.yaml.
MANIFEST ?=
SCENARIO ?= all
PARALLEL ?= 3
COMPARE_CLUSTER_DIR := $(CURDIR)/.cache/compare-cluster

compare: prereqs-cluster build tools ## Run MANIFEST under the built-in StatefulSet and MiniStatefulSet side by side: make compare MANIFEST=FILE [SCENARIO=a,b|all] [PARALLEL=3].
	@test -n "$(MANIFEST)" || { echo "give a manifest: make compare MANIFEST=deploy/examples/redis.yaml [SCENARIO=create,rolling-update]"; exit 1; }
	mkdir -p $(E2E_ARTIFACTS)
	MSTS_SKIP_BUILD=1 MSTS_CLUSTER_DIR=$(COMPARE_CLUSTER_DIR) MSTS_CLUSTER_NAME=msts-compare test/cluster/up.sh
	export MSTS_CLUSTER_DIR=$(COMPARE_CLUSTER_DIR) MSTS_CLUSTER_NAME=msts-compare; trap 'kill $$ctl 2>/dev/null; test/cluster/down.sh' EXIT; \
	test/cluster/install.sh; \
	$(BIN)/ministatefulset-controller --kubeconfig $(COMPARE_CLUSTER_DIR)/kubeconfig > $(E2E_ARTIFACTS)/compare-controller.log 2>&1 & ctl=$$!; \
	echo "compare: the MiniStatefulSet controller's log is $(E2E_ARTIFACTS)/compare-controller.log"; \
	$(BIN)/kubectl-msts --kubeconfig $(COMPARE_CLUSTER_DIR)/kubeconfig compare -f $(MANIFEST) --scenario $(SCENARIO) --parallel $(PARALLEL)

test: prereqs-race prereqs-cluster verify unit fuzz e2e ## Everything: verify, unit tests, fuzzing, then the e2e suite on a real control plane. The README's test command.

bench: ## Micro-benchmarks that print figures (the decision function, a pass on a fake clientset).
	go test -run '^$$' -bench . -benchmem ./pkg/...

# The benchmark against kube-controller-manager's StatefulSet controller (test/bench), on
# a cluster of its own with an audit log; it writes docs/bench/{figures.md,ratios.svg,results.json}.
BENCH_ROUNDS ?= 3
BENCH_SCALE ?= 1
BENCH_SCENARIOS ?=
BENCH_MODES ?=
BENCH_WITH ?=

bench-cluster: prereqs-cluster build tools ## Both controllers side by side on a real control plane: make bench-cluster [BENCH_ROUNDS=3] [BENCH_SCALE=1] [BENCH_SCENARIOS=ordered,parallel] [BENCH_MODES=unthrottled|qps20] [BENCH_WITH=earlier/results.json].
	MSTS_BENCH_ROUNDS=$(BENCH_ROUNDS) MSTS_BENCH_SCALE=$(BENCH_SCALE) MSTS_BENCH_SCENARIOS=$(BENCH_SCENARIOS) MSTS_BENCH_MODES=$(BENCH_MODES) MSTS_BENCH_WITH=$(BENCH_WITH) \
	go test -tags bench -count=1 -timeout 300m -v -run '^TestBenchCluster$$' ./test/bench

tools: ## Build the test cluster's pinned binaries into .cache/bin (minutes the first time, then instant).
	test/tools/build.sh $(CLUSTER_BINS)

# Kubernetes' own [sig-apps] StatefulSet e2e specs (docs/upstream-e2e.md): e2e-apps.test,
# built from test/tools/e2e, runs each spec in a process of its own under a limit
# (test/upstream/run.sh); test/upstream/skip.txt names those kwok cannot run, with why.
# UPSTREAM_FOCUS narrows them (an extended regex over the names).
UPSTREAM_FOCUS ?=
UPSTREAM_SPEC_TIMEOUT ?= 4m
UPSTREAM_ENV = MSTS_UPSTREAM_FOCUS='$(UPSTREAM_FOCUS)' MSTS_UPSTREAM_SPEC_TIMEOUT=$(UPSTREAM_SPEC_TIMEOUT) MSTS_DNS_PORT=$(DNS_PORT)

e2e-apps: ## Build e2e-apps.test, upstream's apps e2e specs, into .cache/bin (minutes the first time, then instant).
	test/tools/build-e2e.sh

upstream-e2e: prereqs-cluster build tools e2e-apps ## Kubernetes' own StatefulSet e2e specs against the controller's drop-in mode (--manage=statefulsets) on a fresh local cluster; results in .cache/upstream-e2e.
	MSTS_SKIP_BUILD=1 $(UPSTREAM_ENV) test/upstream/run.sh ministatefulset

upstream-e2e-baseline: prereqs-cluster tools e2e-apps ## The same specs, listed or not, against kube-controller-manager's own StatefulSet controller: checks that the skip list is exactly what the cluster cannot run.
	MSTS_SKIP_BUILD=1 $(UPSTREAM_ENV) test/upstream/run.sh builtin

cluster-up: prereqs-cluster tools ## Start the local cluster (control plane, kwok nodes, CoreDNS on 127.0.0.1:$DNS_PORT, CRD, static PVs).
	MSTS_SKIP_BUILD=1 MSTS_DNS_PORT=$(DNS_PORT) MSTS_READY_DELAY_MS=$(READY_DELAY_MS) test/cluster/up.sh
	test/cluster/install.sh

cluster-down: ## Stop the local cluster.
	test/cluster/down.sh

run: prereqs-cluster build tools ## The main job: a local cluster, the controller, the redis example, and its live timeline in the foreground.
	MSTS_SKIP_BUILD=1 MSTS_DNS_PORT=$(DNS_PORT) MSTS_READY_DELAY_MS=$(READY_DELAY_MS) test/cluster/up.sh
	test/cluster/install.sh
	MSTS_DNS_PORT=$(DNS_PORT) test/cluster/run.sh $(BIN)/ministatefulset-controller $(BIN)/kubectl-msts deploy/examples/redis.yaml redis

install-crd: ## Install the CRD and admission policy into the cluster of $KUBECONFIG.
	kubectl --kubeconfig "$(KUBECONFIG)" apply --server-side -f deploy/crd/
	kubectl --kubeconfig "$(KUBECONFIG)" wait --for=condition=Established --timeout=60s crd/ministatefulsets.apps.ministatefulset.dev
	kubectl --kubeconfig "$(KUBECONFIG)" apply --server-side -f deploy/validation.yaml

run-against: build install-crd ## Run the controller against $KUBECONFIG with the redis example applied.
	kubectl --kubeconfig "$(KUBECONFIG)" apply -f deploy/examples/redis.yaml
	@echo "Controller running; in another shell: kubectl get msts,pods,pvc -l app=redis -w"
	$(BIN)/ministatefulset-controller --kubeconfig "$(KUBECONFIG)" -v=2

kind-up: ## Create a kind cluster (needs Docker).
	@$(NEED_DOCKER)
	GOBIN=$(CURDIR)/.cache/bin go install sigs.k8s.io/kind@$(KIND_VERSION)
	$(KIND) create cluster --name $(KIND_CLUSTER)

kind-deploy: ## Build the image, load it into kind and apply deploy/ (needs Docker).
	@$(NEED_DOCKER)
	docker build -f deploy/Dockerfile --build-arg VERSION=$(VERSION) -t $(IMAGE) .
	$(KIND) load docker-image $(IMAGE) --name $(KIND_CLUSTER)
	kubectl --context kind-$(KIND_CLUSTER) apply --server-side -k deploy/
	kubectl --context kind-$(KIND_CLUSTER) -n ministatefulset-system rollout status deploy/ministatefulset-controller --timeout=120s

kind-e2e: kind-deploy ## The e2e suite against kind, with the controller deployed in it (needs Docker).
	@$(NEED_DOCKER)
	mkdir -p $(E2E_ARTIFACTS)
	$(KIND) get kubeconfig --name $(KIND_CLUSTER) > $(E2E_ARTIFACTS)/kind.kubeconfig
	MSTS_KUBECONFIG=$(E2E_ARTIFACTS)/kind.kubeconfig MSTS_CONTROLLER_BIN=in-cluster MSTS_E2E_EXTERNAL_CONTROLLER=1 \
	MSTS_E2E_KIND=1 MSTS_E2E_ARTIFACTS=$(E2E_ARTIFACTS) go test -tags e2e -count=1 -timeout 30m $(E2E_FLAGS) ./test/e2e

kind-upstream-e2e: kind-deploy ## Every upstream StatefulSet e2e spec, no skip list, on make kind-up's cluster switched to the drop-in mode (test/upstream/kind.sh; needs Docker).
	@$(NEED_DOCKER)
	test/tools/build.sh kubectl
	test/tools/build-e2e.sh
	mkdir -p $(E2E_ARTIFACTS)
	$(KIND) get kubeconfig --name $(KIND_CLUSTER) > $(E2E_ARTIFACTS)/kind.kubeconfig
	MSTS_SKIP_BUILD=1 $(UPSTREAM_ENV) test/upstream/kind.sh $(KIND_CLUSTER) $(E2E_ARTIFACTS)/kind.kubeconfig

kind-down: ## Delete the kind cluster (needs Docker).
	@$(NEED_DOCKER)
	$(KIND) delete cluster --name $(KIND_CLUSTER)

clean: ## Remove build output.
	rm -rf $(BIN)
