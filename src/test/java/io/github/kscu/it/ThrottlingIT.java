package io.github.kscu.it;

import static io.github.kscu.it.Agents.OURS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.github.kscu.agent.Agent;
import io.github.kscu.testing.ControlPlane;
import io.github.kscu.testing.ControlPlaneExtension;
import io.github.kscu.testing.Kube;
import io.github.kscu.testing.Scraped;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Many agents at once against an apiserver with tiny inflight limits, so that 429s really happen. The
 * agents use a ServiceAccount token: system:masters (the admin) is exempt from inflight limits.
 */
@ExtendWith(ControlPlaneExtension.class)
@ControlPlaneExtension.Options(maxRequestsInflight = 1, maxMutatingRequestsInflight = 1)
class ThrottlingIT {
    static final int NODES = 40;

    @Test
    void everyNodeEndsUntaintedAndThrottlingHappened(ControlPlane cp, @TempDir Path dir) throws Exception {
        Kube kube = cp.kube();
        Path kubeconfig = cp.agentKubeconfig();
        List<Agent> running = new ArrayList<>();
        try (Agents agents = new Agents(dir)) {
            for (int i = 0; i < NODES; i++) {
                String node = "throttled-" + i;
                kube.createNode(node, "a.io/keep:NoSchedule", OURS + ":NoSchedule");
                agents.issueCert(node);
            }
            for (int i = 0; i < NODES; i++) {
                running.add(agents.start(agents.settings("throttled-" + i, kubeconfig)));
            }
            for (Agent a : running) {
                assertThat(a.awaitFinished(Duration.ofSeconds(120))).isTrue();
            }
            for (int i = 0; i < NODES; i++) {
                assertThat(kube.taints("throttled-" + i)).containsExactly("a.io/keep:NoSchedule");
            }
            long throttled = 0;
            for (Agent a : running) {
                for (String verb : List.of("get", "watch", "patch", "create-event")) {
                    throttled += Scraped.requests(a.metrics(), verb, "429");
                }
            }
            assertThat(throttled).as("429 answers seen by the agents").isPositive();
            await().atMost(Duration.ofSeconds(30)).until(() -> kube.eventReasons("throttled-0").size() >= 1);
        }
    }
}
