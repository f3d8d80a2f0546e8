# kubelet-server-cert-untaint. `make help` lists the targets.
SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

# JDK 25: an explicit JAVA_HOME wins, else the newest JDK 25+ under /usr/lib/jvm.
JAVA_HOME ?= $(shell for d in $$(ls -d /usr/lib/jvm/*/ 2>/dev/null | sort -rV); do \
	v=$$("$$d/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p'); \
	[[ $${v%%.*} -ge 25 ]] 2>/dev/null && { echo "$${d%/}"; break; }; done)
export JAVA_HOME
MVN := ./mvnw -B -ntp -Dgit.commit=$(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)

# Pinned tools, built from Go modules by tools/build.sh and linked into ./bin/tools. The pins
# live there, in one place; override one on the command line (make tools K8S_VERSION=v1.35.9): make
# passes command-line variables to the script's environment.
TOOLS_BIN := $(CURDIR)/bin/tools
# What a local control plane needs (the demo, the runtime's AOT training): not Karpenter, kwok,
# promtool, Helm or the client matrix, which only the tests use.
CONTROL_PLANE_TOOLS := kubernetes,etcd,kustomize
export KSCU_TOOLS_BIN := $(TOOLS_BIN)

JAR := target/kubelet-server-cert-untaint.jar
# The image as the base names it; IMAGE replaces it in `make deploy`.
IMAGE_NAME := ghcr.io/kubelet-server-cert-untaint/kubelet-server-cert-untaint
IMAGE ?= $(IMAGE_NAME):0.1.0
PLATFORMS ?= linux/amd64,linux/arm64
OVERLAY ?= generic
# make bench BENCH_ONLY=latency,kubelet,start,memory,limits,layers,scale,scale-floor: only those parts, merged into the last summary.
BENCH_ONLY ?=
KUSTOMIZE := $(TOOLS_BIN)/kustomize
KUBECTL ?= $(TOOLS_BIN)/kubectl

##@ General

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*## "; printf "Usage: make \033[36m<target>\033[0m\n"} \
		/^[a-zA-Z0-9_-]+:.*## / {printf "  \033[36m%-20s\033[0m %s\n", $$1, $$2} \
		/^##@/ {printf "\n\033[1m%s\033[0m\n", substr($$0, 5)}' $(MAKEFILE_LIST)

.PHONY: check-jdk
check-jdk:
	@[[ -n "$(JAVA_HOME)" && -x "$(JAVA_HOME)/bin/java" ]] || { \
		echo "make: no JDK 25 found under /usr/lib/jvm; set JAVA_HOME to one" >&2; exit 1; }

##@ Build

.PHONY: build
build: check-jdk ## Build target/kubelet-server-cert-untaint.jar (dependencies in target/lib).
	$(MVN) -q package -DskipTests
	@echo "built $(JAR); try: $(JAVA_HOME)/bin/java -jar $(JAR) --help"

.PHONY: tools
tools: ## Build or reuse etcd, Kubernetes (and kube-apiserver 1.32), kustomize (and the client matrix's), Flux's kustomize-controller, Toxiproxy, Karpenter (kwok provider), kwok, promtool, actionlint and helm (cached per version outside the repo).
	bash tools/build.sh --link $(TOOLS_BIN) >/dev/null

.PHONY: control-plane-tools
control-plane-tools: ## Build or reuse only what a local control plane needs: etcd, Kubernetes, kustomize.
	bash tools/build.sh --only $(CONTROL_PLANE_TOOLS) --link $(TOOLS_BIN) >/dev/null

.PHONY: kind-tools
kind-tools: ## Build or reuse what make e2e needs: kind, crictl, kubeadm, kube-proxy, and the control plane's tools.
	bash tools/build.sh --only $(CONTROL_PLANE_TOOLS),kind --link $(TOOLS_BIN) >/dev/null

TEST_CP := target/test-classes:target/classes:$$(cat target/test-classpath.txt)

.PHONY: test-classpath
test-classpath: check-jdk
	$(MVN) -q test-compile dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile=target/test-classpath.txt

.PHONY: runtime
runtime: build control-plane-tools test-classpath ## Build the jlink runtime and train its AOT cache on a real agent run (target/runtime).
	bash jlink/build-runtime.sh $(JAR) target/runtime
	"$(JAVA_HOME)/bin/java" -cp "$(TEST_CP)" -Dtinylog.level=warn io.github.kscu.build.AotTraining target/runtime

.PHONY: clean
clean: ## Remove build output (the tool cache stays).
	rm -rf target bin

##@ Try it

.PHONY: demo
demo: check-jdk control-plane-tools runtime ## Run the agent against a local control plane: a tainted node, a late certificate.
	"$(JAVA_HOME)/bin/java" -cp "$(TEST_CP)" -Dtinylog.level=warn io.github.kscu.demo.Demo

.PHONY: bench
bench: check-jdk tools runtime ## Benchmarks: latency, start, memory (each with its floor), memory limits (root), layers, 1000 and 5000 nodes; BENCH_ONLY=part,... (target/bench).
	"$(JAVA_HOME)/bin/java" -Xmx4g -cp "$(TEST_CP)" -Dtinylog.level=warn -Dbench.only=$(BENCH_ONLY) io.github.kscu.bench.Bench

##@ Test

.PHONY: unit
unit: check-jdk ## Run the unit tests only (*Test, no cluster).
	$(MVN) test

.PHONY: test
test: check-jdk tools lint runtime ## Run every test: unit (*Test) and integration (*IT) against a real control plane.
	$(MVN) verify

.PHONY: lint
lint: tools ## Shellcheck every script; actionlint the GitHub workflows (and the scripts in them).
	@command -v shellcheck >/dev/null || { echo "make: shellcheck is missing (apt-get install shellcheck)" >&2; exit 1; }
	shellcheck -x $$(git ls-files '*.sh' '*.bash' .ci/run)
	shellcheck -x -s bash $$(git ls-files '*.bats')
	$(TOOLS_BIN)/actionlint -shellcheck=$$(command -v shellcheck)

.PHONY: e2e-node
e2e-node: e2e-check-local-node check-jdk tools test-classpath ## E2e scenarios on this host: real kubelet, containerd, the image the Dockerfile builds (buildah), serving CSR (root; target/e2e).
	bash e2e/run.sh local-node

.PHONY: e2e
e2e: e2e-check-kind check-jdk kind-tools ## The same e2e scenarios on kind: Docker's engine, or one of its own as root; with no registry, a node image built here (target/e2e/kind).
	bash e2e/run.sh kind

# Before anything is built: a machine that cannot run a provider stops at one line saying why.
.PHONY: e2e-check-%
e2e-check-%:
	@bash e2e/run.sh $* --check

##@ Deliver

.PHONY: image
image: ## Build the multi-arch image with docker buildx (IMAGE, PLATFORMS).
	@command -v docker >/dev/null || { echo "make: image needs docker with buildx" >&2; exit 1; }
	docker buildx build --platform $(PLATFORMS) --build-arg GIT_COMMIT=$$(git rev-parse --short HEAD) -t $(IMAGE) .

.PHONY: push
push: ## Build and push the multi-arch image (IMAGE, PLATFORMS).
	@command -v docker >/dev/null || { echo "make: push needs docker with buildx" >&2; exit 1; }
	docker buildx build --platform $(PLATFORMS) --build-arg GIT_COMMIT=$$(git rev-parse --short HEAD) -t $(IMAGE) --push .

CHART_DIR := charts/kubelet-server-cert-untaint
CHART_REGISTRY ?= oci://ghcr.io/kubelet-server-cert-untaint/charts
# The pinned helm of `make tools`, unless another one is given (the release workflow's).
HELM ?= $(TOOLS_BIN)/helm

.PHONY: chart
chart: $(if $(filter $(TOOLS_BIN)/%,$(HELM)),tools) ## Lint the Helm chart strictly and package it (target/chart/*.tgz).
	rm -rf target/chart
	$(HELM) lint --strict $(CHART_DIR)
	$(HELM) package $(CHART_DIR) --destination target/chart

.PHONY: chart-push
chart-push: chart ## Push the packaged chart to an OCI registry (CHART_REGISTRY, HELM; helm registry login first).
	$(HELM) push target/chart/kubelet-server-cert-untaint-*.tgz $(CHART_REGISTRY)

.PHONY: deploy
deploy: tools ## Apply kustomize/overlays/$(OVERLAY) to the current kubectl context, with IMAGE.
	tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	bash scaffolding/kustomization.sh "$$tmp" kustomize/overlays/$(OVERLAY) && \
	(cd "$$tmp" && $(KUSTOMIZE) edit set image $(IMAGE_NAME)=$(IMAGE)) && \
	$(KUSTOMIZE) build "$$tmp" | $(KUBECTL) apply --server-side --field-manager=kubelet-server-cert-untaint -f -

.PHONY: undeploy
undeploy: tools ## Delete what `make deploy OVERLAY=...` applied.
	$(KUSTOMIZE) build kustomize/overlays/$(OVERLAY) | $(KUBECTL) delete --ignore-not-found -f -
