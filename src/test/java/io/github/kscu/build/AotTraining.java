package io.github.kscu.build;

import io.github.kscu.testing.ControlPlane;
import io.github.kscu.testing.ImageCommand;
import io.github.kscu.testing.Kube;
import io.github.kscu.testing.TestCerts;
import io.github.kscu.testing.TestSettings;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.Response;

/**
 * A build step of {@code make runtime}: trains the JDK 25 AOT cache of a runtime built by {@code jlink/build-runtime.sh}: the agent runs from
 * that runtime, with the production JVM options, through its real job on a local control plane (read
 * the node, wait for and validate a certificate, patch, post Events, serve probes and metrics), and
 * the cache is written when it exits on SIGTERM. A cache from another runtime or other flags would be
 * rejected, so training happens here and not on a developer JDK.
 *
 * <p>Usage: {@code AotTraining RUNTIME_DIR}; writes RUNTIME_DIR/app/app.aot.
 */
public final class AotTraining {
    private AotTraining() {
    }

    public static void main(String[] args) throws Exception {
        Path runtime = Path.of(args.length > 0 ? args[0] : "target/runtime").toAbsolutePath();
        Path cache = runtime.resolve("app/app.aot");
        Files.deleteIfExists(cache);
        try (ControlPlane cp = ControlPlane.start(ControlPlane.Options.DEFAULT)) {
            Path kubeconfig = cp.agentKubeconfig();
            Kube kube = cp.kube();
            String node = "aot-training";
            kube.createNode(node, "example.com/kubelet-no-server-cert:NoSchedule");
            Path cert = cp.dir().resolve("pki-node/kubelet-server-current.pem");
            int port;
            try (ServerSocket s = new ServerSocket(0)) {
                port = s.getLocalPort();
            }
            Path log = cp.dir().resolve("training.log");
            Process agent = ImageCommand.agent(runtime, TestSettings.agent(node, kubeconfig, cert, "HEALTH_ADDR",
                    "127.0.0.1:" + port, "SETTLE_DURATION", "1h", "LOG_FORMAT", "json",
                    // The check runs on every node as the manifests ship it: train its classes too.
                    "ADMISSION_POLICY_CHECK", "warn"), "-XX:AOTCacheOutput=" + cache)
                    .redirectErrorStream(true).redirectOutput(log.toFile()).start();
            try {
                OkHttpClient http = new OkHttpClient();
                Thread.sleep(1_500); // waiting: the "not yet" path, watch, probes
                probe(http, port, "/readyz");
                TestCerts.serving(TestCerts.ca("training-ca"), node).installLikeKubelet(cert);
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                while (!kube.taints(node).isEmpty() && System.nanoTime() < deadline) {
                    Thread.sleep(20);
                }
                if (!kube.taints(node).isEmpty()) {
                    throw new IllegalStateException("training run did not remove the taint; log:\n" + Files.readString(log));
                }
                for (int i = 0; i < 3; i++) {
                    probe(http, port, "/readyz");
                    probe(http, port, "/healthz");
                    probe(http, port, "/metrics");
                }
                Thread.sleep(1_000); // Events posted
                agent.destroy();
                if (!agent.waitFor(60, TimeUnit.SECONDS) || agent.exitValue() != 0) {
                    throw new IllegalStateException("training run did not exit cleanly; log:\n" + Files.readString(log));
                }
            } finally {
                agent.destroyForcibly();
            }
        }
        if (!Files.isRegularFile(cache)) {
            throw new IllegalStateException("no AOT cache written at " + cache);
        }
        System.out.printf("AotTraining: %s (%d KiB)%n", cache, Files.size(cache) / 1024);
    }

    private static void probe(OkHttpClient http, int port, String path) throws IOException {
        try (Response r = http.newCall(new Request.Builder().url("http://127.0.0.1:" + port + path).build()).execute()) {
            r.body().string();
        }
    }
}
