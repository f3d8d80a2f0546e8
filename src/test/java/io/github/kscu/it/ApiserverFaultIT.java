package io.github.kscu.it;

import static io.github.kscu.it.Agents.OURS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.github.kscu.agent.Agent;
import io.github.kscu.report.State;
import io.github.kscu.testing.ControlPlane;
import io.github.kscu.testing.ControlPlaneExtension;
import io.github.kscu.testing.Kube;
import io.github.kscu.testing.Scraped;
import io.github.kscu.testing.Toxiproxy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The fault tier: the agent talks to the real kube-apiserver through a real Toxiproxy, and each test
 * case injects one fault. The fault starts while the agent waits for its certificate; the certificate
 * arrives {@link #CERT_AFTER} into the fault, so the removal runs under it too. For each fault: the
 * taint is gone within {@link #RECOVERY} of the fault's end, foreign taints are intact and in order, the
 * request rate during the fault stays under {@link #MAX_RATE}, and the process uses under
 * {@link #MAX_CPU} of one core (no busy loop). The table is printed and written to
 * {@code target/fault-tier.md}; docs/operations.md carries a copy.
 */
@ExtendWith(ControlPlaneExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ApiserverFaultIT {
    static final Duration RECOVERY = Duration.ofSeconds(5);
    static final Duration CERT_AFTER = Duration.ofSeconds(3);
    /** Requests per second during a fault, averaged over it: backoff, never a loop. */
    static final double MAX_RATE = 2.5;
    /** Share of one core used by the whole test JVM during a fault. */
    static final double MAX_CPU = 0.25;
    static final List<String> FOREIGN = List.of("a.io/first:NoSchedule", "z.io/last:NoExecute");

    /** One fault: what it does to the connection, and how it ends. */
    interface Fault {
        void begin() throws Exception;

        void end() throws Exception;
    }

    record Row(String fault, double seconds, long requests, double cpu, double recovery) {
    }

    private final ControlPlane cp;
    private final Kube kube;
    private final List<Row> rows = new CopyOnWriteArrayList<>();
    private Toxiproxy proxy;
    private Path kubeconfig;
    private Agents agents;
    private String node;

    ApiserverFaultIT(ControlPlane cp) {
        this.cp = cp;
        this.kube = cp.kube();
    }

    @BeforeAll
    void startProxy() throws Exception {
        proxy = Toxiproxy.start(cp, cp.apiAddress());
        kubeconfig = cp.adminKubeconfigVia("https://" + proxy.address());
    }

    @AfterAll
    void printTable() throws Exception {
        StringBuilder table = new StringBuilder("| fault | length | requests during it | CPU during it | taint gone after"
                + " its end |\n|---|---|---|---|---|\n");
        for (Row r : rows) {
            table.append(String.format(Locale.ROOT, "| %s | %.0f s | %d (%.2f/s) | %.1f %% of a core | %s |%n", r.fault(),
                    r.seconds(), r.requests(), r.requests() / r.seconds(), r.cpu() * 100,
                    r.recovery() <= 0 ? "before it ended" : String.format(Locale.ROOT, "%.2f s", r.recovery())));
        }
        System.out.println("fault tier (bounds: gone within " + RECOVERY.toSeconds() + " s of the end, at most "
                + MAX_RATE + " requests/s, " + (int) (MAX_CPU * 100) + " % of a core):\n" + table);
        Files.writeString(Path.of("target", "fault-tier.md"), table.toString());
        if (proxy != null) {
            proxy.close();
        }
    }

    @BeforeEach
    void setUp(@TempDir Path dir, TestInfo info) throws Exception {
        proxy.reset();
        agents = new Agents(dir);
        String test = info.getTestMethod().orElseThrow().getName().toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9]", "");
        node = "fault-" + test.substring(0, Math.min(12, test.length())) + "-"
                + Long.toHexString(System.nanoTime() & 0xffffff);
    }

    @AfterEach
    void tearDown() throws Exception {
        agents.close();
        proxy.reset();
    }

    @Test
    void latencyOfTwoSeconds() throws Exception {
        run("2 s latency (both directions)", Duration.ofSeconds(12), new Fault() {
            public void begin() throws Exception {
                proxy.toxic("slow-down", "latency", "downstream", "\"latency\":2000");
                proxy.toxic("slow-up", "latency", "upstream", "\"latency\":2000");
            }

            public void end() throws Exception {
                proxy.reset();
            }
        });
    }

    @Test
    void connectionReset() throws Exception {
        run("connection reset (reset_peer)", Duration.ofSeconds(15), toxic(
                () -> proxy.toxic("reset", "reset_peer", "upstream", "\"timeout\":0")));
    }

    @Test
    void blackHole() throws Exception {
        run("black hole (timeout toxic, data dropped, connections held)", Duration.ofSeconds(15), toxic(() -> {
            proxy.toxic("hole-up", "timeout", "upstream", "\"timeout\":0");
            proxy.toxic("hole-down", "timeout", "downstream", "\"timeout\":0");
        }));
    }

    @Test
    void slicedSlowStream() throws Exception {
        run("sliced, slow stream (16 B slices, 20 ms apart)", Duration.ofSeconds(12), toxic(
                () -> proxy.toxic("slicer", "slicer", "downstream",
                        "\"average_size\":16,\"size_variation\":8,\"delay\":20000")));
    }

    @Test
    void proxyDownForTwentySeconds() throws Exception {
        run("proxy down (connections closed, new ones refused)", Duration.ofSeconds(20), new Fault() {
            public void begin() throws Exception {
                proxy.enabled(false);
            }

            public void end() throws Exception {
                proxy.enabled(true);
            }
        });
    }

    @Test
    void apiserverRestarted() throws Exception {
        run("apiserver restarted (stopped, then started until ready)", Duration.ofSeconds(10), new Fault() {
            public void begin() throws Exception {
                cp.stopApiserver();
            }

            public void end() throws Exception {
                cp.startApiserver();
            }
        });
    }

    @Test
    void watchCutMidStream() throws Exception {
        // Every connection is closed after 16 KiB from the server, while another writer keeps the node's
        // watch busy: the watch is cut mid-stream again and again.
        AtomicBoolean writing = new AtomicBoolean(true);
        Thread writer = Thread.ofVirtual().start(() -> {
            for (int i = 0; writing.get(); i++) {
                try {
                    kube.label(node, "fault.io/tick", Integer.toString(i));
                    Thread.sleep(200);
                } catch (Exception e) {
                    return;
                }
            }
        });
        try {
            run("watch cut mid-stream (limit_data 16 KiB, node updated every 200 ms)", Duration.ofSeconds(15),
                    toxic(() -> proxy.toxic("cut", "limit_data", "downstream", "\"bytes\":16384")));
        } finally {
            writing.set(false);
            writer.join();
        }
    }

    interface Step {
        void run() throws Exception;
    }

    private Fault toxic(Step begin) {
        return new Fault() {
            public void begin() throws Exception {
                begin.run();
            }

            public void end() throws Exception {
                proxy.reset();
            }
        };
    }

    private void run(String name, Duration length, Fault fault) throws Exception {
        kube.createNode(node, FOREIGN.get(0), OURS + ":NoSchedule", FOREIGN.get(1));
        Agent agent = agents.start(agents.settings(node, kubeconfig));
        await().atMost(Duration.ofSeconds(30))
                .until(() -> agent.state() == State.WAITING_FOR_CERT && Scraped.requests(agent.metrics(), "watch") > 0);

        long requestsBefore = requests(agent);
        long cpuBefore = cpuNanos();
        long start = System.nanoTime();
        long requests;
        double seconds;
        double cpu;
        boolean goneDuringFault;
        fault.begin();
        try {
            Thread.sleep(CERT_AFTER);
            agents.issueCert(node); // the removal starts under the fault
            Thread.sleep(Math.max(0, length.toMillis() - (System.nanoTime() - start) / 1_000_000));
            requests = requests(agent) - requestsBefore;
            seconds = (System.nanoTime() - start) / 1e9;
            cpu = (cpuNanos() - cpuBefore) / 1e9 / seconds;
            goneDuringFault = taintsIfReachable().equals(FOREIGN);
        } finally {
            fault.end();
        }
        long ended = System.nanoTime();

        await().atMost(RECOVERY).pollInterval(Duration.ofMillis(50))
                .until(() -> kube.taints(node).equals(FOREIGN));
        double recovery = goneDuringFault ? 0 : (System.nanoTime() - ended) / 1e9;
        rows.add(new Row(name, seconds, requests, cpu, recovery));
        assertThat(kube.taints(node)).as("foreign taints intact, in order").containsExactlyElementsOf(FOREIGN);
        assertThat(requests / seconds).as("requests per second during the fault").isLessThanOrEqualTo(MAX_RATE);
        assertThat(cpu).as("share of a core during the fault").isLessThanOrEqualTo(MAX_CPU);
        assertThat(agent.awaitFinished(Duration.ofSeconds(30))).isTrue();
    }

    /** The node's taints, or none known while the apiserver itself is down. */
    private List<String> taintsIfReachable() {
        try {
            return kube.taints(node);
        } catch (java.io.IOException e) {
            return List.of("unknown: " + e.getMessage());
        }
    }

    private static long requests(Agent agent) {
        return Scraped.requests(agent.metrics(), "get") + Scraped.requests(agent.metrics(), "patch") + Scraped.requests(agent.metrics(), "watch")
                + Scraped.requests(agent.metrics(), "create-event");
    }

    private static long cpuNanos() {
        return ProcessHandle.current().info().totalCpuDuration().orElseThrow().toNanos();
    }
}
