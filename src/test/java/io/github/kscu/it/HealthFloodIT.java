package io.github.kscu.it;

import static io.github.kscu.it.Agents.OURS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.github.kscu.health.HealthServer;
import io.github.kscu.testing.ControlPlane;
import io.github.kscu.testing.ControlPlaneExtension;
import io.github.kscu.testing.ImageCommand;
import io.github.kscu.testing.MemoryCgroup;
import io.github.kscu.testing.TestSettings;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The health port under a connection flood at its own limits, on the real runtime with the shipped
 * jvm.options (its 24 MiB heap): {@link HealthServer#MAX_CONNECTIONS} connections, each sending a head of
 * {@link HealthServer#MAX_REQUEST_BYTES} less one byte ({@code GET /metrics HTTP/1.1}, then header lines
 * of full size and no blank line to end them) and stalling, each reopened as soon as the agent closes it,
 * for {@link #FLOOD}. The process must stay
 * alive, and the DaemonSet's probes must never fail as the kubelet counts failures: {@code /healthz}
 * is asked every 200 ms with the readiness probe's 1 s timeout, and no {@link #FAILURE_THRESHOLD}
 * answers in a row may be missing. A single miss is allowed: with thousands of connections reopened a
 * second, the kernel's accept queue of the port can overflow and drop a new connection's SYN, which
 * the client resends only after a second. Before, about 570 such connections ended the agent with
 * OutOfMemoryError.
 */
@ExtendWith(ControlPlaneExtension.class)
class HealthFloodIT {
    private static final Path RUNTIME = Path.of("target/runtime").toAbsolutePath();
    private static final int SLOW = HealthServer.MAX_CONNECTIONS;
    private static final int IDLE = 0;
    /** A full-size head that never ends: header lines up to the limit, no blank line. */
    private static final byte[] STALLED_HEAD = stalledHead();
    private static final Duration FLOOD = Duration.ofSeconds(15);
    /** The readiness probe's failureThreshold in the DaemonSet (the liveness probe allows 6). */
    private static final int FAILURE_THRESHOLD = 3;
    /** The DaemonSet's memory limit. */
    private static final long LIMIT_MIB = 64;

    @Test
    void floodOfSlowHeaderAndIdleConnectionsLeavesTheAgentAliveAndHealthzAnswering(ControlPlane cp, @TempDir Path dir)
            throws Exception {
        assertThat(RUNTIME.resolve("app/app.aot")).as("run `make runtime` first (make test does)").isRegularFile();
        String node = "health-flood";
        cp.kube().createNode(node, OURS + ":NoSchedule");
        int port = ControlPlane.freePort();
        Path log = dir.resolve("agent.log");
        ProcessBuilder agent = ImageCommand.agent(RUNTIME, TestSettings.agent(node, cp.agentKubeconfig(),
                dir.resolve("pki/kubelet-server-current.pem"), "LOG_FORMAT", "json", "HEALTH_ADDR", "127.0.0.1:" + port),
                "-XX:AOTCache=" + RUNTIME.resolve("app/app.aot"));
        InetSocketAddress address = new InetSocketAddress("127.0.0.1", port);
        List<SocketChannel> flood = new ArrayList<>();
        // Under the DaemonSet's memory limit, charged for what it reads from a cold page cache, as on a node.
        MemoryCgroup.dropPageCache();
        try (MemoryCgroup.Readahead ra = MemoryCgroup.kernelDefaultReadahead(RUNTIME);
                MemoryCgroup cgroup = MemoryCgroup.create("kscu-health-flood", LIMIT_MIB << 20)) {
            Process p = agent.command(cgroup.wrap(agent.command())).redirectErrorStream(true)
                    .redirectOutput(log.toFile()).start();
            try {
                flood(p, log, address, flood);
            } finally {
                for (SocketChannel c : flood) {
                    c.close();
                }
                p.destroyForcibly();
                p.waitFor();
            }
            System.out.printf("health flood: peak %.1f MiB of the %d Mi limit, readahead %d KiB%n",
                    cgroup.peakBytes() / 1048576.0, LIMIT_MIB, ra.nowKb());
            assertThat(cgroup.oomKills()).as("OOM kills under %d Mi", LIMIT_MIB).isZero();
        }
    }

    private void flood(Process p, Path log, InetSocketAddress address, List<SocketChannel> flood) throws Exception {
        await().atMost(Duration.ofSeconds(30)).ignoreExceptions().until(() -> healthz(address) >= 0);
        for (int i = 0; i < SLOW + IDLE; i++) {
            flood.add(open(address, i < SLOW));
        }
        // The probes on a thread of their own, every 200 ms as a kubelet would, while this one keeps
        // the flood at its maximum (a sweep over thousands of connections takes seconds).
        List<Long> millis = new java.util.concurrent.CopyOnWriteArrayList<>();
        long end = System.nanoTime() + FLOOD.toNanos();
        Thread prober = Thread.ofPlatform().name("healthz-prober").start(() -> {
            while (System.nanoTime() < end) {
                millis.add(healthz(address));
                try {
                    Thread.sleep(200);
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
        int reopened = 0;
        while (System.nanoTime() < end) {
            for (int i = 0; i < flood.size(); i++) {
                if (closedByPeer(flood.get(i))) {
                    flood.get(i).close();
                    try {
                        flood.set(i, open(address, i < SLOW));
                    } catch (IOException e) {
                        // Refused: the agent is gone (OOM-killed under the limit), or the port is.
                        assertThat(p.isAlive()).as("agent alive after %s; agent log:%n%s", e, tail(log)).isTrue();
                        throw e;
                    }
                    reopened++;
                }
            }
            assertThat(p.isAlive()).as("agent log:%n%s", tail(log)).isTrue();
        }
        prober.join();
        long[] sorted = millis.stream().mapToLong(Long::longValue).filter(m -> m >= 0).sorted().toArray();
        int missed = millis.size() - sorted.length;
        int inARow = 0;
        int mostInARow = 0;
        for (long m : millis) {
            inARow = m < 0 ? inARow + 1 : 0;
            mostInARow = Math.max(mostInARow, inARow);
        }
        System.out.printf("health flood: %d slow-header + %d idle connections for %d s, %d reopened after the"
                + " agent closed them; /healthz asked %d times, answered %d, median %d ms, max %d ms, most"
                + " missed in a row %d%n", SLOW, IDLE, FLOOD.toSeconds(), reopened, millis.size(),
                sorted.length, sorted[sorted.length / 2], sorted[sorted.length - 1], mostInARow);
        assertThat(mostInARow).as("/healthz missed in a row (a probe fails after %d)", FAILURE_THRESHOLD)
                .isLessThan(FAILURE_THRESHOLD);
        assertThat(millis.size()).as("/healthz asked").isGreaterThan((int) (FLOOD.toMillis() / 400));
        assertThat(missed).as("/healthz missed of %d", millis.size()).isLessThanOrEqualTo(millis.size() / 20);
        assertThat(sorted[sorted.length - 1]).as("slowest /healthz, ms").isLessThan(1000);
        assertThat(p.isAlive()).as("agent log:%n%s", tail(log)).isTrue();
        assertThat(Files.readString(log)).doesNotContain("OutOfMemoryError");
    }

    private static SocketChannel open(InetSocketAddress address, boolean slowHeader) throws IOException {
        SocketChannel c = SocketChannel.open(address);
        if (slowHeader) {
            ByteBuffer head = ByteBuffer.wrap(STALLED_HEAD);
            while (head.hasRemaining()) {
                c.write(head);
            }
        }
        c.configureBlocking(false);
        return c;
    }

    private static byte[] stalledHead() {
        StringBuilder b = new StringBuilder("GET /metrics HTTP/1.1\r\n");
        for (int i = 0; b.length() < HealthServer.MAX_REQUEST_BYTES - 1; i++) {
            b.append("X-").append(i).append(": ").append("a".repeat(100)).append("\r\n");
        }
        b.setLength(HealthServer.MAX_REQUEST_BYTES - 1);
        if (b.charAt(b.length() - 1) == '\n') {
            b.setCharAt(b.length() - 1, 'a'); // never the start of the blank line that would end the head
        }
        return b.toString().getBytes(StandardCharsets.US_ASCII);
    }

    private static boolean closedByPeer(SocketChannel c) {
        try {
            return c.read(ByteBuffer.allocate(512)) < 0;
        } catch (IOException e) {
            return true;
        }
    }

    /** Milliseconds to a complete 200 answer of /healthz on a new connection; -1 on anything else. */
    private static long healthz(InetSocketAddress address) {
        long start = System.nanoTime();
        try (Socket s = new Socket()) {
            s.connect(address, 1000);
            s.setSoTimeout(1000);
            OutputStream out = s.getOutputStream();
            out.write("GET /healthz HTTP/1.1\r\nHost: node\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            InputStream in = s.getInputStream();
            String answer = new String(in.readAllBytes(), StandardCharsets.US_ASCII);
            return answer.startsWith("HTTP/1.1 200") ? (System.nanoTime() - start) / 1_000_000 : -1;
        } catch (IOException e) {
            return -1;
        }
    }

    private static String tail(Path log) {
        try {
            List<String> lines = Files.readAllLines(log);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 30), lines.size()));
        } catch (IOException e) {
            return e.toString();
        }
    }
}
