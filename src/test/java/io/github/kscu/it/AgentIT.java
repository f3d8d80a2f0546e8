package io.github.kscu.it;

import static io.github.kscu.it.Agents.OURS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.github.kscu.agent.Agent;
import io.github.kscu.config.ListenAddress;
import io.github.kscu.health.HealthServer;
import io.github.kscu.report.State;
import io.github.kscu.testing.ControlPlane;
import io.github.kscu.testing.ControlPlaneExtension;
import io.github.kscu.testing.Kube;
import io.github.kscu.testing.Scraped;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.Response;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** The agent, in-process through its library API, against a real kube-apiserver and etcd. */
@ExtendWith(ControlPlaneExtension.class)
class AgentIT {
    static final Duration WAIT = Duration.ofSeconds(30);

    private final ControlPlane cp;
    private final Kube kube;
    private Agents agents;
    private String node;

    AgentIT(ControlPlane cp) {
        this.cp = cp;
        this.kube = cp.kube();
    }

    @BeforeEach
    void setUp(@TempDir Path dir, TestInfo info) {
        agents = new Agents(dir);
        node = "node-" + info.getTestMethod().orElseThrow().getName().toLowerCase().replaceAll("[^a-z0-9]", "")
                .substring(0, 20) + "-" + Long.toHexString(System.nanoTime() & 0xffffff);
    }

    @AfterEach
    void tearDown() {
        agents.close();
    }

    private int status(OkHttpClient http, String url) throws Exception {
        try (Response r = http.newCall(new Request.Builder().url(url).build()).execute()) {
            return r.code();
        }
    }

    @Test
    void delayedCertificateThenTaintRemovedWithEventAndReadiness() throws Exception {
        kube.createNode(node, OURS + ":NoSchedule");
        Agent agent = agents.start(agents.settings(node, cp.adminKubeconfig()));
        OkHttpClient http = new OkHttpClient();
        try (HealthServer health = HealthServer.start(new ListenAddress("127.0.0.1", 0), agent::readiness,
                agent.metrics().registry())) {
            String readyz = "http://127.0.0.1:" + health.port() + "/readyz";
            await().atMost(WAIT).until(() -> agent.state() == State.WAITING_FOR_CERT);
            Thread.sleep(2_000);
            assertThat(kube.taints(node)).containsExactly(OURS + ":NoSchedule");
            assertThat(status(http, readyz)).isEqualTo(503);

            agents.issueCert(node);
            await().atMost(WAIT).until(() -> kube.taints(node).isEmpty());
            await().atMost(WAIT).until(() -> status(http, readyz) == 200);
            await().atMost(WAIT).until(() -> kube.eventReasons(node).contains("StartupTaintRemoved"));
            assertThat(agent.awaitFinished(WAIT)).isTrue();
            // No GET: the watch, started without a resourceVersion, brought the node; one PATCH whose answer
            // is the read-back; one Event, which names the certificate (ServingCertificateReady is logged).
            assertThat(Scraped.requests(agent.metrics(), "get")).isZero();
            assertThat(Scraped.requests(agent.metrics(), "watch")).isEqualTo(1);
            assertThat(Scraped.requests(agent.metrics(), "patch")).isEqualTo(1);
            await().atMost(WAIT).until(() -> Scraped.requests(agent.metrics(), "create-event") == 1);
            Thread.sleep(500);
            assertThat(kube.eventReasons(node)).containsExactly("StartupTaintRemoved");
            assertThat(kube.eventNote(node, "StartupTaintRemoved")).contains("(1 patch); serving certificate ",
                    "CN=system:node:" + node, " valid until ");
            assertThat(Scraped.requests(agent.metrics(), "create-event")).isEqualTo(1);
        }
    }

    @Test
    void aNodeNotThereYetIsOneGetAfterTheGraceThenTheOpenWatchShowsIt() throws Exception {
        agents.issueCert(node);
        Agent agent = agents.start(agents.settings(node, cp.adminKubeconfig()));
        await().atMost(WAIT).until(() -> Scraped.requests(agent.metrics(), "watch") == 1);
        Thread.sleep(2_000);
        assertThat(Scraped.requests(agent.metrics(), "get")).as("GETs within the grace").isZero();
        // A wrong or not yet registered node name: the real apiserver's watch shows nothing, the GET says 404.
        await().atMost(WAIT).until(() -> Scraped.requests(agent.metrics(), "get", "404") == 1);
        assertThat(agent.readiness().detail()).contains("not read yet");

        // Registered as a kubelet does, in one create (Kube.createNode writes the taints again after it,
        // which would race the agent's PATCH); admission adds node.kubernetes.io/not-ready.
        kube.call("POST", "/api/v1/nodes", "{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":\""
                + node + "\"},\"spec\":{\"taints\":[" + Kube.taint(OURS + ":NoSchedule") + "]}}",
                MediaType.get("application/json"));
        assertThat(agent.awaitFinished(WAIT)).isTrue();
        assertThat(kube.taints(node)).doesNotContain(OURS + ":NoSchedule");
        // The still open watch showed the node: no more GETs.
        assertThat(Scraped.requests(agent.metrics(), "get")).isEqualTo(1);
        assertThat(Scraped.requests(agent.metrics(), "patch")).isEqualTo(1);
        assertThat(Scraped.requests(agent.metrics(), "watch")).isEqualTo(1);
    }

    @Test
    void aNodeNameOfTheFull253CharactersStillGetsItsEvents() throws Exception {
        // Event names are "<node>.<hex>": uncut, this node's would be 270 characters and every Event a 422.
        // 40 + 3 * (1 + 63) + (1 + 20) = 253: labels of at most 63, a DNS subdomain of the full length.
        String longName = (node + "a".repeat(40)).substring(0, 40) + ("." + "x".repeat(63)).repeat(3) + "."
                + "x".repeat(20);
        assertThat(longName).hasSize(253);
        kube.createNode(longName, OURS + ":NoSchedule");
        try {
            agents.issueCert(longName);
            Agent agent = agents.start(agents.settings(longName, cp.adminKubeconfig()));
            assertThat(agent.awaitFinished(WAIT)).isTrue();
            await().atMost(WAIT).until(() -> kube.eventReasons(longName).contains("StartupTaintRemoved"));
        } finally {
            kube.deleteNode(longName);
        }
    }

    @Test
    void foreignTaintsSurviveInOrderIncludingOurKeyWithAnotherEffect() throws Exception {
        kube.createNode(node, "a.io/first:NoSchedule", OURS + ":NoSchedule", OURS + ":NoExecute",
                "b.io/v=1:PreferNoSchedule", "node.kubernetes.io/not-ready:NoExecute");
        agents.issueCert(node);
        Agent agent = agents.start(agents.settings(node, cp.adminKubeconfig(), "TAINT_KEY", OURS + ":NoExecute"));
        assertThat(agent.awaitFinished(WAIT)).isTrue();
        assertThat(kube.taints(node)).containsExactly("a.io/first:NoSchedule", OURS + ":NoSchedule",
                "b.io/v=1:PreferNoSchedule", "node.kubernetes.io/not-ready:NoExecute");
    }

    @Test
    void concurrentWriterLosesNothingAndOurTaintGoes() throws Exception {
        kube.createNode(node, OURS + ":NoSchedule", "keep.io/base:NoSchedule");
        AtomicBoolean stop = new AtomicBoolean();
        AtomicInteger writes = new AtomicInteger();
        // A careful controller: read, add or remove its own taint, write with a test precondition.
        Thread writer = Thread.ofVirtual().start(() -> {
            int i = 0;
            while (!stop.get()) {
                try {
                    List<String> current = kube.taints(node);
                    List<String> next = new ArrayList<>(current);
                    String mine = "flip.io/t" + (i % 3) + ":NoSchedule";
                    if (!next.remove(mine)) {
                        next.add(mine);
                    }
                    if (kube.jsonPatch(node, "[{\"op\":\"test\",\"path\":\"/spec/taints\",\"value\":" + json(current)
                            + "},{\"op\":\"replace\",\"path\":\"/spec/taints\",\"value\":" + json(next) + "}]") == 200) {
                        writes.incrementAndGet();
                        i++;
                    }
                } catch (Exception e) {
                    // keep going; the assertions below decide
                }
            }
        });
        await().atMost(WAIT).until(() -> writes.get() > 20);
        agents.issueCert(node);
        Agent agent = agents.start(agents.settings(node, cp.adminKubeconfig()));
        assertThat(agent.awaitFinished(WAIT)).isTrue();
        await().atMost(WAIT).until(() -> writes.get() > 60);
        stop.set(true);
        writer.join();
        List<String> end = kube.taints(node);
        assertThat(end).doesNotContain(OURS + ":NoSchedule").contains("keep.io/base:NoSchedule");
        // The writer's last successful write is what the node holds: nothing of its was undone.
        int i = writes.get();
        for (int k = 0; k < 3; k++) {
            long flips = countFlips(i, k);
            assertThat(end.contains("flip.io/t" + k + ":NoSchedule")).as("flip.io/t%d", k).isEqualTo(flips % 2 == 1);
        }
    }

    /** How often taint k was toggled in the first n writes (write i toggles i % 3). */
    private static long countFlips(int n, int k) {
        return n / 3 + (n % 3 > k ? 1 : 0);
    }

    private static String json(List<String> taints) {
        StringBuilder b = new StringBuilder("[");
        for (String t : taints) {
            if (b.length() > 1) {
                b.append(',');
            }
            b.append(Kube.taint(t));
        }
        return b.append(']').toString();
    }

    @Test
    void reAddedInsideTheSettleWindowIsRemovedAgainNotAfter() throws Exception {
        kube.createNode(node, OURS + ":NoSchedule", "x.io/other:NoSchedule");
        agents.issueCert(node);
        Agent agent = agents.start(agents.settings(node, cp.adminKubeconfig(), "SETTLE_DURATION", "4s"));
        await().atMost(WAIT).until(() -> agent.state() == State.SETTLING);
        kube.setTaints(node, "x.io/other:NoSchedule", OURS + ":NoSchedule");
        await().atMost(WAIT).until(() -> kube.taints(node).equals(List.of("x.io/other:NoSchedule")));
        await().atMost(WAIT).until(() -> kube.eventReasons(node).contains("StartupTaintReadded"));
        assertThat(agent.awaitFinished(WAIT)).isTrue();
        assertThat(agent.state()).isEqualTo(State.DONE);
        long requests = Scraped.requests(agent.metrics(), "watch") + Scraped.requests(agent.metrics(), "get");
        kube.setTaints(node, "x.io/other:NoSchedule", OURS + ":NoSchedule");
        Thread.sleep(2_000);
        assertThat(kube.taints(node)).containsExactly("x.io/other:NoSchedule", OURS + ":NoSchedule");
        assertThat(Scraped.requests(agent.metrics(), "watch") + Scraped.requests(agent.metrics(), "get")).isEqualTo(requests);
    }

    @Test
    void karpenterUnregisteredHoldsOursUntilKarpenterRewritesIt() throws Exception {
        String unregistered = "karpenter.sh/unregistered:NoExecute";
        kube.createNode(node, unregistered, OURS + ":NoSchedule");
        agents.issueCert(node);
        Agent agent = agents.start(agents.settings(node, cp.adminKubeconfig(), "SETTLE_DURATION", "30s"));
        await().atMost(WAIT).until(() -> agent.state() == State.WAITING_FOR_KARPENTER);
        Thread.sleep(1_500);
        assertThat(kube.taints(node)).containsExactly(unregistered, OURS + ":NoSchedule");
        // Karpenter registers the node: one patch drops unregistered and re-writes the startupTaints.
        kube.setTaints(node, OURS + ":NoSchedule");
        await().atMost(WAIT).until(() -> kube.taints(node).isEmpty());
        Thread.sleep(1_500);
        assertThat(kube.taints(node)).isEmpty();
        assertThat(agent.state()).isEqualTo(State.SETTLING);
    }

    @Test
    void apiServerOutageWhileWaitingAndWhilePatching() throws Exception {
        kube.createNode(node, OURS + ":NoSchedule");
        Agent agent = agents.start(agents.settings(node, cp.adminKubeconfig()));
        await().atMost(WAIT).until(() -> agent.state() == State.WAITING_FOR_CERT && Scraped.requests(agent.metrics(), "watch") > 0);

        // Outage while the agent waits for its certificate (the node watch breaks).
        cp.stopApiserver();
        long before = totalRequests(agent);
        Thread.sleep(20_000);
        long duringWait = totalRequests(agent) - before;
        cp.startApiserver();

        // Outage while it patches: the certificate arrives while the apiserver is down.
        cp.stopApiserver();
        before = totalRequests(agent);
        agents.issueCert(node);
        Thread.sleep(20_000);
        long duringPatch = totalRequests(agent) - before;
        assertThat(agent.state()).isEqualTo(State.REMOVING_TAINT);
        cp.startApiserver();

        await().atMost(Duration.ofSeconds(60)).until(() -> kube.taints(node).isEmpty());
        assertThat(agent.awaitFinished(WAIT)).isTrue();
        // Backoff, not a busy loop: 20 s at 200 ms doubling to a 30 s cap is a handful of attempts.
        assertThat(duringWait).as("requests during the first outage").isBetween(1L, 15L);
        assertThat(duringPatch).as("requests during the second outage").isBetween(1L, 25L);
    }

    private static long totalRequests(Agent agent) {
        return Scraped.requests(agent.metrics(), "get") + Scraped.requests(agent.metrics(), "patch") + Scraped.requests(agent.metrics(), "watch")
                + Scraped.requests(agent.metrics(), "create-event");
    }
}
