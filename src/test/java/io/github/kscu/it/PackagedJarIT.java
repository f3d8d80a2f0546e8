package io.github.kscu.it;

import static io.github.kscu.it.Agents.OURS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.gson.JsonParser;
import io.github.kscu.testing.ControlPlane;
import io.github.kscu.testing.ControlPlaneExtension;
import io.github.kscu.testing.Kube;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The packaged jar, run as a process with only {@code target/lib} on its class path: proves the
 * dependency exclusions in pom.xml (no protobuf, no Bouncy Castle, no Jackson...) on both kubeconfig
 * paths, JSON logs on a pipe, and a prompt exit 0 on SIGTERM.
 */
@ExtendWith(ControlPlaneExtension.class)
class PackagedJarIT {
    private static final Path JAR = Path.of(System.getProperty("kscu.jar", "target/kubelet-server-cert-untaint.jar"));

    private Process launch(Path log, String... args) throws Exception {
        assertThat(JAR).as("the packaged jar (mvn package runs before failsafe)").exists();
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-jar", JAR.toString()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().remove("KUBERNETES_SERVICE_HOST");
        return pb.start();
    }

    private void runAgainst(ControlPlane cp, Path dir, Path kubeconfig, String node) throws Exception {
        Kube kube = cp.kube();
        kube.createNode(node, OURS + ":NoSchedule");
        try (Agents agents = new Agents(dir)) {
            agents.issueCert(node);
            Path log = dir.resolve(node + ".log");
            Process p = launch(log, "--node-name", node, "--kubeconfig", kubeconfig.toString(), "--cert-file",
                    agents.certFile(node).toString(), "--startup-jitter", "0", "--health-addr", "127.0.0.1:0",
                    "--log-format", "json", "--settle-duration", "1h");
            try {
                // The log, not the node: the apiserver applies the PATCH before its answer reaches the agent.
                await().atMost(Duration.ofSeconds(60)).until(() -> Files.readString(log).contains("StartupTaintRemoved")
                        || !p.isAlive());
                assertThat(p.isAlive()).as("agent still running; log:%n%s", Files.readString(log)).isTrue();
                assertThat(kube.taints(node)).isEmpty();
                long start = System.nanoTime();
                p.destroy(); // SIGTERM
                assertThat(p.waitFor(10, TimeUnit.SECONDS)).isTrue();
                assertThat(p.exitValue()).as("exit code on SIGTERM; log:%n%s", Files.readString(log)).isZero();
                assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(5));
            } finally {
                p.destroyForcibly();
            }
            List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
            assertThat(lines).isNotEmpty().allSatisfy(l -> assertThat(JsonParser.parseString(l).isJsonObject())
                    .as("JSON log line: %s", l).isTrue());
            assertThat(String.join("\n", lines)).contains("\"reason\":\"StartupTaintRemoved\"")
                    .contains("\"msg\":\"stopping\"").doesNotContain("NoClassDefFoundError")
                    .doesNotContain("ClassNotFoundException");
        }
    }

    @Test
    void clientCertificateKubeconfig(ControlPlane cp, @TempDir Path dir) throws Exception {
        runAgainst(cp, dir, cp.adminKubeconfig(), "jar-client-cert");
    }

    @Test
    void tokenKubeconfig(ControlPlane cp, @TempDir Path dir) throws Exception {
        runAgainst(cp, dir, cp.agentKubeconfig(), "jar-token");
    }

    @Test
    void invalidSettingExitsTwoWithOneLine(@TempDir Path dir) throws Exception {
        Path log = dir.resolve("bad.log");
        Process p = launch(log, "--node-name", "n", "--mode", "sometimes");
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).isEqualTo(2);
        assertThat(Files.readAllLines(log)).containsExactly("kubelet-server-cert-untaint: invalid --mode (MODE)"
                + " \"sometimes\"; accepted: bootstrap or continuous");
    }
}
