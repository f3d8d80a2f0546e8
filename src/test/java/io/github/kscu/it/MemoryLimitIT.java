package io.github.kscu.it;

import static io.github.kscu.it.Agents.OURS;
import static org.assertj.core.api.Assertions.assertThat;

import io.github.kscu.testing.ControlPlane;
import io.github.kscu.testing.ControlPlaneExtension;
import io.github.kscu.testing.Kube;
import io.github.kscu.testing.LimitedAgent;
import io.github.kscu.testing.MemoryCgroup;
import io.github.kscu.testing.TestCerts;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The DaemonSet's memory limit, applied for real: the image's command line runs in a memory cgroup with
 * the limit rendered from kustomize/base, after the page cache was dropped (a fresh node: the runtime,
 * jars and AOT cache are read from disk and charged to the pod), with the disk's readahead at Linux's
 * default (see {@link MemoryCgroup}). It must remove the taint promptly, survive re-added taints, never be
 * OOM-killed and exit 0 on SIGTERM. Needs root and the cgroup v1 or v2 memory controller.
 */
@ExtendWith(ControlPlaneExtension.class)
class MemoryLimitIT {
    private static final Path RUNTIME = Path.of("target/runtime").toAbsolutePath();

    @Test
    void agentWorksWithinTheManifestsMemoryLimitFromAColdPageCache(ControlPlane cp, @TempDir Path dir) throws Exception {
        long limitMib = LimitedAgent.shippedLimitMib(cp);
        assertThat(limitMib).as("the shipped limit (the issue's target)").isLessThanOrEqualTo(64);

        Kube kube = cp.kube();
        String node = "memory-limit";
        kube.createNode(node, OURS + ":NoSchedule");
        try (MemoryCgroup.Readahead ra = MemoryCgroup.kernelDefaultReadahead(RUNTIME);
                LimitedAgent agent = LimitedAgent.start(cp, RUNTIME, node, limitMib, dir)) {
            System.out.printf("MemoryLimitIT: limit %d Mi, readahead %d KiB (was %d)%n", limitMib, ra.nowKb(),
                    ra.beforeKb());
            Thread.sleep(3_000); // past start-up and its jitter: the agent waits for the certificate
            TestCerts.serving(TestCerts.ca("ca"), node).installLikeKubelet(agent.cert());
            assertThat(LimitedAgent.awaitUntainted(kube, node, Duration.ofSeconds(10)))
                    .as("taint removed within 10 s of the certificate under %d Mi (limit hits %d); log:%n%s",
                            limitMib, agent.cgroup().limitHits(), agent.log())
                    .isTrue();
            for (int i = 0; i < 3; i++) {
                kube.setTaints(node, OURS + ":NoSchedule");
                assertThat(LimitedAgent.awaitUntainted(kube, node, Duration.ofSeconds(5)))
                        .as("re-added taint %d removed; log:%n%s", i + 1, agent.log()).isTrue();
            }
            assertThat(agent.process().isAlive()).as("alive; log:%n%s", agent.log()).isTrue();
            assertThat(agent.cgroup().oomKills()).as("OOM kills").isZero();
            agent.process().destroy();
            assertThat(agent.process().waitFor(10, TimeUnit.SECONDS)).isTrue();
            assertThat(agent.process().exitValue()).as("exit code on SIGTERM; log:%n%s", agent.log()).isZero();
        }
    }
}
