//go:build tools

// Package tools only records which commands this module exists to build, so
// that `go mod tidy` keeps their dependencies in go.mod/go.sum (kubeadm and
// kube-proxy only for the kind node image, e2e/image/kind-node.sh). The build tag
// keeps it out of every normal build.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubelet"
	_ "k8s.io/kubernetes/cmd/kubeadm"
	_ "k8s.io/kubernetes/cmd/kube-proxy"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
