package io.github.kscu.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The image's command line under a memory limit, started as on a fresh node: the page cache dropped first
 * (the runtime, jars and AOT cache are read from disk and charged to the agent), the settings in the
 * environment as the DaemonSet gives them, the file source at a certificate the caller installs later.
 * Used by {@code MemoryLimitIT} (the manifests' limit) and the benchmark (the lowest limit that works).
 */
public final class LimitedAgent implements AutoCloseable {
    private final MemoryCgroup cgroup;
    private final Process process;
    private final Path log;
    private final Path cert;

    private LimitedAgent(MemoryCgroup cgroup, Process process, Path log, Path cert) {
        this.cgroup = cgroup;
        this.process = process;
        this.log = log;
        this.cert = cert;
    }

    /** Starts the agent for {@code node} (which must exist) in a new cgroup limited to {@code limitMib}. */
    public static LimitedAgent start(ControlPlane cp, Path runtime, String node, long limitMib, Path dir)
            throws IOException, InterruptedException {
        MemoryCgroup cgroup = MemoryCgroup.create("kscu-limited-agent", limitMib * 1024 * 1024);
        try {
            Path cert = dir.resolve("pki/kubelet-server-current.pem");
            Files.createDirectories(cert.getParent());
            MemoryCgroup.dropPageCache();
            ProcessBuilder agent = ImageCommand.agent(runtime, TestSettings.agent(node, cp.agentKubeconfig(), cert,
                    "LOG_FORMAT", "json", "HEALTH_ADDR", "127.0.0.1:0", "STARTUP_JITTER", "3s"),
                    "-XX:AOTCache=" + runtime.resolve("app/app.aot"));
            Path log = dir.resolve("agent.log");
            Process p = agent.command(cgroup.wrap(agent.command())).redirectErrorStream(true)
                    .redirectOutput(log.toFile()).start();
            return new LimitedAgent(cgroup, p, log, cert);
        } catch (IOException | InterruptedException | RuntimeException e) {
            cgroup.close();
            throw e;
        }
    }

    /** The DaemonSet's memory limit in Mi, as kustomize/base renders it. */
    public static long shippedLimitMib(ControlPlane cp) throws IOException, InterruptedException {
        String rendered = cp.tool("kustomize", null, "build", Path.of("kustomize/base").toAbsolutePath().toString());
        Matcher m = Pattern.compile("limits:\\s*\\n\\s*memory: (\\d+)Mi").matcher(rendered);
        if (!m.find()) {
            throw new IllegalStateException("no memory limit in Mi in the DaemonSet kustomize/base renders");
        }
        return Long.parseLong(m.group(1));
    }

    /** Where the kubelet would publish the serving certificate. */
    public Path cert() {
        return cert;
    }

    public Process process() {
        return process;
    }

    public MemoryCgroup cgroup() {
        return cgroup;
    }

    public String log() throws IOException {
        return Files.exists(log) ? Files.readString(log) : "";
    }

    /** Waits until {@code kube} shows none of the node's taints, at most {@code max}; true if it did. */
    public static boolean awaitUntainted(Kube kube, String node, Duration max) throws Exception {
        long deadline = System.nanoTime() + max.toNanos();
        while (!kube.taints(node).isEmpty()) {
            if (System.nanoTime() > deadline) {
                return false;
            }
            Thread.sleep(50);
        }
        return true;
    }

    /** Stops the agent (SIGTERM, then SIGKILL after 10 s) and removes the cgroup. */
    @Override
    public void close() throws IOException {
        try {
            process.destroy();
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                process.waitFor(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            cgroup.close();
        }
    }
}
