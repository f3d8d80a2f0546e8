#!/usr/bin/env bash
# Prints a kubeconfig. Every kubeconfig of the tests (ControlPlane.java), the local-node e2e provider and
# the offline AOT training (jlink/train-offline.sh, also in the Dockerfile's build stage) comes from here.
#
# Usage: scaffolding/kubeconfig.sh SERVER CA USER token=TOKEN
#        scaffolding/kubeconfig.sh SERVER CA USER cert=FILE key=FILE
#   CA  the CA bundle file that signs SERVER's certificate, or "insecure" (no verification: only for a
#       server that is never reached, as in the training)
set -euo pipefail
usage() {
	echo "usage: kubeconfig.sh SERVER CA USER token=TOKEN | cert=FILE key=FILE" >&2
	exit 2
}
(($# >= 4)) || usage
server=$1 ca=$2 user=$3
shift 3
case $1 in
token=*) (($# == 1)) || usage; credentials="token: ${1#token=}" ;;
cert=*) [[ $# == 2 && $2 == key=* ]] || usage
	credentials="client-certificate: ${1#cert=}
    client-key: ${2#key=}" ;;
*) usage ;;
esac
if [[ $ca == insecure ]]; then trust="insecure-skip-tls-verify: true"; else trust="certificate-authority: $ca"; fi
cat <<KUBECONFIG
apiVersion: v1
kind: Config
clusters:
- name: cluster
  cluster:
    server: $server
    $trust
users:
- name: $user
  user:
    $credentials
contexts:
- name: $user
  context: {cluster: cluster, user: $user}
current-context: $user
KUBECONFIG
