package io.github.kscu.it;

import static io.github.kscu.it.Agents.OURS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.github.kscu.agent.Agent;
import io.github.kscu.condition.CertCondition;
import io.github.kscu.kube.NodeCondition;
import io.github.kscu.report.State;
import io.github.kscu.testing.ControlPlane;
import io.github.kscu.testing.ControlPlaneExtension;
import io.github.kscu.testing.FakeKubeletTls;
import io.github.kscu.testing.Kube;
import io.github.kscu.testing.Scraped;
import io.github.kscu.testing.TestCerts;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import okhttp3.MediaType;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.GeneralName;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Node condition on a real apiserver: its life through each reason, True, expiry and rotation
 * ({@code --mode=continuous}), what a write leaves alone (the kubelet's conditions, addresses, capacity,
 * a heartbeat the kubelet writes in between), heartbeats no more often than the period, and
 * reporter-only mode leaving the taint to NRC.
 */
@ExtendWith(ControlPlaneExtension.class)
class NodeConditionIT {
    private static final Duration WAIT = Duration.ofSeconds(40);
    private static final MediaType MERGE = MediaType.get("application/merge-patch+json");
    private static final TestCerts.Issued CLUSTER_CA = TestCerts.ca("cluster-ca");
    /** As a kubelet reports them: the Ready condition and another reporter's, addresses and capacity. */
    private static final String KUBELET_STATUS = """
            {"status":{"conditions":[
              {"type":"Ready","status":"True","reason":"KubeletReady","message":"kubelet is posting ready status",
               "lastHeartbeatTime":"2026-12-03T10:00:00Z","lastTransitionTime":"2026-12-03T09:00:00Z"},
              {"type":"example.com/OtherReady","status":"False","reason":"Waiting","message":"not yet",
               "lastHeartbeatTime":"2026-12-03T10:00:00Z","lastTransitionTime":"2026-12-03T09:00:00Z"}],
             "addresses":[{"type":"InternalIP","address":"127.0.0.1"}],
             "capacity":{"cpu":"2","memory":"4Gi","pods":"110"},
             "allocatable":{"cpu":"2","memory":"4Gi","pods":"110"}}}""";

    private final ControlPlane cp;
    private final Kube kube;
    private final java.util.List<String> nodes = new java.util.ArrayList<>();
    private Agents agents;
    private Path caFile;
    private FakeKubeletTls kubelet;

    NodeConditionIT(ControlPlane cp) {
        this.cp = cp;
        this.kube = cp.kube();
    }

    @BeforeEach
    void setUp(@TempDir Path dir) throws Exception {
        agents = new Agents(dir);
        caFile = Files.writeString(dir.resolve("ca.crt"), CLUSTER_CA.certificatePem());
        kubelet = new FakeKubeletTls();
    }

    @AfterEach
    void tearDown() throws Exception {
        agents.close();
        kubelet.close();
        for (String n : nodes) {
            kube.deleteNode(n);
        }
    }

    private void node(String name) throws Exception {
        kube.createNode(name, OURS + ":NoSchedule");
        nodes.add(name);
        kube.call("PATCH", "/api/v1/nodes/" + name + "/status", KUBELET_STATUS, MERGE);
    }

    private Agent kubeletSourced(String node, String address, String... kv) throws Exception {
        String[] all = new String[kv.length + 6];
        System.arraycopy(new String[] {"CERT_SOURCE", "kubelet", "KUBELET_ADDRESS", address, "KUBELET_CA_FILE",
            caFile.toString()}, 0, all, 0, 6);
        System.arraycopy(kv, 0, all, 6, kv.length);
        return agents.start(agents.settings(node, cp.adminKubeconfig(), all));
    }

    @Test
    void theConditionsLifeInReporterOnlyMode() throws Exception {
        String node = "cond-life";
        node(node);
        JsonObject before = status(node);
        assertThat(condition(node)).as("absent before the agent has looked").isNull();

        Agent agent = kubeletSourced(node, kubelet.address(), "NODE_CONDITION", "reporter-only", "MODE", "continuous");
        // No certificate yet: the kubelet fails the handshake.
        NodeCondition handshake = awaitReason(node, "HandshakeFailed");
        assertThat(handshake.status()).isEqualTo("False");
        assertThat(handshake.message()).isEqualTo("no valid serving certificate: kubelet TLS handshake failed (no"
                + " serving certificate yet?)");
        Instant falseSince = handshake.lastTransitionTime();
        assertThat(falseSince).isEqualTo(handshake.lastHeartbeatTime());

        // Another CA's certificate, then another node's: False for each reason, the transition kept.
        kubelet.serve(TestCerts.serving(TestCerts.ca("other-ca"), node));
        assertThat(awaitReason(node, "Untrusted").lastTransitionTime()).isEqualTo(falseSince);
        Instant now = Instant.now();
        kubelet.serve(TestCerts.sign(new X500Name("CN=system:node:other-node"), TestCerts.ecKeys(),
                now.minus(Duration.ofHours(1)), now.plus(Duration.ofDays(1)), CLUSTER_CA, false,
                List.of(new GeneralName(GeneralName.iPAddress, "10.0.0.99")), null));
        assertThat(awaitReason(node, "IdentityMismatch").lastTransitionTime()).isEqualTo(falseSince);
        assertThat(kube.taints(node)).containsExactly(OURS + ":NoSchedule");
        assertThat(agent.readiness().ready()).isFalse();

        // A valid certificate that expires in 20 s: True, a new transition; the taint stays (NRC's).
        TestCerts.Issued shortLived = TestCerts.serving(CLUSTER_CA, "system:node:" + node, now.minus(Duration.ofHours(1)),
                Instant.now().plusSeconds(20));
        Instant switched = Instant.now().truncatedTo(ChronoUnit.SECONDS);
        kubelet.serve(shortLived);
        NodeCondition ready = awaitReason(node, "ServingCertificateReady");
        assertThat(ready.status()).isEqualTo("True");
        assertThat(ready.message()).isEqualTo("the kubelet serves a valid certificate until "
                + shortLived.certificate().getNotAfter().toInstant());
        assertThat(ready.lastTransitionTime()).isAfterOrEqualTo(switched).isEqualTo(ready.lastHeartbeatTime());
        await().atMost(WAIT).until(() -> agent.readiness().ready());
        assertThat(agent.state()).isEqualTo(State.REPORTING);
        assertThat(kube.taints(node)).containsExactly(OURS + ":NoSchedule");
        assertThat(Scraped.requests(agent.metrics(), "patch")).as("spec.taints patches").isZero();

        // Expiry (continuous mode): False, Expired, without any file or handshake change.
        NodeCondition expired = awaitReason(node, "Expired");
        assertThat(expired.status()).isEqualTo("False");
        assertThat(expired.lastTransitionTime()).isAfter(ready.lastTransitionTime());

        // Meanwhile the kubelet updates its own heartbeat: our next write leaves it as the kubelet wrote it.
        kube.call("PATCH", "/api/v1/nodes/" + node + "/status", "{\"status\":{\"conditions\":[{\"type\":\"Ready\","
                + "\"lastHeartbeatTime\":\"2026-12-03T10:05:00Z\"}]}}",
                MediaType.get("application/strategic-merge-patch+json"));
        before = status(node);

        // Rotation: a new certificate, True again.
        kubelet.serve(TestCerts.serving(CLUSTER_CA, node));
        NodeCondition rotated = await().atMost(WAIT).until(() -> condition(node), c -> "True".equals(c.status()));
        assertThat(rotated.lastTransitionTime()).isAfter(expired.lastTransitionTime());

        // Everything else in status as it was: the kubelet's conditions (its new heartbeat too), addresses,
        // capacity, allocatable.
        assertThat(withoutOurs(status(node))).isEqualTo(withoutOurs(before));
        assertThat(conditionJson(status(node), "Ready").get("lastHeartbeatTime").getAsString())
                .isEqualTo("2026-12-03T10:05:00Z");

        // Says the same: not written again (the heartbeat period is minutes).
        long writes = Scraped.requests(agent.metrics(), "patch-status");
        String rv = resourceVersion(node);
        Thread.sleep(12_000);
        assertThat(Scraped.requests(agent.metrics(), "patch-status")).isEqualTo(writes);
        assertThat(resourceVersion(node)).isEqualTo(rv);
        assertThat(condition(node)).isEqualTo(rotated);
    }

    @Test
    void missingAndUnreachableHaveTheirOwnReasons() throws Exception {
        node("cond-missing");
        node("cond-refused");
        agents.start(agents.settings("cond-missing", cp.adminKubeconfig(), "NODE_CONDITION", "on"));
        int closed;
        try (ServerSocket s = new ServerSocket(0)) {
            closed = s.getLocalPort();
        }
        kubeletSourced("cond-refused", "127.0.0.1:" + closed, "NODE_CONDITION", "on");
        assertThat(awaitReason("cond-missing", "Missing").message())
                .isEqualTo("no valid serving certificate: file does not exist");
        assertThat(awaitReason("cond-refused", "NoConnection").status()).isEqualTo("False");
        assertThat(kube.taints("cond-missing")).containsExactly(OURS + ":NoSchedule");
    }

    @Test
    void aHeartbeatIsWrittenOnlyOnceThePeriodHasPassed() throws Exception {
        // The condition as an earlier run of the agent left it, confirmed 6 and 1 minutes ago.
        TestCerts.Issued cert = TestCerts.serving(CLUSTER_CA, "system:node:any", Instant.now().minus(Duration.ofHours(1)),
                Instant.now().plus(Duration.ofDays(30)));
        kubelet.serve(cert);
        String message = "the kubelet serves a valid certificate until " + cert.certificate().getNotAfter().toInstant();
        Instant now = Instant.now().truncatedTo(ChronoUnit.SECONDS);
        node("cond-stale");
        node("cond-fresh");
        storeCondition("cond-stale", message, now.minus(CertCondition.HEARTBEAT_PERIOD).minusSeconds(60));
        storeCondition("cond-fresh", message, now.minusSeconds(60));

        Agent stale = kubeletSourced("cond-stale", kubelet.address(), "NODE_CONDITION", "on");
        Agent fresh = kubeletSourced("cond-fresh", kubelet.address(), "NODE_CONDITION", "on");
        assertThat(stale.awaitFinished(WAIT)).isTrue();
        assertThat(fresh.awaitFinished(WAIT)).isTrue();
        NodeCondition confirmed = await().atMost(WAIT).until(() -> condition("cond-stale"),
                c -> c.lastHeartbeatTime().isAfter(now.minusSeconds(5)));
        assertThat(confirmed.lastTransitionTime()).as("the transition kept").isEqualTo(Instant.parse("2026-01-01T00:00:00Z"));
        assertThat(Scraped.requests(stale.metrics(), "patch-status")).isEqualTo(1);
        // The taint went (NODE_CONDITION=on removes it too).
        assertThat(kube.taints("cond-stale")).isEmpty();

        assertThat(Scraped.requests(fresh.metrics(), "patch-status")).isZero();
        assertThat(condition("cond-fresh").lastHeartbeatTime()).isEqualTo(now.minusSeconds(60));
    }

    private void storeCondition(String node, String message, Instant heartbeat) throws Exception {
        kube.call("PATCH", "/api/v1/nodes/" + node + "/status", "{\"status\":{\"conditions\":[{\"type\":\""
                + NodeCondition.CERT_TYPE + "\",\"status\":\"True\",\"reason\":\"ServingCertificateReady\",\"message\":\""
                + message + "\",\"lastHeartbeatTime\":\"" + heartbeat + "\",\"lastTransitionTime\":\"2026-01-01T00:00:00Z\"}]}}",
                MediaType.get("application/strategic-merge-patch+json"));
    }

    private NodeCondition awaitReason(String node, String reason) {
        return await().atMost(WAIT).until(() -> condition(node), c -> c != null && reason.equals(c.reason()));
    }

    private JsonObject status(String node) throws Exception {
        return JsonParser.parseString(kube.call("GET", "/api/v1/nodes/" + node, null, null)).getAsJsonObject()
                .getAsJsonObject("status");
    }

    private String resourceVersion(String node) throws Exception {
        return JsonParser.parseString(kube.call("GET", "/api/v1/nodes/" + node, null, null)).getAsJsonObject()
                .getAsJsonObject("metadata").get("resourceVersion").getAsString();
    }

    private static JsonObject conditionJson(JsonObject status, String type) {
        for (JsonElement e : status.getAsJsonArray("conditions")) {
            if (type.equals(e.getAsJsonObject().get("type").getAsString())) {
                return e.getAsJsonObject();
            }
        }
        return null;
    }

    /** The status with our condition taken out. */
    private static JsonObject withoutOurs(JsonObject status) {
        JsonObject copy = status.deepCopy();
        JsonArray kept = new JsonArray();
        for (JsonElement e : copy.getAsJsonArray("conditions")) {
            if (!NodeCondition.CERT_TYPE.equals(e.getAsJsonObject().get("type").getAsString())) {
                kept.add(e);
            }
        }
        copy.add("conditions", kept);
        return copy;
    }

    private NodeCondition condition(String node) throws Exception {
        JsonObject c = conditionJson(status(node), NodeCondition.CERT_TYPE);
        if (c == null) {
            return null;
        }
        return new NodeCondition(c.get("type").getAsString(), c.get("status").getAsString(),
                c.get("reason").getAsString(), c.get("message").getAsString(),
                Instant.parse(c.get("lastHeartbeatTime").getAsString()),
                Instant.parse(c.get("lastTransitionTime").getAsString()));
    }
}
