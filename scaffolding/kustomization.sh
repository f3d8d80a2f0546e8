#!/usr/bin/env bash
# Writes DIR/kustomization.yaml: a user's kustomization of one of our resources plus components. Every
# kustomization the project writes comes from here: `make deploy`, each e2e pass (e2e/run.sh) and the
# tests' renderings (ControlPlane.render). Paths are relative, so `kubectl apply -k DIR` installs it as
# a user would.
#
# Usage: scaffolding/kustomization.sh [--fields FILE] DIR RESOURCE [COMPONENT...]
#   RESOURCE, COMPONENT  paths relative to the repository (kustomize/overlays/generic,
#                        kustomize/components/file-source, e2e/kustomize/image)
#   --fields FILE        more kustomization fields (YAML), appended as they are
set -euo pipefail
usage() {
	echo "usage: kustomization.sh [--fields FILE] DIR RESOURCE [COMPONENT...]" >&2
	exit 2
}
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
fields=
if [[ ${1:-} == --fields ]]; then
	fields=${2:-}
	[[ -f $fields ]] || usage
	shift 2
fi
(($# >= 2)) || usage
dir=$1
shift
for path in "$@"; do
	[[ -d $repo/$path ]] || { echo "kustomization.sh: no directory $path in the repository" >&2; exit 2; }
done
mkdir -p "$dir"
rel=$(realpath --relative-to="$dir" "$repo")
{
	echo "apiVersion: kustomize.config.k8s.io/v1beta1"
	echo "kind: Kustomization"
	echo "resources:"
	echo "- $rel/$1"
	shift
	if (($#)); then
		echo "components:"
		for component in "$@"; do echo "- $rel/$component"; done
	fi
	[[ -z $fields ]] || cat "$fields"
} >"$dir/kustomization.yaml"
