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

.PHONY: help generate verify build test unit bench run install-crd clean

help: ## List the targets.
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

generate: ## Regenerate deepcopy, clientset, listers, informers, apply configurations and the CRD.
	go tool deepcopy-gen --go-header-file $(HEADER) --output-file zz_generated.deepcopy.go $(API)
	rm -rf $(GEN)
	go tool applyconfiguration-gen --go-header-file $(HEADER) --output-dir $(GEN)/applyconfiguration --output-pkg $(MODULE)/$(GEN)/applyconfiguration $(API)
	go tool client-gen --go-header-file $(HEADER) --clientset-name versioned --input-base "" --input $(MODULE)/pkg/apis/apps/v1alpha1 \
		--output-dir $(GEN)/clientset --output-pkg $(MODULE)/$(GEN)/clientset --apply-configuration-package $(MODULE)/$(GEN)/applyconfiguration
	go tool lister-gen --go-header-file $(HEADER) --output-dir $(GEN)/listers --output-pkg $(MODULE)/$(GEN)/listers $(API)
	go tool informer-gen --go-header-file $(HEADER) --versioned-clientset-package $(MODULE)/$(GEN)/clientset/versioned \
		--listers-package $(MODULE)/$(GEN)/listers --output-dir $(GEN)/informers --output-pkg $(MODULE)/$(GEN)/informers $(API)
	go tool controller-gen crd:generateEmbeddedObjectMeta=true paths=./pkg/apis/... output:crd:dir=deploy/crd

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
	go mod tidy -diff
	@echo "verify: ok"

build: ## Build the controller into bin/.
	go build -o $(BIN)/ministatefulset-controller ./cmd/ministatefulset-controller

unit: ## Unit tests with the race detector.
	go test -race -count=1 ./...

test: verify unit ## Everything: verify, then every test. The README's test command.

bench: ## Benchmarks that print figures.
	go test -run '^$$' -bench . -benchmem ./pkg/...

install-crd: ## Install the CRD into the cluster of $KUBECONFIG (server-side: the schema is large).
	kubectl --kubeconfig "$(KUBECONFIG)" apply --server-side -f deploy/crd/
	kubectl --kubeconfig "$(KUBECONFIG)" wait --for=condition=Established --timeout=60s crd/ministatefulsets.apps.ministatefulset.dev

run: build install-crd ## Run the controller against $KUBECONFIG with the redis example applied.
	kubectl --kubeconfig "$(KUBECONFIG)" apply -f deploy/examples/redis.yaml
	@echo "Controller running; in another shell: kubectl get msts,pods,pvc -l app=redis -w"
	$(BIN)/ministatefulset-controller --kubeconfig "$(KUBECONFIG)" -v=2

clean: ## Remove build output.
	rm -rf $(BIN)
