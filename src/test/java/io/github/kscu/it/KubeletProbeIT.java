package io.github.kscu.it;

import static io.github.kscu.it.Agents.OURS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.github.kscu.agent.Agent;
import io.github.kscu.report.State;
import io.github.kscu.testing.ControlPlane;
import io.github.kscu.testing.ControlPlaneExtension;
import io.github.kscu.testing.FakeKubeletTls;
import io.github.kscu.testing.Kube;
import io.github.kscu.testing.TestCerts;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.GeneralName;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** {@code --cert-source=kubelet} against a TLS endpoint that behaves like a kubelet, and a real apiserver. */
@ExtendWith(ControlPlaneExtension.class)
class KubeletProbeIT {
    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final TestCerts.Issued CLUSTER_CA = TestCerts.ca("cluster-ca");

    private final ControlPlane cp;
    private final Kube kube;
    private FakeKubeletTls kubelet;
    private Agents agents;
    private Path caFile;
    private String node;

    KubeletProbeIT(ControlPlane cp) {
        this.cp = cp;
        this.kube = cp.kube();
    }

    @BeforeEach
    void setUp(@TempDir Path dir, TestInfo info) throws Exception {
        kubelet = new FakeKubeletTls();
        agents = new Agents(dir);
        caFile = Files.writeString(dir.resolve("ca.crt"), CLUSTER_CA.certificatePem());
        node = "probe-" + info.getTestMethod().orElseThrow().getName().toLowerCase().substring(0, 12);
        kube.createNode(node, OURS + ":NoSchedule");
    }

    @AfterEach
    void tearDown() throws Exception {
        agents.close();
        kubelet.close();
        kube.deleteNode(node);
    }

    private Agent start(String address, String... kv) throws Exception {
        String[] all = new String[kv.length + 6];
        System.arraycopy(new String[] {"CERT_SOURCE", "kubelet", "KUBELET_ADDRESS", address, "KUBELET_CA_FILE",
            caFile.toString()}, 0, all, 0, 6);
        System.arraycopy(kv, 0, all, 6, kv.length);
        return agents.start(agents.settings(node, cp.adminKubeconfig(), all));
    }

    private TestCerts.Issued serving(TestCerts.Issued ca, String cn, Instant from, Instant to) {
        return TestCerts.serving(ca, cn, from, to);
    }

    @Test
    void failingHandshakesThenAValidCertificateRemovesTheTaintWithinASecond() throws Exception {
        Agent agent = start(kubelet.address());
        await().atMost(WAIT).until(() -> kubelet.handshakes() >= 4);
        assertThat(kube.taints(node)).containsExactly(OURS + ":NoSchedule");
        assertThat(agent.state()).isEqualTo(State.WAITING_FOR_CERT);
        long switched = System.nanoTime();
        kubelet.serve(TestCerts.serving(CLUSTER_CA, node));
        await().atMost(WAIT).until(() -> kube.taints(node).isEmpty());
        Duration took = Duration.ofNanos(System.nanoTime() - switched);
        assertThat(took).as("switch to taint removed").isLessThan(Duration.ofSeconds(1));
        assertThat(agent.readiness().ready()).isTrue();
    }

    @Test
    void anotherCaIsRefusedUnlessChainVerificationIsOff() throws Exception {
        TestCerts.Issued otherCa = TestCerts.ca("other-ca");
        kubelet.serve(TestCerts.serving(otherCa, node));
        start(kubelet.address());
        await().atMost(WAIT).until(() -> kubelet.handshakes() >= 4);
        assertThat(kube.taints(node)).containsExactly(OURS + ":NoSchedule");
        agents.close();

        Agent trusting = start(kubelet.address(), "KUBELET_CA_FILE", "none");
        assertThat(trusting.awaitFinished(WAIT)).isTrue();
        assertThat(kube.taints(node)).isEmpty();
    }

    @Test
    void expiredCertificateIsRefused() throws Exception {
        Instant now = Instant.now();
        kubelet.serve(serving(CLUSTER_CA, "system:node:" + node, now.minus(Duration.ofDays(2)),
                now.minus(Duration.ofDays(1))));
        Agent agent = start(kubelet.address());
        await().atMost(WAIT).until(() -> kubelet.handshakes() >= 4);
        assertThat(kube.taints(node)).containsExactly(OURS + ":NoSchedule");
        assertThat(agent.readiness().ready()).isFalse();
    }

    @Test
    void anotherNodesCertificateForAnotherAddressLeavesTheTaintOn() throws Exception {
        Instant now = Instant.now();
        // Signed by the cluster CA with serverAuth, as a stale certificate of a renamed or reused node is.
        kubelet.serve(TestCerts.sign(new X500Name("O=system:nodes,CN=system:node:other-node"), TestCerts.ecKeys(),
                now.minus(Duration.ofHours(1)), now.plus(Duration.ofDays(1)), CLUSTER_CA, false,
                List.of(new GeneralName(GeneralName.dNSName, "other-node"),
                        new GeneralName(GeneralName.iPAddress, "10.0.0.99")), null));
        Agent agent = start(kubelet.address());
        await().atMost(WAIT).until(() -> kubelet.handshakes() >= 4);
        assertThat(kube.taints(node)).containsExactly(OURS + ":NoSchedule");
        assertThat(agent.state()).isEqualTo(State.WAITING_FOR_CERT);
        assertThat(agent.readiness().detail()).contains("does not name this node",
                "subject alternative names do not include 127.0.0.1");
    }

    @Test
    void wrongSubjectAtTheRightAddressWarnsByDefaultAndBlocksWhenRequired() throws Exception {
        kubelet.serve(TestCerts.serving(CLUSTER_CA, "some-other-node"));
        Agent blocking = start(kubelet.address(), "REQUIRE_CERT_IDENTITY", "true");
        await().atMost(WAIT).until(() -> kubelet.handshakes() >= 4);
        assertThat(kube.taints(node)).containsExactly(OURS + ":NoSchedule");
        assertThat(blocking.state()).isEqualTo(State.WAITING_FOR_CERT);
        agents.close();

        Agent warning = start(kubelet.address());
        assertThat(warning.awaitFinished(WAIT)).isTrue();
        assertThat(kube.taints(node)).isEmpty();
    }

    @Test
    void aPortThatNeverOpensLeadsToTheTimeoutPolicy() throws Exception {
        int closed;
        try (ServerSocket s = new ServerSocket(0)) {
            closed = s.getLocalPort();
        }
        Agent agent = start("127.0.0.1:" + closed, "CERT_CHECK_DURATION", "1s", "ON_CERT_TIMEOUT", "remove-taint");
        await().atMost(WAIT).until(() -> kube.taints(node).isEmpty());
        await().atMost(WAIT).until(() -> kube.eventReasons(node).contains("ServingCertificateTimeout"));
        // Reported, so Ready (a rollout must not stall on this node); the reason says what happened.
        assertThat(agent.readiness().ready()).isTrue();
        assertThat(agent.readiness().detail()).contains("ServingCertificateTimeout", "remove-taint",
                "kubelet port refused the connection");
    }
}
