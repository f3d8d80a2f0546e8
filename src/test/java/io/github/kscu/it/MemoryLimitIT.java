package io.github.kscu.it;

import static io.github.kscu.it.Agents.OURS;
import static org.assertj.core.api.Assertions.assertThat;

import io.github.kscu.testing.ControlPlane;
import io.github.kscu.testing.ControlPlaneExtension;
import io.github.kscu.testing.ImageCommand;
import io.github.kscu.testing.Kube;
import io.github.kscu.testing.TestCerts;
import io.github.kscu.testing.TestSettings;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The DaemonSet's memory limit, applied for real: the image's command line runs in a memory cgroup with
 * the limit rendered from kustomize/base, after the page cache was dropped (a fresh node: the runtime,
 * jars and AOT cache are read from disk and charged to the pod). It must remove the taint promptly,
 * survive re-added taints and never be OOM-killed. Needs root and the cgroup v1 or v2 memory controller.
 */
@ExtendWith(ControlPlaneExtension.class)
class MemoryLimitIT {
    private static final Path RUNTIME = Path.of("target/runtime").toAbsolutePath();

    @Test
    void agentWorksWithinTheManifestsMemoryLimitFromAColdPageCache(ControlPlane cp, @TempDir Path dir) throws Exception {
        String rendered = cp.tool("kustomize", null, "build", Path.of("kustomize/base").toAbsolutePath().toString());
        Matcher m = Pattern.compile("limits:\\s*\\n\\s*memory: (\\d+)Mi").matcher(rendered);
        assertThat(m.find()).as("a memory limit in Mi in the DaemonSet").isTrue();
        long limit = Long.parseLong(m.group(1)) * 1024 * 1024;

        Cgroup cgroup = Cgroup.create("kscu-memory-limit-it", limit);
        try {
            Kube kube = cp.kube();
            String node = "memory-limit";
            kube.createNode(node, OURS + ":NoSchedule");
            Path cert = dir.resolve("pki/kubelet-server-current.pem");
            Files.writeString(Path.of("/proc/sys/vm/drop_caches"), "3");
            // In the cgroup from its first instruction; settings in the environment, as in the DaemonSet.
            ProcessBuilder agent = ImageCommand.agent(RUNTIME, TestSettings.agent(node, cp.agentKubeconfig(), cert,
                    "LOG_FORMAT", "json", "HEALTH_ADDR", "127.0.0.1:0", "STARTUP_JITTER", "3s"), "-XX:AOTCache=" + RUNTIME.resolve("app/app.aot"));
            List<String> cmd = new ArrayList<>(List.of("/bin/bash", "-c",
                    "echo $$ > " + cgroup.procs() + " && exec \"$@\"", "in-cgroup"));
            cmd.addAll(agent.command());
            Path log = dir.resolve("agent.log");
            Process p = agent.command(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
            try {
                Thread.sleep(3_000);
                TestCerts.serving(TestCerts.ca("ca"), node).installLikeKubelet(cert);
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                while (!kube.taints(node).isEmpty() && System.nanoTime() < deadline) {
                    Thread.sleep(50);
                }
                assertThat(kube.taints(node)).as("taints 10 s after the certificate; log:%n%s", Files.readString(log))
                        .isEmpty();
                for (int i = 0; i < 3; i++) {
                    kube.setTaints(node, OURS + ":NoSchedule");
                    Thread.sleep(1_500);
                    assertThat(kube.taints(node)).isEmpty();
                }
                assertThat(p.isAlive()).isTrue();
                assertThat(cgroup.oomKills()).as("OOM kills").isZero();
                p.destroy();
                assertThat(p.waitFor(10, TimeUnit.SECONDS)).isTrue();
                assertThat(p.exitValue()).isZero();
            } finally {
                p.destroyForcibly();
                p.waitFor(10, TimeUnit.SECONDS);
            }
        } finally {
            cgroup.delete();
        }
    }

    /** A memory cgroup under cgroup v1 or v2, whichever the host mounts. */
    private record Cgroup(Path dir, boolean v2) {
        static Cgroup create(String name, long limit) throws Exception {
            Path v1 = Path.of("/sys/fs/cgroup/memory");
            Path root = Path.of("/sys/fs/cgroup");
            boolean v2 = Files.exists(root.resolve("cgroup.controllers"))
                    && Files.readString(root.resolve("cgroup.controllers")).contains("memory");
            if (!v2 && !Files.isDirectory(v1)) {
                throw new IllegalStateException("MemoryLimitIT needs the cgroup memory controller (v1 "
                        + v1 + " or v2 " + root + ")");
            }
            if (!"root".equals(System.getProperty("user.name"))) {
                throw new IllegalStateException("MemoryLimitIT needs root to create a memory cgroup (CI runs as root)");
            }
            Path dir = (v2 ? root : v1).resolve(name);
            Files.createDirectories(dir);
            Files.writeString(dir.resolve(v2 ? "memory.max" : "memory.limit_in_bytes"), Long.toString(limit));
            return new Cgroup(dir, v2);
        }

        Path procs() {
            return dir.resolve("cgroup.procs");
        }

        long oomKills() throws Exception {
            String f = Files.readString(dir.resolve(v2 ? "memory.events" : "memory.oom_control"));
            Matcher m = Pattern.compile("oom_kill (\\d+)").matcher(f);
            return m.find() ? Long.parseLong(m.group(1)) : 0;
        }

        void delete() throws Exception {
            for (int i = 0; i < 50 && !Files.readString(procs()).isBlank(); i++) {
                Thread.sleep(100);
            }
            Files.deleteIfExists(dir);
        }
    }
}
