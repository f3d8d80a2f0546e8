#!/usr/bin/env bash
# The control plane's servers with the flags every caller shares: ControlPlane.java (the *IT tiers, the
# demo, the benchmarks) and the local-node e2e provider. Each command execs the server, so the caller's
# process is the server itself. Callers add only their own flags.
#
# The apiserver authorises with Node and RBAC and admits with NodeRestriction, as clusters do; it trusts
# client certificates signed by DIR/pki/ca.crt and issues ServiceAccount tokens signed by DIR/pki/sa.key.
#
# Usage: scaffolding/control-plane.sh etcd DIR CLIENT_PORT PEER_PORT
#        scaffolding/control-plane.sh kube-apiserver DIR ETCD_PORT ADDRESS PORT [FLAG...]
#   DIR  the control plane's directory: pki/ (ca.crt, apiserver.crt, apiserver.key, sa.key, sa.pub, as
#        `Pki` writes them), and each server's data
# Environment: TOOLS_BIN, the binaries of `make tools`; KUBE_APISERVER, the apiserver binary's name there
#   (default kube-apiserver; kube-apiserver-oldest is the oldest Kubernetes the admission policy supports).
set -euo pipefail
usage() {
	echo "usage: control-plane.sh etcd DIR CLIENT_PORT PEER_PORT | kube-apiserver DIR ETCD_PORT ADDRESS PORT [FLAG...]" >&2
	exit 2
}
bin=${TOOLS_BIN:?control-plane.sh: TOOLS_BIN is not set (the binaries of make tools)}
server=${1:-}
case $server in
etcd)
	(($# == 4)) || usage
	dir=$2 client=$3 peer=$4
	# Test data is disposable: no fsync makes etcd, and so every write, much faster.
	exec "$bin/etcd" --name=kscu --data-dir="$dir/etcd" \
		--listen-client-urls="http://127.0.0.1:$client" --advertise-client-urls="http://127.0.0.1:$client" \
		--listen-peer-urls="http://127.0.0.1:$peer" --initial-advertise-peer-urls="http://127.0.0.1:$peer" \
		--initial-cluster="kscu=http://127.0.0.1:$peer" --unsafe-no-fsync --log-level=warn
	;;
kube-apiserver)
	(($# >= 5)) || usage
	dir=$2 etcd=$3 address=$4 port=$5
	shift 5
	pki=$dir/pki
	exec "$bin/${KUBE_APISERVER:-kube-apiserver}" --etcd-servers="http://127.0.0.1:$etcd" \
		--bind-address="$address" --advertise-address="$address" --secure-port="$port" \
		--cert-dir="$dir/apiserver-certs" --tls-cert-file="$pki/apiserver.crt" --tls-private-key-file="$pki/apiserver.key" \
		--client-ca-file="$pki/ca.crt" --authorization-mode=Node,RBAC --enable-admission-plugins=NodeRestriction \
		--service-account-issuer=https://kubernetes.default.svc.cluster.local \
		--service-account-key-file="$pki/sa.pub" --service-account-signing-key-file="$pki/sa.key" \
		--service-cluster-ip-range=10.96.0.0/16 "$@"
	;;
*) usage ;;
esac
