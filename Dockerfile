# syntax=docker/dockerfile:1
# The agent's image: a jlink runtime (only the JDK modules it loads) with an AOT cache, on distroless.
# Thin on purpose: the runtime is built by jlink/build-runtime.sh, which `make runtime` and CI also run.
# Multi-arch: `make image PLATFORMS=linux/amd64,linux/arm64` (buildx); each platform's builder runs on
# that platform (emulated if need be), because a jlink runtime and an AOT cache are per architecture.

# Builder: any JDK 25 (a build argument, so a mirror or a local stand-in can replace it), pinned by
# digest like the base below: a moved tag must not change what builds the runtime. Bump deliberately.
ARG BUILDER_IMAGE=eclipse-temurin:25-jdk@sha256:97014c4b396021f9ddb7d592a7dbedb0c4e4215c29e03dc01c393558aefb71c2
# base-debian12 (glibc, CA certificates, no shell), pinned by digest: a multi-arch index. A build
# argument too, for a mirror or a local stand-in (e2e/image/build.sh makes one from Debian packages).
ARG BASE_IMAGE=gcr.io/distroless/base-debian12@sha256:9dce90e688a57e59ce473ff7bc4c80bc8fe52d2303b4d99b44f297310bbd2210
FROM ${BUILDER_IMAGE} AS build
WORKDIR /src
COPY .mvn .mvn
COPY mvnw pom.xml ./
# No dependency:go-offline layer: it resolves dependencies the pom excludes (some are not on Maven
# Central at all), and the cache mount below already keeps ~/.m2 from one build to the next.
COPY src src
COPY jlink jlink
# The training's kubeconfig comes from the one kubeconfig writer, kept with the test scaffolding.
COPY scaffolding/kubeconfig.sh scaffolding/kubeconfig.sh
ARG GIT_COMMIT=unknown
RUN --mount=type=cache,target=/root/.m2 ./mvnw -B -q -ntp package -DskipTests -Dgit.commit=${GIT_COMMIT} \
 && bash jlink/build-runtime.sh target/kubelet-server-cert-untaint.jar /opt/kscu \
 # The cache is trained here, in the final path, with this runtime and these options: a cache from
 # another runtime, path or flags is silently ignored by the JVM.
 && bash jlink/train-offline.sh /opt/kscu

FROM ${BASE_IMAGE}
LABEL org.opencontainers.image.title="kubelet-server-cert-untaint" \
      org.opencontainers.image.description="Removes a node's startup taint once the kubelet serves a valid TLS certificate" \
      org.opencontainers.image.licenses="Apache-2.0"
# Two layers: the runtime changes with the JDK, the app (jar, options, AOT cache) with every release, so
# an upgrade pulls only the second.
COPY --from=build /opt/kscu/jre /opt/kscu/jre
COPY --from=build /opt/kscu/app /opt/kscu/app
# Non-root unless the pod says otherwise (distroless's nonroot uid, numeric so that runAsNonRoot can
# check it): a pod without a securityContext does not run the agent as root. The file-source component
# asks for uid 0 itself.
USER 65532:65532
# jvm.options is sized for the DaemonSet's 64Mi limit (serial GC, 24 MiB heap, C1 only). Exec form:
# the JVM is PID 1 and gets SIGTERM itself, and exits 0 on it. It is jlink/launch with {runtime}=/opt/kscu,
# the command the AOT cache was trained with (LaunchCommandTest fails when the two differ).
ENTRYPOINT ["/opt/kscu/jre/bin/java", "@/opt/kscu/app/jvm.options", "-XX:AOTCache=/opt/kscu/app/app.aot", \
            "-jar", "/opt/kscu/app/kubelet-server-cert-untaint.jar"]
