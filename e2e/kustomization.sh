#!/usr/bin/env bash
# Writes DIR/kustomization.yaml: what an e2e pass installs. The generic overlay as shipped, plus
# kustomize/components/file-source for the `file` pass, plus the e2e-only components (the run's
# image; the provider's own, where it has one). Paths are relative, so `kubectl apply -k DIR` installs
# it as a user would. e2e/run.sh uses it for each pass; ManifestsIT renders and dry-runs its output.
#
# Usage: e2e/kustomization.sh PROVIDER PASS DIR   (PROVIDER local-node|kind, PASS file|kubelet)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
provider=${1:?usage: kustomization.sh PROVIDER PASS DIR} pass=${2:?usage: kustomization.sh PROVIDER PASS DIR}
dir=${3:?usage: kustomization.sh PROVIDER PASS DIR}
[[ -f $here/providers/$provider.sh ]] || { echo "kustomization.sh: unknown provider $provider" >&2; exit 2; }
[[ $pass == file || $pass == kubelet ]] || { echo "kustomization.sh: unknown pass $pass (file, kubelet)" >&2; exit 2; }
mkdir -p "$dir"
rel=$(realpath --relative-to="$dir" "$here/..")
{
	echo "apiVersion: kustomize.config.k8s.io/v1beta1"
	echo "kind: Kustomization"
	echo "resources:"
	echo "- $rel/kustomize/overlays/generic"
	echo "components:"
	[[ $pass != file ]] || echo "- $rel/kustomize/components/file-source"
	echo "- $rel/e2e/kustomize/image"
	[[ ! -d $here/kustomize/$provider ]] || echo "- $rel/e2e/kustomize/$provider"
} >"$dir/kustomization.yaml"
