package io.github.kscu.it;

import static io.github.kscu.it.Agents.OURS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.github.kscu.testing.ControlPlane;
import io.github.kscu.testing.ControlPlaneExtension;
import io.github.kscu.testing.ImageCommand;
import io.github.kscu.testing.Kube;
import io.github.kscu.testing.TestSettings;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The agent run from the jlink runtime of {@code make runtime} (the image's runtime), with the
 * production JVM options and its trained AOT cache, against the real apiserver. {@code -XX:AOTMode=on}
 * turns a cache the JVM would otherwise silently ignore into a start-up failure.
 */
@ExtendWith(ControlPlaneExtension.class)
class RuntimeIT {
    private static final Path RUNTIME = Path.of("target/runtime").toAbsolutePath();

    @Test
    void agentRunsFromTheRuntimeAndUsesItsAotCache(ControlPlane cp, @TempDir Path dir) throws Exception {
        assertThat(RUNTIME.resolve("app/app.aot")).as("run `make runtime` first (make test does)").isRegularFile();
        Kube kube = cp.kube();
        String node = "runtime-aot";
        kube.createNode(node, OURS + ":NoSchedule");
        Path cert = dir.resolve("pki/kubelet-server-current.pem");
        io.github.kscu.testing.TestCerts.serving(io.github.kscu.testing.TestCerts.ca("ca"), node)
                .installLikeKubelet(cert);
        Path log = dir.resolve("agent.log");
        Process p = ImageCommand.agent(RUNTIME, TestSettings.agent(node, cp.agentKubeconfig(), cert, "LOG_FORMAT", "json", "SETTLE_DURATION",
                "1h"),
                "-XX:AOTCache=" + RUNTIME.resolve("app/app.aot"), "-XX:AOTMode=on",
                "-Xlog:aot=info:file=" + dir.resolve("aot.log"),
                "-Xlog:class+load=info:file=" + dir.resolve("classes.log"))
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        try {
            await().atMost(Duration.ofSeconds(30)).until(() -> kube.taints(node).isEmpty() || !p.isAlive());
            assertThat(p.isAlive()).as("agent log:%n%s", Files.readString(log)).isTrue();
            p.destroy();
            assertThat(p.waitFor(10, TimeUnit.SECONDS)).isTrue();
            assertThat(p.exitValue()).isZero();
        } finally {
            p.destroyForcibly();
        }
        assertThat(Files.readString(dir.resolve("aot.log"))).contains("Opened AOT cache")
                .doesNotContain("Unable to use AOT cache").doesNotContain("disabled");
        assertThat(Files.readString(RUNTIME.resolve("modules.txt"))).doesNotContain("java.desktop");
        // LeanApiClient: client-java's model JSON set-up (784 classes) and the JDK's default trust store
        // (~140 CA certificates) stay out of the agent, and of its AOT cache with it.
        String classes = Files.readString(dir.resolve("classes.log"));
        assertThat(classes).as("classes loaded").contains("io.github.kscu.kube.LeanApiClient ")
                .doesNotContain("io.kubernetes.client.openapi.JSON ")
                .doesNotContain("io.kubernetes.client.openapi.models.")
                .doesNotContain("sun.security.ssl.TrustStoreManager ")
                .doesNotContain("io.prometheus.metrics.core.util.Scheduler ");
    }
}
