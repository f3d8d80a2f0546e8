#!/usr/bin/env bash
# Builds the agent's runtime: a jlink image with only the JDK modules the agent loads, plus the app
# (jar and lib/). The Dockerfile's builder stage and `make runtime` both run this script.
#
# Usage: jlink/build-runtime.sh [JAR [OUT]]
#   JAR  the packaged agent, its dependencies in lib/ beside it (default target/kubelet-server-cert-untaint.jar)
#   OUT  output directory (default target/runtime): OUT/jre, OUT/app, OUT/modules.txt
# Environment: JAVA_HOME, a JDK 25.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
jar=${1:-target/kubelet-server-cert-untaint.jar}
out=${2:-target/runtime}
java_home=${JAVA_HOME:?set JAVA_HOME to a JDK 25}
[[ -f $jar ]] || { echo "build-runtime.sh: $jar is missing: run make build" >&2; exit 1; }
jar=$(cd "$(dirname "$jar")" && pwd)/$(basename "$jar")
lib=$(dirname "$jar")/lib
[[ -d $lib ]] || { echo "build-runtime.sh: $lib is missing: run make build" >&2; exit 1; }

# jdeps over our classes *without* module-info: as a module it would only list its direct requires,
# as classes it follows every library on the class path to the JDK modules they reference.
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
(cd "$scratch" && "$java_home/bin/jar" xf "$jar" && rm -f module-info.class)
found=$("$java_home/bin/jdeps" --multi-release 25 --ignore-missing-deps --print-module-deps \
	--class-path "$lib/*" "$scratch")

# Adjustments, each for one reason:
# - java.desktop: client-java's generated models mention java.beans; nothing on our path loads it,
#   and it is the biggest module (12 MB). RuntimeIT runs the agent from this runtime to prove it.
# - jdk.crypto.ec is empty since JDK 22 (EC lives in java.base); nothing to add for TLS.
# - jdk.unsupported (sun.misc.Signal) is found by jdeps already.
exclude=(java.desktop)
modules=()
IFS=, read -r -a all <<<"$found"
for m in "${all[@]}"; do
	skip=
	for x in "${exclude[@]}"; do [[ $m == "$x" ]] && skip=1; done
	[[ -n $skip ]] || modules+=("$m")
done
mods=$(IFS=,; echo "${modules[*]}")

rm -rf "$out"
mkdir -p "$out/app"
"$java_home/bin/jlink" --add-modules "$mods" --strip-debug --no-man-pages --no-header-files \
	--compress=zip-6 --output "$out/jre"
cp "$jar" "$out/app/"
cp -R "$lib" "$out/app/lib"
# client-java-api without its generated models and API classes: 5174 of its 5239 files, 8 of its 8.4 MB.
# The agent writes its requests and reads the answers itself and never loads them (RuntimeIT checks that
# no model class is loaded); the JVM keeps every jar on the class path open and its central directory in
# the heap (632 KB for this one), and the image carries the rest. The agent's own tests run against
# the full jar; RuntimeIT, MemoryLimitIT, the benchmarks and the node e2e run this runtime.
api=("$(cd "$out/app/lib" && pwd)"/client-java-api-*.jar)
[[ -f ${api[0]} ]] || { echo "build-runtime.sh: no client-java-api jar in $lib" >&2; exit 1; }
(
	cd "$scratch" && rm -rf api && mkdir api && cd api
	"$java_home/bin/jar" xf "${api[0]}"
	[[ -d io/kubernetes/client/openapi/models ]] || { echo "build-runtime.sh: ${api[0]} has no models/ to drop" >&2; exit 1; }
	rm -rf io/kubernetes/client/openapi/models io/kubernetes/client/openapi/apis
	"$java_home/bin/jar" --create --file "${api[0]}" --manifest META-INF/MANIFEST.MF -C . .
)
cp "$here/jvm.options" "$out/app/jvm.options"
printf '%s\n' "$mods" >"$out/modules.txt"
echo "build-runtime.sh: $out/jre with $mods ($(du -sh "$out/jre" | cut -f1)), app $(du -sh "$out/app" | cut -f1)" >&2
